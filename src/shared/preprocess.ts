/**
 * The preprocessing arithmetic shared by the cluster and churn stages (both sit above this module):
 * quantiles, column moments, skewness, and the robust centre and scale. The two scalers built on it keep
 * the JSON shape of the states they have always stored (models/* must still load):
 *
 *   cluster/scale.ts  FeatureScaler  impute (training median) -> log1p (dictionary) -> (v - center) / scale
 *                                    center/scale: mean/std ('standard') or median/(IQR / 1.349) ('robust')
 *   churn/dataset.ts  fitScaler      log1p (non-negative and skewness > 2) -> (v - mean) / std
 *
 * Every statistic is the population one (divide by n), as scikit-learn's StandardScaler.
 */
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
