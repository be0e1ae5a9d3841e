/**
 * BFGS minimization with an analytic gradient, for the few (3-4) log-parameters of the
 * buy-till-you-die likelihoods (Nocedal & Wright, Numerical Optimization, 2nd ed., algorithm 6.1).
 *
 * - Line search: backtracking from step 1 (the first iteration from a step of length 1 in the
 *   largest coordinate) until the Armijo condition f(x + s d) <= f(x) + 1e-4 s g'd holds with a finite value.
 * - Inverse-Hessian update only when the curvature s'y > 0 (else kept), first scaled by s'y / y'y (eq. 6.20).
 * - Converged when the largest gradient component is below `gradTol` (the objective is a mean over
 *   customers, so the tolerance does not grow with their number), or when f has changed by less than
 *   `fTol` relative over `fTolIterations` consecutive iterations (L-BFGS-B's test: a maximum on a
 *   boundary, such as BG/NBD's dropout a -> 0, b -> infinity, is approached along a ridge forever).
 *   Also stops, not converged, after `maxIter` iterations or when no step decreases f any more.
 */
import { internalError } from '../shared/errors.js';

export interface MinimizeOptions {
  /** Largest absolute gradient component at convergence (default 1e-9). */
  gradTol?: number;
  /** Default 1000. */
  maxIter?: number;
  /** Relative change of f per iteration counted as none (default 1e-13). */
  fTol?: number;
  /** Consecutive iterations without change that stop the search (default 10). */
  fTolIterations?: number;
}

export interface MinimizeResult {
  x: Float64Array;
  value: number;
  /** Largest absolute gradient component at `x`. */
  gradMax: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  /** Why it stopped: "gradient below tolerance", "objective changed by less than ...", "iteration limit", "line search found no decrease". */
  stop: string;
}

/** `fg(x, grad)` returns f(x) and writes the gradient into `grad`. */
export type ObjectiveWithGradient = (x: Float64Array, grad: Float64Array) => number;

const maxAbs = (v: Float64Array): number => v.reduce((m, e) => Math.max(m, Math.abs(e)), 0);
const dot = (u: Float64Array, v: Float64Array): number => u.reduce((s, e, i) => s + e * v[i], 0);

export function minimizeBfgs(fg: ObjectiveWithGradient, x0: ArrayLike<number>, opts: MinimizeOptions = {}): MinimizeResult {
  const gradTol = opts.gradTol ?? 1e-9;
  const maxIter = opts.maxIter ?? 1000;
  const fTol = opts.fTol ?? 1e-13;
  const fTolIterations = opts.fTolIterations ?? 10;
  let flat = 0;
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = fg(x, g);
  let evaluations = 1;
  if (!Number.isFinite(f)) throw internalError(`minimizeBfgs: the objective is not finite at the start (${f})`);
  // Inverse Hessian approximation, row-major.
  const H = new Float64Array(n * n);
  const resetH = (scale: number) => {
    H.fill(0);
    for (let i = 0; i < n; i++) H[i * n + i] = scale;
  };
  resetH(1);
  let scaled = false;
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  let iterations = 0;
  let stop = 'iteration limit';
  let converged = false;
  for (; iterations < maxIter; iterations++) {
    if (maxAbs(g) < gradTol) {
      converged = true;
      stop = 'gradient below tolerance';
      break;
    }
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s -= H[i * n + j] * g[j];
      d[i] = s;
    }
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (rounding in H): restart from steepest descent.
      resetH(1);
      scaled = false;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      slope = dot(g, d);
    }
    let step = scaled ? 1 : Math.min(1, 1 / maxAbs(d));
    let fNew = NaN;
    let found = false;
    for (let k = 0; k < 60; k++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * d[i];
      fNew = fg(xNew, gNew);
      evaluations++;
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * step * slope) {
        found = true;
        break;
      }
      step *= 0.5;
    }
    if (!found) {
      stop = 'line search found no decrease';
      // At the floor of floating-point precision the gradient is tiny but not below gradTol.
      converged = maxAbs(g) < 1e3 * gradTol;
      break;
    }
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    const sy = dot(s, y);
    if (sy > 0) {
      if (!scaled) {
        resetH(sy / dot(y, y));
        scaled = true;
      }
      // H <- (I - rho s y') H (I - rho y s') + rho s s'
      const rho = 1 / sy;
      const Hy = new Float64Array(n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Hy[i] += H[i * n + j] * y[j];
      const yHy = dot(y, Hy);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          H[i * n + j] += -rho * (Hy[i] * s[j] + s[i] * Hy[j]) + (rho * rho * yHy + rho) * s[i] * s[j];
        }
      }
    }
    x = Float64Array.from(xNew);
    const tmp = g;
    g = gNew;
    gNew = tmp;
    flat = Math.abs(f - fNew) <= fTol * Math.max(1, Math.abs(f)) ? flat + 1 : 0;
    f = fNew;
    if (flat >= fTolIterations) {
      iterations++;
      converged = true;
      stop = `objective changed by less than ${fTol} relative in ${fTolIterations} iterations`;
      break;
    }
  }
  if (!converged && iterations >= maxIter && maxAbs(g) < gradTol) {
    converged = true;
    stop = 'gradient below tolerance';
  }
  return { x, value: f, gradMax: maxAbs(g), iterations, evaluations, converged, stop };
}
