#!/usr/bin/env node
// Batch scoring bench (issues 7 and 23): `cohortlab score` on 1M users from a features file, in chunks, with and
// without reason codes. Prints users/second, wall time against issue 23's 15 s target, CPU seconds (user + system)
// and the peak RSS of the scoring process (GNU time) against its 1 GB, and the load average beside them. The model is
// trained here on a small seeded synthetic product; the 1M users are rows of its latest snapshot resampled with a
// seeded generator.
// Usage: node bench/score.js [--users 1000000]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  writeSynthetic, SYNTHETIC_PRESET, loadEvents, computeFeatures, writeFeatureTable, trainPipeline, openModelStore, createRng
} from 'cohortlab';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const users = Number(arg('users', '1000000'));
const root = mkdtempSync(join(tmpdir(), 'cohortlab-bench-score-'));
try {
  const data = join(root, 'data');
  const gen = await writeSynthetic(data, { users: 2000, days: 150, seed: 21 }, { parquet: true });
  const modelsDir = join(root, 'models');
  const t = await trainPipeline({ events: [join(data, 'events.parquet')], config: SYNTHETIC_PRESET, seed: 21, name: 'bench', models: openModelStore(modelsDir), resamples: 100 });
  console.log(`model bench@${t.version.version} trained on ${gen.truth.userIds.length} users in ${t.seconds.toFixed(1)} s`);

  const store = await loadEvents([join(data, 'events.parquet')], SYNTHETIC_PRESET);
  const snap = await computeFeatures(store, { asOf: gen.asOf });
  store.close();
  const rng = createRng(5);
  const pick = Uint32Array.from({ length: users }, () => rng.int(snap.userIds.length));
  const columns = {};
  for (const [k, v] of Object.entries(snap.columns)) columns[k] = Float64Array.from(pick, (i) => v[i]);
  const big = {
    ...snap,
    userIds: Array.from(pick, (_, j) => `b${String(j).padStart(7, '0')}`),
    columns,
    plan: Array.from(pick, (i) => snap.plan[i]),
    alreadyChurned: Uint8Array.from(pick, (i) => snap.alreadyChurned[i]),
    label: undefined,
  };
  const features = join(root, 'features-1m.parquet');
  await writeFeatureTable(features, big);
  console.log(`${users.toLocaleString('en-US')} users x ${Object.keys(columns).length} features written`);

  for (const reasons of ['0', '3']) {
    const out = join(root, `scores-${reasons}.parquet`);
    const t0 = performance.now();
    const timing = join(root, `score-${reasons}.time`);
    const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timing, process.execPath, join(here, '..', 'bin', 'cohortlab.js'), 'score', '--model', 'bench', '--models-dir', modelsDir, '--table', features, '--out', out, '--reasons', reasons], { encoding: 'utf8' });
    const secs = (performance.now() - t0) / 1000;
    if (r.status !== 0) {
      console.log(`score failed (${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      process.exitCode = 1;
      continue;
    }
    const line = r.stderr.split('\n').find((l) => l.startsWith('scored ')) ?? '';
    const [, user, sys, kb] = readFileSync(timing, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
    const mb = kb / 1024;
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(`reasons=${reasons}: ${secs.toFixed(1)} s wall (target <= 15 s: ${secs <= 15 ? 'met' : 'NOT met'}), ${(user + sys).toFixed(1)} CPU s, peak RSS ${mb.toFixed(0)} MB (target <= 1 GB: ${mb <= 1024 ? 'met' : 'NOT met'}), load average ${load} | ${line}`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
