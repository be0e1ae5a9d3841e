#!/usr/bin/env node
// bench million (issue 23 part 6): the whole pipeline on one machine at --users users (1,000,000 by default).
// The synthetic log is generated once and kept in --dir (reused while its users, days and seed match); then each
// phase runs as the CLI in its own process, timed with its peak RSS (GNU time): `features` at the truth cutoff and
// `train`, both with `--memory-limit 2GB`, `score` of every user with 3 reason codes, and `serve` answering 1,000-user batches
// of POST /v1/predict for --seconds (autocannon: predictions/s, p50/p99, the server's RSS).
// Usage: npm run bench -- million [--users=1000000] [--days=120] [--dir=DIR] [--seconds=30] [--workers=auto] [--phases=features,train,score,serve]
//   [--memory-limit=2GB] (DuckDB's share in features and train; train lets DuckDB go before it fits the models, so at
//   100k users --memory-limit=1500MB keeps the whole process within 2 GB)
// (default DIR: data/bench-million-USERS-DAYS). --phases reruns some phases on what DIR holds from an earlier run
// (score and serve need its features.parquet and the trained model).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { readTable } from 'cohortlab';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'bin', 'cohortlab.js');
const arg = (name, def) => {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  if (a) return a.slice(name.length + 3);
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const users = Number(arg('users', '1000000'));
const days = Number(arg('days', '120'));
const seconds = Number(arg('seconds', '30'));
// server processes (serve --workers): auto = one per core
const workers = arg('workers', 'auto');
const seed = 7;
const memoryLimit = arg('memory-limit', '2GB');
const dir = resolve(arg('dir', join(here, '..', 'data', `bench-million-${users}-${days}`)));
const data = join(dir, 'data');
const modelsDir = join(dir, 'models');
const rows = [];
const phases = new Set(arg('phases', 'features,train,score,serve').split(','));
for (const p of phases) if (!['features', 'train', 'score', 'serve'].includes(p)) throw new Error(`--phases: unknown phase ${p} (features, train, score, serve)`);

/** Runs the CLI under GNU time: wall seconds and peak RSS of the process (its worker threads included). */
function phase(name, args) {
  const timing = join(dir, `${name}.time`);
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', '-o', timing, process.execPath, cli, ...args], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, TZ: 'UTC' } });
  if (r.status !== 0) throw new Error(`${name} exited with ${r.status}: node bin/cohortlab.js ${args.join(' ')}`);
  const [, kb] = readFileSync(timing, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
  const row = { phase: name, seconds: (performance.now() - t0) / 1000, peak_rss_mb: kb / 1024 };
  rows.push(row);
  console.log(`${name}: ${row.seconds.toFixed(1)} s, peak RSS ${row.peak_rss_mb.toFixed(0)} MB`);
  return row;
}

mkdirSync(dir, { recursive: true });
const stamp = join(dir, 'bench-million.json');
const want = JSON.stringify({ users, days, seed });
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want || !existsSync(join(data, 'events.parquet'))) {
  rmSync(data, { recursive: true, force: true });
  phase('generate', ['generate', '--users', String(users), '--days', String(days), '--seed', String(seed), '--out', data]);
  writeFileSync(stamp, want);
} else console.log(`generate: reusing the log in ${data}`);
const asOf = JSON.parse(readFileSync(join(data, 'truth.json'), 'utf8')).as_of;
const events = join(data, 'events.parquet');
const config = join(data, 'cohortlab.config.json');
const features = join(dir, 'features.parquet');

// the same DuckDB limit as train: without one, DuckDB may take 80% of RAM (the features of 1M users took 19 GB here)
if (phases.has('features')) phase('features', ['features', '--events', events, '--config', config, '--as-of', asOf, '--out', features, '--memory-limit', memoryLimit, '-q']);
if (phases.has('train')) {
  rmSync(modelsDir, { recursive: true, force: true });
  phase('train', ['train', '--events', events, '--config', config, '--seed', String(seed), '--memory-limit', memoryLimit, '--models-dir', modelsDir, '--name', 'million', '-q']);
}
if ((phases.has('score') || phases.has('serve')) && !(existsSync(features) && existsSync(join(modelsDir, 'million')))) throw new Error(`score and serve need ${features} and the model in ${modelsDir}: run the features and train phases first`);
if (phases.has('score')) phase('score', ['score', '--model', 'million', '--models-dir', modelsDir, '--table', features, '--reasons', '3', '--out', join(dir, 'scores.parquet'), '-q']);

/** The server on the trained version, 1,000-user batches of feature rows as fast as they go. */
async function serveBench() {
  const table = await readTable(features);
  const names = table.names.filter((n) => n !== 'user_id' && typeof table.columns[n][0] === 'number');
  // Distinct users in every batch, cycled (a server's TreeSHAP keeps the patterns it has seen: the same batch again
  // would measure a warm cache only)
  const nBatches = Math.max(1, Math.min(50, Math.floor(table.rows / 1000)));
  const batchAt = (b) => Array.from({ length: 1000 }, (_, k) => {
    const i = (b * 1000 + k) % table.rows;
    return { user_id: String(table.columns.user_id[i]), features: Object.fromEntries(names.map((n) => [n, table.columns[n][i]])) };
  });
  const batches = Array.from({ length: nBatches }, (_, b) => batchAt(b));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const started = performance.now();
  const server = spawn(process.execPath, [cli, 'serve', '--model', 'million', '--models-dir', modelsDir, '--port', String(port), '--workers', workers], { stdio: ['ignore', 'ignore', 'pipe'] });
  const hwm = (pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  // the primary and its workers (serve --workers)
  const rss = () => hwm(server.pid) + readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).reduce((a, c) => a + hwm(Number(c)), 0);
  try {
    await new Promise((ok, fail) => {
      server.stderr.on('data', (d) => String(d).includes('cohortlab explorer:') && ok());
      server.on('exit', (c) => fail(new Error(`serve exited with ${c}`)));
    });
    // ready: every worker has loaded the version (its model, scored snapshot and member tables)
    const startup = { phase: `serve --workers ${workers} start (load the version)`, seconds: (performance.now() - started) / 1000, peak_rss_mb: rss() };
    rows.push(startup);
    console.log(`${startup.phase}: ${startup.seconds.toFixed(1)} s, server peak RSS ${startup.peak_rss_mb.toFixed(0)} MB`);
    const run = (opts) => new Promise((ok, fail) => autocannon(opts, (e, r) => (e ? fail(e) : ok(r))));
    const opts = { url: `http://127.0.0.1:${port}/v1/predict`, method: 'POST', headers: { 'content-type': 'application/json' }, connections: 4 };
    for (const reasons of [3, 0]) {
      const requests = batches.map((users) => ({ method: 'POST', body: JSON.stringify({ users, top_reasons: reasons }) }));
      await run({ ...opts, requests: requests.slice(0, 1), duration: 2 }); // warm-up (JIT) on the first batch only
      const r = await run({ ...opts, requests, duration: seconds });
      const row = { phase: `serve --workers ${workers} batches (${reasons} reasons, ${nBatches} distinct batches cycled)`, seconds, predictions_per_s: (r.requests.total * 1000) / seconds, p50_ms: r.latency.p50, p99_ms: r.latency.p99, errors: r.errors + r.non2xx, peak_rss_mb: rss() };
      rows.push(row);
      console.log(`${row.phase}: ${Math.round(row.predictions_per_s).toLocaleString('en-US')} predictions/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, ${row.errors} errors, server peak RSS ${row.peak_rss_mb.toFixed(0)} MB`);
    }
  } finally {
    server.kill();
  }
}
if (phases.has('serve')) await serveBench();
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`\nbench million: ${users.toLocaleString('en-US')} users, ${days} days, DuckDB --memory-limit ${memoryLimit}, load average ${load}`);
console.table(rows.map((r) => ({ ...r, seconds: Number(r.seconds.toFixed(1)), peak_rss_mb: Math.round(r.peak_rss_mb) })));
writeFileSync(join(dir, 'bench-million-result.json'), `${JSON.stringify({ users, days, memoryLimit, load, rows }, null, 2)}\n`);
