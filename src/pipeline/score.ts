import type { FeatureTable } from '../features/index.js';
import type { EventConfig } from '../ingest/index.js';
import { applyRules, SEGMENT_COLUMN_PREFIX, type RuleReference, type SegmentRule } from '../rules/index.js';
import { assignClusters, type ClusterModel } from '../cluster/index.js';
import { predictWithReasons, type ChurnModel, type PrecomputedShap } from '../churn/index.js';
import { CohortlabError } from '../shared/errors.js';
import { internalError } from '../shared/errors.js';
import { BooleanColumn, type ListColumn, type ListField, type WritableTable } from '../shared/table-io.js';
import type { Reason, ScoreResult } from './types.js';
import { roundSignificant } from '../shared/precision.js';

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
  /** A gbdt churn model's TreeSHAP of the table's rows, computed beforehand (score-stream.ts: in a worker thread). */
  shap?: PrecomputedShap;
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
  const churn = predictWithReasons(parts.churn, table.columns, opts.reasons ?? 3, opts.shap);
  const columns: Record<string, Float64Array | string[]> = { [parts.probabilityColumn ?? 'churn_probability']: churn.probability };
  for (const [k, v] of Object.entries(rules.columns)) columns[k] = v as Float64Array | string[];
  if (parts.clusters) {
    const a = assignClusters(parts.clusters, table);
    columns.cluster = Float64Array.from(a.cluster);
    columns.cluster_label = a.labels;
    columns.pc1 = a.pc1;
    columns.pc2 = a.pc2;
  }
  // last, as in the warehouse statement (pipeline/score-sql.ts warehouseScoreColumns)
  const { already_churned: churned, ...rest } = columns;
  return { userIds: table.userIds, columns: { ...rest, already_churned: churned }, reasons: churn.reasons };
}

export function formatReasons(r: Reason[]): string {
  return JSON.stringify(r.map((x) => ({ feature: x.feature, direction: x.direction, contribution: roundSignificant(x.contribution, 4), value: x.value })));
}

/** The fields of a reason code in the `reasons` column, in this order (Parquet: LIST<STRUCT(...)>; CSV: formatReasons's JSON). */
export const REASON_FIELDS: readonly ListField[] = [
  { name: 'feature', type: 'VARCHAR' },
  { name: 'direction', type: 'VARCHAR' },
  { name: 'contribution', type: 'DOUBLE' },
  { name: 'value', type: 'DOUBLE' },
];

/**
 * Reason codes as a list column, position by position (no JSON text per user): its CSV cell and readTable's text
 * are formatReasons's, the contribution rounded to 4 significant digits as there. `width` fixes the positions (the
 * requested number of reasons, so every block of a streamed file has the same); default the longest list.
 */
export function reasonsColumn(reasons: Reason[][], width?: number): ListColumn {
  const n = reasons.length;
  let w = width ?? 0;
  for (const r of reasons) if (r.length > w) w = r.length;
  if (w > 255) throw internalError(`${w} reason codes per user; the reasons column holds at most 255`);
  const counts = new Uint8Array(n);
  const slots = Array.from({ length: w }, () => {
    const feature = new Array<string>(n).fill('');
    const direction = new Array<string>(n).fill('');
    return [feature, direction, new Float64Array(n).fill(NaN), new Float64Array(n).fill(NaN)] as [string[], string[], Float64Array, Float64Array];
  });
  for (let i = 0; i < n; i++) {
    const r = reasons[i];
    counts[i] = r.length;
    for (let p = 0; p < r.length; p++) {
      const x = r[p];
      const slot = slots[p];
      slot[0][i] = x.feature;
      slot[1][i] = x.direction;
      slot[2][i] = roundSignificant(x.contribution, 4);
      slot[3][i] = x.value;
    }
  }
  return { kind: 'list', length: n, fields: REASON_FIELDS, counts, slots };
}

/**
 * Score columns holding whole numbers by construction (playbook points, RFM quintiles, the cluster index): INTEGER
 * in Parquet. 0/1 flags of a segment (CONTRACT: "one boolean column per rule-file segment", and the §3.2-§3.4
 * extras): BOOLEAN. `already_churned` stays 1/0 (CONTRACT), UTINYINT as in the features file. CSV cells are unchanged.
 */
const INTEGER_COLUMNS = new Set(['engagement_score', 'activation_score', 'expansion_readiness_score', 'churn_risk_score', 'at_risk_signals', 'rfm_recency', 'rfm_frequency', 'rfm_monetary', 'cluster']);
const FLAG_COLUMNS = new Set(['at_risk', 'champion', 'dormant']);
const isFlag = (name: string): boolean => FLAG_COLUMNS.has(name) || name.startsWith(SEGMENT_COLUMN_PREFIX);

/** A numeric score column in its stored type; a value outside the type (a bug upstream) is an internal error naming it. */
function typedColumn(name: string, c: Float64Array): Float64Array | Int32Array | Uint8Array {
  const wrong = (i: number, what: string) => internalError(`score column "${name}" holds ${c[i]} at row ${i + 1}; it is stored as ${what}`);
  if (INTEGER_COLUMNS.has(name)) {
    const out = new Int32Array(c.length);
    for (let i = 0; i < c.length; i++) {
      out[i] = c[i];
      if (out[i] !== c[i]) throw wrong(i, 'a whole number (INTEGER)');
    }
    return out;
  }
  if (isFlag(name) || name === 'already_churned') {
    const out = name === 'already_churned' ? new Uint8Array(c.length) : new BooleanColumn(c.length);
    for (let i = 0; i < c.length; i++) {
      if (c[i] !== 0 && c[i] !== 1) throw wrong(i, 'a 1/0 flag');
      out[i] = c[i];
    }
    return out;
  }
  return c;
}

/**
 * The CONTRACT `score` table: user_id, churn_probability, the rule columns, cluster, cluster_label, pc1, pc2,
 * already_churned, reasons; integer and flag columns typed (INTEGER / BOOLEAN / UTINYINT in Parquet), reasons a list
 * column. `reasons` (default: the longest list of the block) fixes the width of the reasons column.
 */
export function scoreResultTable(r: ScoreResult, opts: { reasons?: number } = {}): WritableTable {
  const names = ['user_id', ...Object.keys(r.columns), 'reasons'];
  const columns: WritableTable['columns'] = { user_id: r.userIds };
  for (const [k, c] of Object.entries(r.columns)) columns[k] = Array.isArray(c) ? c : typedColumn(k, c);
  columns.reasons = reasonsColumn(r.reasons, opts.reasons);
  return { rows: r.userIds.length, names, columns };
}
