/** Seeded row samples of the cluster stage (k-means initialisation, silhouette, PCA, stability). */
import type { DenseMatrix } from '../shared/matrix.js';
import { sampleWithoutReplacement, type Rng } from '../shared/rng.js';

/** Indices of a seeded sample of `size` rows out of `n` (all rows when n <= size), ascending. */
export function sampleIndices(n: number, size: number, rng: Rng): Uint32Array {
  if (n <= size) return Uint32Array.from({ length: n }, (_, i) => i);
  return sampleWithoutReplacement(n, size, rng).sort();
}

/** `size` distinct rows drawn without replacement, in draw order, copied into a new matrix, plus their indices. */
export function sampleRows(x: DenseMatrix, size: number, rng: Rng): DenseMatrix & { indices: Uint32Array } {
  const { data, rows: n, cols: d } = x;
  const m = Math.min(size, n);
  const indices = m === n ? Uint32Array.from({ length: n }, (_, i) => i) : sampleWithoutReplacement(n, m, rng);
  const out = new Float64Array(m * d);
  for (let r = 0; r < m; r++) out.set(data.subarray(indices[r] * d, indices[r] * d + d), r * d);
  return { data: out, rows: m, cols: d, indices };
}

export function takeLabels(labels: Int32Array, idx: Uint32Array): Int32Array {
  const out = new Int32Array(idx.length);
  for (let r = 0; r < idx.length; r++) out[r] = labels[idx[r]];
  return out;
}
