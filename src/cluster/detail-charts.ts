import type { ChartSpec } from '../shared/charts.js';
import type { ClusterDetail, Distribution } from './detail.js';

/**
 * The charts of one cluster in detail (GET /v1/clusters/:cluster; usable by the HTML reports through
 * renderHtmlReport): feature distributions as box plots against the population, the rule-segment and lifecycle
 * mix, the reason codes of the members. Each spec has a title, a numeric width (the explorer swaps it for
 * 'container': on the top level of `mix` and `reasons`, on every row of the `distributions` vconcat) and a
 * top-level `description` sentence with the main numbers (vega puts it in the SVG's aria-label).
 */

const CLUSTER_COLOR = '#4c78a8';
const COMPARE_COLOR = '#f58518';
const POPULATION_COLOR = '#9d9d9d';
export const DETAIL_CHART_WIDTH = 480;

/** A number for a sentence: 3 significant digits, thousands separated, no trailing zeros. */
export function shortNumber(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '-';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return String(Number(v.toPrecision(3)));
}
const percent = (v: number) => `${(100 * v).toFixed(1)}%`;

export const clusterName = (d: Pick<ClusterDetail, 'cluster' | 'label'>): string => `${d.cluster}: ${d.label}`;
export const POPULATION_GROUP = 'all users';

function groups(d: ClusterDetail, compare: ClusterDetail | null): { domain: string[]; range: string[] } {
  const domain = [clusterName(d), ...(compare ? [clusterName(compare)] : []), POPULATION_GROUP];
  return { domain, range: [CLUSTER_COLOR, ...(compare ? [COMPARE_COLOR] : []), POPULATION_COLOR] };
}

/**
 * One row per feature (vconcat, x scales independent): p05-p95 as a whisker rule, q1-q3 as a bar, the median as a
 * ringed dot, for the cluster, the compared cluster and all users; symlog x where the feature's `scale` says so.
 * Null when no feature is known (a version stored without its snapshot features).
 */
export function clusterDistributionsSpec(d: ClusterDetail, compare: ClusterDetail | null, populationUsers: number): ChartSpec | null {
  if (!d.features.length) return null;
  const g = groups(d, compare);
  const color = { field: 'group', type: 'nominal', title: null, scale: { domain: g.domain, range: g.range }, legend: { orient: 'top', labelLimit: 360 } };
  const rows = d.features.map((f, i) => {
    const other = compare?.features.find((x) => x.feature === f.feature);
    const boxes: [string, Distribution][] = [[clusterName(d), f.cluster], ...(compare && other ? [[clusterName(compare), other.cluster] as [string, Distribution]] : []), [POPULATION_GROUP, f.population]];
    const values = boxes.filter(([, s]) => s.n > 0).map(([group, s]) => ({ group, ...s }));
    const x = (field: string, title: string | null) => ({ field, type: 'quantitative', title, scale: f.scale === 'symlog' ? { type: 'symlog', padding: 8 } : { zero: false, padding: 8 } });
    return {
      width: DETAIL_CHART_WIDTH,
      height: { step: 20 },
      title: { text: `${f.feature} (z ${f.z >= 0 ? '+' : ''}${f.z.toFixed(2)}${compare && other ? ` vs ${other.z >= 0 ? '+' : ''}${other.z.toFixed(2)}` : ''})`, anchor: 'start', fontSize: 12 },
      data: { values },
      encoding: {
        // no y labels: the legend on top names the groups (same order and colors in every row), so a row is as
        // wide as its plot and fits its panel at any width
        y: { field: 'group', type: 'nominal', sort: g.domain, title: null, axis: null },
        tooltip: [{ field: 'group' }, { field: 'n', title: 'users' }, ...['mean', 'min', 'p05', 'q1', 'median', 'q3', 'p95', 'max'].map((q) => ({ field: q, type: 'quantitative', format: '.4~g' }))],
      },
      layer: [
        { mark: { type: 'rule' }, encoding: { x: x('p05', `${f.feature}${f.scale === 'symlog' ? ' (symlog scale)' : ''}: p05-p95, quartiles, median`), x2: { field: 'p95' }, color } },
        { mark: { type: 'bar', size: 12 }, encoding: { x: x('q1', null), x2: { field: 'q3' }, color } },
        // the median as a dot in the group's color with a dark ring: still visible when q1 = q3 (a zero-width box,
        // common for counts and flags) or when every value is the same
        { mark: { type: 'point', filled: true, size: 60, stroke: '#1d2433', strokeWidth: 1, opacity: 1 }, encoding: { x: x('median', null), color } },
      ],
    };
  });
  const said = d.features.slice(0, 3).map((f) => `${f.feature} median ${shortNumber(f.cluster.median)} (p95 ${shortNumber(f.cluster.p95)}) vs ${shortNumber(f.population.median)} (p95 ${shortNumber(f.population.p95)}) for all users`);
  return {
    title: `Cluster ${clusterName(d)}${compare ? ` vs ${clusterName(compare)}` : ''}: distributions of the features that set it apart`,
    description: `Box plots (5th-95th percentile whiskers, quartile boxes, median dots) of ${d.features.length} features for cluster ${d.cluster} (${d.users.toLocaleString('en-US')} users)${compare ? `, cluster ${compare.cluster} (${compare.users.toLocaleString('en-US')} users)` : ''} and all ${populationUsers.toLocaleString('en-US')} users: ${said.join('; ')}.`,
    vconcat: rows,
    resolve: { scale: { x: 'independent' } },
    spacing: 8,
  } as ChartSpec;
}

/** Rule segment (§2.1) and lifecycle (§2.3) shares of the cluster (and the compared one) beside the population's, one bar each. */
export function clusterMixSpec(d: ClusterDetail, compare: ClusterDetail | null): ChartSpec {
  const g = groups(d, compare);
  const values: { column: string; item: string; group: string; share: number; users: number | null }[] = [];
  for (const [column, rows] of Object.entries(d.mix)) {
    const other = compare?.mix[column] ?? [];
    for (const r of rows) {
      const item = `${column}: ${r.value}`;
      values.push({ column, item, group: clusterName(d), share: r.share, users: r.users });
      const o = other.find((x) => x.value === r.value);
      if (compare) values.push({ column, item, group: clusterName(compare), share: o?.share ?? 0, users: o?.users ?? 0 });
      values.push({ column, item, group: POPULATION_GROUP, share: r.population_share, users: null });
    }
  }
  const biggest = Object.entries(d.mix).map(([column, rows]) => {
    const top = [...rows].sort((a, b) => b.users - a.users)[0];
    return top ? `${column} mostly "${top.value}" (${percent(top.share)} of the cluster vs ${percent(top.population_share)} of all users)` : `${column}: none`;
  });
  return {
    title: `Cluster ${clusterName(d)}${compare ? ` vs ${clusterName(compare)}` : ''}: rule segment and lifecycle mix against all users`,
    description: `Share of cluster ${d.cluster}'s ${d.users.toLocaleString('en-US')} users${compare ? ` and of cluster ${compare.cluster}'s ${compare.users.toLocaleString('en-US')}` : ''} in each behavioral segment and lifecycle stage, beside the share of all users: ${biggest.join('; ')}.`,
    width: DETAIL_CHART_WIDTH,
    height: { step: 12 },
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'item', type: 'nominal', sort: null, title: null, axis: { labelLimit: 260 } },
      yOffset: { field: 'group', type: 'nominal', sort: g.domain },
      x: { field: 'share', type: 'quantitative', title: 'share of users', axis: { format: '%' }, scale: { domain: [0, 1] } },
      color: { field: 'group', type: 'nominal', title: null, scale: { domain: g.domain, range: g.range }, legend: { orient: 'top', labelLimit: 360 } },
      tooltip: [{ field: 'item', title: 'value' }, { field: 'group' }, { field: 'share', format: '.1%' }, { field: 'users' }],
    },
  } as ChartSpec;
}

/** The reason codes carried by most members (share of the cluster's users), colored by direction; null when neither cluster has reasons. */
export function clusterReasonsSpec(d: ClusterDetail, compare: ClusterDetail | null): ChartSpec | null {
  if (d.reasons === null && (compare?.reasons ?? null) === null) return null;
  const values = [d, ...(compare ? [compare] : [])].flatMap((x) => (x.reasons ?? []).map((r) => ({ group: clusterName(x), reason: `${r.feature} (${r.direction === 'increases_risk' ? 'raises risk' : 'lowers risk'})`, direction: r.direction, share: r.share, users: r.users })));
  const top = (d.reasons ?? []).slice(0, 3).map((r) => `${r.feature} ${r.direction.replace('_', ' ')} for ${percent(r.share)}`);
  const groupsShown = [clusterName(d), ...(compare ? [clusterName(compare)] : [])];
  return {
    title: `Cluster ${clusterName(d)}${compare ? ` vs ${clusterName(compare)}` : ''}: most common reason codes of the members`,
    description: `Share of cluster ${d.cluster}'s ${d.users.toLocaleString('en-US')} users whose top churn reasons include each code${compare ? `, beside cluster ${compare.cluster}` : ''}: ${top.length ? top.join('; ') : 'no reason codes'}.`,
    width: DETAIL_CHART_WIDTH,
    height: { step: compare ? 11 : 18 },
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'reason', type: 'nominal', sort: { field: 'users', op: 'max', order: 'descending' }, title: null, axis: { labelLimit: 300 } },
      ...(compare ? { yOffset: { field: 'group', type: 'nominal', sort: groupsShown }, opacity: { field: 'group', type: 'nominal', sort: groupsShown, scale: { range: [1, 0.5] }, title: null, legend: { orient: 'top', labelLimit: 360 } } } : {}),
      x: { field: 'share', type: 'quantitative', title: 'share of the cluster\'s users', axis: { format: '%' } },
      color: { field: 'direction', type: 'nominal', title: null, scale: { domain: ['increases_risk', 'decreases_risk'], range: ['#e45756', '#4c78a8'] }, legend: { orient: 'top' } },
      tooltip: [{ field: 'group' }, { field: 'reason' }, { field: 'users' }, { field: 'share', format: '.1%' }],
    },
  } as ChartSpec;
}
