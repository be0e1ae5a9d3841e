/** evaluate: pure scoring of churn predictions against labels, the rule score and baselines; report JSON, charts and HTML. */
export { logLoss, brierScore, rocAuc, averagePrecision, topShare, reliabilityCurve } from './metrics.js';
export { type MetricInterval, type MetricDifference, type BootstrapResult, bootstrapMetrics } from './bootstrap.js';
export { type FeatureImportance, permutationImportance } from './importance.js';
export {
  type EvaluationContext, type DataSetSize, formatSetSizes, type EvaluationReport, type ModelCandidate,
  type ReportWarning, EVIDENCE_MINIMUM, type VerdictKind, type Verdict, type InSampleOverlap, decideVerdict,
  evaluatePredictions, calibrationSummary,
} from './report.js';
export { rocChartSpec, prChartSpec, gainChartSpec, liftChartSpec, reliabilityChartSpec, importanceChartSpec } from './charts.js';
export { renderEvaluationHtml } from './html.js';
export { labelWindowOverlaps } from './in-sample.js';
export { CHURN_OUTCOME, outcomeNames, type OutcomeNames } from './outcome.js';
