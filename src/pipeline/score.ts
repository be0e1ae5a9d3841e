import type { FeatureTable } from '../features/index.js';
import type { EventConfig } from '../ingest/index.js';
import { applyRules, type RuleReference, type SegmentRule } from '../rules/index.js';
import { assignClusters, type ClusterModel } from '../cluster/index.js';
import { predictWithReasons, type ChurnModel } from '../churn/index.js';
import { CohortlabError } from '../shared/errors.js';
import type { ColumnTable } from '../shared/table-io.js';
import type { Reason, ScoreResult } from './types.js';

/**
 * Scoring a feature table with a trained model's parts: the playbook rules, the calibrated churn
 * probability with its reason codes, and the discovered cluster. The CLI `score`, the server and
 * notebooks all come through here, so a user gets the same answer everywhere.
 */
export interface ModelParts {
  config: EventConfig;
  segments: SegmentRule[];
  churn: ChurnModel;
  clusters: ClusterModel | null;
  /** The reference thresholds of the population-relative rules, fitted at train (rules/reference.ts): every user scored against the same bar. */
  reference: RuleReference;
  /** The model's output column: `churn_probability` (default), or `upgrade_probability` / `<event>_probability` for a `train --target` model. */
  probabilityColumn?: string;
}

export interface ScoreOptions {
  /** Reason codes per user (default 3); 0 skips them (fastest). */
  reasons?: number;
  /** Name of the model, for error messages. */
  label?: string;
}

/** Names the features a table lacks for a model, or returns nothing. */
export function missingFeatures(parts: ModelParts, table: FeatureTable): string[] {
  const need = new Set([...parts.churn.features, ...(parts.clusters ? parts.clusters.features : [])]);
  return [...need].filter((f) => !table.columns[f]);
}

export async function scoreWithParts(parts: ModelParts, table: FeatureTable, opts: ScoreOptions = {}): Promise<ScoreResult> {
  const missing = missingFeatures(parts, table);
  if (missing.length) {
    throw new CohortlabError(
      'MODEL_INCOMPATIBLE',
      `model ${opts.label ?? ''} was trained on features the input lacks: ${missing.join(', ')}; compute features with the model's config (same taxonomy and activation milestones).`.replace('model  ', 'the model '),
    );
  }
  const rules = applyRules(table, parts.config, { segments: parts.segments, reference: parts.reference });
  const churn = predictWithReasons(parts.churn, table.columns, opts.reasons ?? 3);
  const columns: Record<string, Float64Array | string[]> = { [parts.probabilityColumn ?? 'churn_probability']: churn.probability };
  for (const [k, v] of Object.entries(rules.columns)) columns[k] = v as Float64Array | string[];
  if (parts.clusters) {
    const a = assignClusters(parts.clusters, table);
    columns.cluster = Float64Array.from(a.cluster);
    columns.cluster_label = a.labels;
    columns.pc1 = a.pc1;
    columns.pc2 = a.pc2;
  }
  // last, as in the warehouse statement (engine/score-sql.ts warehouseScoreColumns)
  const { already_churned: churned, ...rest } = columns;
  return { userIds: table.userIds, columns: { ...rest, already_churned: churned }, reasons: churn.reasons };
}

export function formatReasons(r: Reason[]): string {
  return JSON.stringify(r.map((x) => ({ feature: x.feature, direction: x.direction, contribution: Number(x.contribution.toPrecision(4)), value: x.value })));
}

/** The CONTRACT `score` table: user_id, churn_probability, the rule columns, cluster, cluster_label, reasons (JSON), pc1, pc2. */
export function scoreResultTable(r: ScoreResult): ColumnTable {
  const names = ['user_id', ...Object.keys(r.columns), 'reasons'];
  return { rows: r.userIds.length, names, columns: { user_id: r.userIds, ...r.columns, reasons: r.reasons.map(formatReasons) } };
}
