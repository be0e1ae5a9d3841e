#!/usr/bin/env node
// Parquet outputs bench (issue 23, part 5): writing a `cohortlab score` table of 300k users x 39-41 columns through
// DuckDB's appender with native types (writeTable, today's path: INTEGER scores and cluster, BOOLEAN segment flags,
// UTINYINT already_churned, reasons as LIST<STRUCT>) against, in the same run, the same rows as the writers before got
// them (every number a double, reasons JSON text) through the appender as it was and through the conversion it
// replaced (a temporary CSV, then DuckDB's COPY; no pyarrow-free Python peer writes Parquet here: pandas needs pyarrow
// or fastparquet, neither installed). All three files must read back as the same table (readTable: numbers as
// doubles, reasons as the same JSON text), checked below, and the new one's column types are printed. The rows are
// real `score` output: a model trained on a seeded synthetic product scores its users with 3 reasons (see below).
// Usage (after npm run build): node bench/parquet.js [--rows 300000] [--distinct 20000] [--repeats 2]
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  writeSynthetic, SYNTHETIC_PRESET, loadEvents, computeFeatures, trainPipeline, openModelStore, loadScoringModel, scoreResultTable, createRng, writeTable,
  readTable, asReadTable,
} from 'cohortlab';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const rows = Number(arg('rows', '300000'));
const repeats = Number(arg('repeats', '2'));
const distinct = Number(arg('distinct', '20000'));
const lit = (s) => `'${s.replace(/'/g, "''")}'`;

/**
 * The replaced writer, as it was (src/shared/table-io.ts before the appender): rows as RFC 4180 CSV lines
 * (NaN -> empty cell) streamed to a temporary file in ~1 MB writes, then DuckDB's COPY with the columns' types.
 */
async function writeViaCsv(path, t) {
  const quoted = (s) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const cell = (col, i) => {
    if (Array.isArray(col)) return quoted(col[i]);
    const v = col[i];
    return Number.isNaN(v) ? '' : String(v);
  };
  const cols = t.names.map((n) => t.columns[n]);
  const type = (c) => (Array.isArray(c) ? 'VARCHAR' : c instanceof Int32Array ? 'INTEGER' : c instanceof Uint8Array ? 'UTINYINT' : 'DOUBLE');
  const csv = `${path}.csv`;
  const out = createWriteStream(csv);
  out.write(`${t.names.map(quoted).join(',')}\n`);
  let buf = '';
  for (let i = 0; i < t.rows; i++) {
    let line = cell(cols[0], i);
    for (let c = 1; c < cols.length; c++) line += `,${cell(cols[c], i)}`;
    buf += `${line}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise((r) => out.once('drain', r));
      buf = '';
    }
  }
  if (buf) out.write(buf);
  await new Promise((resolve, reject) => out.end((e) => (e ? reject(e) : resolve())));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const types = t.names.map((n, i) => `${lit(n)}: ${lit(type(cols[i]))}`).join(', ');
  await conn.run(`COPY (SELECT * FROM read_csv(${lit(csv)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = {${types}})) TO ${lit(path)} (FORMAT parquet, COMPRESSION zstd)`);
  conn.closeSync();
  db.closeSync();
  rmSync(csv);
}

/** Wall time, CPU seconds of the process (user + system, DuckDB's threads included) and the peak RSS above the starting RSS (sampled every 20 ms). */
async function timed(fn) {
  globalThis.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await fn();
  const secs = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { secs, cpu: (c.user + c.system) / 1e6, mib: (peak - base) / 2 ** 20 };
}

const root = mkdtempSync(join(tmpdir(), 'cohortlab-bench-parquet-'));
try {
  const data = join(root, 'data');
  const gen = await writeSynthetic(data, { users: 2000, days: 150, seed: 21 }, { parquet: true });
  const models = openModelStore(join(root, 'models'));
  await trainPipeline({ events: [join(data, 'events.parquet')], config: SYNTHETIC_PRESET, seed: 21, name: 'bench', models, resamples: 50 });
  const store = await loadEvents([join(data, 'events.parquet')], SYNTHETIC_PRESET);
  const snap = await computeFeatures(store, { asOf: gen.asOf });
  store.close();
  // --distinct users (20,000) whose features are each drawn from a different real user (seeded), so
  // probabilities, principal components and reasons vary per user as in a real scoring run; their score rows are
  // then resampled to --rows users with ids of their own (scoring 300k with reasons would take minutes here)
  const rng = createRng(5);
  const columns = {};
  for (const [k, v] of Object.entries(snap.columns)) columns[k] = Float64Array.from({ length: distinct }, () => v[rng.int(snap.userIds.length)]);
  const from = Uint32Array.from({ length: distinct }, () => rng.int(snap.userIds.length));
  const users = {
    ...snap,
    userIds: Array.from(from, (_, j) => `d${j}`),
    columns,
    plan: Array.from(from, (i) => snap.plan[i]),
    alreadyChurned: Uint8Array.from(from, (i) => snap.alreadyChurned[i]),
    label: undefined,
  };
  const model = await loadScoringModel(models, 'bench');
  const t0 = performance.now();
  const result = await model.score(users, { reasons: 3 });
  console.log(`scored ${distinct.toLocaleString('en-US')} users in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const pick = Uint32Array.from({ length: rows }, () => rng.int(distinct));
  const resampled = {
    userIds: Array.from(pick, (_, j) => `u${String(j).padStart(7, '0')}`),
    columns: Object.fromEntries(Object.entries(result.columns).map(([n, c]) => [n, Array.isArray(c) ? Array.from(pick, (i) => c[i]) : Float64Array.from(pick, (i) => c[i])])),
    reasons: Array.from(pick, (i) => result.reasons[i]),
  };
  const t1 = performance.now();
  const table = scoreResultTable(resampled, { reasons: 3 });
  const shapeSecs = (performance.now() - t1) / 1000;
  // the LTV columns `score` adds (empty without events' purchases: all NULL)
  for (const n of ['p_alive', 'expected_purchases', 'clv']) {
    table.names.push(n);
    table.columns[n] = new Float64Array(table.rows).fill(NaN);
  }
  // what the replaced writer was given: every number a double, reasons as JSON text
  const t2 = performance.now();
  const oldTable = asReadTable(table);
  console.log(`${rows.toLocaleString('en-US')} rows x ${table.names.length} columns of score output, 3 reasons per user; shaped in ${shapeSecs.toFixed(2)} s (typed columns, reasons by position), as the old writer's doubles and JSON text in ${((performance.now() - t2) / 1000).toFixed(2)} s (not timed below)`);

  const before = join(root, 'before.parquet');
  const after = join(root, 'after.parquet');
  const previous = join(root, 'previous.parquet');
  const runs = { before: [], previous: [], after: [] };
  for (let r = 0; r < repeats; r++) {
    runs.before.push(await timed(() => writeViaCsv(before, oldTable)));
    // the appender as it was before native types: the same table as doubles and JSON text
    runs.previous.push(await timed(() => writeTable(previous, oldTable, { metadata: { model: 'bench', version: '1', as_of: gen.asOf } })));
    runs.after.push(await timed(() => writeTable(after, table, { metadata: { model: 'bench', version: '1', as_of: gen.asOf } })));
  }
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const types = async (p) => (await conn.runAndReadAll(`SELECT column_name || ' ' || column_type FROM (DESCRIBE SELECT * FROM read_parquet(${lit(p)}))`)).getRowsJS().flat();
  const newTypes = await types(after);
  conn.closeSync();
  db.closeSync();
  const same = isDeepStrictEqual(await readTable(before), await readTable(after)) && isDeepStrictEqual(await readTable(previous), await readTable(after));
  const fmt = (xs) => `${Math.min(...xs.map((x) => x.secs)).toFixed(2)} s (runs ${xs.map((x) => x.secs.toFixed(2)).join(', ')}; CPU ${Math.min(...xs.map((x) => x.cpu)).toFixed(2)} s; peak RSS +${Math.max(...xs.map((x) => x.mib)).toFixed(0)} MiB)`;
  const best = (xs) => Math.min(...xs.map((x) => x.secs));
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`types now: ${newTypes.join(', ')}`);
  console.log(`temporary CSV + DuckDB COPY (the replaced writer, peer): ${fmt(runs.before)}, ${(statSync(before).size / 2 ** 20).toFixed(1)} MiB`);
  console.log(`DuckDB appender + COPY, doubles and JSON text (before):  ${fmt(runs.previous)}, ${(statSync(previous).size / 2 ** 20).toFixed(1)} MiB`);
  console.log(`DuckDB appender + COPY, native types (writeTable):       ${fmt(runs.after)}, ${(statSync(after).size / 2 ** 20).toFixed(1)} MiB`);
  console.log(`speed-up ${(best(runs.before) / best(runs.after)).toFixed(2)}x (target: 14.0-17.2 s -> the appender's 6.3-7.2 s or better); all three files read back as the same table: ${same ? 'yes' : 'NO'}; load average ${load}`);
  if (!same) process.exitCode = 1;
} finally {
  rmSync(root, { recursive: true, force: true });
}
