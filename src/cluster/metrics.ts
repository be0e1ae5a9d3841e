import { CohortlabError } from '../shared/errors.js';
import type { DenseMatrix } from '../shared/matrix.js';

/**
 * Cluster quality and agreement measures. Pure; labels are small non-negative integer codes.
 */

/** Codes 0..m-1 for any label array (strings or numbers), in order of first appearance. */
export function encodeLabels(labels: ArrayLike<number> | readonly string[]): { codes: Int32Array; values: (string | number)[] } {
  const map = new Map<string | number, number>();
  const codes = new Int32Array(labels.length);
  const values: (string | number)[] = [];
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    let c = map.get(v);
    if (c === undefined) {
      c = values.length;
      map.set(v, c);
      values.push(v);
    }
    codes[i] = c;
  }
  return { codes, values };
}

/** Contingency counts: table[a * nb + b] = rows with code a in `x` and code b in `y`. */
export function contingency(x: Int32Array, y: Int32Array): { table: Float64Array; na: number; nb: number } {
  if (x.length !== y.length) throw new CohortlabError('BAD_ARGUMENT', `cannot compare labelings of ${x.length} and ${y.length} rows; they must label the same users.`);
  let na = 0;
  let nb = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] + 1 > na) na = x[i] + 1;
    if (y[i] + 1 > nb) nb = y[i] + 1;
  }
  const table = new Float64Array(na * nb);
  for (let i = 0; i < x.length; i++) table[x[i] * nb + y[i]] += 1;
  return { table, na, nb };
}

const comb2 = (v: number): number => (v * (v - 1)) / 2;

/**
 * Adjusted Rand index (Hubert & Arabie 1985): 1 for identical partitions (up to renaming), about 0 for
 * independent ones. Accepts numeric or string labels.
 */
export function adjustedRandIndex(a: ArrayLike<number> | readonly string[], b: ArrayLike<number> | readonly string[]): number {
  const x = encodeLabels(a).codes;
  const y = encodeLabels(b).codes;
  const { table, na, nb } = contingency(x, y);
  const n = x.length;
  let sumCells = 0;
  for (let i = 0; i < table.length; i++) sumCells += comb2(table[i]);
  let sumA = 0;
  for (let r = 0; r < na; r++) {
    let s = 0;
    for (let c = 0; c < nb; c++) s += table[r * nb + c];
    sumA += comb2(s);
  }
  let sumB = 0;
  for (let c = 0; c < nb; c++) {
    let s = 0;
    for (let r = 0; r < na; r++) s += table[r * nb + c];
    sumB += comb2(s);
  }
  const expected = (sumA * sumB) / comb2(n);
  const max = (sumA + sumB) / 2;
  if (max === expected) return 1; // both partitions trivial (one cluster, or all singletons)
  return (sumCells - expected) / (max - expected);
}

/**
 * Mean silhouette (Rousseeuw 1987) over the rows of `x` (pass a seeded sample for large data: the cost
 * is quadratic). Each row: a = mean distance to its own cluster, b = smallest mean distance to another
 * cluster, s = (b - a) / max(a, b); 0 for a row alone in its cluster (sklearn's convention).
 */
export function silhouetteScore(x: DenseMatrix, labels: Int32Array, k: number): number {
  const { data, rows: n, cols: d } = x;
  if (labels.length !== n) throw new CohortlabError('BAD_ARGUMENT', `silhouette: ${labels.length} labels for ${n} rows.`);
  const size = new Float64Array(k);
  for (let i = 0; i < n; i++) size[labels[i]] += 1;
  let used = 0;
  for (let c = 0; c < k; c++) if (size[c] > 0) used++;
  if (used < 2) return 0;
  // sums[i * k + c]: total distance from row i to the rows of cluster c; each pair is computed once
  const sums = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const io = i * d;
    const li = labels[i];
    for (let j = i + 1; j < n; j++) {
      const jo = j * d;
      let s = 0;
      for (let t = 0; t < d; t++) {
        const v = data[io + t] - data[jo + t];
        s += v * v;
      }
      const dist = Math.sqrt(s);
      sums[i * k + labels[j]] += dist;
      sums[j * k + li] += dist;
    }
  }
  let total = 0;
  for (let i = 0; i < n; i++) {
    const own = labels[i];
    if (size[own] <= 1) continue;
    const a = sums[i * k + own] / (size[own] - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) {
      if (c === own || size[c] === 0) continue;
      const m = sums[i * k + c] / size[c];
      if (m < b) b = m;
    }
    const den = a > b ? a : b;
    total += den > 0 ? (b - a) / den : 0;
  }
  return total / n;
}

/** Jaccard index of two sets of row indices given as 0/1 membership over the same rows. */
export function jaccard(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] || b[i]) union++;
    if (a[i] && b[i]) inter++;
  }
  return union === 0 ? 1 : inter / union;
}
