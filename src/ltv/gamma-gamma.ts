/**
 * Gamma-Gamma spend model (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"; used with
 * BG/NBD in Fader, Hardie & Lee 2005, "RFM and CLV", JMR 42(4)). Each purchase of a customer is worth
 * z ~ Gamma(p, ν), with ν ~ Gamma(q, γ) across customers (γ is called v here, as in lifetimes). Fitted
 * on customers with x >= 1 repeat purchases and a positive mean repeat value m̄ (the first purchase is
 * left out, as in the literature). Per customer (Fader & Hardie 2013 eq. 3 in logs):
 *   ℓ = ln Γ(px+q) - ln Γ(px) - ln Γ(q) + q ln v + (px-1) ln m̄ + px ln x - (px+q) ln(x m̄ + v)
 * BFGS on ln(p, q, v) with the analytic gradient (digamma), as for BG/NBD. The model assumes spend does
 * not depend on frequency: `spendFrequencyCorrelation` measures it (lifetimes' check).
 */
import { CohortlabError } from '../shared/errors.js';
import { minimizeBfgs } from './optimize.js';
import { digamma, logGamma } from './special.js';

export interface SpendHistory {
  frequency: ArrayLike<number>;
  /** Mean value of the repeat purchase days (0 or NaN without one). */
  monetary: ArrayLike<number>;
}

export interface GammaGammaParams {
  grad_tol: number;
  max_iter: number;
}

export interface GammaGammaState {
  p: number;
  q: number;
  v: number;
  log_likelihood: number;
  /** Customers the fit used (x >= 1 and m̄ > 0). */
  customers: number;
  /** Pearson correlation of frequency and m̄ among them; the model assumes it is near 0. */
  spend_frequency_correlation: number;
  optimizer: { method: 'BFGS on log parameters'; iterations: number; evaluations: number; converged: boolean; stop: string; grad_max: number; grad_tol: number };
}

export interface GammaGammaJSON {
  kind: 'gamma-gamma';
  version: 1;
  params: GammaGammaParams;
  state: GammaGammaState;
}

export const GAMMA_GAMMA_DEFAULTS: GammaGammaParams = { grad_tol: 1e-9, max_iter: 1000 };

function usable(h: SpendHistory): { x: Float64Array; m: Float64Array } {
  if (h.monetary.length !== h.frequency.length) {
    throw new CohortlabError('BAD_ARGUMENT', `Gamma-Gamma: frequency and monetary must have one value per customer; got ${h.frequency.length} and ${h.monetary.length}.`);
  }
  const xs: number[] = [];
  const ms: number[] = [];
  for (let i = 0; i < h.frequency.length; i++) {
    const x = h.frequency[i];
    const m = h.monetary[i];
    if (x >= 1 && m > 0 && Number.isFinite(m)) {
      xs.push(x);
      ms.push(m);
    }
  }
  return { x: Float64Array.from(xs), m: Float64Array.from(ms) };
}

function pearson(u: Float64Array, v: Float64Array): number {
  const n = u.length;
  let su = 0;
  let sv = 0;
  for (let i = 0; i < n; i++) {
    su += u[i];
    sv += v[i];
  }
  const mu = su / n;
  const mv = sv / n;
  let cuv = 0;
  let cuu = 0;
  let cvv = 0;
  for (let i = 0; i < n; i++) {
    cuv += (u[i] - mu) * (v[i] - mv);
    cuu += (u[i] - mu) ** 2;
    cvv += (v[i] - mv) ** 2;
  }
  return cuv / Math.sqrt(cuu * cvv);
}

/** Mean negative log-likelihood and its gradient in θ = ln(p, q, v). Exported for tests. */
export function gammaGammaObjective(x: Float64Array, m: Float64Array): (theta: Float64Array, grad: Float64Array) => number {
  const n = x.length;
  // ln Γ(px+q) - ln Γ(px) and their digammas depend on x only: tabulate per distinct x.
  const distinct = [...new Set(x)].sort((s, t) => s - t);
  const slot = new Map(distinct.map((v, k) => [v, k]));
  const idx = Int32Array.from(x, (v) => slot.get(v)!);
  const counts = new Float64Array(distinct.length);
  for (let i = 0; i < n; i++) counts[idx[i]]++;
  const lnX = Float64Array.from(x, Math.log);
  const lnM = Float64Array.from(m, Math.log);
  let sumXLnM = 0;
  let sumXLnX = 0;
  let sumLnM = 0;
  for (let i = 0; i < n; i++) {
    sumXLnM += x[i] * lnM[i];
    sumXLnX += x[i] * lnX[i];
    sumLnM += lnM[i];
  }
  const lgDiff = new Float64Array(distinct.length);
  const psiPx = new Float64Array(distinct.length);
  const psiPxq = new Float64Array(distinct.length);
  return (theta, grad) => {
    const p = Math.exp(theta[0]);
    const q = Math.exp(theta[1]);
    const v = Math.exp(theta[2]);
    let ll = 0;
    let gp = 0;
    let gq = 0;
    for (let k = 0; k < distinct.length; k++) {
      const px = p * distinct[k];
      lgDiff[k] = logGamma(px + q) - logGamma(px);
      psiPx[k] = digamma(px);
      psiPxq[k] = digamma(px + q);
      ll += counts[k] * lgDiff[k];
      gp += counts[k] * distinct[k] * (psiPxq[k] - psiPx[k]);
      gq += counts[k] * psiPxq[k];
    }
    ll += n * (q * Math.log(v) - logGamma(q)) + p * sumXLnM - sumLnM + p * sumXLnX;
    gp += sumXLnM + sumXLnX;
    gq += n * (Math.log(v) - digamma(q));
    let gv = (n * q) / v;
    for (let i = 0; i < n; i++) {
      const s = x[i] * m[i] + v;
      const lnS = Math.log(s);
      const pxq = p * x[i] + q;
      ll -= pxq * lnS;
      gp -= x[i] * lnS;
      gq -= lnS;
      gv -= pxq / s;
    }
    grad[0] = (-gp * p) / n;
    grad[1] = (-gq * q) / n;
    grad[2] = (-gv * v) / n;
    return -ll / n;
  };
}

export class GammaGamma {
  readonly params: GammaGammaParams;
  private state: GammaGammaState | null = null;

  constructor(params: Partial<GammaGammaParams> = {}) {
    this.params = { ...GAMMA_GAMMA_DEFAULTS, ...params };
  }

  /** Fits on the customers with x >= 1 and m̄ > 0; starts from p = q = 1, v = mean m̄. */
  fit(h: SpendHistory): this {
    const { x, m } = usable(h);
    if (x.length < 2) {
      throw new CohortlabError('TOO_FEW_PURCHASES', `Gamma-Gamma: ${x.length} customer(s) with a repeat purchase of positive value; the spend model needs several. Use a later --as-of or a longer log.`);
    }
    const meanM = m.reduce((s, e) => s + e, 0) / m.length;
    const res = minimizeBfgs(gammaGammaObjective(x, m), [0, 0, Math.log(meanM)], { gradTol: this.params.grad_tol, maxIter: this.params.max_iter });
    const [p, q, v] = Array.from(res.x, Math.exp);
    this.state = {
      p,
      q,
      v,
      log_likelihood: -res.value * x.length,
      customers: x.length,
      spend_frequency_correlation: pearson(x, m),
      optimizer: { method: 'BFGS on log parameters', iterations: res.iterations, evaluations: res.evaluations, converged: res.converged, stop: res.stop, grad_max: res.gradMax, grad_tol: this.params.grad_tol },
    };
    return this;
  }

  get fitted(): GammaGammaState {
    if (!this.state) throw new CohortlabError('NOT_FITTED', 'GammaGamma: used before fit; call fit(history) or GammaGamma.fromJSON(saved) first.');
    return this.state;
  }

  /** Population mean spend per purchase, p v / (q - 1); infinite when q <= 1. */
  meanSpend(): number {
    const { p, q, v } = this.fitted;
    return q > 1 ? (p * v) / (q - 1) : Infinity;
  }

  /**
   * E[spend per purchase | x, m̄] = p (v + x m̄) / (p x + q - 1) (Fader & Hardie 2013 eq. 5): a weighted
   * mean of the population mean p v / (q - 1) and the customer's own m̄; the population mean when x = 0.
   */
  expectedSpend(x: number, m: number): number {
    const { p, q, v } = this.fitted;
    const mm = x > 0 && m > 0 ? m : 0;
    return (p * (v + x * mm)) / (p * x + q - 1);
  }

  toJSON(): GammaGammaJSON {
    return { kind: 'gamma-gamma', version: 1, params: { ...this.params }, state: structuredClone(this.fitted) };
  }

  static fromJSON(json: GammaGammaJSON): GammaGamma {
    if (json?.kind !== 'gamma-gamma' || json.version !== 1) {
      throw new CohortlabError('MODEL_INCOMPATIBLE', `GammaGamma.fromJSON: expected { kind: "gamma-gamma", version: 1 }, got kind ${JSON.stringify(json?.kind)} version ${JSON.stringify(json?.version)}.`);
    }
    const g = new GammaGamma(json.params);
    g.state = structuredClone(json.state);
    return g;
  }
}
