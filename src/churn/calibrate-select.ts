/**
 * The choice of calibration on the validation users (steps 1-4 of the header of calibrate.ts): seeded
 * stratified folds, pooled held-out log loss per candidate, the one-standard-error rule, the collapse
 * guard, and the warnings the report carries.
 */
import { createRng, permutation } from '../shared/rng.js';
import {
  MIN_LOG_LOSS_GAIN,
  PLATT_MAX_SLOPE,
  PROBABILITY_FLOOR,
  applyCalibrator,
  calibratorOutput,
  checkCalibrationInputs,
  fitCalibrator,
  fitPlattDetailed,
  type CalibrationChoice,
  type CalibrationKind,
  type Calibrator,
} from './calibrate.js';

/** Collapse guard: outputs below 0.01 or above 0.99 count as extreme. */
const EXTREME = 0.01;
/** Rejected when at least this share of calibrated validation outputs is extreme ... */
const COLLAPSED_SHARE = 0.9;
/** ... while less than this share of the raw scores is. */
const SPREAD_RAW_SHARE = 0.5;

export interface CalibrationSelection {
  /** 'auto' (chosen by cross-validation) or the kind that was asked for. */
  requested: CalibrationChoice;
  chosen: CalibrationKind;
  /** Pooled held-out log loss of each candidate (served values, clipped to [1e-6, 1 - 1e-6]); null when no CV was possible. */
  cvLogLoss: Record<CalibrationKind, number> | null;
  /** Folds used (0 when a class had fewer than 2 validation users). */
  folds: number;
  /** The sentence for the report: why this calibration. */
  reason: string;
  /** Candidates refused by the collapse guard, with why. */
  rejected: { kind: CalibrationKind; reason: string }[];
  /** The Platt slope ended on its bound |a| = PLATT_MAX_SLOPE (when Platt was fitted on all validation users). */
  plattSlopeBounded?: boolean;
}

const CANDIDATES: CalibrationKind[] = ['none', 'platt', 'isotonic'];

/** Seeded stratified fold of each row: each class shuffled, then dealt to folds 0..K-1 in turn. */
export function stratifiedFolds(y: ArrayLike<number>, k: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  const fold = new Uint8Array(y.length);
  for (const cls of [1, 0]) {
    const idx: number[] = [];
    for (let i = 0; i < y.length; i++) if (y[i] === cls) idx.push(i);
    const p = permutation(idx.length, rng);
    for (let j = 0; j < idx.length; j++) fold[idx[p[j]]] = j % k;
  }
  return fold;
}

function userLogLoss(p: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: p.length }, (_, i) => -(y[i] === 1 ? Math.log(p[i]) : Math.log(1 - p[i])));
}

function mean(v: Float64Array): number {
  let s = 0;
  for (const x of v) s += x;
  return s / v.length;
}

/** Standard error of the mean per-user difference between two candidates' held-out log losses. */
function pairedSe(perUser: Record<CalibrationKind, Float64Array>, p: CalibrationKind, q: CalibrationKind): number {
  const a = perUser[p];
  const b = perUser[q];
  const n = a.length;
  if (p === q || n < 2) return 0;
  let m = 0;
  for (let i = 0; i < n; i++) m += a[i] - b[i];
  m /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (a[i] - b[i] - m) ** 2;
  return Math.sqrt(ss / (n - 1) / n);
}

function extremeShare(p: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < p.length; i++) if (p[i] < EXTREME || p[i] > 1 - EXTREME) e++;
  return p.length > 0 ? e / p.length : 0;
}

/** Why a fitted calibrator is refused, or null: its validation outputs collapse to 0/1 while the raw scores are spread. */
export function collapseReason(c: Calibrator, raw: ArrayLike<number>): string | null {
  if (c.kind === 'none') return null;
  const rawShare = extremeShare(raw);
  const calShare = extremeShare(calibratorOutput(c, raw));
  if (calShare >= COLLAPSED_SHARE && rawShare < SPREAD_RAW_SHARE) {
    const pct = (v: number) => `${(100 * v).toFixed(0)}%`;
    return `${c.kind} put ${pct(calShare)} of the ${raw.length.toLocaleString('en-US')} validation users below ${EXTREME} or above ${1 - EXTREME} while only ${pct(rawShare)} of their raw scores are (a step, not a calibration)`;
  }
  return null;
}

const SERVED_RANGE = `[${PROBABILITY_FLOOR.toExponential()}, 1 - ${PROBABILITY_FLOOR.toExponential()}]`;
const f4 = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : String(v));

/**
 * Chooses and fits the calibration on the validation users. `requested` = 'auto' picks by
 * cross-validated log loss (see the file header); an explicit kind is fitted as asked, with the same
 * cross-validated figures reported beside it, and falls back to 'none' only if the collapse guard trips.
 */
export function selectCalibration(raw: ArrayLike<number>, y: ArrayLike<number>, opts: { requested?: CalibrationChoice; seed: number; maxFolds?: number }): { calibrator: Calibrator; selection: CalibrationSelection } {
  checkCalibrationInputs(raw, y, 'selectCalibration');
  const requested = opts.requested ?? 'auto';
  const n = raw.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) nPos += y[i];
  const nNeg = n - nPos;
  const k = Math.min(opts.maxFolds ?? 5, nPos, nNeg);
  let cvLogLoss: Record<CalibrationKind, number> | null = null;
  let perUser: Record<CalibrationKind, Float64Array> | null = null;
  if (k >= 2) {
    const fold = stratifiedFolds(y, k, opts.seed);
    const held: Record<CalibrationKind, Float64Array> = { none: new Float64Array(n), platt: new Float64Array(n), isotonic: new Float64Array(n) };
    for (let f = 0; f < k; f++) {
      const fitRaw: number[] = [];
      const fitY: number[] = [];
      const outIdx: number[] = [];
      for (let i = 0; i < n; i++) {
        if (fold[i] === f) outIdx.push(i);
        else {
          fitRaw.push(raw[i]);
          fitY.push(y[i]);
        }
      }
      const outRaw = outIdx.map((i) => raw[i]);
      for (const kind of CANDIDATES) {
        const p = applyCalibrator(fitCalibrator(kind, fitRaw, fitY), outRaw);
        outIdx.forEach((i, j) => (held[kind][i] = p[j]));
      }
    }
    perUser = { none: userLogLoss(held.none, y), platt: userLogLoss(held.platt, y), isotonic: userLogLoss(held.isotonic, y) };
    cvLogLoss = { none: mean(perUser.none), platt: mean(perUser.platt), isotonic: mean(perUser.isotonic) };
  }

  const rejected: { kind: CalibrationKind; reason: string }[] = [];
  const fitChecked = (kind: CalibrationKind): { c: Calibrator; bounded?: boolean } | null => {
    if (kind === 'platt') {
      const fit = fitPlattDetailed(raw, y);
      const c: Calibrator = { kind: 'platt', a: fit.a, b: fit.b };
      const why = collapseReason(c, raw);
      if (why) {
        rejected.push({ kind, reason: why });
        return null;
      }
      return { c, bounded: fit.slopeBounded };
    }
    const c = fitCalibrator(kind, raw, y);
    const why = collapseReason(c, raw);
    if (why) {
      rejected.push({ kind, reason: why });
      return null;
    }
    return { c };
  };
  const cvText = cvLogLoss ? `cross-validated log loss over ${k} stratified folds of the ${n.toLocaleString('en-US')} validation users: none ${f4(cvLogLoss.none)}, Platt ${f4(cvLogLoss.platt)}, isotonic ${f4(cvLogLoss.isotonic)}` : '';
  const done = (calibrator: Calibrator, reason: string, bounded?: boolean) => ({
    calibrator,
    selection: { requested, chosen: calibrator.kind, cvLogLoss, folds: k >= 2 ? k : 0, reason, rejected, ...(bounded !== undefined ? { plattSlopeBounded: bounded } : {}) },
  });
  const boundNote = (bounded?: boolean) => (bounded ? ` The Platt slope stopped at its bound |a| = ${PLATT_MAX_SLOPE}.` : '');

  if (requested !== 'auto') {
    if (requested === 'none') return done({ kind: 'none' }, `Calibration 'none' was requested: raw scores are served (clipped to ${SERVED_RANGE})${cvText ? `; ${cvText}` : ''}.`);
    const got = fitChecked(requested);
    if (!got) return done({ kind: 'none' }, `Calibration '${requested}' was requested but refused: ${rejected[rejected.length - 1].reason}; raw scores are served instead${cvText ? `; ${cvText}` : ''}.`);
    return done(got.c, `Calibration '${requested}' was requested${cvText ? `; ${cvText}` : ''}.${boundNote(got.bounded)}`, got.bounded);
  }
  if (!cvLogLoss) {
    return done({ kind: 'none' }, `No calibration: the ${n.toLocaleString('en-US')} validation users hold ${nPos.toLocaleString('en-US')} churner(s) and ${nNeg.toLocaleString('en-US')} stayer(s), and cross-validation needs at least 2 of each; the raw scores are served (clipped to ${SERVED_RANGE}).`);
  }
  // One-standard-error rule (Breiman et al. 1984; Hastie et al., ESL 7.10): among the candidates not refused, the
  // simplest (none < Platt < isotonic) whose CV log loss is within one standard error of the best one's, the error
  // taken over the per-user paired difference. A gain smaller than the noise of the folds is no reason to calibrate.
  const name = (kd: CalibrationKind) => (kd === 'none' ? 'none' : kd === 'platt' ? 'Platt' : 'isotonic');
  const Name = (kd: CalibrationKind) => (kd === 'none' ? 'None' : kd === 'platt' ? 'Platt' : 'Isotonic');
  let pool: CalibrationKind[] = [...CANDIDATES];
  for (;;) {
    const best = pool.reduce((b, c) => (cvLogLoss![c] < cvLogLoss![b] ? c : b));
    const pick = pool.find((kd) => cvLogLoss![kd] - cvLogLoss![best] <= Math.max(MIN_LOG_LOSS_GAIN, pairedSe(perUser!, kd, best)))!;
    const refusedNote = rejected.length ? `; refused: ${rejected.map((r) => r.reason).join('; ')}` : '';
    const closeNote =
      pick !== best
        ? `; ${name(best)} is lower by ${f4(cvLogLoss[pick] - cvLogLoss[best])} per user, within one standard error of the paired difference (${f4(pairedSe(perUser!, pick, best))}), so the simpler ${name(pick)} is kept`
        : '';
    if (pick === 'none') {
      const why = best === 'none' ? '; neither Platt nor isotonic lowers it' : closeNote;
      return done({ kind: 'none' }, `No calibration: ${cvText}${why}${refusedNote}; the raw scores are served (clipped to ${SERVED_RANGE}).`);
    }
    const got = fitChecked(pick);
    if (got) {
      const gain = cvLogLoss.none - cvLogLoss[pick];
      return done(got.c, `${Name(pick)} calibration chosen: ${cvText}; it lowers the log loss of the raw scores by ${f4(gain)} per user (one standard error ${f4(pairedSe(perUser!, pick, 'none'))})${closeNote}${refusedNote}.${boundNote(got.bounded)}`, got.bounded);
    }
    pool = pool.filter((kd) => kd !== pick);
  }
}

/**
 * report.json `warnings` for what went wrong in the calibration (codes in docs/errors.md, "Warnings"). Choosing
 * `none` by cross-validation is a normal outcome (the reason says so); these are the abnormal ones.
 */
export function calibrationWarnings(s: CalibrationSelection): { code: string; message: string }[] {
  const out: { code: string; message: string }[] = [];
  if (s.requested === 'auto' && s.cvLogLoss === null) out.push({ code: 'CALIBRATION_NOT_CROSS_VALIDATED', message: s.reason });
  for (const r of s.rejected) out.push({ code: 'CALIBRATION_REFUSED', message: `${r.reason}; it was not used.` });
  if (s.plattSlopeBounded && s.chosen === 'platt') out.push({ code: 'PLATT_SLOPE_BOUNDED', message: `the Platt slope stopped at its bound |a| = ${PLATT_MAX_SLOPE}: the validation classes are separated by a gap too small to calibrate from; treat the probabilities as a ranking.` });
  return out;
}
