#!/usr/bin/env node
// Load bench (issue 10): a steady rate on loopback for 5 minutes against `cohortlab serve` in its own process,
// mixing single-user predictions, 100-user batches and /v1/users/:id lookups. Prints requests, errors,
// p50/p99/max latency and the server's RSS at start and end; PASS when there is no error and RSS grows
// less than 10% (exit code 1 otherwise). Without --model it trains a small model into a temporary registry.
// With --refresh, the server runs `serve --refresh every:20s --events FILE` (issue 21): it re-scores the events and
// swaps its snapshot every 20 s during the run, /v1/segments joins the mix, and the bench reports the refresh runs
// (served, failed, skipped) beside the failed requests; PASS needs at least one served refresh as well.
// Usage: node bench/load.js [--seconds 300] [--rate 500] [--connections 64] [--refresh [--refresh-every every:20s]] [--model REF --models-dir DIR --events FILE --as-of DATE]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { writeSynthetic, SYNTHETIC_PRESET, loadEvents, computeFeatures, trainPipeline, openModelStore, loadScoringModel, readTable } from 'cohortlab';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const seconds = Number(arg('seconds', '300'));
const rate = Number(arg('rate', '500'));
// Enough connections to hold the rate through latency spikes on a shared machine (each carries one request at a time).
const connections = Number(arg('connections', '64'));
const givenModel = arg('model', undefined);
const refresh = process.argv.includes('--refresh');
const refreshEvery = arg('refresh-every', 'every:20s');
const root = mkdtempSync(join(tmpdir(), 'cohortlab-bench-load-'));
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const run = (opts) => new Promise((resolve, reject) => autocannon(opts, (err, res) => (err ? reject(err) : resolve(res))));

let server;
try {
  let modelsDir = arg('models-dir', process.env.COHORTLAB_MODELS_DIR ?? 'models');
  let ref = givenModel;
  let events = arg('events', undefined);
  let asOf = arg('as-of', undefined);
  if (!ref) {
    const data = join(root, 'data');
    asOf = (await writeSynthetic(data, { users: 3000, days: 150, seed: 41 })).asOf;
    events = join(data, 'events.parquet');
    modelsDir = join(root, 'models');
    ref = 'load';
    await trainPipeline({ events: [events], config: SYNTHETIC_PRESET, seed: 41, name: ref, models: openModelStore(modelsDir), resamples: 50, keepUserIds: true });
  } else if (!events || !asOf) {
    throw new Error('with --model, give --events FILE and --as-of DATE: the request bodies are the features of those events');
  }
  // Request bodies: features of real users computed with the model's own config.
  const model = await loadScoringModel(openModelStore(modelsDir), ref);
  const store = await loadEvents([events], model.config);
  const t = await computeFeatures(store, { asOf });
  store.close();
  const userAt = (i) => ({ user_id: t.userIds[i % t.userIds.length], features: Object.fromEntries(model.featureNames.map((f) => [f, t.columns[f][i % t.userIds.length]])) });
  // Member lookups need a model that keeps ids (train --keep-user-ids); the bench's own model does.
  const snap = await readTable(join(model.dir, 'scores.parquet'));
  const ids = snap.columns.user_id;

  const port = 20000 + Math.floor(Math.random() * 20000);
  const refreshArgs = refresh ? ['--refresh', refreshEvery, '--events', events] : [];
  server = spawn(process.execPath, [join(here, '..', 'bin', 'cohortlab.js'), 'serve', '--model', ref, '--models-dir', modelsDir, '--port', String(port), ...refreshArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  // the server's log lines about its refresh runs (one per run: served, failed or skipped)
  const refreshLog = { served: 0, failed: 0, skipped: 0, lines: [] };
  let stderrTail = '';
  server.stderr.on('data', (d) => {
    const lines = (stderrTail + String(d)).split('\n');
    stderrTail = lines.pop();
    for (const l of lines) {
      if (/refresh \S+ as of .*; now served/.test(l)) refreshLog.served++;
      else if (/refresh of .* failed/.test(l)) refreshLog.failed++;
      else if (/refresh of .* skipped/.test(l)) refreshLog.skipped++;
      else continue;
      refreshLog.lines.push(l);
    }
  });
  await new Promise((resolve, reject) => {
    server.stderr.on('data', (d) => String(d).includes('cohortlab explorer:') && resolve());
    server.on('exit', (c) => reject(new Error(`server exited with ${c}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  const headers = { 'content-type': 'application/json' };
  const requests = [
    ...Array.from({ length: 8 }, (_, i) => ({ method: 'POST', path: '/v1/predict', headers, body: JSON.stringify({ users: [userAt(i * 7)] }) })),
    { method: 'POST', path: '/v1/predict', headers, body: JSON.stringify({ users: Array.from({ length: 100 }, (_, i) => userAt(i)) }) },
    // A member lookup when the model keeps ids, else one more batch.
    ids
      ? { method: 'GET', path: `/v1/users/${encodeURIComponent(String(ids[3]))}` }
      : { method: 'POST', path: '/v1/predict', headers, body: JSON.stringify({ users: Array.from({ length: 100 }, (_, i) => userAt(i + 100)) }) },
    // with --refresh: the sizes answered from the snapshot being swapped
    ...(refresh ? [{ method: 'GET', path: '/v1/segments' }] : []),
  ];
  const serverPid = server.pid;
  console.log(`model ${model.name}@${model.version} (${model.featureNames.length} features; request bodies from ${t.userIds.length.toLocaleString('en-US')} users); server pid ${serverPid} on 127.0.0.1:${port}`);
  // Warm-up (JIT, tfjs kernels), then the measured run.
  await run({ url: base, requests, duration: 5, connections: 8, overallRate: rate });
  const rssStart = rssMb(serverPid);
  const samples = [];
  const timer = setInterval(() => samples.push(rssMb(serverPid)), 30_000);
  const r = await run({ url: base, requests, duration: seconds, connections, overallRate: rate });
  clearInterval(timer);
  const rssEnd = rssMb(serverPid);
  const peak = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${serverPid}/status`, 'utf8'))[1]) / 1024;
  // autocannon counts a timeout among its errors too (errors >= timeouts): add them once
  const errors = r.errors + r.non2xx;
  const growth = (rssEnd - rssStart) / rssStart;
  console.log(`${seconds} s at ${rate} req/s over ${connections} connections (8 single-user predictions : 1 100-user batch : 1 ${ids ? 'user lookup' : 'more batch'}${refresh ? ' : 1 /v1/segments' : ''}): ${r.requests.total.toLocaleString('en-US')} requests, ${r.requests.average.toFixed(0)} req/s achieved`);
  console.log(`  errors ${r.errors}, timeouts ${r.timeouts}, non-2xx ${r.non2xx}; latency p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms`);
  console.log(`  server RSS ${rssStart.toFixed(0)} MB at start, ${rssEnd.toFixed(0)} MB at end (${growth >= 0 ? '+' : ''}${(100 * growth).toFixed(1)}%); every 30 s: ${samples.map((x) => x.toFixed(0)).join(' ')} MB; peak ${peak.toFixed(0)} MB`);
  let refreshOk = true;
  if (refresh) {
    const h = await (await fetch(`${base}/v1/health`)).json();
    refreshOk = refreshLog.served > 0 && refreshLog.failed === 0;
    console.log(`  serve --refresh ${refreshEvery}: ${refreshLog.served} refresh run(s) served a new snapshot, ${refreshLog.failed} failed, ${refreshLog.skipped} skipped (overlap); serving the snapshot of ${h.snapshot.as_of} (${h.snapshot.source}); last run ${h.refresh.last ? `${h.refresh.last.status} in ${h.refresh.last.seconds} s` : 'none'}`);
  }
  const ok = errors === 0 && growth < 0.1 && refreshOk;
  console.log(`  ${ok ? 'PASS' : 'FAIL'}: ${errors} errors (want 0), RSS growth ${(100 * growth).toFixed(1)}% (want < 10%)${refresh ? `, ${refreshLog.served} served refreshes (want > 0) and ${refreshLog.failed} failed (want 0)` : ''}`);
  process.exitCode = ok ? 0 : 1;
} finally {
  server?.kill('SIGTERM');
  rmSync(root, { recursive: true, force: true });
}
