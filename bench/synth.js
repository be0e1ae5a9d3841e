#!/usr/bin/env node
// Synthetic generator bench (issue 3): time `writeSynthetic` for about 1M and 10M events (180 days):
// CSV generation (streamed) and the DuckDB CSV -> Parquet conversion, events/second, peak RSS.
// Usage: node bench/synth.js [--events 10000000] [--days 180] [--keep DIR]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { usersForEvents, writeSynthetic } from 'cohortlab';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const big = Number(arg('events', '10000000'));
const days = Number(arg('days', '180'));
const keep = arg('keep', null);
const root = keep ?? mkdtempSync(join(tmpdir(), 'cohortlab-bench-synth-'));
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const rssMb = () => (process.resourceUsage().maxRSS / 1024).toFixed(0);

try {
  for (const target of [1_000_000, big]) {
    const users = usersForEvents(target, { days, seed: 11 });
    const dir = join(root, `e${target}`);
    const r = await writeSynthetic(dir, { users, days, seed: 11 });
    const gen = r.timingsMs.generate / 1000;
    const pq = r.timingsMs.parquet / 1000;
    const csvMb = statSync(r.files.eventsCsv).size / 1e6;
    const pqMb = statSync(r.files.eventsParquet).size / 1e6;
    console.log(
      `synth ${fmt(r.events)} events, ${fmt(users)} users, ${days} days: generate+CSV ${gen.toFixed(2)} s (${fmt(r.events / gen)} events/s), ` +
        `Parquet ${pq.toFixed(2)} s (${fmt(r.events / pq)} events/s), total ${(r.timingsMs.total / 1000).toFixed(2)} s; ` +
        `CSV ${csvMb.toFixed(0)} MB, Parquet ${pqMb.toFixed(0)} MB; peak RSS so far ${rssMb()} MB; churn rate ${(100 * r.churnRate).toFixed(1)}%`,
    );
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
} finally {
  if (!keep) rmSync(root, { recursive: true, force: true });
}
