/**
 * BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way: an alternative to the
 * Pareto/NBD model", Marketing Science 24(2)). While alive a customer buys as a Poisson process with
 * rate λ ~ Gamma(r, α); after each purchase they die with probability p ~ Beta(a, b). Data per customer:
 * x = repeat purchases (frequency), t_x = time of the last one since the first (recency), T = time
 * from the first purchase to the end of calibration, in units of `time_unit_days`.
 *
 * Maximum likelihood (FHL 2005 eq. 6), per customer, with log-gamma ratios written as sums because x
 * is a whole number (ln Γ(r+x) - ln Γ(r) = Σ_{k<x} ln(r+k)) and the two terms combined in log-sum-exp form:
 *   ℓ = Σ_{k<x} ln(r+k) + r ln α + Σ_{k<x} [ln(b+k) - ln(a+b+k)]
 *       + lse( -(r+x) ln(α+T),  [x>0] (ln a - ln(b+x-1) - (r+x) ln(α+t_x)) )
 * The optimizer is BFGS (optimize.ts) on θ = ln(r, α, a, b) with the analytic gradient, minimizing the
 * mean negative log-likelihood; converged when every |∂/∂θ| < 1e-9. The sums over k are tabulated once
 * per evaluation for x = 0..max x, so one evaluation costs two logarithms and one exponential per customer.
 */
import { CohortlabError } from '../shared/errors.js';
import { minimizeBfgs } from './optimize.js';
import { hyp2f1 } from './special.js';

/** Frequency, recency and T of each customer (rfm-summary.ts makes them from events). */
export interface PurchaseHistory {
  frequency: ArrayLike<number>;
  recency: ArrayLike<number>;
  T: ArrayLike<number>;
}

/** Hyperparameters of the fit (kept as given, checked in fit). */
export interface BgNbdParams {
  /** Largest |gradient| of the mean negative log-likelihood in log-parameters at convergence (default 1e-9). */
  grad_tol: number;
  /** BFGS iteration limit (default 1000). */
  max_iter: number;
}

/** What the fit learned. */
export interface BgNbdState {
  r: number;
  alpha: number;
  a: number;
  b: number;
  /** Total log-likelihood at the optimum (the sum over customers, FHL 2005 eq. 6). */
  log_likelihood: number;
  customers: number;
  repeat_customers: number;
  optimizer: { method: 'BFGS on log parameters'; iterations: number; evaluations: number; converged: boolean; stop: string; grad_max: number; grad_tol: number };
}

export interface BgNbdJSON {
  kind: 'bgnbd';
  version: 1;
  params: BgNbdParams;
  state: BgNbdState;
}

export const BGNBD_DEFAULTS: BgNbdParams = { grad_tol: 1e-9, max_iter: 1000 };

/** Checks one customer's (x, t_x, T); the message names the customer by index. */
function checkHistory(h: PurchaseHistory): number {
  const n = h.frequency.length;
  if (h.recency.length !== n || h.T.length !== n) {
    throw new CohortlabError('BAD_ARGUMENT', `BG/NBD: frequency, recency and T must have one value per customer; got ${n}, ${h.recency.length} and ${h.T.length}.`);
  }
  for (let i = 0; i < n; i++) {
    const x = h.frequency[i];
    const tx = h.recency[i];
    const T = h.T[i];
    if (!(Number.isInteger(x) && x >= 0) || !(tx >= 0) || !(T >= tx) || !Number.isFinite(T) || (x === 0 && tx !== 0)) {
      throw new CohortlabError('BAD_ARGUMENT', `BG/NBD: customer ${i} has frequency ${x}, recency ${tx}, T ${T}; frequency must be a whole number >= 0, 0 <= recency <= T (recency 0 when frequency is 0).`);
    }
  }
  return n;
}

/** Mean negative log-likelihood and its gradient in θ = ln(r, α, a, b). Exported for tests. */
export function bgnbdObjective(h: PurchaseHistory): (theta: Float64Array, grad: Float64Array) => number {
  const n = h.frequency.length;
  const x = Int32Array.from(h.frequency as ArrayLike<number>);
  const tx = Float64Array.from(h.recency as ArrayLike<number>);
  const T = Float64Array.from(h.T as ArrayLike<number>);
  let maxX = 0;
  for (let i = 0; i < n; i++) if (x[i] > maxX) maxX = x[i];
  const count = new Float64Array(maxX + 1);
  for (let i = 0; i < n; i++) count[x[i]]++;
  // Per-x tables: cumulative sums over k < x and ln(b + x - 1).
  const lr = new Float64Array(maxX + 1);
  const dr = new Float64Array(maxX + 1);
  const lb = new Float64Array(maxX + 1);
  const da = new Float64Array(maxX + 1);
  const db = new Float64Array(maxX + 1);
  const lnBx1 = new Float64Array(maxX + 1);
  const invBx1 = new Float64Array(maxX + 1);
  return (theta, grad) => {
    const r = Math.exp(theta[0]);
    const alpha = Math.exp(theta[1]);
    const a = Math.exp(theta[2]);
    const b = Math.exp(theta[3]);
    lr[0] = dr[0] = lb[0] = da[0] = db[0] = 0;
    for (let k = 0; k < maxX; k++) {
      lr[k + 1] = lr[k] + Math.log(r + k);
      dr[k + 1] = dr[k] + 1 / (r + k);
      lb[k + 1] = lb[k] + Math.log(b + k) - Math.log(a + b + k);
      da[k + 1] = da[k] - 1 / (a + b + k);
      db[k + 1] = db[k] + 1 / (b + k) - 1 / (a + b + k);
      lnBx1[k + 1] = Math.log(b + k);
      invBx1[k + 1] = 1 / (b + k);
    }
    const lnAlpha = Math.log(alpha);
    const lnA = Math.log(a);
    // Terms that depend on x only.
    let ll = 0;
    let gr = 0;
    let ga = 0;
    let gb = 0;
    for (let k = 0; k <= maxX; k++) {
      if (count[k] === 0) continue;
      ll += count[k] * (lr[k] + lb[k]);
      gr += count[k] * dr[k];
      ga += count[k] * da[k];
      gb += count[k] * db[k];
    }
    ll += n * r * lnAlpha;
    gr += n * lnAlpha;
    let gAlpha = (n * r) / alpha;
    for (let i = 0; i < n; i++) {
      const xi = x[i];
      const rx = r + xi;
      const lnAT = Math.log(alpha + T[i]);
      const a3 = -rx * lnAT;
      if (xi === 0) {
        ll += a3;
        gr -= lnAT;
        gAlpha -= rx / (alpha + T[i]);
        continue;
      }
      const lnAtx = Math.log(alpha + tx[i]);
      const a4 = lnA - lnBx1[xi] - rx * lnAtx;
      // log-sum-exp and w = share of the "died after the last purchase" term.
      const diff = a4 - a3;
      const e = Math.exp(-Math.abs(diff));
      const w = diff > 0 ? 1 / (1 + e) : e / (1 + e);
      ll += Math.max(a3, a4) + Math.log1p(e);
      gr -= (1 - w) * lnAT + w * lnAtx;
      gAlpha -= (1 - w) * (rx / (alpha + T[i])) + w * (rx / (alpha + tx[i]));
      ga += w / a;
      gb -= w * invBx1[xi];
    }
    // Minimize the mean negative log-likelihood; chain rule for θ = ln(param).
    grad[0] = (-gr * r) / n;
    grad[1] = (-gAlpha * alpha) / n;
    grad[2] = (-ga * a) / n;
    grad[3] = (-gb * b) / n;
    return -ll / n;
  };
}

export class BgNbd {
  readonly params: BgNbdParams;
  private state: BgNbdState | null = null;

  constructor(params: Partial<BgNbdParams> = {}) {
    this.params = { ...BGNBD_DEFAULTS, ...params };
  }

  /** Maximum-likelihood fit; replaces any earlier state. Starts from r = a = b = 1, α = mean T. */
  fit(h: PurchaseHistory): this {
    const { grad_tol, max_iter } = this.params;
    if (!(grad_tol > 0) || !(Number.isInteger(max_iter) && max_iter > 0)) {
      throw new CohortlabError('BAD_ARGUMENT', `BG/NBD: grad_tol must be > 0 and max_iter a whole number > 0, got ${grad_tol} and ${max_iter}.`);
    }
    const n = checkHistory(h);
    let repeat = 0;
    let sumT = 0;
    for (let i = 0; i < n; i++) {
      if (h.frequency[i] > 0) repeat++;
      sumT += h.T[i];
    }
    if (n === 0 || repeat === 0) {
      throw new CohortlabError('TOO_FEW_PURCHASES', `BG/NBD: ${n} customers and ${repeat} with a repeat purchase; the dropout parameters need customers who bought on at least two days. Use a later --as-of or a longer log.`);
    }
    const meanT = sumT / n;
    const res = minimizeBfgs(bgnbdObjective(h), [0, Math.log(meanT > 0 ? meanT : 1), 0, 0], { gradTol: grad_tol, maxIter: max_iter });
    const [r, alpha, a, b] = Array.from(res.x, Math.exp);
    this.state = {
      r,
      alpha,
      a,
      b,
      log_likelihood: -res.value * n,
      customers: n,
      repeat_customers: repeat,
      optimizer: { method: 'BFGS on log parameters', iterations: res.iterations, evaluations: res.evaluations, converged: res.converged, stop: res.stop, grad_max: res.gradMax, grad_tol },
    };
    return this;
  }

  get fitted(): BgNbdState {
    if (!this.state) throw new CohortlabError('NOT_FITTED', 'BgNbd: used before fit; call fit(history) or BgNbd.fromJSON(saved) first.');
    return this.state;
  }

  /**
   * P(alive | x, t_x, T) (FHL 2005 eq. 11): 1 / (1 + [x>0] a/(b+x-1) ((α+T)/(α+t_x))^(r+x)).
   * A customer without a repeat purchase is alive with probability 1: in BG/NBD death only happens
   * right after a purchase, so one-time buyers are never scored as dead (their rate is low instead).
   */
  pAlive(x: number, tx: number, T: number): number {
    const { r, alpha, a, b } = this.fitted;
    if (x === 0) return 1;
    const logOdds = Math.log(a / (b + x - 1)) + (r + x) * Math.log((alpha + T) / (alpha + tx));
    return 1 / (1 + Math.exp(logOdds));
  }

  /**
   * E[purchases in (T, T+t] | x, t_x, T] (FHL 2005 eq. 10), with Euler's transformation of the 2F1 so
   * its parameters stay small for heavy buyers: with z = t/(α+T+t),
   *   ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z),
   *   E = (a+b+x-1)/(a-1) [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)] P(alive).
   */
  expectedPurchases(t: number, x: number, tx: number, T: number): number {
    const { r, alpha, a, b } = this.fitted;
    if (t <= 0) return 0;
    const z = t / (alpha + T + t);
    const c = a + b + x - 1;
    const tail = Math.pow(1 - z, a - 1) * hyp2f1(a + b - 1 - r, a - 1, c, z);
    return ((c / (a - 1)) * (1 - tail)) * this.pAlive(x, tx, T);
  }

  /**
   * P(no purchase in (T, T+t] | x, t_x, T) = (1 - P(alive)) + P(alive) ((α+T)/(α+T+t))^(r+x): dead, or
   * alive with a rate whose posterior is Gamma(r+x, α+T) and no Poisson event in t (an alive customer
   * cannot die without buying first). The churn probability of the time-based label.
   */
  pNoPurchase(t: number, x: number, tx: number, T: number): number {
    const { r, alpha } = this.fitted;
    const p = this.pAlive(x, tx, T);
    return 1 - p + p * Math.exp((r + x) * Math.log((alpha + T) / (alpha + T + t)));
  }

  toJSON(): BgNbdJSON {
    return { kind: 'bgnbd', version: 1, params: { ...this.params }, state: structuredClone(this.fitted) };
  }

  static fromJSON(json: BgNbdJSON): BgNbd {
    if (json?.kind !== 'bgnbd' || json.version !== 1) {
      throw new CohortlabError('MODEL_INCOMPATIBLE', `BgNbd.fromJSON: expected { kind: "bgnbd", version: 1 }, got kind ${JSON.stringify(json?.kind)} version ${JSON.stringify(json?.version)}.`);
    }
    const m = new BgNbd(json.params);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      if (!(json.state[k] > 0)) throw new CohortlabError('MODEL_INCOMPATIBLE', `BgNbd.fromJSON: state.${k} must be a positive number, got ${JSON.stringify(json.state[k])}.`);
    }
    m.state = structuredClone(json.state);
    return m;
  }
}
