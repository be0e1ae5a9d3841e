/**
 * Logistic regression solved exactly: L2-penalized maximum likelihood by Newton's method (IRLS).
 * Pure: numbers in, numbers out; no tfjs, no randomness (the solution is unique, so no seed).
 *
 * Objective, as scikit-learn's `LogisticRegression(penalty='l2', C)`:
 *
 *     f(w, b) = C * sum_i s_i * logloss(y_i, sigmoid(x_i . w + b)) + 0.5 * ||w||^2
 *
 * (s_i = sample weight, 1 by default; the intercept b is not penalized). f is strictly convex in w
 * and convex in b, so Newton's method from w = 0, b = log-odds of the weighted rate converges to the
 * one minimum quadratically. Each step solves H d = -g with the Cholesky factor of the (d+1) x (d+1)
 * Hessian H = C X'ᵀ diag(s p (1-p)) X' + diag(1, ..., 1, 0), the factor of an earlier iterate reused while the
 * steps it gives cut the gradient tenfold or more (REUSE_CUT: a gradient costs 2 / (d+1) of a Hessian; the
 * stopping rule below is the same, so is the solution); if H is not numerically positive
 * definite (perfectly separated classes, a constant column with the intercept), a damping
 * lambda I is added, growing x10 until the factorization succeeds. A backtracking line search on f
 * keeps every step a descent step.
 *
 * Stopping rule (stated, deterministic): max_j |g_j| <= tol * C * sum_i s_i, i.e. the gradient of the
 * MEAN log loss (sklearn's scaling since 1.2) is below `tol` in every coordinate. The default tol
 * 1e-10 gives coefficients equal to sklearn's lbfgs/newton-cg at tol=1e-10 to about 1e-8.
 *
 * The caller standardizes the design (dataset.ts fitScaler); the coefficients are on that scale.
 */
import { CohortlabError } from '../shared/errors.js';
import { checkMatrix, type Matrix } from '../shared/matrix.js';
import { checkSavedModel, logLossFromMargins, sigmoid, sigmoidArray, softplus } from './link.js';

export interface LogisticExactParams {
  /** Inverse L2 strength, as sklearn's C (> 0). Default 1. */
  C: number;
  /** Fit an unpenalized intercept. Default true. */
  fitIntercept: boolean;
  /** Relative gradient tolerance (see the file comment). Default 1e-10. */
  tol: number;
  /** Newton iterations at most. Default 100 (convergence takes 5-15). */
  maxIter: number;
}

export interface LogisticExactState {
  coef: number[];
  intercept: number;
  /** Newton iterations used. */
  nIter: number;
  /** max |gradient of the mean penalized loss| at the solution (<= tol when converged). */
  gradMaxRel: number;
  converged: boolean;
  /** Largest damping added to the Hessian (0 when it was always positive definite). */
  maxDamping: number;
}

export interface LogisticExactJson {
  kind: 'logistic-exact';
  version: 1;
  params: LogisticExactParams;
  state: LogisticExactState;
}

export const DEFAULT_LOGISTIC_EXACT_PARAMS: LogisticExactParams = { C: 1, fitIntercept: true, tol: 1e-10, maxIter: 100 };

export function resolveLogisticExactParams(p: Partial<LogisticExactParams> = {}): LogisticExactParams {
  const r: LogisticExactParams = { ...DEFAULT_LOGISTIC_EXACT_PARAMS, ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) };
  const bad = (name: string, value: unknown, rule: string) =>
    new CohortlabError('BAD_ARGUMENT', `logistic regression parameter ${name} = ${JSON.stringify(value)} is invalid; it must be ${rule}.`);
  if (!(typeof r.C === 'number' && r.C > 0 && Number.isFinite(r.C))) throw bad('C', r.C, 'a finite number > 0');
  if (typeof r.fitIntercept !== 'boolean') throw bad('fitIntercept', r.fitIntercept, 'true or false');
  if (!(typeof r.tol === 'number' && r.tol > 0 && r.tol < 1)) throw bad('tol', r.tol, 'in (0, 1)');
  if (!Number.isInteger(r.maxIter) || r.maxIter < 1) throw bad('maxIter', r.maxIter, 'an integer >= 1');
  return r;
}

/** log(1 + exp(z)) without overflow. */

/**
 * In-place Cholesky of the symmetric m x m matrix `a` (row-major, lower triangle used); false when
 * a pivot is not positive (the matrix is not numerically positive definite).
 */
export function choleskyInPlace(a: Float64Array, m: number): boolean {
  for (let j = 0; j < m; j++) {
    let s = a[j * m + j];
    for (let k = 0; k < j; k++) s -= a[j * m + k] * a[j * m + k];
    if (!(s > 0) || !Number.isFinite(s)) return false;
    const ljj = Math.sqrt(s);
    a[j * m + j] = ljj;
    for (let i = j + 1; i < m; i++) {
      let t = a[i * m + j];
      for (let k = 0; k < j; k++) t -= a[i * m + k] * a[j * m + k];
      a[i * m + j] = t / ljj;
    }
  }
  return true;
}

/** Solves L Lᵀ x = b given the factor from choleskyInPlace (b overwritten by x). */
export function choleskySolveInPlace(l: Float64Array, m: number, b: Float64Array): void {
  for (let i = 0; i < m; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * m + k] * b[k];
    b[i] = s / l[i * m + i];
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < m; k++) s -= l[k * m + i] * b[k];
    b[i] = s / l[i * m + i];
  }
}

interface Problem {
  x: Matrix;
  y: ArrayLike<number>;
  w: ArrayLike<number> | null;
  C: number;
  fitIntercept: boolean;
}

/** Penalized objective at theta = [w..., b]; also fills margins. */
function objective(pb: Problem, theta: Float64Array, margin: Float64Array): number {
  const { x, y, w, C } = pb;
  const d = x.cols;
  const data = x.data;
  const b = pb.fitIntercept ? theta[d] : 0;
  let loss = 0;
  for (let i = 0; i < x.rows; i++) {
    let z = b;
    const o = i * d;
    for (let j = 0; j < d; j++) z += data[o + j] * theta[j];
    margin[i] = z;
    const s = w ? w[i] : 1;
    if (s === 0) continue;
    // logloss = softplus(z) - y z
    loss += s * (softplus(z) - (y[i] === 1 ? z : 0));
  }
  let pen = 0;
  for (let j = 0; j < d; j++) pen += theta[j] * theta[j];
  return C * loss + 0.5 * pen;
}

/**
 * A Hessian factor is reused while each step it gives cuts the largest gradient entry at least this many times;
 * else it is computed afresh (near the minimum a factor from a nearby iterate cuts it by orders of magnitude).
 */
const REUSE_CUT = 10;

/** Rows of the design taken at a time by accumulateGradHess. */
const BLOCK_ROWS = 64;

/** Scratch of accumulateGradHess: a block of rows transposed (column j of the block at j * BLOCK_ROWS), then weighted by h. */
interface Block {
  xt: Float64Array;
  hxt: Float64Array;
  r: Float64Array;
}

function newBlock(m: number): Block {
  return { xt: new Float64Array(m * BLOCK_ROWS), hxt: new Float64Array(m * BLOCK_ROWS), r: new Float64Array(BLOCK_ROWS) };
}

/**
 * Adds the loss part of the gradient, C sum_i s_i (p_i - y_i) x_i, and the lower triangle of the Hessian,
 * C sum_i s_i p_i (1 - p_i) x_i x_iᵀ, with x_i extended by a 1 for the intercept. Rows go a block at a time,
 * transposed, so each Hessian entry is one dot product over the block's rows held in a register (one store per
 * block instead of one per row).
 */
function accumulateGradHess(pb: Problem, margin: Float64Array, grad: Float64Array, hess: Float64Array | null, block: Block): void {
  const { x, y, w, C, fitIntercept } = pb;
  const d = x.cols;
  const m = fitIntercept ? d + 1 : d;
  const data = x.data;
  const { xt, hxt, r } = block;
  for (let i0 = 0; i0 < x.rows; i0 += BLOCK_ROWS) {
    const len = Math.min(BLOCK_ROWS, x.rows - i0);
    for (let q = 0; q < len; q++) {
      const i = i0 + q;
      const s = w ? w[i] : 1;
      const pr = sigmoid(margin[i]);
      // a row of weight 0 adds nothing (its terms are 0; x is finite)
      const h = s === 0 ? 0 : C * s * pr * (1 - pr);
      r[q] = s === 0 ? 0 : C * s * (pr - y[i]);
      const o = i * d;
      for (let j = 0; j < d; j++) xt[j * BLOCK_ROWS + q] = data[o + j];
      if (fitIntercept) xt[d * BLOCK_ROWS + q] = 1;
      // the rows weighted by h, for the Hessian only
      if (hess !== null) for (let j = 0; j < m; j++) hxt[j * BLOCK_ROWS + q] = h * xt[j * BLOCK_ROWS + q];
    }
    for (let j = 0; j < m; j++) {
      const jo = j * BLOCK_ROWS;
      let g = 0;
      for (let q = 0; q < len; q++) g += r[q] * xt[jo + q];
      grad[j] += g;
      if (hess === null) continue;
      const row = j * m;
      let k = 0;
      for (; k + 1 <= j; k += 2) {
        const ko = k * BLOCK_ROWS;
        const ko1 = ko + BLOCK_ROWS;
        let s0 = 0;
        let s1 = 0;
        for (let q = 0; q < len; q++) {
          const hv = hxt[jo + q];
          s0 += hv * xt[ko + q];
          s1 += hv * xt[ko1 + q];
        }
        hess[row + k] += s0;
        hess[row + k + 1] += s1;
      }
      if (k === j) {
        let s0 = 0;
        for (let q = 0; q < len; q++) s0 += hxt[jo + q] * xt[jo + q];
        hess[row + j] += s0;
      }
    }
  }
}

/** Exact L2 logistic regression (sklearn's objective and C), fitted by Newton/IRLS. */
export class LogisticExact {
  readonly params: Partial<LogisticExactParams>;
  private state: LogisticExactState | null = null;

  constructor(params: Partial<LogisticExactParams> = {}) {
    this.params = { ...params };
  }

  /**
   * Fits on a standardized design. `sampleWeight` (>= 0, one per row) multiplies each row's log loss,
   * as sklearn's `sample_weight`; `init` warm-starts Newton (the result does not depend on it).
   */
  fit(x: Matrix, y: ArrayLike<number>, opts: { sampleWeight?: ArrayLike<number> | null; init?: { coef: ArrayLike<number>; intercept: number } } = {}): this {
    const p = resolveLogisticExactParams(this.params);
    const w = opts.sampleWeight ?? null;
    checkMatrix(x, 'LogisticExact.fit', { y, w, finite: true });
    const n = x.rows;
    const d = x.cols;
    const m = p.fitIntercept ? d + 1 : d;
    let sw = 0;
    let swPos = 0;
    for (let i = 0; i < n; i++) {
      const s = w ? w[i] : 1;
      sw += s;
      if (y[i] === 1) swPos += s;
    }
    if (!(sw > 0)) throw new CohortlabError('BAD_ARGUMENT', 'LogisticExact.fit: every sample weight is 0; give some rows a positive weight.');
    if (p.fitIntercept && (swPos === 0 || swPos === sw)) {
      throw new CohortlabError('ONE_CLASS', `LogisticExact.fit: every one of the ${n} rows (with a positive weight) is labelled ${swPos === 0 ? 0 : 1}; a churn model needs churners and stayers.`);
    }
    const pb: Problem = { x, y, w, C: p.C, fitIntercept: p.fitIntercept };
    const theta = new Float64Array(m);
    if (opts.init) {
      if (opts.init.coef.length !== d) throw new CohortlabError('BAD_ARGUMENT', `LogisticExact.fit: init has ${opts.init.coef.length} coefficients for ${d} columns.`);
      for (let j = 0; j < d; j++) theta[j] = opts.init.coef[j];
      if (p.fitIntercept) theta[d] = opts.init.intercept;
    } else if (p.fitIntercept && swPos > 0 && swPos < sw) {
      theta[d] = Math.log(swPos / (sw - swPos));
    }
    const margin = new Float64Array(n);
    const trial = new Float64Array(m);
    const trialMargin = new Float64Array(n);
    const grad = new Float64Array(m);
    const hess = new Float64Array(m * m);
    const step = new Float64Array(m);
    const block = newBlock(m);
    const scale = p.C * sw;
    let f = objective(pb, theta, margin);
    let nIter = 0;
    let gmax = Infinity;
    let maxDamping = 0;
    let converged = false;
    // The Cholesky factor of the Hessian at an earlier iterate, kept while the steps it gives cut max |g| at least
    // REUSE_CUT-fold each: a gradient costs one pass over the rows, a Hessian m / 2 of them.
    const lower = new Float64Array(m * m);
    let factored = false;
    let gmaxBefore = Infinity;
    for (;;) {
      // gradient at theta (margins are current)
      grad.fill(0);
      accumulateGradHess(pb, margin, grad, null, block);
      for (let j = 0; j < d; j++) grad[j] += theta[j];
      gmax = 0;
      for (let j = 0; j < m; j++) gmax = Math.max(gmax, Math.abs(grad[j]));
      gmax /= scale;
      if (gmax <= p.tol) {
        converged = true;
        break;
      }
      if (nIter >= p.maxIter) break;
      nIter++;
      const fresh = !factored || !(gmax <= gmaxBefore / REUSE_CUT);
      if (fresh) {
        // the Hessian at theta (the gradient again, the same sums), damped when it is not numerically PD
        grad.fill(0);
        hess.fill(0);
        accumulateGradHess(pb, margin, grad, hess, block);
        for (let j = 0; j < d; j++) {
          grad[j] += theta[j];
          hess[j * m + j] += 1;
        }
        let damping = 0;
        for (;;) {
          for (let j = 0; j < m; j++) {
            for (let k = 0; k <= j; k++) lower[j * m + k] = hess[j * m + k];
            lower[j * m + j] += damping;
          }
          if (choleskyInPlace(lower, m)) break;
          let diagMax = 0;
          for (let j = 0; j < m; j++) diagMax = Math.max(diagMax, Math.abs(hess[j * m + j]));
          damping = damping === 0 ? 1e-10 * Math.max(1, diagMax) : damping * 10;
          if (!Number.isFinite(damping)) throw new CohortlabError('BAD_ARGUMENT', 'LogisticExact.fit: the Hessian could not be made positive definite; check the design for infinite values.');
        }
        maxDamping = Math.max(maxDamping, damping);
        factored = true;
      }
      gmaxBefore = gmax;
      for (let j = 0; j < m; j++) step[j] = -grad[j];
      choleskySolveInPlace(lower, m, step);
      // backtracking (Armijo) line search on f
      let slope = 0;
      for (let j = 0; j < m; j++) slope += grad[j] * step[j];
      let t = 1;
      let fNew = Infinity;
      // Near the minimum the predicted decrease (-slope / 2) is below what f can resolve in floating
      // point, so the Armijo test is noise: take the full Newton step (quadratic convergence region).
      const resolvable = -slope > 1e-13 * Math.max(1, Math.abs(f));
      for (let ls = 0; ls < 60; ls++) {
        for (let j = 0; j < m; j++) trial[j] = theta[j] + t * step[j];
        fNew = objective(pb, trial, trialMargin);
        if (!resolvable || fNew <= f + 1e-4 * t * slope) break;
        t *= 0.5;
      }
      if (resolvable && !(fNew <= f)) {
        // no decrease along a reused factor's direction: try again with the Hessian here
        if (!fresh) {
          factored = false;
          continue;
        }
        break; // no decrease possible in floating point: we are at the numerical minimum
      }
      theta.set(trial);
      margin.set(trialMargin);
      f = fNew;
    }
    this.state = {
      coef: Array.from(theta.subarray(0, d)),
      intercept: p.fitIntercept ? theta[d] : 0,
      nIter,
      gradMaxRel: gmax,
      converged,
      maxDamping,
    };
    return this;
  }

  get fitted(): LogisticExactState {
    if (!this.state) throw new CohortlabError('NOT_FITTED', 'LogisticExact: predict or toJSON before fit; call fit(x, y) first.');
    return this.state;
  }

  /** The margin x . w + b of every row. */
  predictRaw(x: Matrix): Float64Array {
    const s = this.fitted;
    checkMatrix(x, 'LogisticExact.predictRaw', { cols: s.coef.length });
    const d = x.cols;
    const out = new Float64Array(x.rows);
    const coef = Float64Array.from(s.coef);
    const data = x.data;
    for (let i = 0; i < x.rows; i++) {
      let z = s.intercept;
      const o = i * d;
      for (let j = 0; j < d; j++) z += data[o + j] * coef[j];
      out[i] = z;
    }
    return out;
  }

  /** P(y = 1) of every row. */
  predictProba(x: Matrix): Float64Array {
    return sigmoidArray(this.predictRaw(x));
  }

  toJSON(): LogisticExactJson {
    return { kind: 'logistic-exact', version: 1, params: resolveLogisticExactParams(this.params), state: structuredClone(this.fitted) };
  }

  static fromJSON(j: LogisticExactJson, path = 'logistic model'): LogisticExact {
    checkSavedModel(j, 'logistic-exact', path);
    const s = j.state;
    if (!s || !Array.isArray(s.coef) || s.coef.some((v) => !Number.isFinite(v)) || !Number.isFinite(s.intercept)) {
      throw new CohortlabError('MODEL_CORRUPT', `${path}: state.coef must be finite numbers and state.intercept a finite number.`, { path });
    }
    const m = new LogisticExact(resolveLogisticExactParams(j.params));
    m.state = structuredClone(s);
    return m;
  }
}

export { logLossFromMargins };

export interface ChooseCResult {
  /** The C with the lowest validation log loss (the smaller C on a tie: the simpler model). */
  C: number;
  /** Every C tried, in grid order. */
  path: { C: number; validLogLoss: number; nIter: number }[];
  /** The model fitted on `train` with the chosen C (refit on train + validation is the caller's step). */
  model: LogisticExact;
}

/**
 * Picks C from `grid` by (weighted) validation log loss. Pure and deterministic; each fit is warm-started
 * from the previous C's solution in ascending C order (same minimum, fewer Newton steps).
 */
export function chooseC(
  grid: number[],
  train: { x: Matrix; y: ArrayLike<number>; sampleWeight?: ArrayLike<number> | null },
  valid: { x: Matrix; y: ArrayLike<number>; sampleWeight?: ArrayLike<number> | null },
  params: Partial<Omit<LogisticExactParams, 'C'>> = {},
): ChooseCResult {
  if (!Array.isArray(grid) || grid.length === 0) throw new CohortlabError('BAD_ARGUMENT', 'chooseC: the grid of C values is empty; pass e.g. [0.01, 0.1, 1, 10].');
  const order = grid.map((C, k) => ({ C, k })).sort((a, b) => a.C - b.C);
  const results: { C: number; validLogLoss: number; nIter: number; model: LogisticExact }[] = new Array(grid.length);
  let init: { coef: number[]; intercept: number } | undefined;
  for (const { C, k } of order) {
    const m = new LogisticExact({ ...params, C }).fit(train.x, train.y, { sampleWeight: train.sampleWeight, init });
    init = { coef: m.fitted.coef, intercept: m.fitted.intercept };
    const loss = logLossFromMargins(m.predictRaw(valid.x), valid.y, valid.sampleWeight);
    results[k] = { C, validLogLoss: loss, nIter: m.fitted.nIter, model: m };
  }
  let best = order[0].k;
  for (const { k } of order) if (results[k].validLogLoss < results[best].validLogLoss - 1e-12) best = k;
  return { C: results[best].C, path: results.map(({ C, validLogLoss, nIter }) => ({ C, validLogLoss, nIter })), model: results[best].model };
}
