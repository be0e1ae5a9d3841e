import type { FeatureTable } from '../features/index.js';
import { CohortlabError } from '../shared/errors.js';
import type { ClusterModel } from './index.js';
import { assignNearest, fromRows } from './kmeans.js';
import { projectPca } from './pca.js';
import { scaleColumns } from './scale.js';

export interface AssignResult {
  cluster: Int32Array;
  /** Label of each user's cluster. */
  labels: string[];
  pc1: Float64Array;
  pc2: Float64Array;
  /** Missing values replaced by the training median, per feature. */
  imputed: Record<string, number>;
}

/**
 * New users into the saved clusters: same scaler, same centroids (the CLI, server and notebooks call this).
 * Takes feature columns by name, or a whole FeatureTable (its `columns` are used).
 */
export function assignClusters(model: ClusterModel, features: Record<string, Float64Array> | FeatureTable): AssignResult {
  checkModel(model);
  const columns = isFeatureTable(features) ? features.columns : features;
  const x = scaleColumns(model.scaler.state, columns);
  const cluster = new Int32Array(x.rows);
  assignNearest(x, fromRows(model.kmeans.state.centroids), model.kmeans.state.centroids.length, cluster);
  const [pc1, pc2] = projectPca(model.pca, x);
  return { cluster, labels: Array.from(cluster, (c) => model.clusterLabels[c]), pc1, pc2: pc2 ?? new Float64Array(x.rows), imputed: x.imputed };
}

function isFeatureTable(x: Record<string, Float64Array> | FeatureTable): x is FeatureTable {
  return Array.isArray((x as FeatureTable).userIds) && typeof (x as FeatureTable).columns === 'object' && !((x as FeatureTable).columns instanceof Float64Array);
}

/** Refuses a model of another kind or major version (registry contract). */
export function checkModel(model: ClusterModel): void {
  if (!model || model.kind !== 'cohortlab-clusters') throw new CohortlabError('MODEL_INCOMPATIBLE', `not a cohortlab cluster model (kind "${String(model?.kind)}"); load the cluster model JSON written by cohortlab cluster or train.`);
  if (model.version !== 1) throw new CohortlabError('MODEL_INCOMPATIBLE', `cluster model version ${model.version} is not supported by this cohortlab (version 1); refit with cohortlab cluster.`);
  const k = model.kmeans?.state?.centroids?.length ?? 0;
  if (k === 0 || model.clusterLabels.length !== k || model.scaler.state.features.length !== model.kmeans.state.d) {
    throw new CohortlabError('MODEL_CORRUPT', `cluster model is inconsistent: ${k} centroids, ${model.clusterLabels?.length} labels, ${model.scaler?.state?.features?.length} scaled features for d = ${model.kmeans?.state?.d}.`);
  }
}
