import { MILESTONE_PREFIX } from '../features/index.js';
import { adjustedRandIndex, encodeLabels } from './metrics.js';
import { isHeavyTailed } from './scale.js';

/**
 * Explaining clusters in plain words (issue 5 part 4): per cluster its size and share, the mean of every
 * feature, the difference from the population in standard units, the features that set it apart most, a
 * label built from them, churn, and how it cuts across the rule segments.
 *
 * Standard units: the feature is put on the scale k-means saw (log1p for heavy-tailed counts), and the
 * difference of the cluster mean from the population mean is divided by the population std. +1 = one
 * standard deviation above the average user.
 */

/** Words for "above" and "below" the average, per feature (playbook §2.1 vocabulary). */
export const FEATURE_WORDS: Record<string, { high: string; low: string }> = {
  sessions_7d: { high: 'many sessions', low: 'few sessions' },
  sessions_prev_7d: { high: 'many sessions last week', low: 'few sessions last week' },
  avg_weekly_sessions_28d: { high: 'many sessions', low: 'few sessions' },
  total_sessions: { high: 'many lifetime sessions', low: 'few lifetime sessions' },
  events_30d: { high: 'many events', low: 'few events' },
  active_days_7d: { high: 'many active days', low: 'few active days' },
  active_days_30d: { high: 'many active days', low: 'few active days' },
  dau_mau: { high: 'high stickiness', low: 'low stickiness' },
  dau_wau: { high: 'high stickiness', low: 'low stickiness' },
  wau_mau: { high: 'active most weeks', low: 'active few weeks' },
  feature_breadth_30d: { high: 'high breadth', low: 'low breadth' },
  features_used_30d: { high: 'high breadth', low: 'low breadth' },
  features_used_7d: { high: 'high breadth', low: 'low breadth' },
  peak_week_features: { high: 'high peak breadth', low: 'low peak breadth' },
  avg_session_minutes_30d: { high: 'long sessions', low: 'short sessions' },
  actions_per_session_30d: { high: 'deep sessions', low: 'shallow sessions' },
  days_since_last_activity: { high: 'inactive', low: 'recent' },
  typical_gap_days: { high: 'long gaps', low: 'short gaps' },
  tenure_days: { high: 'long tenure', low: 'new' },
  invites_14d: { high: 'many invites', low: 'few invites' },
  invites_total: { high: 'many invites', low: 'few invites' },
  shares_14d: { high: 'many shares', low: 'few shares' },
  pricing_views_14d: { high: 'many pricing views', low: 'few pricing views' },
  pricing_views_7d: { high: 'many pricing views', low: 'few pricing views' },
  locked_clicks_14d: { high: 'many locked-feature clicks', low: 'few locked-feature clicks' },
  support_tickets_7d: { high: 'many tickets', low: 'few tickets' },
  support_tickets_30d: { high: 'many tickets', low: 'few tickets' },
  negative_support_30d: { high: 'unhappy support contacts', low: 'no unhappy support contacts' },
  failed_payments_30d: { high: 'failed payments', low: 'no failed payments' },
  downgrades_30d: { high: 'downgrading', low: 'not downgrading' },
  cancel_page_views_30d: { high: 'visits cancel page', low: 'no cancel-page visits' },
  monetary_value: { high: 'high value', low: 'low value' },
  is_paid: { high: 'paid', low: 'free' },
  ever_paid: { high: 'has paid', low: 'never paid' },
  wow_trend: { high: 'growing', low: 'shrinking' },
  usage_decline: { high: 'declining', low: 'steady' },
  team_size: { high: 'large teams', low: 'solo' },
  usage_pct_of_limit: { high: 'near the plan limit', low: 'far from the plan limit' },
};

export function featureWord(name: string, direction: 1 | -1): string {
  const w = FEATURE_WORDS[name];
  if (w) return direction > 0 ? w.high : w.low;
  if (name.startsWith(MILESTONE_PREFIX)) {
    const m = name.slice(MILESTONE_PREFIX.length).replace(/_/g, ' ');
    return direction > 0 ? `did ${m}` : `no ${m}`;
  }
  return `${direction > 0 ? 'high' : 'low'} ${name.replace(/_/g, ' ')}`;
}

export interface FeatureEffect {
  feature: string;
  /** Cluster mean minus population mean, in population standard deviations (log1p scale when heavy-tailed). */
  z: number;
  clusterMean: number;
  populationMean: number;
}

export interface ClusterProfile {
  cluster: number;
  label: string;
  size: number;
  share: number;
  /** Raw mean of every feature of the table. */
  means: Record<string, number>;
  /** Standard-unit difference of every feature of the table. */
  z: Record<string, number>;
  /** The (up to) 3 clustered features with the largest |z|, distinct words. */
  top: FeatureEffect[];
  /** Share of members with the churn label (null when the table is unlabelled). */
  churnRate: number | null;
  /** Share of members already churned at the cutoff. */
  alreadyChurnedRate: number;
  /** Mean rule churn-risk score (playbook §4.4; null without rule output). */
  meanChurnRisk: number | null;
}

/** Below this |z| a feature does not describe the cluster (a quarter of a standard deviation). */
export const LABEL_MIN_Z = 0.25;

/** From this share of members churned a label says so first (issue 17: never "typical" for a cluster of churned users). */
export const MOSTLY_CHURNED_SHARE = 0.5;

/** A share as a whole percent that never rounds up to 100% (99.6% reads "99%": not everyone). */
export function wholePercent(share: number): string {
  return `${share >= 1 ? 100 : Math.floor(100 * share)}%`;
}

/**
 * The label of a cluster from its distinguishing features and its churn:
 *  - most members already churned at the cutoff: "mostly churned (83%)", then the features that set it apart;
 *  - no feature sets it apart: "typical users", unless most members churn within the label horizon:
 *    "typical activity, mostly churned within the horizon (74%)".
 */
export function clusterLabel(words: string[], alreadyChurnedShare: number, churnShare: number | null): string {
  if (alreadyChurnedShare >= MOSTLY_CHURNED_SHARE) return `mostly churned (${wholePercent(alreadyChurnedShare)})${words.length ? `: ${words.join(', ')}` : ''}`;
  if (words.length) return words.join(', ');
  if (churnShare !== null && churnShare >= MOSTLY_CHURNED_SHARE) return `typical activity, mostly churned within the horizon (${wholePercent(churnShare)})`;
  return 'typical users';
}

export interface ProfileInput {
  labels: Int32Array;
  k: number;
  columns: Record<string, Float64Array>;
  /** The features k-means used; labels are built from these. */
  clustered: string[];
  churnLabel?: Uint8Array;
  alreadyChurned?: Uint8Array;
  churnRisk?: Float64Array;
}

export function profileClusters(p: ProfileInput): ClusterProfile[] {
  const { labels, k, columns } = p;
  const n = labels.length;
  const size = new Float64Array(k);
  for (let i = 0; i < n; i++) size[labels[i]]++;
  const names = Object.keys(columns);
  const means: Record<string, number>[] = Array.from({ length: k }, () => ({}));
  const zs: Record<string, number>[] = Array.from({ length: k }, () => ({}));
  const popMean: Record<string, number> = {};
  const sum = new Float64Array(k);
  const tsum = new Float64Array(k);
  for (const name of names) {
    const col = columns[name];
    const log = isHeavyTailed(name);
    sum.fill(0);
    tsum.fill(0);
    let tAll = 0;
    let rawAll = 0;
    for (let i = 0; i < n; i++) {
      const v = col[i];
      const t = log ? Math.log1p(v > -1 ? v : 0) : v;
      sum[labels[i]] += v;
      tsum[labels[i]] += t;
      tAll += t;
      rawAll += v;
    }
    const tMean = tAll / n;
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const t = log ? Math.log1p(col[i] > -1 ? col[i] : 0) : col[i];
      ss += (t - tMean) * (t - tMean);
    }
    const sd = Math.sqrt(ss / n);
    popMean[name] = rawAll / n;
    for (let c = 0; c < k; c++) {
      means[c][name] = size[c] > 0 ? sum[c] / size[c] : NaN;
      zs[c][name] = size[c] > 0 && sd > 0 ? (tsum[c] / size[c] - tMean) / sd : 0;
    }
  }
  const rate = (flags: ArrayLike<number> | undefined): Float64Array | undefined => {
    if (!flags) return undefined;
    const s = new Float64Array(k);
    for (let i = 0; i < n; i++) s[labels[i]] += flags[i];
    return s.map((v, c) => (size[c] > 0 ? v / size[c] : NaN));
  };
  const churn = rate(p.churnLabel);
  const already = rate(p.alreadyChurned);
  const risk = rate(p.churnRisk);
  const profiles: ClusterProfile[] = [];
  for (let c = 0; c < k; c++) {
    const ranked = p.clustered
      .map((f) => ({ feature: f, z: zs[c][f], clusterMean: means[c][f], populationMean: popMean[f] }))
      .sort((a, b) => Math.abs(b.z) - Math.abs(a.z) || a.feature.localeCompare(b.feature));
    const top: FeatureEffect[] = [];
    const words = new Set<string>();
    for (const e of ranked) {
      if (top.length === 3 || Math.abs(e.z) < LABEL_MIN_Z) break;
      const w = featureWord(e.feature, e.z > 0 ? 1 : -1);
      if (words.has(w)) continue; // two columns of one dimension say the same thing once
      words.add(w);
      top.push(e);
    }
    profiles.push({
      cluster: c,
      label: clusterLabel(top.map((e) => featureWord(e.feature, e.z > 0 ? 1 : -1)), already ? already[c] : 0, churn ? churn[c] : null),
      size: size[c],
      share: size[c] / n,
      means: means[c],
      z: zs[c],
      top,
      churnRate: churn ? churn[c] : null,
      alreadyChurnedRate: already ? already[c] : 0,
      meanChurnRisk: risk ? risk[c] : null,
    });
  }
  dedupeLabels(profiles, p.clustered, zs);
  return profiles;
}

/** Two clusters with the same label get their next distinguishing feature added, then a number. */
function dedupeLabels(profiles: ClusterProfile[], clustered: string[], zs: Record<string, number>[]): void {
  const seen = new Map<string, number>();
  for (const p of profiles) seen.set(p.label, (seen.get(p.label) ?? 0) + 1);
  for (const p of profiles) {
    if ((seen.get(p.label) ?? 0) < 2) continue;
    const used = new Set(p.top.map((e) => featureWord(e.feature, e.z > 0 ? 1 : -1)));
    const next = clustered
      .filter((f) => !p.top.some((e) => e.feature === f))
      .sort((a, b) => Math.abs(zs[p.cluster][b]) - Math.abs(zs[p.cluster][a]))
      .map((f) => featureWord(f, zs[p.cluster][f] > 0 ? 1 : -1))
      .find((w) => !used.has(w));
    if (next) p.label = `${p.label}, ${next}`;
  }
  const count = new Map<string, number>();
  for (const p of profiles) {
    const c = (count.get(p.label) ?? 0) + 1;
    count.set(p.label, c);
    if (c > 1) p.label = `${p.label} (${c})`;
  }
}

export interface Crosstab {
  /** Rule column, e.g. behavioral_segment. */
  column: string;
  values: string[];
  /** counts[c][v]: users of cluster c with rule value v. */
  counts: number[][];
  /** Agreement of the clusters with this rule segmentation (1 = same partition). */
  ari: number;
  /** Per cluster: rule values holding at least 10% of its members (the segments it cuts across). */
  spans: string[][];
}

/**
 * Crosstab of the clusters against one rule column (string segments/tiers, or a 0/1 `segment_*` column,
 * read as "in"/"out"). Rows are clusters, columns the rule values in first-appearance order.
 */
export function crosstab(column: string, labels: Int32Array, k: number, values: readonly string[] | Float64Array): Crosstab {
  const text: string[] = Array.isArray(values) ? (values as string[]) : Array.from(values as Float64Array, (v) => (v > 0 ? 'in' : 'out'));
  const enc = encodeLabels(text);
  const m = enc.values.length;
  const counts = Array.from({ length: k }, () => new Array<number>(m).fill(0));
  for (let i = 0; i < labels.length; i++) counts[labels[i]][enc.codes[i]]++;
  const spans = counts.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.flatMap((v, j) => (total > 0 && v / total >= 0.1 ? [String(enc.values[j])] : []));
  });
  return { column, values: enc.values.map(String), counts, ari: adjustedRandIndex(labels, text), spans };
}
