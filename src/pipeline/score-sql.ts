import type { ChurnModel } from '../churn/index.js';
import { assertWarehouseChurnModel, churnRawSql, calibrationSql, gbdtInputColumns, type LogisticWeights } from '../churn/index.js';
import { clusterSql, type ClusterModel } from '../cluster/index.js';
import type { Dialect } from '../engine/index.js';
import { featureRelationSql } from '../features/index.js';
import type { EventConfig } from '../ingest/index.js';
import { CONTRACT_RULE_COLUMNS, RULE_EXTRA_COLUMNS, SEGMENT_COLUMN_PREFIX, ruleColumnsSql, type RuleReference, type SegmentRule } from '../rules/index.js';
import { CohortlabError } from '../shared/errors.js';

/**
 * Scoring inside the warehouse: one SELECT computing, per user, what in-process scoring computes. Each stage
 * owns its SQL and the pipeline only assembles it:
 *
 *   1. the features (features/sql.ts featureRelationSql: the same feature SQL as everywhere, then the derived
 *      features of compute.ts `deriveFeatures`);
 *   2. the playbook columns of `applyRules` (rules/sql.ts ruleColumnsSql, from the same tables as rules/engine.ts);
 *   3. the churn probability (churn/sql.ts: logistic or gbdt raw probability, then the saved calibration);
 *   4. with a cluster model: the nearest k-means centroid after the saved scaling, its label, and the first two
 *      PCA coordinates (cluster/sql.ts).
 *
 * Passes (each a SELECT over the one before; internal columns start with `cl_`):
 *   features -> rule scores, raw probability, scaled cluster inputs
 *            -> rule derived scores, calibrated probability, cluster distances and PCA
 *            -> rule segments -> the output columns, ordered by user_id.
 */
export const WAREHOUSE_SCORE_COLUMNS = ['user_id', 'churn_probability', ...CONTRACT_RULE_COLUMNS] as const;

/**
 * Every output column, in the order of `score --out`: user_id, churn_probability, the CONTRACT rule columns,
 * segment_<slug>..., the extra rule columns, the cluster columns; then already_churned. No reasons.
 */
export function warehouseScoreColumns(segments: readonly SegmentRule[], clusters: boolean, probabilityColumn = 'churn_probability'): string[] {
  return [
    'user_id',
    probabilityColumn,
    ...CONTRACT_RULE_COLUMNS,
    ...segments.map((r) => SEGMENT_COLUMN_PREFIX + r.slug),
    ...RULE_EXTRA_COLUMNS,
    ...(clusters ? ['cluster', 'cluster_label', 'pc1', 'pc2'] : []),
    'already_churned',
  ];
}

export interface ScoreSqlOptions {
  cutoffMs: number;
  /** The normalized events relation (EventSource.relation). */
  source: string;
  /** A logistic model's coefficients (default: the model's own, logisticWeights); unused for gbdt. */
  weights?: LogisticWeights;
  /** The model's §6.1 rule-file segments (one `segment_<slug>` column each). */
  segments?: readonly SegmentRule[];
  /** The model's cluster model: adds cluster, cluster_label, pc1, pc2. */
  clusters?: ClusterModel | null;
  /** The model's reference thresholds (§2.3 top 10%, §6.3 spend quintiles), fitted at train. */
  reference: RuleReference;
  /** The output column of the probability: churn_probability, or upgrade_probability / <event>_probability for a `train --target` model (as `score` names it). */
  probabilityColumn?: string;
}

/** The parts of a registry model the statement needs (`loadModel(...).parts`). */
export interface WarehouseModelParts {
  config: EventConfig;
  churn: ChurnModel;
  segments: readonly SegmentRule[];
  clusters: ClusterModel | null;
  reference: RuleReference;
  probabilityColumn?: string;
}

/** The statement for a loaded registry model: its churn model, rule-file segments and clusters. */
export function modelScoreSql(parts: WarehouseModelParts, d: Dialect, opts: { cutoffMs: number; source: string; config?: EventConfig }): string {
  assertWarehouseChurnModel(parts.churn);
  return scoreSql(opts.config ?? parts.config, parts.churn, d, {
    cutoffMs: opts.cutoffMs, source: opts.source, segments: parts.segments, clusters: parts.clusters, reference: parts.reference, probabilityColumn: parts.probabilityColumn,
  });
}

/** The one statement: see WAREHOUSE_SCORE_COLUMNS / warehouseScoreColumns for its columns, one row per user, ordered by user_id. */
export function scoreSql(config: EventConfig, model: ChurnModel, d: Dialect, opts: ScoreSqlOptions): string {
  assertWarehouseChurnModel(model);
  if (opts.weights && opts.weights.kernel.length !== model.features.length) throw new CohortlabError('MODEL_CORRUPT', `the logistic model has ${opts.weights.kernel.length} weights for ${model.features.length} features.`);
  const features = featureRelationSql(config, d, { cutoffMs: opts.cutoffMs, source: opts.source });
  const rules = ruleColumnsSql(config, d, { segments: opts.segments ?? [], reference: opts.reference });
  const treeInputs = gbdtInputColumns(model, d);
  const cl = opts.clusters ? clusterSql(opts.clusters, d) : null;
  const list = (cols: readonly string[]) => cols.join(',\n  ');
  return d.withQueries([{ name: 'cl_features', sql: () => features }], (ref) => {
    const inputs = treeInputs.length ? `(SELECT *, ${treeInputs.join(', ')} FROM ${ref('cl_features')} AS f0)` : ref('cl_features');
    const pass2 = `SELECT *,\n  ${list([...rules.scores, `${churnRawSql(model, d, opts.weights)} AS cl_raw`, ...(cl?.scaled ?? [])])}\nFROM ${inputs} AS f`;
    const pass3 = `SELECT *,\n  ${list([...rules.derived, `${calibrationSql(model.calibrator, 'cl_raw', d)} AS cl_p`, ...(cl?.distances ?? [])])}\nFROM (${pass2}) AS s`;
    const pass4 = `SELECT *, ${rules.segments.join(', ')}\nFROM (${pass3}) AS t`;
    const clusterCols = cl ? [`${cl.nearest} AS cluster`, `${cl.label} AS cluster_label`, 'cl_pc1 AS pc1', 'cl_pc2 AS pc2'] : [];
    const probability = opts.probabilityColumn ?? 'churn_probability';
    return `SELECT user_id, cl_p AS ${/^[a-z_][a-z0-9_]*$/.test(probability) ? probability : d.quoteIdent(probability)},\n  ${list([...rules.contract, ...rules.extra, ...clusterCols, 'already_churned'])}\nFROM (${pass4}) AS u\nORDER BY user_id`;
  });
}
