import { sqlNumber, type Dialect } from '../engine/index.js';
import { CohortlabError } from '../shared/errors.js';
import type { ClusterModel } from './index.js';

/** The cluster stage's part of the warehouse scoring statement (assembled by pipeline/score-sql.ts). */

const num = sqlNumber;

/** The passes of the cluster columns: the scaled inputs, then the distances and PCA coordinates, then the choice. */
export interface ClusterSql {
  /** cl_z<j> (reads the feature columns). */
  scaled: string[];
  /** cl_d<c> and cl_pc1, cl_pc2 (read the scaled inputs). */
  distances: string[];
  /** The nearest centroid's index (reads the distances). */
  nearest: string;
  /** Its label. */
  label: string;
}

/**
 * cluster/assign.ts `assignClusters` as SQL: scaleColumns (log1p of heavy-tailed features, a negative
 * count read as 0, then (x - center) / scale), squared distance to every centroid, the first nearest
 * (assignNearest: a later centroid wins only when strictly nearer), its label, and projectPca's first two
 * coordinates. Features from events are never missing, so the training-median imputation never applies.
 */
export function clusterSql(model: ClusterModel, d: Dialect): ClusterSql {
  const s = model.scaler.state;
  const k = model.kmeans.state.centroids.length;
  if (k === 0 || model.clusterLabels.length !== k || s.features.length !== model.kmeans.state.d) {
    throw new CohortlabError('MODEL_CORRUPT', `cluster model is inconsistent: ${k} centroids, ${model.clusterLabels.length} labels, ${s.features.length} scaled features for d = ${model.kmeans.state.d}.`);
  }
  const z = (j: number) => `cl_z${j}`;
  const scaled = s.features.map((f, j) => {
    const x = d.double(d.quoteIdent(f));
    const v = s.log1p[j] === 1 ? d.ln(`1 + CASE WHEN ${x} > -1 THEN ${x} ELSE 0e0 END`) : x;
    return `(${v} - ${num(s.center[j])}) / ${num(s.scale[j])} AS ${z(j)}`;
  });
  const distances = model.kmeans.state.centroids.map((row, c) => `${row.map((v, j) => `(${z(j)} - ${num(v)}) * (${z(j)} - ${num(v)})`).join(' + ')} AS cl_d${c}`);
  const pcs = [0, 1].map((p) => {
    const w = model.pca.components[p];
    return w ? w.map((wj, j) => `(${z(j)} - ${num(model.pca.mean[j])}) * ${num(wj)}`).join(' + ') : '0e0';
  });
  distances.push(`${pcs[0]} AS cl_pc1`, `${pcs[1]} AS cl_pc2`);
  // assignNearest: centroid c when it is no farther than every later one (an earlier one was not chosen, so it is strictly nearer than those)
  const pick = (value: (c: number) => string) => {
    if (k === 1) return value(0);
    const whens = Array.from({ length: k - 1 }, (_, c) => `WHEN ${Array.from({ length: k - c - 1 }, (_, i) => `cl_d${c} <= cl_d${c + 1 + i}`).join(' AND ')} THEN ${value(c)}`);
    return `CASE ${whens.join(' ')} ELSE ${value(k - 1)} END`;
  };
  return { scaled, distances, nearest: pick((c) => num(c)), label: pick((c) => d.quoteString(model.clusterLabels[c])) };
}
