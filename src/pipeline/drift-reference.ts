import type { FeatureTable } from '../features/index.js';
import { readVersionTable, type ModelStore } from '../registry/index.js';
import { createRng } from '../shared/rng.js';
import type { ColumnTable } from '../shared/table-io.js';
import type { LoadedModel } from './load.js';
import type { ScoreResult } from './types.js';

/**
 * The training snapshot a version's drift is measured against (issue 21 part 3): a seeded sample of the users
 * scored at training (`params.snapshotAsOf`) who were live then (not already churned, §3.4: the population the
 * model is for; churned users pile up in every log and would make any later date look drifted), without ids,
 * holding the model's features, its prediction and the playbook rule scores. PSI bins are fitted on this sample, so they are fixed at training: every refresh is
 * binned the same way. 20,000 users keep the bins' reference shares within about +-0.007 (a 10% bin) while the
 * file stays small.
 */
export const DRIFT_REFERENCE_FILE = 'drift-reference.parquet';
export const DRIFT_REFERENCE_ROWS = 20_000;
/** The playbook scores whose distribution a refresh compares too (§4.1-§4.4). */
export const RULE_SCORE_COLUMNS = ['engagement_score', 'activation_score', 'expansion_readiness_score', 'churn_risk_score'] as const;

/** A seeded sample of `k` of the row indices `from` (all when there are at most k), ascending. */
export function sampleRows(from: readonly number[], k: number, seed: number): number[] {
  const idx = [...from];
  const n = idx.length;
  if (n <= k) return idx;
  const rng = createRng(seed);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, k).sort((a, b) => a - b);
}

export function driftReferenceTable(features: FeatureTable, scored: ScoreResult, featureNames: readonly string[], probability: string, seed: number): ColumnTable {
  const live: number[] = [];
  features.alreadyChurned.forEach((c, i) => c === 0 && live.push(i));
  const rows = sampleRows(live, DRIFT_REFERENCE_ROWS, seed);
  const columns: ColumnTable['columns'] = {};
  const take = (c: ArrayLike<number>) => Float64Array.from(rows, (r) => c[r]);
  for (const f of featureNames) columns[f] = take(features.columns[f]);
  for (const c of [probability, ...RULE_SCORE_COLUMNS]) {
    const col = scored.columns[c];
    if (col && !Array.isArray(col)) columns[c] = take(col);
  }
  return { rows: rows.length, names: Object.keys(columns), columns };
}

/** The version's reference sample with its date, or null for a version trained before references were stored. */
export async function readDriftReference(models: ModelStore, model: LoadedModel): Promise<{ asOf: string; table: ColumnTable } | null> {
  const table = await readVersionTable(models, model, DRIFT_REFERENCE_FILE);
  if (!table) return null;
  return { asOf: model.params.snapshotAsOf, table };
}
