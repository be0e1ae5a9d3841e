import type { FeatureTable } from '../features/index.js';
import { readVersionTable, type ModelStore } from '../registry/index.js';
import type { ColumnTable } from '../shared/table-io.js';
import type { LoadedModel } from './load.js';

/**
 * The features of the scored training snapshot (issue 22 part 3, the cluster detail): the clustered ones and the
 * churn model's, one row per row of scores.parquet, in the same order, with the user's cluster, and no ids (the features are not identifying
 * without them, and a model that stores no ids keeps none here either). The server draws the distributions of
 * the features that set a cluster apart from it (GET /v1/clusters/:cluster). Versions trained before it have
 * none: the detail then answers without distributions.
 */
export const SNAPSHOT_FEATURES_FILE = 'snapshot-features.parquet';

export function snapshotFeaturesTable(snapshot: FeatureTable, cluster: ArrayLike<number>, features: readonly string[]): ColumnTable {
  const columns: ColumnTable['columns'] = { cluster: Float64Array.from(cluster) };
  for (const f of features) columns[f] = Float64Array.from(snapshot.columns[f]);
  return { rows: snapshot.userIds.length, names: Object.keys(columns), columns };
}

/** The version's snapshot features with their date (the training snapshot's), or null for a version without them. */
export async function readSnapshotFeatures(models: ModelStore, model: LoadedModel): Promise<{ asOf: string | null; table: ColumnTable } | null> {
  const table = await readVersionTable(models, model, SNAPSHOT_FEATURES_FILE);
  return table ? { asOf: model.params.snapshotAsOf ?? null, table } : null;
}
