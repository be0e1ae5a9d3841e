/** evaluate: pure scoring of churn predictions against labels, the rule score and baselines; report JSON, charts and HTML. */
export { logLoss, brierScore, rocAuc, averagePrecision, topShare, reliabilityCurve } from './metrics.js';
export { type MetricInterval, type MetricDifference, type BootstrapResult, bootstrapMetrics } from './bootstrap.js';
export { type FeatureImportance, permutationImportance } from './importance.js';
export {
  type EvaluationContext, type EvaluationReport, type ModelCandidate,
  type ReportWarning, EVIDENCE_MINIMUM, type VerdictKind, type Verdict, type InSampleOverlap, decideVerdict,
  evaluatePredictions, calibrationSummary,
} from './report.js';
export { SCORER_LABELS, driftChartSpec, rocChartSpec, prChartSpec, gainChartSpec, liftChartSpec, reliabilityChartSpec, importanceChartSpec } from './charts.js';
export { renderEvaluationHtml } from './html.js';
export { labelWindowOverlaps } from './in-sample.js';
export {
  trainChurn, evaluateChurnFit, evaluateChurn, type TrainChurnInput, type TrainChurnResult, type ChurnEvaluationInput,
} from './churn.js';
export {
  MIN_DRIFT_SAMPLE, PSI_WATCH, PSI_ACT, DRIFT_BINS, type DriftStatus, type DriftBins, type KsResult, type DriftResult,
  fitDriftBins, psiFromCounts, psiNoiseBound, ksTwoSampleSorted, measureDrift,
} from './drift.js';
export {
  driftReport, driftLine, type DriftReport, type DriftVariable, type DriftKind, type DriftSide, type DriftSpec,
} from './drift-report.js';
