/**
 * The one preprocessing module of the cluster and churn stages (both sit above it): quantiles, column
 * moments, skewness, the robust centre and scale, and the two fitted scalings built on them. Each keeps
 * the JSON shape of the state it has always stored, so models/* load unchanged:
 *
 *   fitFeatureColumn  cluster/scale.ts FeatureScaler, per column: impute the training median -> log1p
 *                     (dictionary) -> (v - center) / scale; mean/std ('standard') or median/(IQR / 1.349)
 *   fitScaler         the churn stage (churn/dataset.ts re-exports it): log1p where non-negative and
 *                     skewness > 2 -> (v - mean) / std
 *
 * Every statistic is the population one (divide by n), as scikit-learn's StandardScaler.
 */
import { CohortlabError } from './errors.js';
import type { Matrix } from './matrix.js';

/** Linear-interpolated quantile of ascending values (NumPy's default); NaN when there are none. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const m = sorted.length;
  if (m === 0) return NaN;
  const pos = q * (m - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/** Quantiles of the non-NaN values (NaN for each when there are none). Copies; the input keeps its order. */
export function quantiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  let m = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) m++;
  const sorted = new Float64Array(m);
  let w = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) sorted[w++] = values[i];
  sorted.sort();
  return qs.map((q) => quantileSorted(sorted, q));
}

/** Column j of a row-major matrix as Float64 values. */
export function matrixColumn(x: Matrix, j: number): Float64Array {
  const out = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++) out[i] = x.data[i * x.cols + j];
  return out;
}

/** Population mean and standard deviation (two passes). */
export function meanStd(values: ArrayLike<number>): { mean: number; std: number } {
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) * (values[i] - mean);
  return { mean, std: Math.sqrt(ss / n) };
}

/** Minimum and population skewness (0 for a constant column). */
export function minAndSkewness(values: ArrayLike<number>): { min: number; skewness: number } {
  const n = values.length;
  let min = Infinity;
  let s1 = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v < min) min = v;
    s1 += v;
  }
  const m = s1 / n;
  let s2 = 0;
  let s3 = 0;
  for (let i = 0; i < n; i++) {
    const c = values[i] - m;
    s2 += c * c;
    s3 += c * c * c;
  }
  const sd = Math.sqrt(s2 / n);
  return { min, skewness: sd > 0 ? s3 / n / (sd * sd * sd) : 0 };
}

/** Robust centre and scale: the median and IQR / 1.349 (the std for normal data); `fallbackScale` when the IQR is 0. */
export function robustCenterScale(values: ArrayLike<number>, fallbackScale: number): { center: number; scale: number } {
  const [q1, q2, q3] = quantiles(values, [0.25, 0.5, 0.75]);
  const iqr = q3 - q1;
  return { center: q2, scale: iqr > 0 ? iqr / 1.349 : fallbackScale };
}

/**
 * One column of the cluster stage's FeatureScaler (cluster/scale.ts): missing values take the training
 * median, then log1p when `useLog`, then (v - center) / scale with the mean and std ('standard') or the
 * median and IQR / 1.349 ('robust'; the std when the IQR is 0). Refuses a column that is all missing,
 * constant, or negative where log1p is asked for, naming `name`.
 */
export function fitFeatureColumn(col: Float64Array, name: string, useLog: boolean, kind: 'standard' | 'robust'): { impute: number; center: number; scale: number } {
  const [median] = quantiles(col, [0.5]);
  if (Number.isNaN(median)) throw new CohortlabError('BAD_FEATURE', `feature "${name}" is missing (empty/NaN) for all ${col.length} users; drop it from --features-list or fix the features file.`);
  // transformed column (imputed, logged) for the centre and scale
  const t = new Float64Array(col.length);
  for (let i = 0; i < col.length; i++) {
    const v = Number.isNaN(col[i]) ? median : col[i];
    if (useLog && !(v > -1)) throw new CohortlabError('BAD_FEATURE', `feature "${name}" is marked heavy-tailed (log1p) but has value ${v} at row ${i + 1}; log1p needs values > -1. Remove it from the log1p list or fix the data.`);
    t[i] = useLog ? Math.log1p(v) : v;
  }
  const { mean, std } = meanStd(t);
  if (!(std > 1e-12 * Math.max(1, Math.abs(mean)))) {
    throw new CohortlabError('BAD_FEATURE', `feature "${name}" is constant (${median}) over all ${col.length} users, so it cannot separate clusters and cannot be standardised; drop it with --features-list (e.g. the default list without "${name}").`);
  }
  // robust: IQR / 1.349 equals the std for normal data; a sparse count (IQR 0) falls back to the std
  const { center, scale } = kind === 'robust' ? robustCenterScale(t, std) : { center: mean, scale: std };
  return { impute: median, center, scale };
}

/**
 * The churn stage's scaler state, learned on training rows only (churn/dataset.ts re-exports it as
 * ScalerState). A feature is log1p-ed when it is non-negative and heavily right-skewed.
 */
export interface SkewScalerState {
  features: string[];
  log1p: boolean[];
  mean: number[];
  /** Standard deviation after the log1p step; 1 for constant features (so they become 0, not NaN). */
  std: number[];
}

/** Skewness above which a non-negative feature is log-transformed (counts, durations, money). */
export const LOG1P_SKEW_THRESHOLD = 2;

export function fitScaler(x: Matrix, features: string[]): SkewScalerState {
  if (features.length !== x.cols) throw new CohortlabError('BAD_ARGUMENT', `fitScaler: ${features.length} feature names for ${x.cols} columns.`);
  if (x.rows === 0) throw new CohortlabError('EMPTY_INPUT', 'fitScaler: no training rows; every user of the training cutoff(s) was already churned or the table is empty.');
  const d = x.cols;
  const log1p: boolean[] = [];
  const mean: number[] = [];
  const std: number[] = [];
  for (let j = 0; j < d; j++) {
    const raw = matrixColumn(x, j);
    const { min, skewness } = minAndSkewness(raw);
    const useLog = min >= 0 && skewness > LOG1P_SKEW_THRESHOLD;
    const { mean: lm, std: lsd } = meanStd(useLog ? raw.map(Math.log1p) : raw);
    log1p.push(useLog);
    mean.push(lm);
    std.push(lsd > 1e-12 ? lsd : 1);
  }
  return { features: [...features], log1p, mean, std };
}

/** Applies the training transformation; negative inputs to a log1p feature are clipped at 0 (never seen in training). */
export function applyScaler(s: SkewScalerState, x: Matrix, opts: { shared?: boolean } = {}): Matrix<Float32Array> {
  if (x.cols !== s.features.length) throw new CohortlabError('BAD_ARGUMENT', `applyScaler: the scaler knows ${s.features.length} features, the matrix has ${x.cols} columns.`);
  const d = x.cols;
  // shared: in memory worker threads read without a copy (training); per-request scoring keeps a plain buffer
  const out = opts.shared ? new Float32Array(new SharedArrayBuffer(x.data.length * 4)) : new Float32Array(x.data.length);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < d; j++) {
      let v = x.data[i * d + j];
      if (s.log1p[j]) v = Math.log1p(Math.max(0, v));
      out[i * d + j] = (v - s.mean[j]) / s.std[j];
    }
  }
  return { data: out, rows: x.rows, cols: d };
}
