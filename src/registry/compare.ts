/**
 * Comparing two versions: metrics side by side with their intervals, and how users moved between
 * the clusters of the two versions (a transition matrix over the users both scored, with each
 * cluster of the first matched to the cluster of the second that took most of its users).
 */
export interface Interval {
  value: number;
  lo: number;
  hi: number;
}

export interface MetricComparison {
  metric: string;
  a: Interval | null;
  b: Interval | null;
  difference: number | null;
  /** The two 95% intervals overlap (no clear difference). */
  overlap: boolean | null;
}

export function compareMetrics(a: Record<string, Interval | null>, b: Record<string, Interval | null>): MetricComparison[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return names.map((metric) => {
    const x = a[metric] ?? null;
    const y = b[metric] ?? null;
    return {
      metric,
      a: x,
      b: y,
      difference: x && y ? y.value - x.value : null,
      overlap: x && y ? x.lo <= y.hi && y.lo <= x.hi : null,
    };
  });
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
