import { escapeHtml, htmlTable, renderHtmlReport, type ChartSpec } from '../shared/charts.js';
import type { CohortCell } from './cohort.js';
import type { GroupCurve, RetentionResult } from './index.js';

function fmt(x: number | null, digits = 0): string {
  return x === null ? '-' : x.toFixed(digits);
}

/** Step curves (S = 1 at day 0) with their log-log Greenwood bands, one colour per group. */
export function survivalChart(curves: GroupCurve[], title?: string): ChartSpec {
  return survivalChartOf(
    curves.map(({ group, curve }) => ({ group, steps: curve.steps.map((s) => ({ t_days: s.tDays, survival: s.survival, lower: s.lower, upper: s.upper })) })),
    title,
  );
}

/** The same chart from stored curves (a version's retention.json, GET /v1/charts). */
export function survivalChartOf(curves: { group: string; steps: { t_days: number; survival: number; lower: number; upper: number }[] }[], title = 'Kaplan-Meier survival (share not yet churned) with 95% bands'): ChartSpec {
  const values = curves.flatMap(({ group, steps }) => [
    { group, t_days: 0, survival: 1, lower: 1, upper: 1 },
    ...steps.map((s) => ({ group, t_days: s.t_days, survival: s.survival, lower: s.lower, upper: s.upper })),
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    description: `Kaplan-Meier share of users not yet churned over time with 95% bands, ${curves.length} group(s); last value: ${curves.map(({ group, steps }) => `${group} ${steps.length ? `${(100 * steps[steps.length - 1].survival).toFixed(1)}% at day ${steps[steps.length - 1].t_days}` : '100%'}`).join(', ') || 'none'}.`,
    width: 640,
    height: 320,
    data: { values },
    encoding: {
      x: { field: 't_days', type: 'quantitative', title: 'days since first seen (or since the landmark)' },
      color: { field: 'group', type: 'nominal', title: 'group' },
    },
    layer: [
      { mark: { type: 'area', interpolate: 'step-after', opacity: 0.18 }, encoding: { y: { field: 'lower', type: 'quantitative' }, y2: { field: 'upper' } } },
      { mark: { type: 'line', interpolate: 'step-after' }, encoding: { y: { field: 'survival', type: 'quantitative', title: 'survival', scale: { domain: [0, 1] } } } },
    ],
  } as ChartSpec;
}

/** Cohort x period heat map of the share active; incomplete cells are left out. */
export function cohortHeatmap(cells: CohortCell[], period: string): ChartSpec {
  const values = cells.filter((c) => c.complete).map((c) => ({ cohort: c.cohort, period: c.period, share: c.share, users: c.cohortUsers }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `share of each first-seen ${period} cohort active N ${period}s later`,
    data: { values },
    mark: 'rect',
    encoding: {
      x: { field: 'period', type: 'ordinal', title: `${period}s later` },
      y: { field: 'cohort', type: 'ordinal', title: `cohort (first-seen ${period})` },
      color: { field: 'share', type: 'quantitative', scale: { domain: [0, 1], scheme: 'blues' } },
      tooltip: [{ field: 'cohort' }, { field: 'period' }, { field: 'share', format: '.3f' }, { field: 'users' }],
    },
  } as ChartSpec;
}

export async function retentionHtml(r: RetentionResult): Promise<string> {
  const rows = r.curves.map(({ group, curve }) => [group, curve.users, curve.churned, curve.censored, fmt(curve.medianDays), `${fmt(curve.medianLower)} .. ${curve.medianUpper === null ? (curve.medianLower === null ? '-' : 'not reached') : fmt(curve.medianUpper)}`]);
  const lr = r.logRank
    ? `<p>Log-rank test of equal survival across the ${r.logRank.groups.length} groups: chi-square ${r.logRank.chiSquare.toFixed(3)} on ${r.logRank.df} df, p ${r.logRank.pValue < 1e-300 ? '< 1e-300' : `= ${r.logRank.pValue.toPrecision(3)}`}.</p>`
    : '<p class="note">One group: no log-rank test.</p>';
  const warn = r.warnings.map((w) => `<p class="warn">${escapeHtml(w.code)}: ${escapeHtml(w.message)}</p>`).join('');
  return renderHtmlReport(`Retention as of ${r.asOf}${r.landmark ? ` (groups and time from the landmark ${r.landmark})` : ''} by ${r.by}`, [
    {
      title: 'Survival curves',
      html: `<p class="note">${escapeHtml(r.inactivityRule)}. ${r.landmark ? `Users live at the landmark ${escapeHtml(r.landmark)}, grouped then; time runs from it` : 'Time runs from the first-seen day'}; users still active are censored at the as-of date. Bands: Greenwood variance on the log-log scale.</p>${warn}${htmlTable(['group', 'users', 'churned', 'censored', 'median days', 'median 95% CI'], rows)}${lr}`,
      charts: [survivalChart(r.curves)],
    },
    { title: 'Cohort table', html: `<p class="note">Cells whose period is not over by the as-of date, and cohorts that began before the log, are left out.</p>`, charts: [cohortHeatmap(r.cohorts, r.cohortPeriod)] },
  ]);
}
