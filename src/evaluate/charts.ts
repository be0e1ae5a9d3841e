/**
 * vega-lite spec builders for the evaluation report. Pure: data in, spec out (values inlined), so
 * the HTML report renders them to SVG and the explorer embeds the same specs live.
 */
import type { ChartSpec } from '../shared/charts.js';
import type { DriftReport } from './drift-report.js';
import type { FeatureImportance } from './importance.js';
import type { CurvePoint, ReliabilityBin } from './metrics.js';

const WIDTH = 320;
const HEIGHT = 280;

/** Display names of the report's scorers. */
export const SCORER_LABELS: Record<string, string> = {
  model: 'model',
  rule: 'rule churn-risk score (§4.4)',
  rfm: 'RFM score (§6.3, 15 - R - F - M)',
  recency: 'recency baseline',
  bgnbd: 'BG/NBD P(no purchase in the horizon)',
  truth: 'true probability (ceiling)',
  majority: 'majority class',
};

const label = (k: string) => SCORER_LABELS[k] ?? k;

function curveRows(curves: Record<string, CurvePoint[]>, pick: (p: CurvePoint) => Record<string, number>, labels?: Record<string, string>): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const [name, pts] of Object.entries(curves)) {
    pts.forEach((p, order) => rows.push({ scorer: labels?.[name] ?? label(name), order, ...pick(p) }));
  }
  return rows;
}

type Axis = { field: string; title: string; domain01?: boolean; percent?: boolean };

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** Area under a ROC curve by the trapezoid rule over its points (for the chart's description). */
function curveAuc(pts: CurvePoint[]): number {
  const s = [...pts].sort((a, b) => a.fpr - b.fpr || a.tpr - b.tpr);
  let area = 0;
  for (let i = 1; i < s.length; i++) area += ((s[i].fpr - s[i - 1].fpr) * (s[i].tpr + s[i - 1].tpr)) / 2;
  return area;
}

/** The point of a curve where the flagged share first reaches `share` (null for an empty curve). */
function atShare(pts: CurvePoint[], share: number): CurvePoint | null {
  let best: CurvePoint | null = null;
  for (const p of pts) if (p.share >= share && (best === null || p.share < best.share)) best = p;
  return best;
}

/** "model 0.72, rule churn-risk score (§4.4) 0.40": one number per scorer, for a description. */
function perScorer(curves: Record<string, CurvePoint[]>, value: (pts: CurvePoint[]) => string | null, labels?: Record<string, string>): string {
  return Object.entries(curves)
    .flatMap(([name, pts]) => {
      const v = value(pts);
      return v === null ? [] : [`${labels?.[name] ?? label(name)} ${v}`];
    })
    .join(', ');
}

/**
 * One chart of scorer curves over a dashed reference (the diagonal, or a horizontal line at `y`):
 * ROC, precision-recall, gain and lift differ only in their data, axes and reference.
 */
function curvesChart(opts: { title: string; description: string; reference: 'diagonal' | { y: number }; rows: Record<string, unknown>[]; x: Axis; y: Axis; legend: 'top-right' | 'bottom-right' }): ChartSpec {
  const axis = (a: Axis) => ({ field: a.field, type: 'quantitative', title: a.title, ...(a.domain01 ? { scale: { domain: [0, 1] } } : {}), ...(a.percent ? { axis: { format: '%' } } : {}) });
  const reference =
    opts.reference === 'diagonal'
      ? { data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] }, mark: { type: 'line', strokeDash: [4, 4], color: '#999' }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } }
      : { data: { values: [{ y: opts.reference.y }] }, mark: { type: 'rule', strokeDash: [4, 4], color: '#999' }, encoding: { y: { field: 'y', type: 'quantitative' } } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title,
    description: opts.description,
    width: WIDTH,
    height: HEIGHT,
    layer: [
      reference,
      {
        data: { values: opts.rows },
        mark: { type: 'line' },
        encoding: {
          x: axis(opts.x),
          y: axis(opts.y),
          color: { field: 'scorer', type: 'nominal', title: null, legend: { orient: opts.legend } },
          order: { field: 'order', type: 'quantitative' },
        },
      },
    ],
  } as ChartSpec;
}

/** `labels` names scorers other than SCORER_LABELS does (a propensity target's §4.3 rule and value RFM). */
export function rocChartSpec(curves: Record<string, CurvePoint[]>, labels?: Record<string, string>): ChartSpec {
  return curvesChart({
    title: 'ROC curve (test users)',
    description: `True against false positive rate on the test users for each scorer (area under the curve: ${perScorer(curves, (p) => (p.length ? curveAuc(p).toFixed(3) : null), labels)}); the dashed diagonal is a random ranking.`,
    reference: 'diagonal',
    rows: curveRows(curves, (p) => ({ fpr: p.fpr, tpr: p.tpr }), labels),
    x: { field: 'fpr', title: 'false positive rate', domain01: true },
    y: { field: 'tpr', title: 'true positive rate (recall)', domain01: true },
    legend: 'bottom-right',
  });
}

export function prChartSpec(curves: Record<string, CurvePoint[]>, baseRate: number): ChartSpec {
  return curvesChart({
    title: 'Precision-recall curve (test users)',
    description: `Precision against recall on the test users for each scorer (precision when the top 10% are flagged: ${perScorer(curves, (p) => { const at = atShare(p, 0.1); return at ? pct(at.precision) : null; })}); the dashed line is the churn rate ${pct(baseRate)}, the precision of a random ranking.`,
    reference: { y: baseRate },
    rows: curveRows(curves, (p) => ({ recall: p.recall, precision: p.precision })).filter((r) => (r.order as number) > 0),
    x: { field: 'recall', title: 'recall (churners caught)', domain01: true },
    y: { field: 'precision', title: 'precision', domain01: true },
    legend: 'top-right',
  });
}

/** Cumulative gain: share of churners caught when contacting the top x% of users. */
export function gainChartSpec(curves: Record<string, CurvePoint[]>): ChartSpec {
  return curvesChart({
    title: 'Cumulative gain (capture rate)',
    description: `Share of churners captured when the highest-scored share of users is contacted (top 20%: ${perScorer(curves, (p) => { const at = atShare(p, 0.2); return at ? pct(at.recall) : null; })}); the dashed diagonal is a random ranking.`,
    reference: 'diagonal',
    rows: curveRows(curves, (p) => ({ share: p.share, capture: p.recall })),
    x: { field: 'share', title: 'share of users targeted (highest score first)', percent: true },
    y: { field: 'capture', title: 'share of churners captured', percent: true },
    legend: 'bottom-right',
  });
}

/** Lift: churn rate among the targeted top x% / overall churn rate. */
export function liftChartSpec(curves: Record<string, CurvePoint[]>, baseRate: number): ChartSpec {
  return curvesChart({
    title: 'Lift by share targeted',
    description: `Churn rate among the targeted share of users divided by the overall rate ${pct(baseRate)} (lift at the top 10%: ${perScorer(curves, (p) => { const at = atShare(p, 0.1); return at && baseRate > 0 ? (at.precision / baseRate).toFixed(2) : null; })}); the dashed line is lift 1, a random ranking.`,
    reference: { y: 1 },
    rows: curveRows(curves, (p) => ({ share: p.share, lift: baseRate > 0 ? p.precision / baseRate : 0 })).filter((r) => (r.share as number) >= 0.01),
    x: { field: 'share', title: 'share of users targeted', percent: true },
    y: { field: 'lift', title: 'lift' },
    legend: 'top-right',
  });
}

/** Users-weighted mean |predicted - observed| over the non-empty bins, as a sentence fragment. */
function calibrationGap(bins: ReliabilityBin[]): string {
  let n = 0;
  let gap = 0;
  for (const b of bins) if (b.count > 0 && Number.isFinite(b.meanPredicted) && Number.isFinite(b.observedRate)) {
    n += b.count;
    gap += b.count * Math.abs(b.meanPredicted - b.observedRate);
  }
  return n ? (gap / n).toFixed(3) : '-';
}

/** Reliability curve: mean predicted probability vs observed churn rate per bin, before and after calibration. */
export function reliabilityChartSpec(before: ReliabilityBin[], after: ReliabilityBin[]): ChartSpec {
  const rows = [
    ...before.filter((b) => b.count > 0).map((b) => ({ version: 'raw (class-weighted)', predicted: b.meanPredicted, observed: b.observedRate, users: b.count })),
    ...after.filter((b) => b.count > 0).map((b) => ({ version: 'calibrated', predicted: b.meanPredicted, observed: b.observedRate, users: b.count })),
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Reliability (test users, 10 bins)',
    description: `Observed churn rate against the mean predicted probability in 10 bins of test users, raw and calibrated; mean absolute gap weighted by users: raw ${calibrationGap(before)}, calibrated ${calibrationGap(after)} (0 = on the dashed diagonal).`,
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
        mark: { type: 'line', strokeDash: [4, 4], color: '#999' },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values: rows },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'predicted', type: 'quantitative', title: 'mean predicted churn probability', scale: { domain: [0, 1] } },
          y: { field: 'observed', type: 'quantitative', title: 'observed churn rate', scale: { domain: [0, 1] } },
          color: { field: 'version', type: 'nominal', title: null, legend: { orient: 'top-left' } },
          tooltip: [{ field: 'users', type: 'quantitative' }],
        },
      },
    ],
  } as ChartSpec;
}

export function importanceChartSpec(importances: FeatureImportance[], top = 20): ChartSpec {
  const rows = importances.slice(0, top).map((f) => ({ feature: f.feature, drop: f.aucDrop, lo: f.aucDrop - f.std, hi: f.aucDrop + f.std }));
  const order = rows.map((r) => r.feature);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Permutation importance (ROC-AUC drop on test users)',
    description: `Drop of the test ROC-AUC when each feature is shuffled (bars; lines: +-1 standard deviation over repeats), ${rows.length} features: ${rows.slice(0, 3).map((r) => `${r.feature} ${r.drop.toFixed(3)}`).join(', ') || 'none'}.`,
    width: WIDTH + 120,
    data: { values: rows },
    layer: [
      {
        mark: { type: 'bar', color: '#4c78a8' },
        encoding: {
          y: { field: 'feature', type: 'nominal', sort: order, title: null },
          x: { field: 'drop', type: 'quantitative', title: 'ROC-AUC drop when shuffled' },
        },
      },
      {
        mark: { type: 'rule', color: '#333' },
        encoding: { y: { field: 'feature', type: 'nominal', sort: order }, x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } },
      },
    ],
  } as ChartSpec;
}

export function trainingChartSpec(history: { epoch: number; trainLoss: number; validLoss: number }[]): ChartSpec {
  const rows = history.flatMap((h) => [
    { epoch: h.epoch, set: 'training', loss: h.trainLoss },
    { epoch: h.epoch, set: 'validation', loss: h.validLoss },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Weighted log loss by epoch',
    description: `Training and validation log loss over ${history.length} epochs${history.length ? ` (last: training ${history[history.length - 1].trainLoss.toFixed(4)}, validation ${history[history.length - 1].validLoss.toFixed(4)})` : ''}.`,
    width: WIDTH,
    height: 200,
    data: { values: rows },
    mark: { type: 'line' },
    encoding: {
      x: { field: 'epoch', type: 'quantitative' },
      y: { field: 'loss', type: 'quantitative', scale: { zero: false } },
      color: { field: 'set', type: 'nominal', title: null },
    },
  } as ChartSpec;
}

/**
 * Drift (issue 21 part 3): PSI per variable as bars colored by status, the 99% noise bound of each as a tick,
 * and the 0.1 (watch) and 0.25 (act) rules. PSI is drawn on a square-root scale so a 9.6 next to 0.02 stays readable.
 */
export function driftChartSpec(drift: DriftReport, top = 25): ChartSpec {
  const vars = [...(drift.prediction ? [drift.prediction] : []), ...drift.features, ...drift.rule_scores]
    .sort((a, b) => b.psi - a.psi)
    .slice(0, top)
    .map((v) => ({ variable: v.kind === 'feature' ? v.name : `${v.name} (${v.kind === 'prediction' ? 'prediction' : 'rule score'})`, psi: v.psi, noise: v.noise_bound, status: v.not_advice && v.status !== 'stable' ? `${v.status}, ${v.not_advice} (not advice)` : v.status }));
  const order = vars.map((v) => v.variable);
  const x = { type: 'quantitative', scale: { type: 'sqrt' } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `PSI ${drift.current.as_of} vs the training snapshot ${drift.reference.as_of}`,
    description: `Population stability index of the ${vars.length} most shifted variables between the training snapshot ${drift.reference.as_of} and ${drift.current.as_of}, with each variable's 99% noise bound and the 0.1 (watch) and 0.25 (act) rules: ${vars.filter((v) => v.psi >= drift.thresholds.act).length} at or above 0.25, ${vars.filter((v) => v.psi >= drift.thresholds.watch && v.psi < drift.thresholds.act).length} between 0.1 and 0.25; largest ${vars[0] ? `${vars[0].variable} ${vars[0].psi.toFixed(3)}` : 'none'}.`,
    width: WIDTH + 120,
    layer: [
      {
        data: { values: vars },
        mark: { type: 'bar' },
        encoding: {
          y: { field: 'variable', type: 'nominal', sort: order, title: null, axis: { labelLimit: 300 } },
          x: { field: 'psi', ...x, title: 'PSI (square-root scale)' },
          color: {
            field: 'status', type: 'nominal',
            scale: {
              domain: ['stable', 'watch', 'act', 'too_few', 'watch, cumulative (not advice)', 'act, cumulative (not advice)', 'watch, weekday (not advice)', 'act, weekday (not advice)'],
              range: ['#4c78a8', '#f58518', '#e45756', '#bab0ac', '#d8b5a5', '#d8b5a5', '#c7c7c7', '#c7c7c7'],
            },
            legend: { labelLimit: 300 },
          },
          tooltip: [{ field: 'variable' }, { field: 'psi', format: '.4f' }, { field: 'noise', title: '99% noise bound', format: '.4f' }, { field: 'status' }],
        },
      },
      {
        data: { values: vars },
        mark: { type: 'tick', color: '#333', thickness: 2 },
        encoding: { y: { field: 'variable', type: 'nominal', sort: order }, x: { field: 'noise', ...x } },
      },
      {
        data: { values: [{ at: drift.thresholds.watch, rule: 'watch 0.1' }, { at: drift.thresholds.act, rule: 'act 0.25' }] },
        mark: { type: 'rule', strokeDash: [4, 3] },
        encoding: { x: { field: 'at', ...x }, color: { field: 'rule', type: 'nominal', scale: { domain: ['watch 0.1', 'act 0.25'], range: ['#f58518', '#e45756'] }, legend: null } },
      },
    ],
    resolve: { scale: { color: 'independent' } },
  } as ChartSpec;
}
