// Bench of retention (src/retention): Kaplan-Meier curves of every group (with Greenwood bands, the median and
// its interval) and the log-rank test on N seeded durations, beside statsmodels on the same arrays
// (bench/peers/km_statsmodels.py); then `computeRetention` end to end (features, durations, curves, log-rank,
// cohort table) on an event file when one is given.
// Run after `npm run build`:  TZ=UTC node bench/retention.js [N] [--events FILE --as-of DATE]   (default N = 1,000,000)
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeRetention, kaplanMeier, logRank, loadEvents, resolveConfigFor, createRng } from 'cohortlab';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const n = Number(args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--'))) ?? 1_000_000);
const K = 4;

// Whole-day durations: exponential lifetimes with a mean of 60..150 days by group, censored at up to 365 days.
const rng = createRng(7);
const durations = new Float64Array(n);
const churned = new Uint8Array(n);
const group = new Int32Array(n);
for (let i = 0; i < n; i++) {
  const k = rng.int(K);
  const life = Math.floor(-(60 + 30 * k) * Math.log(1 - rng.next()));
  const censor = Math.floor(365 * rng.next());
  group[i] = k;
  durations[i] = Math.min(life, censor);
  churned[i] = life <= censor ? 1 : 0;
}
const labels = Array.from(group, (k) => `g${k}`);

function best(fn, reps = 3) {
  let t = Infinity;
  let out;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    out = fn();
    t = Math.min(t, performance.now() - t0);
  }
  return { ms: t, out };
}

const curves = best(() => {
  // split by group into typed arrays (counted first), as statsmodels' masks do, then one curve per group
  const size = new Int32Array(K);
  for (let i = 0; i < n; i++) size[group[i]]++;
  const t = Array.from(size, (m) => new Float64Array(m));
  const d = Array.from(size, (m) => new Uint8Array(m));
  const at = new Int32Array(K);
  for (let i = 0; i < n; i++) {
    const k = group[i];
    t[k][at[k]] = durations[i];
    d[k][at[k]++] = churned[i];
  }
  return t.map((tk, k) => kaplanMeier(tk, d[k]));
});
const test = best(() => logRank(durations, churned, labels));
console.log(`${n.toLocaleString('en-US')} users, ${K} groups, ${churned.reduce((s, v) => s + v, 0).toLocaleString('en-US')} churns`);
console.log(`cohortlab   curves ${curves.ms.toFixed(0).padStart(6)} ms   log-rank ${test.ms.toFixed(0).padStart(6)} ms   chi-square ${test.out.chiSquare.toFixed(6)}`);

const dir = await mkdtemp(join(tmpdir(), 'bench-retention-'));
try {
  await writeFile(join(dir, 't.bin'), Buffer.from(durations.buffer));
  await writeFile(join(dir, 'd.bin'), Buffer.from(churned.buffer));
  await writeFile(join(dir, 'g.bin'), Buffer.from(group.buffer));
  const py = spawnSync('/usr/bin/python3', [join(here, 'peers', 'km_statsmodels.py'), join(dir, 't.bin'), join(dir, 'd.bin'), join(dir, 'g.bin'), String(n)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (py.status !== 0) console.log(`statsmodels peer failed: ${py.stderr.trim().split('\n').pop()}`);
  else {
    const p = JSON.parse(py.stdout);
    const diff = Math.max(...curves.out.map((c, k) => Math.abs(c.steps[c.steps.length - 1].survival - p.last_survival[k])), Math.abs(test.out.chiSquare - p.chi_square) / p.chi_square);
    console.log(`statsmodels ${p.statsmodels} curves ${(1000 * p.curves_seconds).toFixed(0).padStart(6)} ms   log-rank ${(1000 * p.logrank_seconds).toFixed(0).padStart(6)} ms   chi-square ${p.chi_square.toFixed(6)}`);
    console.log(`ratio (statsmodels / cohortlab): curves ${(1000 * p.curves_seconds / curves.ms).toFixed(2)}x, log-rank ${(1000 * p.logrank_seconds / test.ms).toFixed(2)}x; largest difference ${diff.toExponential(2)}`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const events = flag('events');
const asOf = flag('as-of');
if (events && asOf) {
  const config = await resolveConfigFor([events], { preset: flag('preset') });
  const t0 = performance.now();
  const store = await loadEvents([events], config);
  const t1 = performance.now();
  try {
    const r = await computeRetention(store, { asOf, by: { kind: 'segment' } });
    const t2 = performance.now();
    console.log(`end to end on ${store.report.rowsUsed.toLocaleString('en-US')} events (${r.userIds.length.toLocaleString('en-US')} users): load ${((t1 - t0) / 1000).toFixed(2)} s, features + durations + curves by segment + log-rank + cohort table ${((t2 - t1) / 1000).toFixed(2)} s; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  } finally {
    await store.close();
  }
}
