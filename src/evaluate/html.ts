/** The evaluation report as one self-contained HTML page (charts inlined as SVG by shared/charts). */
import { escapeHtml, htmlTable, renderHtmlReport, type ReportSection } from '../shared/charts.js';
import { METRIC_NAMES, type MetricName } from './bootstrap.js';
import { SCORER_LABELS, driftChartSpec, gainChartSpec, importanceChartSpec, liftChartSpec, prChartSpec, reliabilityChartSpec, rocChartSpec, trainingChartSpec } from './charts.js';
import { formatSetSizes } from '../churn/index.js';
import type { EvaluationReport } from './report.js';

export const METRIC_LABELS: Record<MetricName, string> = {
  rocAuc: 'ROC-AUC',
  prAuc: 'PR-AUC (avg precision)',
  logLoss: 'log loss',
  brier: 'Brier',
  liftTop10: 'lift, top 10%',
  captureTop10: 'capture, top 10%',
  liftTop20: 'lift, top 20%',
  captureTop20: 'capture, top 20%',
  precisionAtHighRiskShare: 'precision at high-risk share',
  recallAtHighRiskShare: 'recall at high-risk share',
};

function cell(iv: { value: number; lo: number; hi: number } | null): string {
  if (!iv) return '—';
  return `${iv.value.toFixed(3)} [${iv.lo.toFixed(3)}, ${iv.hi.toFixed(3)}]`;
}

export function metricsTable(report: EvaluationReport): string {
  const names = Object.keys(report.metrics);
  const header = ['metric (95% bootstrap CI)', ...names.map((n) => SCORER_LABELS[n] ?? n)];
  const rows = METRIC_NAMES.map((m) => [METRIC_LABELS[m], ...names.map((n) => cell(report.metrics[n][m]))]);
  for (const d of report.differences) rows.push([`${d.metric === 'rocAuc' ? 'ROC-AUC' : 'PR-AUC'} difference ${d.a} - ${d.b}`, cell(d), ...names.slice(1).map(() => '')]);
  return htmlTable(header, rows);
}

/** The kinds train fitted: validation log loss (what the choice compared) and test metrics with intervals; the verdict is the chosen one's. */
export function candidatesTable(report: EvaluationReport): string {
  const c = report.candidates ?? [];
  const rows = c.map((k) => [
    `${k.kind}${k.chosen ? ' (chosen)' : ''}`,
    k.validLogLoss.raw.toFixed(4),
    k.validLogLoss.calibrated === null ? '—' : k.validLogLoss.calibrated.toFixed(4),
    k.calibration,
    cell(k.test.rocAuc),
    cell(k.test.prAuc),
    cell(k.test.logLoss),
    `${k.fitSeconds.toFixed(1)} s`,
  ]);
  return htmlTable(['kind', 'validation log loss (raw)', 'validation log loss (calibrated, CV)', 'calibration', 'test ROC-AUC', 'test PR-AUC', 'test log loss', 'fit'], rows);
}

export async function renderEvaluationHtml(report: EvaluationReport): Promise<string> {
  const base = report.testChurnRate;
  const sections: ReportSection[] = [];
  const cls = report.verdict.kind === 'better' ? '' : 'warn';
  const ev = report.evidence;
  const warnings = report.warnings.length ? `<ul>${report.warnings.map((w) => `<li><code>${escapeHtml(w.code)}</code> ${escapeHtml(w.message)}</li>`).join('')}</ul>` : '';
  const hr = report.highRisk ? ` The rule's high-risk tier (churn_risk_score ≥ ${report.highRisk.threshold}) holds ${(100 * report.highRisk.share).toFixed(1)}% of test users; both scores are compared at that share.` : '';
  sections.push({
    title: 'Verdict',
    html: `<p class="${cls}"><strong>${escapeHtml(report.verdict.kind.replace('_', ' '))}</strong>: ${escapeHtml(report.verdict.text)}</p><p class="note">${ev.test_users} test users: ${ev.test_churners} churned (${(100 * base).toFixed(1)}%), ${ev.test_stayers} stayed; a verdict needs ${ev.minimum} of each.${escapeHtml(hr)} Intervals: ${report.bootstrap.resamples} paired bootstrap resamples, seed ${report.bootstrap.seed}.</p>${warnings}`,
  });
  sections.push({ title: 'Metrics on the same test users', html: metricsTable(report) });
  if (report.candidates?.length) sections.push({ title: 'Model choice (every kind fitted, on the same test users)', html: candidatesTable(report) });
  const data = report.context.data;
  const model = report.context.model;
  if (data || model) {
    const rows: (string | number)[][] = [];
    if (model) rows.push(['model', `${model.kind} on ${model.backend}, seed ${model.seed}, calibration ${model.calibration}`], ['features', model.features.join(', ')]);
    if (data) {
      rows.push(['source', data.source]);
      if (data.trainCutoffs) rows.push(['train cutoffs', data.trainCutoffs.join(', ')]);
      if (data.validCutoff) rows.push(['validation cutoff', data.validCutoff]);
      if (data.testCutoff) rows.push(['test cutoff', data.testCutoff]);
      if (data.horizonDays) rows.push(['horizon', `${data.horizonDays} days`]);
      rows.push(['users (train / validation / test)', `${data.trainUsers} / ${data.validUsers} / ${data.testUsers}`]);
      for (const line of formatSetSizes(data.sets ?? [])) rows.push(['set', line]);
      if (data.excludedAlreadyChurned) rows.push(['already churned at the cutoff (excluded)', Object.entries(data.excludedAlreadyChurned).map(([k, v]) => `${k}: ${v}`).join(', ')]);
      for (const note of data.notes) rows.push(['note', note]);
    }
    sections.push({ title: 'Data and model', html: htmlTable(['', ''], rows) });
  }
  if (Object.keys(report.curves).length > 0) {
    sections.push({ title: 'Ranking: ROC and precision-recall', charts: [rocChartSpec(report.curves), prChartSpec(report.curves, base)] });
    sections.push({ title: 'Targeting: gain and lift', charts: [gainChartSpec(report.curves), liftChartSpec(report.curves, base)] });
  }
  if (report.calibration) {
    const c = report.calibration;
    sections.push({
      title: `Calibration (${c.kind}, fitted on validation users)`,
      html: htmlTable(['', 'Brier', 'log loss'], [
        ['before', c.before.brier.toFixed(4), c.before.logLoss.toFixed(4)],
        ['after', c.after.brier.toFixed(4), c.after.logLoss.toFixed(4)],
      ]),
      charts: [reliabilityChartSpec(c.before.reliability, c.after.reliability)],
    });
  }
  if (report.importance) {
    sections.push({ title: 'What the model relies on', html: `<p class="note">Base ROC-AUC ${report.importance.baseAuc.toFixed(3)}; bars show the mean drop over seeded shuffles (line: ±1 sd).</p>`, charts: [importanceChartSpec(report.importance.importances)] });
  }
  if (report.context.training && report.context.training.history.length === 0) {
    // logistic / gbdt: no epochs (Newton steps and trees are in the model choice table's details)
    sections.push({ title: 'Training', html: `<p>${escapeHtml(report.context.model?.kind ?? 'model')} fitted in ${report.context.training.seconds.toFixed(1)} s (choices on the validation users, then refitted on training + validation users).</p>` });
  } else if (report.context.training) {
    const t = report.context.training;
    sections.push({ title: 'Training', html: `<p>${t.epochs} epochs in ${t.seconds.toFixed(1)} s; weights of epoch ${t.bestEpoch} kept${t.stoppedEarly ? ' (early stopping on the validation loss)' : ''}.</p>`, charts: [trainingChartSpec(t.history)] });
  }
  if (report.drift) {
    const d = report.drift;
    const vars = [...(d.prediction ? [d.prediction] : []), ...d.features, ...d.rule_scores].sort((a, b) => b.psi - a.psi);
    sections.push({
      title: 'Drift against the training snapshot',
      html: `<p class="${d.summary.retrain_advised ? 'warn' : ''}">${escapeHtml(d.summary.text)}</p><p class="note">PSI over ${d.thresholds.bins} bins fixed on the training sample (${d.reference.sample} live users); below ${d.thresholds.watch} stable, ${d.thresholds.watch}-${d.thresholds.act} watch, ${d.thresholds.act}+ act, and only above the 99% noise bound for these sample sizes (ticks); no verdict under ${d.thresholds.min_sample} users.</p>` +
        htmlTable(['variable', 'kind', 'PSI', '99% noise bound', 'status', 'KS D (p)'], vars.map((v) => [v.name, v.kind, v.psi.toFixed(4), v.noise_bound.toFixed(4), v.not_advice ? `${v.status} (${v.not_advice}: not advice)` : v.status, v.ks ? `${v.ks.statistic.toFixed(3)} (${v.ks.p_value.toExponential(1)})` : '—'])),
      charts: [driftChartSpec(d)],
    });
  }
  return renderHtmlReport(report.title, sections);
}
