/**
 * Customers drawn from the BG/NBD process itself (known truth for tests and the bench): a rate
 * λ ~ Gamma(r, rate α) and a dropout probability p ~ Beta(a, b) per customer; from the first purchase at
 * time 0, purchases arrive as a Poisson process with rate λ, and after each repeat purchase the customer
 * dies with probability p (FHL 2005 assumptions i-v). Observed until their own T.
 */
import type { Rng } from '../shared/rng.js';

/** Gamma(shape, scale 1) by Marsaglia & Tsang (2000); shape < 1 by the boost G(k) = G(k+1) U^(1/k). */
export function sampleGamma(shape: number, rng: Rng): number {
  if (shape < 1) {
    let u = rng.next();
    while (u <= 0) u = rng.next();
    return sampleGamma(shape + 1, rng) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let z: number;
    let v: number;
    do {
      z = rng.normal();
      v = 1 + c * z;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * z * z * z * z) return d * v;
    if (u > 0 && Math.log(u) < 0.5 * z * z + d * (1 - v + Math.log(v))) return d * v;
  }
}

export interface SimulatedPurchases {
  frequency: Float64Array;
  recency: Float64Array;
  T: Float64Array;
  /** Purchases in (T, T + horizon] (all 0 without a horizon). */
  holdout: Float64Array;
}

/**
 * `T[i]` is each customer's observation length (time units); returns their x, t_x, T, and the purchases
 * they make in the `horizon` after T (the process simply runs on).
 */
export function simulateBgNbd(truth: { r: number; alpha: number; a: number; b: number }, T: ArrayLike<number>, rng: Rng, horizon = 0): SimulatedPurchases {
  const n = T.length;
  const frequency = new Float64Array(n);
  const recency = new Float64Array(n);
  const holdout = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const lambda = sampleGamma(truth.r, rng) / truth.alpha;
    const ga = sampleGamma(truth.a, rng);
    const p = ga / (ga + sampleGamma(truth.b, rng));
    let t = 0;
    let x = 0;
    let tx = 0;
    let later = 0;
    const end = T[i] + horizon;
    for (;;) {
      const u = 1 - rng.next();
      t += -Math.log(u) / lambda;
      if (!(t <= end)) break;
      if (t <= T[i]) {
        x++;
        tx = t;
      } else later++;
      if (rng.next() < p) break;
    }
    frequency[i] = x;
    recency[i] = tx;
    holdout[i] = later;
  }
  return { frequency, recency, T: Float64Array.from(T), holdout };
}
