/**
 * cohortlab: the public API (`import { ... } from 'cohortlab'`). Named exports only, each from the
 * index of the stage that owns it, in stage order:
 *
 *   ingest / engine   loadEvents, openEventSource          -> EventStore | EventSource
 *   features          computeFeatures                      -> FeatureTable (one row per user)
 *   rules             applyRules, segmentDashboard         -> playbook scores, tiers, segments
 *   cluster           fitClusters, KMeans, evaluateKRange  -> discovered segments
 *   churn             trainChurn, predictChurn             -> churn model measured against the rule score
 *   evaluate          evaluatePredictions, rocAuc          -> EvaluationReport
 *   registry          openModelStore, promote              -> versioned models/ folders (a ModelStore)
 *   pipeline          trainPipeline, refreshModel          -> all of the above, registered as one version; dated snapshots
 *   serve             buildApp, startServer                -> fastify API + explorer
 *   retention, ltv    computeRetention, fitLtv             -> survival curves, BG/NBD + Gamma-Gamma
 *
 * Everything else under src/ is internal and may move between releases.
 */

// shared
export { CohortlabError, isCohortlabError, type ErrorCode } from './shared/errors.js';
export { silentLogger, stderrLogger, collectingLogger, type Logger } from './shared/log.js';
export { createRng, permutation, DEFAULT_SEED, type Rng } from './shared/rng.js';
export { readTable, readTableMetadata, writeTable, asReadTable, concatTables, type ColumnTable, type WritableTable, type ListColumn } from './shared/table-io.js';
export { renderSvg, renderHtmlReport, type ChartSpec } from './shared/charts.js';

// ingest and event sources
export {
  loadEvents, loadEventRecords, formatIngestReport, resolveConfig, resolveConfigFor, validateConfig, inactivityDays,
  PRESETS, SYNTHETIC_PRESET, SPARKIFY_PRESET, CDNOW_PRESET,
  type EventConfig, type EventStore, type LoadOptions, type IngestReport,
} from './ingest/index.js';
// the warehouse engine: event sources, load events into ClickHouse (scoring with one SQL statement: pipelines below)
export {
  openEventSource, duckdbSource, asSource, openClickHouse, loadEventsToClickHouse, warehouseConfig, DIALECTS,
  type EventSource, type EventSourceSpec, type ClickHouse, type ClickHouseOptions, type Dialect, type EngineName,
} from './engine/index.js';
export { queryColumns, openDuckDB } from './shared/duckdb.js';

// features
export {
  computeFeatures, computeFeaturesAtCutoffs, computeFeatureBlocks, readFeatureTable, writeFeatureTable, featureDictionary, featureNames, profileEvents, formatProfile,
  cutoffOf, BASE_FEATURES, MILESTONE_PREFIX,
  type FeatureTable, type FeatureDefinition, type FeatureOptions, type DataProfile, type DataWarning,
} from './features/index.js';

// rules: playbook scores, segments, dashboards
export {
  applyRules, explainUser, loadSegmentRules, parseSegmentRules, evaluateSegment, defaultRulesDir, fitRuleReference,
  atRiskSignals, behavioralSegments, lifecycleStages, rfm,
  engagementScore, activationScore, expansionReadinessScore, churnRiskScore,
  segmentDashboard, formatDashboard, transitionMatrix, formatTransitions, antiPatternWarnings, icpRefinement, featureAffinity,
  type RuleOutput, type SegmentRule, type RuleScore, type RuleReference, type Dashboard, type TransitionMatrix, type AntiPatternWarning,
} from './rules/index.js';

// cluster: k-means estimators, choosing k, PCA
export {
  fitClusters, assignClusters, truthAgreement, KMeans, MiniBatchKMeans, evaluateKRange, pickK, clusterStability, profileClusters,
  clusterCharts, clusterSummaryText,
  adjustedRandIndex, silhouetteScore, fitPca, projectPca, DEFAULT_CLUSTER_PARAMS,
  type ClusterParams, type ClusterModel, type FitClustersResult, type AssignResult, type KMeansParams, type MiniBatchKMeansParams,
  type KMeansState, type KCandidate, type KSelection, type PcaState, type DenseMatrix,
} from './cluster/index.js';

// churn: training and fitted models
export {
  fitChurn, predictChurn, predictWithReasons, serializeModel, loadChurnModel, readChurnTable, splitChurnTable, simulateChurn, simulatedFeatureTable,
  GradientBoostedTrees, LogisticExact, treeShap, initBackend, resolveChurnParams, selectCalibration, applyCalibrator,
  CHURN_MODEL_KINDS, DEFAULT_CHURN_PARAMS,
  type ChurnModel, type ChurnModelJson, type ChurnModelKind, type ChurnModelParams, type ChurnModelRequest,
  type FitChurnInput, type ChurnFit, type ReasonCode,
} from './churn/index.js';

// evaluate: the churn model's held-out evaluation (trainChurn = fitChurn + evaluateChurnFit), metrics, bootstrap intervals, the verdict
export {
  trainChurn, evaluateChurnFit, evaluateChurn, type TrainChurnInput, type TrainChurnResult,
  evaluatePredictions, decideVerdict, bootstrapMetrics, permutationImportance, renderEvaluationHtml,
  rocAuc, averagePrecision, logLoss, brierScore, topShare, reliabilityCurve, rocChartSpec, prChartSpec, gainChartSpec, liftChartSpec,
  measureDrift, driftReport, driftChartSpec, type DriftResult, type DriftReport, type DriftVariable,
  type EvaluationReport, type Verdict, type VerdictKind, type MetricInterval, type BootstrapResult, type FeatureImportance,
} from './evaluate/index.js';

// registry: versioned model folders
export {
  openModelStore, createMemoryStore, resolveVersion, promote, removeVersion, resolveModelsDir, verifyFiles, readVersionTable, compareInputs,
  openVersion, readEventsModel, readTableModel, modelSource, loadRuleReference, parseManifest, MANIFEST_FORMAT_VERSION,
  compareMetrics, pairedComparison, clusterMovement, parseRef, formatRef, DEFAULT_MODEL_NAME,
  type ModelStore, type VersionId, type Manifest, type ManifestFields, type ModelParams, type EventsModelData, type TableModelData,
  type MetricComparison, type PairedComparison, type ClusterMovement, type ModelRef,
  type HistoryStore, type SnapshotRecord,
} from './registry/index.js';

// pipelines: train (features -> rules -> clusters -> churn -> evaluate -> register) and score
export {
  trainPipeline, scoreWithParts, scoreResultTable, modelScoreSql, scoreSql, loadScoringModel, loadTableScoringModel,
  refreshModel, publishRefresh, refreshDestinations, historySizes, historyTransitions, monthlyTransitions,
  type RefreshOptions, type RefreshResult, type HistoryPoint,
  type TrainOptions, type TrainResult, type ModelParts, type ScoreOptions, type ScoreResult, type LoadedModel, type LoadedTableModel, type Reason,
} from './pipeline/index.js';

// serve: the fastify app (inject-able) and a listening server
export { buildApp, startServer, createProvider, type AppOptions, type ServeOptions, type ModelProvider } from './serve/index.js';

// retention and lifetime value
export {
  computeRetention, computeRetentionViews, kaplanMeier, logRank, cohortTable, retentionSummary,
  type RetentionBy, type RetentionOptions, type RetentionResult, type SurvivalCurve, type LogRankResult,
} from './retention/index.js';
export {
  purchaseSummary, fitLtv, scoreLtv, holdoutOutcomes, BgNbd, GammaGamma, customerLifetimeValue, bgnbdObjective, simulateBgNbd,
  type LtvModel, type LtvOptions, type LtvScores, type LtvScoreOptions, type RfmSummary, type BgNbdParams,
} from './ltv/index.js';

// synthetic data with known truth
export { generateSynthetic, writeSynthetic, usersForEvents, type SynthParams, type SynthResult } from './synth/index.js';

// building blocks the benchmarks time one by one (bench/): lower level than the stages above, may change between minor versions
export { kmeansPlusPlus, lloyd, startWorkers, threadCount, workerThreads, sampleIndices, takeLabels } from './cluster/index.js';
export { fitCandidate, estimatorInput, estimatorRaw } from './churn/index.js';
// one matrix type ({ data, rows, cols }) and one preprocessing module, shared by cluster and churn
export { takeRows, checkMatrix, type Matrix } from './shared/matrix.js';
export { fitScaler, applyScaler } from './shared/preprocess.js';
