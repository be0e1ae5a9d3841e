#!/usr/bin/env node
// One machine first (issues 10 and 11): ingest + the full feature query on 50M synthetic events in DuckDB under
// a 2 GB memory limit with a spill folder, then the same without a limit for comparison, each in its own process
// (so peak RSS is that run's). Prints wall time, peak RSS (VmHWM, and the highest of process.memoryUsage().rss
// sampled every 250 ms) and the spill folder's peak size. PASS when the limited run completes with the same
// features as the unlimited one (when that ran) and a peak RSS under the limit + 1 GiB (DuckDB's limit covers its
// buffer pool, not Node, the Parquet reader's own buffers, allocator slack or the result columns in Node: at 50M
// events the process peaked 0.40-0.47 GiB above a 2 GB limit in three runs, against 5.1 GiB without a limit).
// The events are generated once into test-output/bench-cache/scale-N (about 2 minutes for 50M) and reused.
// --unordered turns DuckDB's preserve_insertion_order off for the feature query (its SQL ends with ORDER BY user_id).
// Usage: node bench/scale.js [--events 50000000] [--memory-limit 2GB] [--threads N] [--unordered] [--no-unlimited] [--cache DIR]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { usersForEvents, writeSynthetic, loadEvents, SYNTHETIC_PRESET, computeFeatures } from 'cohortlab';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const target = Number(arg('events', '50000000'));
const memoryLimit = arg('memory-limit', '2GB');
const threads = arg('threads', undefined);
const unordered = process.argv.includes('--unordered');
const dir = arg('cache', join(here, '..', 'test-output', 'bench-cache', `scale-${target}`));
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

if (process.argv.includes('--child')) {
  // One measured run: --child limited | unlimited; prints one JSON line.
  const limited = arg('child') === 'limited';
  const { as_of: asOf } = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8'));
  const spill = mkdtempSync(join(dir, '..', 'spill-'));
  const dirBytes = (d) => {
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
  };
  const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
  let spillPeak = 0;
  let rssPeak = 0;
  const sample = () => {
    spillPeak = Math.max(spillPeak, dirBytes(spill));
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  };
  const sampler = setInterval(sample, 250);
  const limits = limited ? { memoryLimit, tempDir: spill } : { tempDir: spill };
  if (threads) limits.threads = Number(threads);
  const t0 = performance.now();
  const store = await loadEvents([join(dir, 'events.parquet')], SYNTHETIC_PRESET, { limits });
  const t1 = performance.now();
  // Peak RSS of the ingest alone, then reset the high-water mark (Linux: clear_refs 5) to get the feature query's own.
  const ingestHwm = hwm();
  let featuresHwm;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    featuresHwm = true;
  } catch {
    featuresHwm = false;
  }
  // The feature SQL ends with ORDER BY user_id, so its output order does not depend on insertion order.
  if (unordered) await store.conn.run('SET preserve_insertion_order = false');
  const table = await computeFeatures(store, { asOf });
  const t2 = performance.now();
  clearInterval(sampler);
  sample();
  const events = store.report.rowsUsed;
  store.close();
  rmSync(spill, { recursive: true, force: true });
  // A digest of every feature value, to check the limited run computed the same table.
  const h = createHash('sha256');
  h.update(table.userIds.join('\n'));
  for (const k of Object.keys(table.columns).sort()) h.update(new Uint8Array(Float64Array.from(table.columns[k]).buffer));
  const featuresPeak = featuresHwm ? hwm() : undefined;
  console.log(JSON.stringify({ events, users: table.userIds.length, asOf, ingest: (t1 - t0) / 1000, features: (t2 - t1) / 1000, hwm: Math.max(ingestHwm, featuresPeak ?? hwm(), rssPeak), ingestHwm, featuresHwm: featuresPeak, rssPeak, spillPeak, digest: h.digest('hex').slice(0, 16) }));
  process.exit(0);
}

mkdirSync(dir, { recursive: true });
if (!existsSync(join(dir, 'events.parquet')) || !existsSync(join(dir, 'truth.json'))) {
  const users = usersForEvents(target, { days: 180, seed: 5 });
  const t = performance.now();
  console.log(`generating ${target.toLocaleString('en-US')} events (${users.toLocaleString('en-US')} users) into ${dir} (once; reused by later runs) ...`);
  await writeSynthetic(dir, { users, days: 180, seed: 5 });
  rmSync(join(dir, 'events.csv'), { force: true }); // only the Parquet file is read
  console.log(`  generated in ${((performance.now() - t) / 1000).toFixed(0)} s`);
}
console.log(`events: ${join(dir, 'events.parquet')} (${mb(statSync(join(dir, 'events.parquet')).size)} Parquet)`);

function child(mode) {
  const extra = [...(threads ? ['--threads', threads] : []), ...(unordered ? ['--unordered'] : [])];
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, '--events', String(target), '--memory-limit', memoryLimit, '--cache', dir, ...extra], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TZ: 'UTC' },
  });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) return { failed: `exit ${r.status ?? r.signal}: ${(r.stdout ?? '').slice(-500)}` };
  return JSON.parse(line);
}

function show(label, r) {
  if (r.failed) {
    console.log(`${label}: FAILED (${r.failed})`);
    return;
  }
  const total = r.ingest + r.features;
  console.log(`${label}: ${r.events.toLocaleString('en-US')} events, ${r.users.toLocaleString('en-US')} users with events before ${r.asOf}`);
  console.log(`  ingest ${r.ingest.toFixed(1)} s + features ${r.features.toFixed(1)} s = ${total.toFixed(1)} s (${Math.round(r.events / total).toLocaleString('en-US')} events/s)`);
  const phases = r.featuresHwm === undefined ? '' : ` = max(ingest ${mb(r.ingestHwm)}, features ${mb(r.featuresHwm)})`;
  console.log(`  peak RSS ${mb(r.hwm)} (VmHWM${phases}; sampled rss peak ${mb(r.rssPeak)}); spill folder peak ${mb(r.spillPeak)}; features digest ${r.digest}`);
}

const limited = child('limited');
show(`DuckDB memory_limit ${memoryLimit}${threads ? `, ${threads} threads` : ''}${unordered ? ', preserve_insertion_order off for the feature query' : ''}, spill folder`, limited);
const unlimited = process.argv.includes('--no-unlimited') ? undefined : child('unlimited');
if (unlimited) show("no memory limit (DuckDB's default: 80% of RAM)", unlimited);

const limitBytes = (() => {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B)$/i.exec(memoryLimit);
  const pow = { KB: 1, MB: 2, GB: 3, TB: 4 }[m[2].toUpperCase().replace('I', '')];
  return Number(m[1]) * (m[2].toLowerCase().includes('i') ? 1024 : 1000) ** pow;
})();
const problems = [];
if (limited.failed) problems.push('the limited run failed');
else {
  if (limited.hwm >= limitBytes + 2 ** 30) problems.push(`peak RSS ${mb(limited.hwm)} >= ${memoryLimit} + 1 GiB`);
  if (unlimited && !unlimited.failed && unlimited.digest !== limited.digest) problems.push('features differ from the unlimited run');
}
if (!limited.failed && unlimited && !unlimited.failed) {
  console.log(`  limited / unlimited: time ${((limited.ingest + limited.features) / (unlimited.ingest + unlimited.features)).toFixed(2)}x, peak RSS ${(limited.hwm / unlimited.hwm).toFixed(2)}x; same features: ${limited.digest === unlimited.digest ? 'yes' : 'NO'}`);
}
console.log(`  ${problems.length ? `FAIL: ${problems.join('; ')}` : `PASS: completed under ${memoryLimit} with peak RSS ${mb(limited.hwm)} (< the limit + 1 GiB)${unlimited && !unlimited.failed ? ', same features as without a limit' : ''}`}`);
process.exitCode = problems.length ? 1 : 0;
