import { PCA } from 'ml-pca';
import { CohortlabError } from '../shared/errors.js';
import type { Rng } from '../shared/rng.js';
import type { DenseMatrix } from '../shared/matrix.js';
import { sampleIndices } from './sample.js';
import type { JsonObject } from './types.js';

/**
 * PCA of the scaled features, for display only (the PCA map of the report); k-means runs on all
 * features. The covariance is computed in one typed pass over the rows (a seeded sample of at most
 * `maxRows` rows when larger), `ml-pca` decomposes it, and every row is projected with the loadings.
 * Signs are fixed so the largest loading of each component is positive (reruns give the same picture).
 */
export interface PcaState extends JsonObject {
  /** Column means the projection subtracts. */
  mean: number[];
  /** components[c][j]: loading of feature j on component c. */
  components: number[][];
  /** Share of the total variance per kept component. */
  explainedVariance: number[];
  /** Rows the covariance was computed on. */
  fittedRows: number;
}

export function fitPca(x: DenseMatrix, nComponents: number, rng: Rng, maxRows = 100_000): PcaState {
  const { data, rows: n, cols: d } = x;
  if (n < 2) throw new CohortlabError('EMPTY_INPUT', `PCA needs at least 2 users, got ${n}.`);
  const rows = n > maxRows ? sampleIndices(n, maxRows, rng) : undefined;
  const m = rows ? rows.length : n;
  const mean = new Float64Array(d);
  for (let r = 0; r < m; r++) {
    const o = (rows ? rows[r] : r) * d;
    for (let j = 0; j < d; j++) mean[j] += data[o + j];
  }
  for (let j = 0; j < d; j++) mean[j] /= m;
  const cov = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let r = 0; r < m; r++) {
    const o = (rows ? rows[r] : r) * d;
    for (let j = 0; j < d; j++) centred[j] = data[o + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const va = centred[a];
      const ao = a * d;
      for (let b = a; b < d; b++) cov[ao + b] += va * centred[b];
    }
  }
  const covRows: number[][] = [];
  for (let a = 0; a < d; a++) {
    const row: number[] = [];
    for (let b = 0; b < d; b++) row.push((a <= b ? cov[a * d + b] : cov[b * d + a]) / (m - 1));
    covRows.push(row);
  }
  const pca = new PCA(covRows, { isCovarianceMatrix: true });
  const vectors = pca.getEigenvectors(); // d x d, column c = component c
  const explained = pca.getExplainedVariance();
  const k = Math.min(nComponents, d);
  const components: number[][] = [];
  for (let c = 0; c < k; c++) {
    const v: number[] = [];
    let big = 0;
    for (let j = 0; j < d; j++) {
      const w = vectors.get(j, c);
      v.push(w);
      if (Math.abs(w) > Math.abs(big)) big = w;
    }
    components.push(big < 0 ? v.map((w) => -w) : v);
  }
  return { mean: Array.from(mean), components, explainedVariance: explained.slice(0, k).map((e) => Math.max(0, e)), fittedRows: m };
}

/** Coordinates of every row on the components: out[c][i]. */
export function projectPca(state: PcaState, x: DenseMatrix): Float64Array[] {
  const { data, rows: n, cols: d } = x;
  if (state.mean.length !== d) throw new CohortlabError('BAD_ARGUMENT', `PCA was fitted on ${state.mean.length} features but got ${d}.`);
  const out = state.components.map(() => new Float64Array(n));
  const comps = state.components.map((c) => Float64Array.from(c));
  const mean = Float64Array.from(state.mean);
  for (let c = 0; c < comps.length; c++) {
    const w = comps[c];
    const o = out[c];
    for (let i = 0; i < n; i++) {
      let s = 0;
      const io = i * d;
      for (let j = 0; j < d; j++) s += (data[io + j] - mean[j]) * w[j];
      o[i] = s;
    }
  }
  return out;
}
