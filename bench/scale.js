#!/usr/bin/env node
// One machine first (issues 10 and 11): ingest + the full feature query on 50M synthetic events in DuckDB under
// a 2 GB memory limit with a spill folder. Prints wall time, peak RSS of this process and the spill folder's
// peak size; PASS when it completes with peak RSS under 3 GB (the limit plus Node and the result columns).
// Usage: node bench/scale.js [--events 50000000] [--memory-limit 2GB] [--keep DIR]
import { mkdirSync, mkdtempSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { usersForEvents, writeSynthetic } from '../dist/synth/index.js';
import { loadEvents, SYNTHETIC_PRESET } from '../dist/ingest/index.js';
import { computeFeatures } from '../dist/features/index.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const target = Number(arg('events', '50000000'));
const memoryLimit = arg('memory-limit', '2GB');
const dir = arg('keep', join(tmpdir(), `cohortlab-bench-scale-${target}`));
mkdirSync(dir, { recursive: true });
if (!existsSync(join(dir, 'events.parquet'))) {
  const users = usersForEvents(target, { days: 180, seed: 5 });
  const t = performance.now();
  console.log(`generating ${target.toLocaleString('en-US')} events (${users.toLocaleString('en-US')} users) into ${dir} ...`);
  await writeSynthetic(dir, { users, days: 180, seed: 5 });
  rmSync(join(dir, 'events.csv'), { force: true }); // only the Parquet file is read
  console.log(`  generated in ${((performance.now() - t) / 1000).toFixed(0)} s`);
}
const { as_of: asOf } = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8'));
const spill = mkdtempSync(join(tmpdir(), 'cohortlab-spill-'));

function dirBytes(d) {
  let n = 0;
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    try {
      n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
    } catch {
      // a spill file removed while walking
    }
  }
  return n;
}
let spillPeak = 0;
const sampler = setInterval(() => {
  spillPeak = Math.max(spillPeak, dirBytes(spill));
}, 250);

const t0 = performance.now();
const store = await loadEvents([join(dir, 'events.parquet')], SYNTHETIC_PRESET, { limits: { memoryLimit, tempDir: spill } });
const t1 = performance.now();
const table = await computeFeatures(store, { asOf });
const t2 = performance.now();
clearInterval(sampler);
spillPeak = Math.max(spillPeak, dirBytes(spill));
const events = store.report.rowsUsed;
store.close();
rmSync(spill, { recursive: true, force: true });

const peakMb = process.resourceUsage().maxRSS / 1024;
console.log(`${events.toLocaleString('en-US')} events, ${table.userIds.length.toLocaleString('en-US')} users with events before ${asOf}; DuckDB memory_limit ${memoryLimit}`);
console.log(`  ingest ${((t1 - t0) / 1000).toFixed(1)} s + features ${((t2 - t1) / 1000).toFixed(1)} s = ${((t2 - t0) / 1000).toFixed(1)} s (${Math.round(events / ((t2 - t0) / 1000)).toLocaleString('en-US')} events/s)`);
console.log(`  peak RSS ${peakMb.toFixed(0)} MB; spill folder peak ${(spillPeak / 1e6).toFixed(0)} MB`);
const ok = peakMb < 3072;
console.log(`  ${ok ? 'PASS' : 'FAIL'}: completed within the limit (peak RSS ${peakMb.toFixed(0)} MB ${ok ? '<' : '>='} 3072 MB)`);
process.exitCode = ok ? 0 : 1;
