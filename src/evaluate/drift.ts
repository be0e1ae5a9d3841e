/**
 * Distribution drift of one variable between a reference sample (the training snapshot) and a current one
 * (a refresh): the population stability index over bins fixed on the reference, and, for continuous
 * variables, the two-sample Kolmogorov-Smirnov statistic. Pure numeric code over typed arrays.
 *
 * Bins: up to `bins` reference quantiles (NumPy method "lower": observed values) as right-closed edges,
 * duplicates removed, so a count feature with few distinct values gets one bin per value range rather than
 * empty bins. A value v falls in the first bin whose edge is >= v; values above the last edge in the last bin.
 *
 * PSI = sum over bins (c - r) ln(c / r) with r, c the smoothed shares (count + 0.5) / (n + 0.5 B), so an empty
 * bin neither divides by zero nor dominates. Thresholds (industry convention, e.g. Yurdakul 2018): below 0.1
 * stable, 0.1-0.25 watch, 0.25 and above act.
 *
 * The sample-size caveat, both ways:
 * - small samples: under no drift, PSI is approximately (1/n + 1/m) times a chi-square with B - 1 degrees of
 *   freedom (Yurdakul 2018), so two draws of 80 users from one population give PSI near 0.1 by chance. A shift is
 *   called only when PSI is also above that null distribution's 99th percentile (`noiseBound`), and no verdict
 *   is given below MIN_DRIFT_SAMPLE users on either side;
 * - huge samples: the noise bound goes to 0, but the 0.1 / 0.25 thresholds are effect sizes, so a trivial shift
 *   of a million users stays "stable". The KS p-value is reported, never used alone for a verdict.
 */
import { CohortlabError } from '../shared/errors.js';

/** Fewer users than this on either side: no drift verdict (status "too_few"). */
export const MIN_DRIFT_SAMPLE = 100;
/** PSI at which a shift is worth watching, and at which retraining is advised. */
export const PSI_WATCH = 0.1;
export const PSI_ACT = 0.25;
/** Default number of reference quantile bins. */
export const DRIFT_BINS = 10;

export type DriftStatus = 'stable' | 'watch' | 'act' | 'too_few';

/** Bins fixed on the reference: right-closed upper edges (the last bin is open above). */
export interface DriftBins {
  edges: number[];
  /** Reference count per bin (edges.length + 1 bins). */
  counts: number[];
  /** Reference sample size. */
  n: number;
}

export interface KsResult {
  /** sup |F_ref - F_cur| over all values. */
  statistic: number;
  /** Asymptotic two-sided p-value (Kolmogorov limit with Stephens' small-sample correction). */
  pValue: number;
}

export interface DriftResult {
  psi: number;
  /** 99th percentile of PSI when nothing changed, for these sample sizes and bins. */
  noiseBound: number;
  status: DriftStatus;
  referenceN: number;
  currentN: number;
  /** Reference and current share per bin (unsmoothed), for charts. */
  referenceShares: number[];
  currentShares: number[];
  edges: number[];
  /** Present for continuous variables (more distinct reference values than bins). */
  ks: KsResult | null;
}

function sortedCopy(values: ArrayLike<number>, what: string): Float64Array {
  const out = Float64Array.from(values as ArrayLike<number>);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) throw new CohortlabError('BAD_ARGUMENT', `${what}: value ${i} is ${out[i]}; drift needs finite numbers.`);
  }
  return out.sort();
}

/** NumPy's quantile with method="lower": always an observed value, so a count feature's edges sit on its counts. */
function lowerQuantileSorted(sorted: Float64Array, q: number): number {
  return sorted[Math.floor((sorted.length - 1) * q + 1e-9)];
}

/** Index of the first edge >= v (NumPy searchsorted side="left"); edges.length when above every edge. */
function binOf(edges: number[], v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function countBins(edges: number[], values: ArrayLike<number>): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) counts[binOf(edges, values[i])]++;
  return counts;
}

/** Bins from the reference sample: the interior quantiles 1/B .. (B-1)/B, duplicates removed. */
export function fitDriftBins(reference: ArrayLike<number>, bins = DRIFT_BINS, what = 'reference'): DriftBins {
  if (!Number.isInteger(bins) || bins < 2) throw new CohortlabError('BAD_ARGUMENT', `${what}: bins must be an integer >= 2, got ${bins}.`);
  const sorted = sortedCopy(reference, what);
  if (sorted.length === 0) throw new CohortlabError('BAD_ARGUMENT', `${what}: the reference sample is empty.`);
  const edges: number[] = [];
  for (let b = 1; b < bins; b++) {
    const e = lowerQuantileSorted(sorted, b / bins);
    if (edges.length === 0 || e > edges[edges.length - 1]) edges.push(e);
  }
  // An edge at the maximum leaves an empty open top bin: drop it.
  while (edges.length > 0 && edges[edges.length - 1] >= sorted[sorted.length - 1]) edges.pop();
  return { edges, counts: countBins(edges, sorted), n: sorted.length };
}

/** PSI between two count vectors over the same bins, shares smoothed by (count + 0.5) / (n + 0.5 B). */
export function psiFromCounts(reference: number[], current: number[]): number {
  if (reference.length !== current.length) throw new CohortlabError('BAD_ARGUMENT', `PSI: ${reference.length} reference bins but ${current.length} current bins.`);
  const B = reference.length;
  const n = reference.reduce((s, c) => s + c, 0);
  const m = current.reduce((s, c) => s + c, 0);
  let psi = 0;
  for (let b = 0; b < B; b++) {
    const r = (reference[b] + 0.5) / (n + 0.5 * B);
    const c = (current[b] + 0.5) / (m + 0.5 * B);
    psi += (c - r) * Math.log(c / r);
  }
  return psi;
}

/** Chi-square quantile by the Wilson-Hilferty cube approximation (within 1% of the exact quantile for df >= 2 at p = 0.99). */
export function chiSquareQuantileWH(df: number, z: number): number {
  const a = 2 / (9 * df);
  const t = 1 - a + z * Math.sqrt(a);
  return df * t * t * t;
}

/** z of the standard normal at 0.99. */
const Z99 = 2.3263478740408408;

/** The 99th percentile of PSI under no drift: chi2_{B-1}(0.99) (1/n + 1/m). */
export function psiNoiseBound(bins: number, n: number, m: number): number {
  if (bins < 2) return 0;
  return chiSquareQuantileWH(bins - 1, Z99) * (1 / n + 1 / m);
}

/** Kolmogorov's limiting survival function Q(lambda) = 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 lambda^2). */
export function kolmogorovSf(lambda: number): number {
  if (lambda < 1e-3) return 1;
  let sum = 0;
  let prev = Number.POSITIVE_INFINITY;
  for (let k = 1; k <= 200; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += (k % 2 === 1 ? 1 : -1) * term;
    if (term < 1e-16 * Math.abs(sum) || term === prev) break;
    prev = term;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/**
 * Two-sample KS on sorted samples: D = sup |F_a - F_b|, p from the Kolmogorov limit at
 * lambda = (sqrt(e) + 0.12 + 0.11 / sqrt(e)) D with e = n m / (n + m) (Stephens 1970, Numerical Recipes 14.3).
 */
export function ksTwoSampleSorted(a: Float64Array, b: Float64Array): KsResult {
  const n = a.length;
  const m = b.length;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const v = Math.min(a[i], b[j]);
    while (i < n && a[i] === v) i++;
    while (j < m && b[j] === v) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  const e = Math.sqrt((n * m) / (n + m));
  return { statistic: d, pValue: kolmogorovSf((e + 0.12 + 0.11 / e) * d) };
}

function statusOf(psi: number, noise: number, n: number, m: number): DriftStatus {
  if (n < MIN_DRIFT_SAMPLE || m < MIN_DRIFT_SAMPLE) return 'too_few';
  if (psi <= noise || psi < PSI_WATCH) return 'stable';
  return psi < PSI_ACT ? 'watch' : 'act';
}

/** Drift of `current` against `reference`, bins fixed on the reference (or given, as stored at training). */
export function measureDrift(reference: ArrayLike<number>, current: ArrayLike<number>, opts: { bins?: number; fixed?: DriftBins; what?: string } = {}): DriftResult {
  const what = opts.what ?? 'variable';
  const ref = sortedCopy(reference, `${what} (reference)`);
  const cur = sortedCopy(current, `${what} (current)`);
  if (cur.length === 0) throw new CohortlabError('BAD_ARGUMENT', `${what}: the current sample is empty.`);
  const bins = opts.fixed ?? fitDriftBins(ref, opts.bins ?? DRIFT_BINS, what);
  const refCounts = opts.fixed ? countBins(bins.edges, ref) : bins.counts;
  const curCounts = countBins(bins.edges, cur);
  const psi = psiFromCounts(refCounts, curCounts);
  const noise = psiNoiseBound(refCounts.length, ref.length, cur.length);
  let distinct = ref.length > 0 ? 1 : 0;
  for (let i = 1; i < ref.length; i++) if (ref[i] !== ref[i - 1]) distinct++;
  const continuous = distinct > (opts.bins ?? DRIFT_BINS);
  return {
    psi,
    noiseBound: noise,
    status: statusOf(psi, noise, ref.length, cur.length),
    referenceN: ref.length,
    currentN: cur.length,
    referenceShares: refCounts.map((c) => c / ref.length),
    currentShares: curCounts.map((c) => c / cur.length),
    edges: bins.edges,
    ks: continuous ? ksTwoSampleSorted(ref, cur) : null,
  };
}
