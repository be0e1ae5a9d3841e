import { quantileSorted } from '../shared/preprocess.js';
import type { ClusterProfile } from './explain.js';

/**
 * One cluster in detail (issue 22 part 3; GET /v1/clusters/:cluster, usable by reports): the distributions of the
 * features that set it apart against the population, its rule-segment and lifecycle mix, its churn rate with a
 * 95% interval and the reason codes its members carry most. Pure: columns and row indices in, plain JSON out.
 */

/** Summary of one distribution: non-missing count, mean and quantiles (linear interpolation, NumPy's default "type 7"). */
export interface Distribution {
  n: number;
  mean: number | null;
  min: number | null;
  p05: number | null;
  q1: number | null;
  median: number | null;
  q3: number | null;
  p95: number | null;
  max: number | null;
}

export interface FeatureDistribution {
  feature: string;
  /** The profile's difference from the population in standard units (explain.ts; log1p scale for heavy-tailed counts). */
  z: number;
  /** 'symlog' when the population is skewed (see `featureScale`); the same for both clusters of a comparison. */
  scale: 'linear' | 'symlog';
  cluster: Distribution;
  population: Distribution;
}

export interface MixRow {
  value: string;
  users: number;
  /** Of the cluster's users. */
  share: number;
  /** Of all users of the table. */
  population_share: number;
}

export interface ReasonShare {
  feature: string;
  direction: string;
  /** Members carrying this reason code (feature and direction) among their top reasons. */
  users: number;
  share: number;
}

export interface ChurnInterval {
  /** The date the churn label is counted from (the test cutoff). */
  as_of: string | null;
  users: number;
  churned: number;
  rate: number;
  /** 95% Wilson score interval of `rate`. */
  lo: number;
  hi: number;
}

export interface ClusterDetail {
  cluster: number;
  label: string;
  users: number;
  share: number;
  churn: ChurnInterval | null;
  mean_churn_probability: number | null;
  features: FeatureDistribution[];
  mix: Record<string, MixRow[]>;
  reasons: ReasonShare[] | null;
}

/** Features shown by default: the 6 with the largest |z|. */
export const DETAIL_TOP_FEATURES = 6;
/** Reason codes shown: the 8 carried by most members. */
export const DETAIL_TOP_REASONS = 8;
/** A population is drawn on a symlog axis when no value is negative and p95 > SKEW_RATIO x median or max > SKEW_RATIO x p95. */
export const SKEW_RATIO = 10;

const Z_95 = 1.959963984540054;

/** 95% Wilson score interval of k successes in n trials (Wilson 1927); [0, 1] for n = 0. */
export function wilsonInterval(k: number, n: number, z = Z_95): { lo: number; hi: number } {
  if (n <= 0) return { lo: 0, hi: 1 };
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

const orNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** Count, mean and type-7 quantiles of `col` over `rows` (all rows when absent); NaN values are left out. */
export function distributionOf(col: ArrayLike<number>, rows?: ArrayLike<number>): Distribution {
  const m = rows ? rows.length : col.length;
  const v = new Float64Array(m);
  let w = 0;
  let sum = 0;
  for (let i = 0; i < m; i++) {
    const x = col[rows ? rows[i] : i];
    if (Number.isNaN(x)) continue;
    v[w++] = x;
    sum += x;
  }
  const sorted = v.subarray(0, w).sort();
  const q = (p: number) => orNull(quantileSorted(sorted, p));
  return { n: w, mean: w ? sum / w : null, min: w ? sorted[0] : null, p05: q(0.05), q1: q(0.25), median: q(0.5), q3: q(0.75), p95: q(0.95), max: w ? sorted[w - 1] : null };
}

/**
 * The axis of a feature, from its population: 'symlog' when no value is negative and the right tail is long,
 * p95 > 10 x median (counts with a median of 0 or 1) or max > 10 x p95 (a few very large values: on CDNOW, revenue
 * has median 43, p95 381 and max 13,991; purchase counts median 1, p95 9, max 171), else 'linear'. The
 * boxes of a small cluster far out in the tail then stay readable beside the population's.
 */
export function featureScale(population: Distribution): 'linear' | 'symlog' {
  const { min, median, p95, max } = population;
  if (min === null || median === null || p95 === null || max === null || min < 0) return 'linear';
  return p95 > SKEW_RATIO * median || max > SKEW_RATIO * p95 ? 'symlog' : 'linear';
}

/** The clustered features of a profile by |z| (ties by name), the first `top`. */
export function topFeatures(profile: ClusterProfile, clustered: readonly string[], top = DETAIL_TOP_FEATURES): string[] {
  return [...clustered]
    .filter((f) => Number.isFinite(profile.z[f]))
    .sort((a, b) => Math.abs(profile.z[b]) - Math.abs(profile.z[a]) || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, top);
}

/** Users per value of a text column among `rows`, beside the value's share of the whole column; ordered by population users (desc), then value. */
export function mixOf(col: readonly string[], rows: ArrayLike<number>): MixRow[] {
  const pop = new Map<string, number>();
  for (const v of col) pop.set(v, (pop.get(v) ?? 0) + 1);
  const mine = new Map<string, number>();
  for (let i = 0; i < rows.length; i++) {
    const v = col[rows[i]];
    mine.set(v, (mine.get(v) ?? 0) + 1);
  }
  return [...pop.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([value, n]) => {
      const users = mine.get(value) ?? 0;
      return { value: String(value), users, share: rows.length ? users / rows.length : 0, population_share: col.length ? n / col.length : 0 };
    });
}

/**
 * The reason codes (feature, direction) carried by most of `rows`, from the scored `reasons` column (a JSON
 * array per user, as `score` writes it). A user counts once per code however often it appears.
 */
export function reasonSharesOf(reasons: readonly string[], rows: ArrayLike<number>, top = DETAIL_TOP_REASONS): ReasonShare[] {
  const counts = new Map<string, { feature: string; direction: string; users: number }>();
  for (let i = 0; i < rows.length; i++) {
    const text = reasons[rows[i]];
    if (!text) continue;
    const seen = new Set<string>();
    for (const r of JSON.parse(text) as { feature: string; direction: string }[]) {
      const key = `${r.feature}\u0000${r.direction}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const c = counts.get(key);
      if (c) c.users++;
      else counts.set(key, { feature: r.feature, direction: r.direction, users: 1 });
    }
  }
  return [...counts.values()]
    .sort((a, b) => b.users - a.users || (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0) || (a.direction < b.direction ? -1 : 1))
    .slice(0, top)
    .map((c) => ({ ...c, share: rows.length ? c.users / rows.length : 0 }));
}

/**
 * The fit profile's churn within the horizon as a count with its Wilson interval. The profile counts every user of
 * the test cutoff's table assigned to the cluster, those already churned at the cutoff included (profileClusters
 * takes all rows; `fitted_on` only says which users k-means was fitted on), so `users` is the profile's `size`.
 */
export function churnIntervalOf(profile: ClusterProfile, asOf: string | null): ChurnInterval | null {
  if (profile.churnRate === null || !Number.isFinite(profile.churnRate)) return null;
  const users = profile.size;
  const churned = Math.round(profile.churnRate * users);
  return { as_of: asOf, users, churned, rate: users ? churned / users : 0, ...wilsonInterval(churned, users) };
}

/** What `describeCluster` reads: the fit profile and the columns of the scored snapshot (and of its features). */
export interface DetailInput {
  profile: ClusterProfile;
  /** The test cutoff the profile's churn is counted at. */
  testCutoff: string | null;
  /** Snapshot rows of the cluster's members, and the snapshot's size. */
  rows: ArrayLike<number>;
  populationUsers: number;
  /** Text columns of the snapshot whose mix is reported (behavioral_segment, lifecycle_stage). */
  mixColumns: Record<string, readonly string[]>;
  /** The snapshot's `reasons` column (JSON per user), or null when it has none. */
  reasons: readonly string[] | null;
  /** The snapshot's churn probability, or null. */
  probability: ArrayLike<number> | null;
  /**
   * The feature columns to summarize (in the order shown), over a table whose rows `featureRows` are the
   * cluster's members; null when the version stored no features.
   */
  features: { names: readonly string[]; columns: Record<string, ArrayLike<number>>; featureRows: ArrayLike<number>; population: (name: string) => Distribution } | null;
}

export function describeCluster(x: DetailInput): ClusterDetail {
  const p = x.profile;
  const m = x.rows.length;
  let prob: number | null = null;
  if (x.probability && m) {
    let s = 0;
    let n = 0;
    for (let i = 0; i < m; i++) {
      const v = x.probability[x.rows[i]];
      if (!Number.isNaN(v)) {
        s += v;
        n++;
      }
    }
    prob = n ? s / n : null;
  }
  const features: FeatureDistribution[] = (x.features?.names ?? []).map((name) => {
    const f = x.features!;
    const population = f.population(name);
    return { feature: name, z: p.z[name] ?? 0, scale: featureScale(population), cluster: distributionOf(f.columns[name], f.featureRows), population };
  });
  const mix: Record<string, MixRow[]> = {};
  for (const [name, col] of Object.entries(x.mixColumns)) mix[name] = mixOf(col, x.rows);
  return {
    cluster: p.cluster,
    label: p.label,
    users: m,
    share: x.populationUsers ? m / x.populationUsers : 0,
    churn: churnIntervalOf(p, x.testCutoff),
    mean_churn_probability: prob,
    features,
    mix,
    reasons: x.reasons ? reasonSharesOf(x.reasons, x.rows) : null,
  };
}
