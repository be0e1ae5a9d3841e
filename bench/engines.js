#!/usr/bin/env node
// Engines bench (issue 11): the same feature + label query on 10M synthetic events in DuckDB (embedded),
// in ClickHouse on one node and in ClickHouse over a Distributed table on two shards, in the same run;
// prints the times and the rows that come back to Node (per-user rows only). Starts the local ClickHouse
// servers with scripts/clickhouse.sh when they are not running (Debian's clickhouse-server must be installed).
// Usage: node bench/engines.js [--events 10000000] [--keep DIR]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  usersForEvents, writeSynthetic, loadEvents, SYNTHETIC_PRESET, computeFeatures, asSource, openEventSource,
  openClickHouse, loadEventsToClickHouse, warehouseConfig
} from 'cohortlab';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const target = Number(arg('events', '10000000'));
const single = process.env.COHORTLAB_CLICKHOUSE_URL ?? 'http://127.0.0.1:28123';
const shard1 = process.env.COHORTLAB_CLICKHOUSE_SHARDS_URL ?? 'http://127.0.0.1:28124';
const shard2 = shard1.replace(/:(\d+)$/, (_, p) => `:${Number(p) + 1}`);
const up = (u) => fetch(`${u}/?query=SELECT%201`).then((r) => r.ok, () => false);

if (!(await up(single)) || !(await up(shard1))) {
  const r = spawnSync('bash', [join(here, '..', 'scripts', 'clickhouse.sh'), 'start'], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.log('engines: ClickHouse is not available (install clickhouse-server); skipped.');
    process.exit(0);
  }
}

const dir = arg('keep', mkdtempSync(join(tmpdir(), 'cohortlab-bench-engines-')));
const users = usersForEvents(target, { days: 180, seed: 11 });
if (!existsSync(join(dir, 'events.parquet'))) await writeSynthetic(dir, { users, days: 180, seed: 11 });
const { as_of: asOf, horizon_days: horizonDays } = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8'));

const t0 = performance.now();
const store = await loadEvents([join(dir, 'events.parquet')], SYNTHETIC_PRESET);
const ingest = (performance.now() - t0) / 1000;
const events = store.report.rowsUsed;
console.log(`${events.toLocaleString('en-US')} events, ${store.report.users.toLocaleString('en-US')} users; features as of ${asOf} with a ${horizonDays}-day label`);

/** The source with every result row that reaches Node counted (query and streamed blocks). */
function counting(source) {
  const s = asSource(source);
  const moved = { rows: 0, queries: 0 };
  const wrapped = {
    ...s,
    dialect: s.dialect,
    async query(sql) {
      const r = await s.query(sql);
      moved.rows += r.rows;
      moved.queries++;
      return r;
    },
    async *stream(sql, blockRows) {
      moved.queries++;
      for await (const b of s.stream(sql, blockRows)) {
        moved.rows += b.rows;
        yield b;
      }
    },
  };
  return { wrapped, moved };
}

async function timed(label, source) {
  const { wrapped, moved } = counting(source);
  const t = performance.now();
  const table = await computeFeatures(wrapped, { asOf, horizonDays });
  const secs = (performance.now() - t) / 1000;
  return { label, secs, users: table.userIds.length, moved, table };
}

const results = [];
results.push(await timed('DuckDB (embedded)', store));
const load1 = await loadEventsToClickHouse(store, { url: single, table: 'bench_events' });
const load2 = await loadEventsToClickHouse(store, { url: shard1, table: 'bench_events', cluster: { name: 'cohortlab_2shards', shardUrls: [shard1, shard2] } });
for (const [label, url] of [['ClickHouse, 1 node', single], ['ClickHouse, 2 shards (Distributed)', shard1]]) {
  const source = await openEventSource({ engine: 'clickhouse', url, table: 'bench_events' }, warehouseConfig(SYNTHETIC_PRESET));
  results.push(await timed(label, source));
  await source.close();
}
store.close();

const base = results[0];
for (const r of results) {
  // counted at the source: per-user rows of the feature and label queries; events never come back
  console.log(
    `  ${r.label.padEnd(36)} ${r.secs.toFixed(2).padStart(6)} s  (${(base.secs / r.secs).toFixed(2)}x DuckDB's speed)  rows into Node: ${r.moved.rows.toLocaleString('en-US')} in ${r.moved.queries} queries (${r.users.toLocaleString('en-US')} users, ${events.toLocaleString('en-US')} events stay in the engine)`,
  );
  const same = r.table.userIds.length === base.table.userIds.length && Object.keys(base.table.columns).every((k) => base.table.columns[k].every((v, i) => Math.abs(v - r.table.columns[k][i]) <= 1e-9));
  if (!same) {
    console.log(`  ${r.label}: features differ from DuckDB's`);
    process.exitCode = 1;
  }
}
// the bench tables hold the 10M events three times over: drop them
for (const url of [single, shard1, shard2]) {
  const ch = await openClickHouse({ url });
  for (const t of ['bench_events', 'bench_events_local']) await ch.command(`DROP TABLE IF EXISTS ${t}`);
  await ch.close();
}
console.log(`  (not timed above) DuckDB ingest of the Parquet file ${ingest.toFixed(2)} s; load into ClickHouse: 1 node ${load1.seconds.toFixed(1)} s, 2 shards ${load2.seconds.toFixed(1)} s`);
