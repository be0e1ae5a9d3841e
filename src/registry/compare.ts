import { bootstrapMetrics, EVIDENCE_MINIMUM, type MetricDifference, type MetricInterval } from '../evaluate/index.js';

/**
 * Comparing two versions: metrics side by side with their intervals, a paired bootstrap test of the
 * ROC-AUC difference when both were tested on the same users, and how users moved between
 * the clusters of the two versions (a transition matrix over the users both scored, with each
 * cluster of the first matched to the cluster of the second that took most of its users).
 */
export interface MetricComparison {
  metric: string;
  a: MetricInterval | null;
  b: MetricInterval | null;
  /** b - a, descriptive only: the test is pairedComparison (two overlapping intervals are not a test). */
  difference: number | null;
}

export function compareMetrics(a: Record<string, MetricInterval | null>, b: Record<string, MetricInterval | null>): MetricComparison[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return names.map((metric) => {
    const x = a[metric] ?? null;
    const y = b[metric] ?? null;
    return {
      metric,
      a: x,
      b: y,
      difference: x && y ? y.value - x.value : null,
    };
  });
}

/** One version's test users: labels and calibrated probabilities in user-id order, and the digest of that user set. */
export interface TestPredictions {
  testSet: string | null;
  churned: ArrayLike<number>;
  probability: ArrayLike<number>;
}

export type PairedComparison =
  | { kind: 'different_users'; text: string }
  | { kind: 'insufficient_evidence' | 'better' | 'worse' | 'no_difference'; text: string; difference: MetricDifference; users: number; churners: number; minimum: number };

const s3 = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(3)}`;

/**
 * B against A on the SAME test users (same digest): paired bootstrap of ROC-AUC(b) - ROC-AUC(a), with the
 * evidence minimum of the evaluation (docs/churn.md). Versions tested on different users cannot be paired.
 */
export function pairedComparison(labelA: string, a: TestPredictions, labelB: string, b: TestPredictions, opts: { seed: number; resamples?: number; minimum?: number }): PairedComparison {
  if (!a.testSet || !b.testSet || a.testSet !== b.testSet || a.churned.length !== b.churned.length) {
    return { kind: 'different_users', text: `${labelA} and ${labelB} were tested on different users (other cutoffs, data or split), so no paired test of their difference is possible; compare each version's own verdict against the same baselines instead.` };
  }
  for (let i = 0; i < a.churned.length; i++) {
    if (a.churned[i] !== b.churned[i]) return { kind: 'different_users', text: `${labelA} and ${labelB} have the same test users but different labels (another horizon or churn definition), so they cannot be paired.` };
  }
  const y = Uint8Array.from(a.churned);
  let churners = 0;
  for (let i = 0; i < y.length; i++) churners += y[i];
  const minimum = opts.minimum ?? EVIDENCE_MINIMUM;
  const boot = bootstrapMetrics(y, [{ name: labelB, scores: b.probability, isProbability: true }, { name: labelA, scores: a.probability, isProbability: true }], { seed: opts.seed, resamples: opts.resamples, highRiskShare: 0, differences: [[labelB, labelA]] });
  const d = boot.differences.find((x) => x.metric === 'rocAuc') as MetricDifference;
  const body = `ROC-AUC ${labelB} - ${labelA} = ${s3(d.value)} (paired 95% CI ${s3(d.lo)} to ${s3(d.hi)}) on the same ${y.length.toLocaleString('en-US')} test users (${churners} churners, ${y.length - churners} stayers)`;
  const base = { difference: d, users: y.length, churners, minimum };
  if (churners < minimum || y.length - churners < minimum) return { kind: 'insufficient_evidence', text: `Insufficient evidence: ${body}; a verdict needs ${minimum} churners and ${minimum} stayers.`, ...base };
  if (d.lo > 0) return { kind: 'better', text: `${labelB} ranks churners better than ${labelA}: ${body}.`, ...base };
  if (d.hi < 0) return { kind: 'worse', text: `${labelB} ranks churners worse than ${labelA}: ${body}.`, ...base };
  return { kind: 'no_difference', text: `No difference shown between ${labelA} and ${labelB}: ${body}; the interval includes 0.`, ...base };
}

export interface ClusterMovement {
  fromClusters: string[];
  toClusters: string[];
  /** counts[i][j]: users in cluster i of the first version and cluster j of the second. */
  counts: number[][];
  /** Best match of each first-version cluster (greedy on the largest overlaps, one-to-one while possible). */
  matches: { from: string; to: string; users: number; share: number }[];
  common: number;
  /** Share of common users whose cluster is not the match of their old cluster. */
  movedShare: number;
}

export function clusterMovement(idsA: string[], clustersA: string[], idsB: string[], clustersB: string[]): ClusterMovement {
  const byId = new Map(idsB.map((id, i) => [id, clustersB[i]]));
  const from = [...new Set(clustersA)].sort((p, q) => Number(p) - Number(q) || p.localeCompare(q));
  const to = [...new Set(clustersB)].sort((p, q) => Number(p) - Number(q) || p.localeCompare(q));
  const fi = new Map(from.map((c, i) => [c, i]));
  const ti = new Map(to.map((c, i) => [c, i]));
  const counts = from.map(() => new Array<number>(to.length).fill(0));
  let common = 0;
  for (let i = 0; i < idsA.length; i++) {
    const b = byId.get(idsA[i]);
    if (b === undefined) continue;
    counts[fi.get(clustersA[i]) as number][ti.get(b) as number]++;
    common++;
  }
  const cells: [number, number, number][] = [];
  counts.forEach((row, i) => row.forEach((v, j) => cells.push([v, i, j])));
  cells.sort((p, q) => q[0] - p[0] || p[1] - q[1] || p[2] - q[2]);
  const usedFrom = new Set<number>();
  const usedTo = new Set<number>();
  const match = new Map<number, number>();
  for (const [, i, j] of cells) {
    if (usedFrom.has(i) || usedTo.has(j)) continue;
    match.set(i, j);
    usedFrom.add(i);
    usedTo.add(j);
  }
  // Clusters left over (the second version has fewer clusters) go to where most of their users went.
  counts.forEach((row, i) => {
    if (!match.has(i)) match.set(i, row.indexOf(Math.max(...row)));
  });
  let stayed = 0;
  const matches = from.map((c, i) => {
    const j = match.get(i) as number;
    const total = counts[i].reduce((s, v) => s + v, 0);
    stayed += counts[i][j];
    return { from: c, to: to[j], users: counts[i][j], share: total ? counts[i][j] / total : 0 };
  });
  return { fromClusters: from, toClusters: to, counts, matches, common, movedShare: common ? 1 - stayed / common : 0 };
}
