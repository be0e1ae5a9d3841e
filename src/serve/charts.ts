import { clusterCharts, type ClusterReport } from '../cluster/index.js';
import type { HistoryPoint } from '../pipeline/index.js';
import { gainChartSpec, importanceChartSpec, liftChartSpec, prChartSpec, reliabilityChartSpec, rocChartSpec, type EvaluationReport } from '../evaluate/index.js';
import type { TransitionMatrix } from '../rules/index.js';
import type { ChartSpec } from '../shared/charts.js';
import { RETENTION_FILE, survivalChartOf, type StoredRetention } from '../retention/index.js';
import type { Loaded } from './provider.js';
import { modelDates } from './snapshot.js';

/** The explorer's charts and the version's stored retention curves, built once per loaded version. */

/** "At-Risk stays 82%, Casual stays 40%": the diagonal of a transition matrix, for a chart's description. */
function staySentence(m: TransitionMatrix): string {
  const stays = m.from.flatMap((f, i) => {
    const j = m.to.indexOf(f);
    return j >= 0 ? [`${f} ${(100 * m.shares[i][j]).toFixed(0)}%`] : [];
  });
  const users = m.counts.reduce((a, row) => a + row.reduce((x, y) => x + y, 0), 0);
  return `${users.toLocaleString('en-US')} users; share staying in the same row value: ${stays.join(', ') || 'none'}`;
}

function transitionSpec(title: string, m: TransitionMatrix): ChartSpec {
  const values = m.from.flatMap((f, i) => m.to.map((t, j) => ({ from: f, to: t, share: m.shares[i][j], users: m.counts[i][j], pct: `${(100 * m.shares[i][j]).toFixed(0)}%` })));
  return {
    title,
    description: `Transition matrix: for each earlier value (rows), the share of its users in each later value (columns); ${staySentence(m)}.`,
    data: { values },
    width: { step: 58 },
    height: { step: 26 },
    encoding: { x: { field: 'to', type: 'nominal', sort: null, axis: { labelAngle: -30, labelLimit: 160 } }, y: { field: 'from', type: 'nominal', sort: null, axis: { labelLimit: 220 } } },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'share', type: 'quantitative', scale: { scheme: 'blues', domain: [0, 1] }, title: 'row share' }, tooltip: [{ field: 'users', type: 'quantitative' }] } },
      { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'pct' } } },
    ],
  } as ChartSpec;
}

/** Users on the explorer's PCA map (drawn on a canvas there). */
export const EXPLORER_MAP_POINTS = 20_000;

const chartCache = new WeakMap<Loaded, Record<string, unknown>>();

// The curves the version stored when it was written (src/retention/stored.ts, docs/retention.md): read once per loaded version.
const retentionCache = new WeakMap<Loaded, Promise<StoredRetention | null>>();
export function storedRetentionOf(l: Loaded): Promise<StoredRetention | null> {
  let hit = retentionCache.get(l);
  if (!hit) {
    hit = l.store.readArtifact(l.model, RETENTION_FILE).then((b) => (b ? (JSON.parse(Buffer.from(b).toString('utf8')) as StoredRetention) : null));
    retentionCache.set(l, hit);
  }
  return hit;
}

/** One survival chart per stored view, titled with its dates (the explorer's Retention panel). */
export async function retentionCharts(l: Loaded): Promise<Record<string, ChartSpec>> {
  const stored = await storedRetentionOf(l);
  const out: Record<string, ChartSpec> = {};
  if (!stored) return out;
  for (const [by, v] of Object.entries(stored.views)) {
    if (v) out[by] = survivalChartOf(v.curves, `Survival by ${by}${stored.landmark ? `, groups at ${stored.landmark}, time from it` : ''} (as of ${stored.as_of})`);
  }
  return out;
}

/** The charts of one evaluation report (the churn panel). */
function evaluationCharts(ev: EvaluationReport): Record<string, ChartSpec> {
  const base = ev.testChurnRate;
  const e: Record<string, ChartSpec> = { roc: rocChartSpec(ev.curves), pr: prChartSpec(ev.curves, base), lift: liftChartSpec(ev.curves, base), gain: gainChartSpec(ev.curves) };
  if (ev.calibration) e.reliability = reliabilityChartSpec(ev.calibration.before.reliability, ev.calibration.after.reliability);
  if (ev.importance) e.importance = importanceChartSpec(ev.importance.importances);
  return e;
}

/** Every chart of the explorer, built on the server from the same spec builders as the HTML reports. */
export function charts(l: Loaded): Record<string, unknown> {
  const hit = chartCache.get(l);
  if (hit) return hit;
  const report = l.model.report as { evaluation?: EvaluationReport; clusters?: ClusterReport; transitions?: { from: string; to: string; segments: TransitionMatrix; clusters: TransitionMatrix } };
  const out: Record<string, unknown> = {};
  if (report.clusters) {
    const s = l.snapshot.columns;
    const c = clusterCharts(
      report.clusters,
      { userIds: s.user_id as string[], assignments: Int32Array.from(s.cluster as Float64Array), labels: s.cluster_label as string[], pc1: s.pc1 as Float64Array, pc2: s.pc2 as Float64Array },
      l.model.manifest.seed,
      { pointsAsOf: modelDates(l).snapshot ?? undefined, mapPoints: EXPLORER_MAP_POINTS },
    );
    out.clusters = c;
  }
  if (report.evaluation) out.evaluation = evaluationCharts(report.evaluation);
  if (report.transitions) {
    const t = report.transitions;
    out.transitions = {
      segments: transitionSpec(`Behavioral segments ${t.from} -> ${t.to} (playbook 9.2, row shares)`, t.segments),
      clusters: transitionSpec(`Clusters ${t.from} -> ${t.to} (row shares)`, t.clusters),
    };
  }
  chartCache.set(l, out);
  return out;
}

/** Sizes of one column over the snapshot dates as stacked areas (the explorer's "Over time" panel). */
export function sizesOverTimeSpec(points: readonly HistoryPoint[], column: string): ChartSpec | null {
  const values = points.flatMap((p) => Object.entries(p.sizes[column] ?? {}).map(([value, users]) => ({ as_of: p.as_of, value, users, share: p.users ? users / p.users : 0 })));
  if (!values.length) return null;
  const first = points[0].as_of;
  const last = points[points.length - 1].as_of;
  return {
    title: `${column}: users per value over ${points.length} snapshot(s) (${first} .. ${last})`,
    description: `Users in each value of ${column} at each of ${points.length} snapshot date(s) from ${first} to ${last}, stacked; at ${last}: ${Object.entries(points[points.length - 1].sizes[column] ?? {}).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([v, u]) => `${v} ${u.toLocaleString('en-US')}`).join(', ') || 'none'}.`,
    data: { values },
    width: 560,
    height: 260,
    // one snapshot draws no area: the points show it
    mark: { type: 'area', line: true, point: true, opacity: 0.85 },
    encoding: {
      x: { field: 'as_of', type: 'temporal', title: 'snapshot (as of)', axis: { format: '%Y-%m-%d', labelAngle: -30 } },
      y: { field: 'users', type: 'quantitative', stack: 'zero', title: 'users' },
      color: { field: 'value', type: 'nominal', title: column, legend: { labelLimit: 220 } },
      tooltip: [{ field: 'as_of', type: 'nominal' }, { field: 'value', type: 'nominal' }, { field: 'users', type: 'quantitative' }, { field: 'share', type: 'quantitative', format: '.1%' }],
    },
  } as ChartSpec;
}

/** The §9.2 matrix as a heatmap: each cell says its users and its row share. */
export function transitionCountsSpec(m: TransitionMatrix & { from_as_of: string; to_as_of: string }): ChartSpec {
  const values = m.from.flatMap((f, i) => m.to.map((t, j) => ({ from: f, to: t, share: m.shares[i][j], users: m.counts[i][j], text: m.counts[i][j] ? `${m.counts[i][j]} (${(100 * m.shares[i][j]).toFixed(0)}%)` : '' })));
  return {
    title: `${m.by}: ${m.from_as_of} -> ${m.to_as_of} (playbook 9.2; users and row shares)`,
    description: `Users of each ${m.by} value at ${m.from_as_of} (rows) by their value at ${m.to_as_of} (columns), with row shares; ${staySentence(m)}.`,
    data: { values },
    width: { step: 78 },
    height: { step: 26 },
    encoding: { x: { field: 'to', type: 'nominal', sort: null, title: `to (${m.to_as_of})`, axis: { labelAngle: -30, labelLimit: 160 } }, y: { field: 'from', type: 'nominal', sort: null, title: `from (${m.from_as_of})`, axis: { labelLimit: 220 } } },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'share', type: 'quantitative', scale: { scheme: 'blues', domain: [0, 1] }, title: 'row share' }, tooltip: [{ field: 'from', type: 'nominal' }, { field: 'to', type: 'nominal' }, { field: 'users', type: 'quantitative' }, { field: 'share', type: 'quantitative', format: '.1%' }] } },
      { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'text' }, color: { condition: { test: 'datum.share > 0.6', value: 'white' }, value: 'black' } } },
    ],
  } as ChartSpec;
}
