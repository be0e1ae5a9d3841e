/**
 * Seeded simulated churn data with a known truth, for tests and bench/churn.js (the synthetic
 * product generator in src/synth produces events; this produces feature rows directly).
 *
 * Columns: half standard normal, a quarter heavy-tailed counts (exp of a normal, rounded), a quarter
 * 0/1 flags. True logit = intercept + sum beta_j g(x_j) with g = log1p for counts, plus, when
 * `nonlinear` > 0, an interaction x0*x1, a square x2^2 and a step on x3, scaled by `nonlinear`.
 * The label is Bernoulli(sigmoid(logit)), so `truthProbability` gives the best achievable AUC.
 */
import type { FeatureTable } from '../features/index.js';
import { createRng } from '../shared/rng.js';
import type { Matrix } from './dataset.js';

export interface SimulatedChurn {
  features: string[];
  x: Matrix;
  y: Uint8Array;
  truthProbability: Float64Array;
  beta: number[];
}

export interface SimulateOptions {
  rows: number;
  cols: number;
  seed: number;
  /** Weight of the non-linear terms (0 = a pure logistic truth). Default 1. */
  nonlinear?: number;
  /** Intercept of the true logit (sets the churn rate). Default -1.2 (about 25-30% churn). */
  intercept?: number;
}

export function simulateChurn(opts: SimulateOptions): SimulatedChurn {
  const { rows, cols, seed } = opts;
  const nonlinear = opts.nonlinear ?? 1;
  const intercept = opts.intercept ?? -1.2;
  const rng = createRng(seed);
  const kinds = Array.from({ length: cols }, (_, j) => (j < Math.ceil(cols / 2) ? 'normal' : j < Math.ceil((3 * cols) / 4) ? 'count' : 'flag'));
  const features = kinds.map((k, j) => `${k}_${j}`);
  // Decreasing effect sizes with alternating signs: a few strong features, several weak ones.
  const beta = Array.from({ length: cols }, (_, j) => (j % 2 === 0 ? 1 : -1) * (1.2 / (1 + 0.5 * j)));
  const data = new Float32Array(rows * cols);
  const y = new Uint8Array(rows);
  const p = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let z = intercept;
    for (let j = 0; j < cols; j++) {
      let v: number;
      let g: number;
      if (kinds[j] === 'normal') {
        v = rng.normal();
        g = v;
      } else if (kinds[j] === 'count') {
        v = Math.round(Math.exp(1 + rng.normal()));
        g = Math.log1p(v) - 1.3;
      } else {
        v = rng.next() < 0.3 ? 1 : 0;
        g = v - 0.3;
      }
      data[i * cols + j] = v;
      z += beta[j] * g;
    }
    if (nonlinear > 0 && cols >= 4) {
      const x0 = data[i * cols], x1 = data[i * cols + 1], x2 = data[i * cols + 2], x3 = data[i * cols + 3];
      z += nonlinear * (0.8 * x0 * x1 + 0.6 * (x2 * x2 - 1) + (x3 > 1 ? 1.0 : 0));
    }
    p[i] = 1 / (1 + Math.exp(-z));
    y[i] = rng.next() < p[i] ? 1 : 0;
  }
  return { features, x: { data, rows, cols }, y, truthProbability: p, beta };
}

/** Wraps simulated rows as a FeatureTable (ids u000001..., nobody already churned). */
export function simulatedFeatureTable(sim: SimulatedChurn, asOf: string, rows?: { start: number; end: number }): FeatureTable {
  const start = rows?.start ?? 0;
  const end = rows?.end ?? sim.x.rows;
  const n = end - start;
  const columns: Record<string, Float64Array> = {};
  sim.features.forEach((f, j) => {
    const c = new Float64Array(n);
    for (let i = 0; i < n; i++) c[i] = sim.x.data[(start + i) * sim.x.cols + j];
    columns[f] = c;
  });
  const cutoffMs = Date.parse(`${asOf}T00:00:00Z`) + 86_400_000;
  return {
    asOf,
    cutoffMs,
    userIds: Array.from({ length: n }, (_, i) => `u${String(start + i).padStart(6, '0')}`),
    columns,
    plan: new Array<string>(n).fill(''),
    alreadyChurned: new Uint8Array(n),
    label: sim.y.slice(start, end),
    horizonDays: 30,
  };
}
