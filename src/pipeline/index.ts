/**
 * The pipeline: train and score across the stages (train.ts, score.ts) and the warehouse scoring statement
 * assembled from each stage's SQL (score-sql.ts). The CLI, the server and notebooks import from here only.
 */
export { trainPipeline, codeVersion, rfmRisk, TEST_PREDICTIONS_FILE, type TrainOptions, type TrainResult } from './train.js';
export { probabilityColumn, nearEventNames, resolveTarget, labelForTarget, propensityBaselines } from './target.js';
export { scoreWithParts, missingFeatures, formatReasons, scoreResultTable, type ModelParts, type ScoreOptions } from './score.js';
export type { Reason, ScoreResult, LoadedModel } from './types.js';
export {
  modelScoreSql, scoreSql, warehouseScoreColumns, WAREHOUSE_SCORE_COLUMNS, type ScoreSqlOptions, type WarehouseModelParts,
} from './score-sql.js';
