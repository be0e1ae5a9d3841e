#!/usr/bin/env node
// Server load bench (issue 8): autocannon on loopback against `cohortlab serve` in its own process.
// Single-user predictions at a fixed 1,000 req/s, then 1,000-user batches as fast as they go.
// Prints requests/s, predictions/s, p50/p99 latency, errors, and the server's RSS over the run.
// Usage: node bench/serve.js [--seconds 60]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { writeSynthetic, SYNTHETIC_PRESET, loadEvents, computeFeatures, trainPipeline } from 'cohortlab';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const seconds = Number(arg('seconds', '60'));
const root = mkdtempSync(join(tmpdir(), 'cohortlab-bench-serve-'));
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

function run(opts) {
  return new Promise((resolve, reject) => autocannon(opts, (err, res) => (err ? reject(err) : resolve(res))));
}

let server;
try {
  const data = join(root, 'data');
  const gen = await writeSynthetic(data, { users: 3000, days: 150, seed: 31 });
  const modelsDir = join(root, 'models');
  await trainPipeline({ events: [join(data, 'events.parquet')], config: SYNTHETIC_PRESET, seed: 31, name: 'bench', modelsDir, resamples: 100 });
  const store = await loadEvents([join(data, 'events.parquet')], SYNTHETIC_PRESET);
  const t = await computeFeatures(store, { asOf: gen.asOf });
  store.close();
  const userAt = (i) => ({ user_id: t.userIds[i], features: Object.fromEntries(Object.entries(t.columns).map(([k, v]) => [k, v[i]])) });

  const port = 20000 + Math.floor(Math.random() * 20000);
  server = spawn(process.execPath, [join(here, '..', 'bin', 'cohortlab.js'), 'serve', '--model', 'bench', '--models-dir', modelsDir, '--port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise((resolve, reject) => {
    server.stderr.on('data', (d) => String(d).includes('cohortlab explorer:') && resolve());
    server.on('exit', (c) => reject(new Error(`server exited with ${c}`)));
  });
  const url = `http://127.0.0.1:${port}/v1/predict`;
  const headers = { 'content-type': 'application/json' };
  // Warm-up (JIT, tfjs kernels).
  await run({ url, method: 'POST', headers, body: JSON.stringify({ users: [userAt(0)] }), duration: 3, connections: 4 });
  const rssBefore = rssMb(server.pid);
  const samples = [];
  const timer = setInterval(() => samples.push(rssMb(server.pid)), 5000);
  const single = await run({ url, method: 'POST', headers, body: JSON.stringify({ users: [userAt(1)] }), duration: seconds, connections: 20, overallRate: 1000 });
  clearInterval(timer);
  const rssAfter = rssMb(server.pid);
  const s = single.latency;
  console.log(`single-user predict at 1,000 req/s for ${seconds} s: ${single.requests.average.toFixed(0)} req/s, p50 ${s.p50} ms, p99 ${s.p99} ms (target < 10 ms: ${s.p99 < 10 ? 'met' : 'NOT met'}), errors ${single.errors + single.non2xx}`);
  console.log(`server RSS: ${rssBefore.toFixed(0)} MB before, ${rssAfter.toFixed(0)} MB after; samples every 5 s: ${samples.map((x) => x.toFixed(0)).join(' ')} MB`);

  for (const topReasons of [3, 0]) {
    const batch = { users: Array.from({ length: 1000 }, (_, i) => userAt(i % t.userIds.length)), top_reasons: topReasons };
    const b = await run({ url, method: 'POST', headers, body: JSON.stringify(batch), duration: Math.max(10, Math.round(seconds / 3)), connections: 2 });
    const perSec = b.requests.average * 1000;
    console.log(`1,000-user batches, top_reasons ${topReasons}: ${b.requests.average.toFixed(1)} req/s = ${Math.round(perSec).toLocaleString('en-US')} predictions/s (target >= 100,000: ${perSec >= 100_000 ? 'met' : 'NOT met'}), p50 ${b.latency.p50} ms, p99 ${b.latency.p99} ms, errors ${b.errors + b.non2xx}; RSS ${rssMb(server.pid).toFixed(0)} MB`);
  }
} finally {
  server?.kill('SIGTERM');
  rmSync(root, { recursive: true, force: true });
}
