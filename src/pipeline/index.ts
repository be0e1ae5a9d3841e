/**
 * The pipeline: train and score across the stages (train.ts, score.ts) and the warehouse scoring statement
 * assembled from each stage's SQL (score-sql.ts). The CLI, the server and notebooks import from here only.
 */
export { trainPipeline, rfmRisk, type TrainOptions, type TrainResult } from './train.js';
export { codeVersion } from './version-files.js';
export { probabilityColumn, nearEventNames, resolveTarget, labelForTarget, propensityBaselines } from './target.js';
export { scoreStream } from './score-stream.js';
export { scoreWithParts, missingFeatures, formatReasons, reasonsColumn, REASON_FIELDS, scoreResultTable, type ModelParts, type ScoreOptions } from './score.js';
export type { Reason, ScoreResult } from './types.js';
export { loadScoringModel, loadTableScoringModel, type LoadedModel, type LoadedTableModel } from './load.js';
export {
  modelScoreSql, scoreSql, warehouseScoreColumns, WAREHOUSE_SCORE_COLUMNS, type ScoreSqlOptions, type WarehouseModelParts,
} from './score-sql.js';
export {
  ltvBaseline, ltvDashboardOf, ltvScorerAt, ltvScorerFor, readLtvArtifact, withLtvColumns, LTV_FILE, LTV_COLUMNS,
  type LtvBaseline, type StoredLtv, type LtvColumns, type LtvScorer,
} from './ltv-baseline.js';
export { SNAPSHOT_FEATURES_FILE, snapshotFeaturesTable, readSnapshotFeatures } from './snapshot-features.js';
export { DRIFT_REFERENCE_FILE, DRIFT_REFERENCE_ROWS, RULE_SCORE_COLUMNS, driftReferenceTable, readDriftReference, sampleRows } from './drift-reference.js';
export {
  refreshModel, defaultRefreshAsOf, driftOf, labelsOf, trackedColumns, columnSizes, snapshotOf, TRACKED_COLUMNS, SIZE_COLUMNS, IN_SEGMENT, OUT_OF_SEGMENT,
  type RefreshOptions, type RefreshResult,
} from './refresh.js';
export { historySizes, historyPoint, historyTransitions, monthlyPairs, monthlyTransitions, type HistoryPoint } from './history.js';
export { publishRefresh, refreshDestinations, refreshSettings, checkDestinations, type RefreshDestinations, type PublishReport } from './publish.js';
