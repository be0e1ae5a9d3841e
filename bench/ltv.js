#!/usr/bin/env node
// bench ltv: BG/NBD maximum likelihood on 1M customers simulated from the model itself (seeded; CDNOW-like truth
// r 0.25, alpha 4.8, a 0.72, b 2.16 in weeks, observed 0-78 weeks), cohortlab (src/ltv: BFGS with the analytic
// gradient, per-x tabulated log-gamma ratios) beside scipy (bench/peers/btyd_scipy.py: BFGS with finite-difference
// gradients over a gammaln/logaddexp log-likelihood) on the same data in the same run. Prints both fit times
// (cohortlab: best of --repeats), the evaluations each needed and the time of one log-likelihood evaluation, both
// parameter sets against each other and the truth, and cohortlab's time to score every customer (P(alive),
// expected purchases over 39 weeks, P(no purchase)).
// Usage (after npm run build): node bench/ltv.js [--sizes=100000,1000000] [--repeats=3] [--no-peer]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BgNbd, bgnbdObjective, simulateBgNbd, createRng } from 'cohortlab';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
};
const sizes = arg('sizes', '100000,1000000').split(',').map(Number);
const repeats = Number(arg('repeats', '3'));
const peer = !process.argv.includes('--no-peer');
const truth = { r: 0.25, alpha: 4.8, a: 0.72, b: 2.16 };
const python = '/usr/bin/python3';

for (const n of sizes) {
  const rng = createRng(2026);
  const T = Float64Array.from({ length: n }, () => 78 * rng.next());
  let t0 = performance.now();
  const sim = simulateBgNbd(truth, T, rng);
  const simSeconds = (performance.now() - t0) / 1000;
  let repeat = 0;
  for (let i = 0; i < n; i++) if (sim.frequency[i] > 0) repeat++;
  let best = Infinity;
  let fitted;
  for (let k = 0; k < repeats; k++) {
    t0 = performance.now();
    const m = new BgNbd().fit(sim);
    const s = (performance.now() - t0) / 1000;
    if (s < best) {
      best = s;
      fitted = m;
    }
  }
  const st = fitted.fitted;
  const f = bgnbdObjective(sim);
  const theta = Float64Array.from([st.r, st.alpha, st.a, st.b].map(Math.log));
  const g = new Float64Array(4);
  t0 = performance.now();
  for (let k = 0; k < 5; k++) f(theta, g);
  const perEval = (performance.now() - t0) / 5000;
  t0 = performance.now();
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const [x, tx, TT] = [sim.frequency[i], sim.recency[i], sim.T[i]];
    sink += fitted.pAlive(x, tx, TT) + fitted.expectedPurchases(39, x, tx, TT) + fitted.pNoPurchase(39, x, tx, TT);
  }
  const scoreSeconds = (performance.now() - t0) / 1000;
  const fmt = (p) => `r ${p.r.toFixed(4)}, alpha ${p.alpha.toFixed(4)}, a ${p.a.toFixed(4)}, b ${p.b.toFixed(4)}`;
  console.log(`BG/NBD, ${n.toLocaleString('en-US')} customers (${repeat.toLocaleString('en-US')} repeat; simulated in ${simSeconds.toFixed(2)} s), truth ${fmt(truth)}`);
  console.log(`  cohortlab: ${best.toFixed(3)} s (best of ${repeats}), ${st.optimizer.iterations} BFGS iterations, ${st.optimizer.evaluations} evaluations, ${(perEval * 1000).toFixed(1)} ms per log-likelihood+gradient; ${fmt(st)}, log-likelihood ${st.log_likelihood.toFixed(4)} (${st.optimizer.stop})`);
  console.log(`  scoring every customer (P(alive), expected purchases in 39 weeks, P(no purchase)): ${scoreSeconds.toFixed(3)} s (checksum ${sink.toFixed(3)})`);
  if (peer) {
    const dir = mkdtempSync(join(tmpdir(), 'cohortlab-bench-ltv-'));
    try {
      const file = join(dir, 'x_tx_T.f64');
      const buf = new Float64Array(3 * n);
      buf.set(sim.frequency, 0);
      buf.set(sim.recency, n);
      buf.set(sim.T, 2 * n);
      writeFileSync(file, Buffer.from(buf.buffer));
      const r = spawnSync(python, [join(here, 'peers', 'btyd_scipy.py'), file, String(n)], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (r.status !== 0) throw new Error(`scipy peer failed: ${r.stderr}`);
      const p = JSON.parse(r.stdout.trim().split('\n').pop());
      const rel = Math.max(...['r', 'alpha', 'a', 'b'].map((k) => Math.abs(p[k] - st[k]) / Math.abs(p[k])));
      console.log(`  scipy BFGS (finite-difference gradient): ${p.seconds.toFixed(3)} s, ${p.evaluations} evaluations, ${(p.seconds_per_evaluation * 1000).toFixed(1)} ms per log-likelihood; ${fmt(p)}, log-likelihood ${p.log_likelihood.toFixed(4)} (${p.message})`);
      console.log(`  cohortlab / scipy time ${(best / p.seconds).toFixed(3)}; largest parameter difference ${rel.toExponential(2)} relative; log-likelihood difference (cohortlab - scipy) ${(st.log_likelihood - p.log_likelihood).toExponential(2)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
