#!/usr/bin/env node
// Scoring in the warehouse (issue 11 part 3): a logistic model trained on a synthetic product, then every user
// scored three ways in the same run: in-process (feature SQL + compute.ts + rules + tfjs + k-means, what
// `score --out` does), by the one statement of `score --emit-sql` in DuckDB, and by the same statement in
// ClickHouse on one node and over a Distributed table on two shards (when the local servers of
// scripts/clickhouse.sh answer). Prints per engine the time, the rows that come back to Node, the largest
// |difference| of churn_probability and of the PCA coordinates, and the number of rule, segment and cluster
// values that differ (0 expected), and the time of `INSERT INTO ... SELECT` (`score --into`), where no row comes back.
// Usage: node bench/warehouse-score.js [--users 20000] [--days 150] [--seed 5]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  writeSynthetic, loadEvents, SYNTHETIC_PRESET, computeFeatures, cutoffOf, trainPipeline, loadModel, DIALECTS,
  modelScoreSql, openEventSource, openClickHouse, loadEventsToClickHouse, warehouseConfig, queryColumns
} from 'cohortlab';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const users = Number(arg('users', '20000'));
const days = Number(arg('days', '150'));
const seed = Number(arg('seed', '5'));
const asOf = arg('as-of', '2026-05-20');
const single = process.env.COHORTLAB_CLICKHOUSE_URL ?? 'http://127.0.0.1:28123';
const shard1 = process.env.COHORTLAB_CLICKHOUSE_SHARDS_URL ?? 'http://127.0.0.1:28124';
const shard2 = shard1.replace(/:(\d+)$/, (_, p) => `:${Number(p) + 1}`);
const up = (u) => fetch(`${u}/?query=SELECT%201`).then((r) => r.ok, () => false);

const dir = mkdtempSync(join(tmpdir(), 'cohortlab-bench-wscore-'));
await writeSynthetic(join(dir, 'data'), { users, days, seed });
const events = join(dir, 'data', 'events.parquet');
const modelsDir = join(dir, 'models');
let t = performance.now();
await trainPipeline({ events: [events], config: SYNTHETIC_PRESET, seed, name: 'default', modelsDir, kind: 'logistic', k: 4, resamples: 50 });
console.log(`trained a logistic model on ${users.toLocaleString('en-US')} synthetic users in ${((performance.now() - t) / 1000).toFixed(1)} s`);
const model = await loadModel('default', { modelsDir });
const store = await loadEvents([events], model.config);
console.log(`${store.report.rowsUsed.toLocaleString('en-US')} events, ${store.report.users.toLocaleString('en-US')} users; scoring as of ${asOf}`);

t = performance.now();
const table = await computeFeatures(store, { asOf });
const inProcess = await model.score(table, { reasons: 0 });
const inProcessSecs = (performance.now() - t) / 1000;
console.log(`  ${'in-process (score --out, no reasons)'.padEnd(56)} ${inProcessSecs.toFixed(2).padStart(6)} s  rows into Node: ${inProcess.userIds.length.toLocaleString('en-US')} (per-user features)`);

function compare(label, secs, r) {
  const col = (name) => r.columns[r.names.indexOf(name)];
  const ids = col('user_id');
  if (ids.length !== inProcess.userIds.length || ids.some((u, i) => u !== inProcess.userIds[i])) {
    console.log(`  ${label}: users differ from in-process scoring`);
    process.exitCode = 1;
    return;
  }
  let prob = 0;
  let pca = 0;
  let differ = 0;
  let values = 0;
  for (const name of r.names) {
    if (name === 'user_id' || name === 'already_churned') continue;
    const a = col(name);
    const b = inProcess.columns[name];
    if (name === 'churn_probability' || name === 'pc1' || name === 'pc2') {
      const w = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
      if (name === 'churn_probability') prob = w;
      else pca = Math.max(pca, w);
      continue;
    }
    values += a.length;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ++;
  }
  console.log(
    `  ${label.padEnd(56)} ${secs.toFixed(2).padStart(6)} s  rows into Node: ${ids.length.toLocaleString('en-US')} (the scores)  max |dp| ${prob.toExponential(2)}  max |dpc| ${pca.toExponential(2)}  rule/segment/cluster values differing: ${differ} of ${values.toLocaleString('en-US')}`,
  );
  if (prob >= 1e-6 || pca >= 1e-9 || differ > 0) process.exitCode = 1;
}

const cutoffMs = cutoffOf(asOf);
t = performance.now();
const duck = await queryColumns(store.conn, modelScoreSql(model.parts, DIALECTS.duckdb, { cutoffMs, source: 'events' }));
compare('DuckDB, one statement', (performance.now() - t) / 1000, duck);

if ((await up(single)) && (await up(shard1)) && (await up(shard2))) {
  const config = warehouseConfig(model.config);
  await loadEventsToClickHouse(store, { url: single, table: 'bench_wscore_events' });
  await loadEventsToClickHouse(store, { url: shard1, table: 'bench_wscore_events', cluster: { name: 'cohortlab_2shards', shardUrls: [shard1, shard2] } });
  for (const [label, url] of [['ClickHouse 1 node, one statement', single], ['ClickHouse 2 shards, one statement', shard1]]) {
    const source = await openEventSource({ engine: 'clickhouse', url, table: 'bench_wscore_events' }, config);
    try {
      const sql = modelScoreSql(model.parts, DIALECTS.clickhouse, { cutoffMs, source: source.relation, config });
      t = performance.now();
      const r = await source.query(sql);
      compare(label, (performance.now() - t) / 1000, r);
      t = performance.now();
      await source.command('DROP TABLE IF EXISTS bench_wscore_scores');
      await source.command(`CREATE TABLE bench_wscore_scores ENGINE = MergeTree ORDER BY user_id AS ${sql}`);
      console.log(`  ${`${label.replace(', one statement', '')}: score --into (CREATE ... AS SELECT)`.padEnd(56)} ${((performance.now() - t) / 1000).toFixed(2).padStart(6)} s  rows into Node: 0`);
    } finally {
      await source.command('DROP TABLE IF EXISTS bench_wscore_scores');
      await source.close();
    }
  }
  for (const url of [single, shard1, shard2]) {
    const ch = await openClickHouse({ url });
    for (const name of ['bench_wscore_events', 'bench_wscore_events_local']) await ch.command(`DROP TABLE IF EXISTS ${name}`);
    await ch.close();
  }
} else console.log(`  ClickHouse: no servers at ${single} and ${shard1} (start them with "bash scripts/clickhouse.sh start"); skipped.`);
store.close();
