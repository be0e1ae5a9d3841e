/**
 * Probability calibration, fitted on the validation users only (never on test users), so that
 * `churn_probability` = 0.3 means about 30 of 100 such users churn. Class weighting during training
 * inflates raw scores on purpose; calibration maps them back. A calibration must never make things
 * worse, so by default ('auto') it is chosen by cross-validation inside the validation users:
 *
 *   selectCalibration(raw, y, seed)
 *     1. stratified K folds (K = 5, fewer when a class has fewer than 5 users; seeded)
 *     2. for each fold: fit none / Platt / isotonic on the other folds, predict the held-out fold
 *        (served values, i.e. clipped to [PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR])
 *     3. pooled held-out log loss per candidate; the one-standard-error rule picks the simplest candidate
 *        (none < Platt < isotonic) within one standard error of the best (paired per-user differences), so a
 *        calibration is used only when it beats `none` by more than the noise of the folds
 *     4. fit the choice on all validation users; a calibrator whose outputs collapse to 0/1 while the
 *        raw scores are spread is rejected (next best candidate)
 *
 * - Platt: p = sigmoid(a * logit(raw) + b) with Platt's (1999) targets (n+ + 1)/(n+ + 2) and
 *   1/(n- + 2), fitted by damped Newton with a backtracking line search and |a| <= PLATT_MAX_SLOPE.
 *   Equal to scikit-learn's `CalibratedClassifierCV(method='sigmoid')` fed logit(raw) (sklearn writes
 *   p = 1 / (1 + exp(A f + B)), so A = -a, B = -b), whenever its optimum lies inside the bound.
 * - Isotonic: scikit-learn's `IsotonicRegression(out_of_bounds='clip')`, step for step: rows sorted by
 *   (score, label), tied scores pooled into one weighted point first (scores closer than 1e-15 count as
 *   tied, as in sklearn's `_make_unique`), pool-adjacent-violators on those points, then only the end
 *   points of each constant run are kept; predictions interpolate linearly and clip outside the range.
 *
 * Served probabilities (`applyCalibrator`) are clipped to [1e-6, 1 - 1e-6] for every kind, `none`
 * included: a probability of exactly 0 or 1 claims certainty no model of behaviour has, and costs an
 * infinite log loss on the first user who proves it wrong. `calibratorOutput` is the unclipped map.
 *
 * This file: the calibrators (fit, apply); calibrate-select.ts: the cross-validated choice (steps 1-4).
 */
import { CohortlabError, assertNever } from '../shared/errors.js';
import { sigmoid, softplus } from './link.js';

export type CalibrationKind = 'platt' | 'isotonic' | 'none';
/** What trainChurn accepts: one kind, or 'auto' (chosen by cross-validated log loss). */
export type CalibrationChoice = CalibrationKind | 'auto';

export type Calibrator =
  | { kind: 'platt'; a: number; b: number }
  | { kind: 'isotonic'; x: number[]; y: number[] }
  | { kind: 'none' };

/** Raw scores are clipped to [1e-7, 1 - 1e-7] before the logit of Platt (float32 sigmoids reach exactly 0 and 1). */
export const LOGIT_EPS = 1e-7;

/**
 * Served probabilities lie in [1e-6, 1 - 1e-6]: a confident miss then costs at most -ln(1e-6) = 13.8 nats,
 * and 1 - 1e-6 is still distinct from 1 in the float32 outputs of the network.
 */
export const PROBABILITY_FLOOR = 1e-6;

/**
 * Bound on the Platt slope |a|. The slope multiplies the model's own log-odds: at a = 50 a difference of
 * 0.1 in the model's log-odds (raw 0.500 vs 0.525) becomes 5 in calibrated log-odds (0.08 vs 0.92). With
 * Platt's targets the optimum only goes beyond that when the validation classes are separated by a gap of
 * less than about 2 ln(n) / 50 in log-odds (0.15 for 40 users): a threshold learned from a handful of users,
 * not a calibration, and the regime in which an unbounded Newton fit ran away to a = 5.3e9 on a store log.
 */
export const PLATT_MAX_SLOPE = 50;

/** Floor of the one-standard-error margin (nats per user), for when the paired differences are all equal. */
export const MIN_LOG_LOSS_GAIN = 1e-4;

export function logit(p: number): number {
  const q = Math.min(1 - LOGIT_EPS, Math.max(LOGIT_EPS, p));
  return Math.log(q / (1 - q));
}

const clipServed = (p: number) => Math.min(1 - PROBABILITY_FLOOR, Math.max(PROBABILITY_FLOOR, p));

export function checkCalibrationInputs(raw: ArrayLike<number>, y: ArrayLike<number>, what: string): void {
  if (raw.length !== y.length) throw new CohortlabError('BAD_ARGUMENT', `${what}: ${raw.length} scores but ${y.length} labels; pass one label per validation user.`);
  if (raw.length === 0) throw new CohortlabError('EMPTY_INPUT', `${what}: the validation set is empty; calibration needs validation users (a later cutoff or a validation share > 0).`);
  for (let i = 0; i < raw.length; i++) {
    if (!Number.isFinite(raw[i])) throw new CohortlabError('BAD_ARGUMENT', `${what}: raw score of validation row ${i} is ${raw[i]}; scores must be finite numbers.`);
    if (y[i] !== 0 && y[i] !== 1) throw new CohortlabError('BAD_ARGUMENT', `${what}: label of validation row ${i} is ${y[i]}; labels must be 0 or 1.`);
  }
}

// ------------------------------------------------------------------------------------ Platt

export interface PlattFit {
  a: number;
  b: number;
  /** Newton iterations taken. */
  iterations: number;
  /** The slope ended on its bound (the unbounded optimum lies beyond |a| = PLATT_MAX_SLOPE). */
  slopeBounded: boolean;
  /** Final objective: the summed cross-entropy against Platt's targets. */
  loss: number;
}

/**
 * Platt scaling on logit(raw), by projected damped Newton: the Hessian step (a tiny ridge keeps it
 * positive definite), halved until the objective falls by the Armijo fraction; a at its bound with the
 * gradient pushing outward is held there and only b moves. Starts where sklearn does (a = 0, b = the
 * log-odds of the smoothed base rate), stops when a full step changes nothing. Deterministic; a and b
 * stay finite because every accepted point lowers a convex objective that is finite everywhere.
 */
export function fitPlattDetailed(raw: ArrayLike<number>, y: ArrayLike<number>, maxSlope = PLATT_MAX_SLOPE): PlattFit {
  checkCalibrationInputs(raw, y, 'fitPlatt');
  const n = raw.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) nPos += y[i];
  const nNeg = n - nPos;
  const hi = (nPos + 1) / (nPos + 2);
  const lo = 1 / (nNeg + 2);
  const z = Float64Array.from({ length: n }, (_, i) => logit(raw[i]));
  const t = Float64Array.from({ length: n }, (_, i) => (y[i] === 1 ? hi : lo));
  let zMin = Infinity;
  let zMax = -Infinity;
  for (let i = 0; i < n; i++) {
    zMin = Math.min(zMin, z[i]);
    zMax = Math.max(zMax, z[i]);
  }
  // All scores equal: the slope is not identifiable; the best constant is the mean target.
  const slopeFree = zMax > zMin;
  const objective = (a: number, b: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const f = a * z[i] + b;
      s += softplus(f) - t[i] * f;
    }
    return s;
  };
  let a = 0;
  let b = Math.log((nPos + 1) / (nNeg + 1));
  let f0 = objective(a, b);
  let iterations = 0;
  for (; iterations < 200; iterations++) {
    let ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(a * z[i] + b);
      const d = p - t[i];
      const v = p * (1 - p);
      ga += d * z[i];
      gb += d;
      haa += v * z[i] * z[i];
      hab += v * z[i];
      hbb += v;
    }
    const ridge = 1e-12 * (haa + hbb) + 1e-300;
    const h11 = haa + ridge;
    const h22 = hbb + ridge;
    const det = h11 * h22 - hab * hab;
    let da = -(h22 * ga - hab * gb) / det;
    let db = -(h11 * gb - hab * ga) / det;
    // Not a descent direction (rounding in a nearly singular Hessian): steepest descent instead.
    if (!(Number.isFinite(da) && Number.isFinite(db)) || da * ga + db * gb >= 0) {
      const scale = 1 / Math.max(1e-300, h11 + h22);
      da = -ga * scale;
      db = -gb * scale;
    }
    // The slope is held (only b moves) when it cannot move: not identifiable, or on its bound with the
    // descent direction or the Newton step pointing outward (the active constraint of projected Newton).
    const atBound = Math.abs(a) >= maxSlope && (Math.sign(a) * -ga > 0 || Math.sign(a) * da > 0);
    if (!slopeFree || atBound) {
      da = 0;
      db = -gb / h22;
    }
    if (!(Number.isFinite(da) && Number.isFinite(db))) break;
    let step = 1;
    let accepted = false;
    let na = a;
    let nb = b;
    let nf = f0;
    for (let k = 0; k < 60; k++) {
      na = Math.min(maxSlope, Math.max(-maxSlope, a + step * da));
      nb = b + step * db;
      nf = objective(na, nb);
      // Armijo on the projected step (the actual move, not the proposed one).
      if (Number.isFinite(nf) && nf <= f0 + 1e-4 * (ga * (na - a) + gb * (nb - b))) {
        accepted = true;
        break;
      }
      step /= 2;
    }
    if (!accepted) break;
    const moved = Math.abs(na - a) + Math.abs(nb - b);
    a = na;
    b = nb;
    const gain = f0 - nf;
    f0 = nf;
    if (moved <= 1e-13 * (1 + Math.abs(a) + Math.abs(b)) || gain <= 1e-15 * (1 + Math.abs(f0))) {
      iterations++;
      break;
    }
  }
  return { a, b, iterations, slopeBounded: Math.abs(a) >= maxSlope, loss: f0 };
}

export function fitPlatt(raw: ArrayLike<number>, y: ArrayLike<number>): Calibrator {
  const { a, b } = fitPlattDetailed(raw, y);
  return { kind: 'platt', a, b };
}

// ------------------------------------------------------------------------------------ isotonic

/** sklearn `_make_unique`: scores closer than float64 resolution to the first of a run are one point. */
const TIE_RESOLUTION = 1e-15;

/**
 * Isotonic regression equal to scikit-learn's `IsotonicRegression(out_of_bounds='clip')` (1.2), in the
 * same arithmetic order: (1) sort by score, then label (row order cannot matter); (2) pool tied scores
 * into one point whose value is their mean and whose weight is their count; (3) pool adjacent violators
 * on those points (equal neighbours are pooled too, as in sklearn); (4) keep the first and last point of
 * each constant run. The old version pooled a tie group before it was complete, so its answer on tied
 * scores depended on the order of the rows.
 */
export function fitIsotonic(raw: ArrayLike<number>, y: ArrayLike<number>): Calibrator {
  checkCalibrationInputs(raw, y, 'fitIsotonic');
  const n = raw.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => raw[i] - raw[j] || y[i] - y[j] || i - j);
  // (2) unique scores with the mean label and the count as weight.
  const ux: number[] = [];
  const uy: number[] = [];
  const uw: number[] = [];
  let curX = raw[order[0]];
  let curY = 0;
  let curW = 0;
  for (let k = 0; k < n; k++) {
    const x = raw[order[k]];
    const yi = y[order[k]];
    if (x - curX >= TIE_RESOLUTION) {
      ux.push(curX);
      uw.push(curW);
      uy.push(curY / curW);
      curX = x;
      curW = 1;
      curY = yi;
    } else {
      curW += 1;
      curY += yi;
    }
  }
  ux.push(curX);
  uw.push(curW);
  uy.push(curY / curW);
  // (3) pool adjacent violators; target[i] = j and target[j] = i for an active block [i..j] (sklearn's layout).
  const m = ux.length;
  const v = Float64Array.from(uy);
  const w = Float64Array.from(uw);
  const target = Int32Array.from({ length: m }, (_, i) => i);
  let i = 0;
  while (i < m) {
    let k = target[i] + 1;
    if (k === m) break;
    if (v[i] < v[k]) {
      i = k;
      continue;
    }
    let sumWy = w[i] * v[i];
    let sumW = w[i];
    for (;;) {
      const prev = v[k];
      sumWy += w[k] * v[k];
      sumW += w[k];
      k = target[k] + 1;
      if (k === m || prev < v[k]) {
        v[i] = sumWy / sumW;
        w[i] = sumW;
        target[i] = k - 1;
        target[k - 1] = i;
        if (i > 0) i = target[i - 1];
        break;
      }
    }
  }
  for (let s = 0; s < m; ) {
    const e = target[s] + 1;
    for (let j = s + 1; j < e; j++) v[j] = v[s];
    s = e;
  }
  // (4) drop interior points equal to both neighbours.
  const xs: number[] = [];
  const ys: number[] = [];
  for (let j = 0; j < m; j++) {
    if (j > 0 && j < m - 1 && v[j] === v[j - 1] && v[j] === v[j + 1]) continue;
    xs.push(ux[j]);
    ys.push(v[j]);
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

/** scipy `interp1d(kind='linear')` as sklearn calls it: x already clipped to [xs[0], xs[last]]. */
function interpolate(xs: number[], ys: number[], x: number): number {
  const last = xs.length - 1;
  if (last === 0) return ys[0];
  if (x <= xs[0]) return ys[0];
  if (x >= xs[last]) return ys[last];
  // searchsorted(xs, x, side='left'), clipped to [1, last]
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid;
    else hi = mid;
  }
  const slope = (ys[hi] - ys[lo]) / (xs[hi] - xs[lo]);
  return slope * (x - xs[lo]) + ys[lo];
}

/** The calibration map itself, unclipped (what the scikit-learn fixtures compare against). */
export function calibratorOutput(c: Calibrator, raw: ArrayLike<number>): Float64Array {
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

/** Served churn probabilities: the calibration map, clipped to [PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR]. */
export function applyCalibrator(c: Calibrator, raw: ArrayLike<number>): Float64Array {
  const out = calibratorOutput(c, raw);
  for (let i = 0; i < out.length; i++) out[i] = clipServed(out[i]);
  return out;
}
