/**
 * Probability calibration, fitted on the validation users only (never on test users), so that
 * `churn_probability` = 0.3 means about 30 of 100 such users churn. Class weighting during training
 * inflates raw scores on purpose; calibration maps them back.
 *
 * - Platt: p = sigmoid(a * logit(raw) + b), fitted by Newton's method with Platt's (1999) smoothed
 *   targets (n+ + 1)/(n+ + 2) and 1/(n- + 2), which keeps a and b finite on separable data.
 * - Isotonic: pool-adjacent-violators (PAV) on the raw score, a monotone step function; predictions
 *   interpolate linearly between block ends and clip outside the fitted range (as sklearn does).
 */
import { CohortlabError, assertNever } from '../shared/errors.js';

export type CalibrationKind = 'platt' | 'isotonic' | 'none';

export type Calibrator =
  | { kind: 'platt'; a: number; b: number }
  | { kind: 'isotonic'; x: number[]; y: number[] }
  | { kind: 'none' };

const EPS = 1e-7;

function logit(p: number): number {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function checkInputs(raw: ArrayLike<number>, y: ArrayLike<number>, what: string): void {
  if (raw.length !== y.length) throw new CohortlabError('BAD_ARGUMENT', `${what}: ${raw.length} scores but ${y.length} labels.`);
  if (raw.length === 0) throw new CohortlabError('EMPTY_INPUT', `${what}: the validation set is empty; calibration needs validation users (a later cutoff or a validation share > 0).`);
}

export function fitPlatt(raw: ArrayLike<number>, y: ArrayLike<number>): Calibrator {
  checkInputs(raw, y, 'fitPlatt');
  const n = raw.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) nPos += y[i];
  const hi = (nPos + 1) / (nPos + 2);
  const lo = 1 / (n - nPos + 2);
  const z = Float64Array.from({ length: n }, (_, i) => logit(raw[i]));
  const t = Float64Array.from({ length: n }, (_, i) => (y[i] === 1 ? hi : lo));
  let a = 1;
  let b = 0;
  for (let iter = 0; iter < 100; iter++) {
    // Gradient and Hessian of the cross-entropy in (a, b).
    let ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(a * z[i] + b);
      const d = p - t[i];
      const v = Math.max(p * (1 - p), 1e-12);
      ga += d * z[i];
      gb += d;
      haa += v * z[i] * z[i];
      hab += v * z[i];
      hbb += v;
    }
    haa += 1e-9;
    hbb += 1e-9;
    const det = haa * hbb - hab * hab;
    if (!(Math.abs(det) > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) < 1e-10 && Math.abs(db) < 1e-10) break;
  }
  return { kind: 'platt', a, b };
}

export function fitIsotonic(raw: ArrayLike<number>, y: ArrayLike<number>): Calibrator {
  checkInputs(raw, y, 'fitIsotonic');
  const n = raw.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => raw[i] - raw[j] || i - j);
  // Equal scores form one starting block (they cannot be told apart).
  const sum: number[] = [];
  const cnt: number[] = [];
  const xmin: number[] = [];
  const xmax: number[] = [];
  for (let k = 0; k < n; k++) {
    const i = order[k];
    const x = raw[i];
    const last = xmax.length - 1;
    if (last >= 0 && xmax[last] === x) {
      sum[last] += y[i];
      cnt[last] += 1;
    } else {
      sum.push(y[i]);
      cnt.push(1);
      xmin.push(x);
      xmax.push(x);
    }
    // Pool while the last block's mean is below the previous block's mean.
    while (sum.length > 1) {
      const m = sum.length - 1;
      if (sum[m] / cnt[m] >= sum[m - 1] / cnt[m - 1]) break;
      sum[m - 1] += sum[m];
      cnt[m - 1] += cnt[m];
      xmax[m - 1] = xmax[m];
      sum.pop();
      cnt.pop();
      xmin.pop();
      xmax.pop();
    }
  }
  const xs: number[] = [];
  const ys: number[] = [];
  for (let k = 0; k < sum.length; k++) {
    const v = sum[k] / cnt[k];
    xs.push(xmin[k]);
    ys.push(v);
    if (xmax[k] !== xmin[k]) {
      xs.push(xmax[k]);
      ys.push(v);
    }
  }
  return { kind: 'isotonic', x: xs, y: ys };
}

export function fitCalibrator(kind: CalibrationKind, raw: ArrayLike<number>, y: ArrayLike<number>): Calibrator {
  switch (kind) {
    case 'platt':
      return fitPlatt(raw, y);
    case 'isotonic':
      return fitIsotonic(raw, y);
    case 'none':
      return { kind: 'none' };
    default:
      return assertNever(kind, 'calibration kind');
  }
}

function interpolate(xs: number[], ys: number[], x: number): number {
  if (x <= xs[0]) return ys[0];
  const last = xs.length - 1;
  if (x >= xs[last]) return ys[last];
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid;
    else hi = mid;
  }
  const span = xs[hi] - xs[lo];
  return span > 0 ? ys[lo] + ((ys[hi] - ys[lo]) * (x - xs[lo])) / span : ys[lo];
}

export function applyCalibrator(c: Calibrator, raw: ArrayLike<number>): Float64Array {
  const out = new Float64Array(raw.length);
  switch (c.kind) {
    case 'platt':
      for (let i = 0; i < raw.length; i++) out[i] = sigmoid(c.a * logit(raw[i]) + c.b);
      return out;
    case 'isotonic':
      for (let i = 0; i < raw.length; i++) out[i] = interpolate(c.x, c.y, raw[i]);
      return out;
    case 'none':
      for (let i = 0; i < raw.length; i++) out[i] = raw[i];
      return out;
    default:
      return assertNever(c, 'calibrator');
  }
}
