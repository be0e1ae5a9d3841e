/**
 * The one dense matrix type of the numeric stages (cluster and churn): row-major, `data[i * cols + j]`
 * = row (user) i, column (feature) j. Float64 for k-means, PCA and the exact estimators; Float32 where
 * the values go to tfjs. NaN means "missing" to the trees; everything else refuses it.
 */
import { CohortlabError } from './errors.js';

export type MatrixData = Float64Array | Float32Array;

export interface Matrix<T extends MatrixData = MatrixData> {
  data: T;
  rows: number;
  cols: number;
}

/** The Float64 matrix every k-means, PCA and metric kernel takes. */
export type DenseMatrix = Matrix<Float64Array>;

export interface MatrixChecks {
  /** One 0/1 label per row. */
  y?: ArrayLike<number>;
  /** One finite, non-negative weight per row. */
  w?: ArrayLike<number> | null;
  /** Columns the model was fitted on. */
  cols?: number;
  /** Refuse NaN and infinities. */
  finite?: boolean;
}

/** Checks the shape of `x` (and of `y`, `w` when given); the message names `where` and both numbers. */
export function checkMatrix(x: Matrix, where: string, opts: MatrixChecks = {}): void {
  if (!x || !(x.data instanceof Float64Array || x.data instanceof Float32Array)) {
    throw new CohortlabError('BAD_ARGUMENT', `${where}: x must be { data: Float64Array | Float32Array, rows, cols } (row-major).`);
  }
  if (!Number.isInteger(x.rows) || !Number.isInteger(x.cols) || x.data.length !== x.rows * x.cols) {
    throw new CohortlabError('BAD_ARGUMENT', `${where}: the matrix has ${x.data.length} values but rows x cols = ${x.rows} x ${x.cols}; pass a row-major array of rows * cols values.`);
  }
  if (x.rows === 0 || x.cols === 0) throw new CohortlabError('EMPTY_INPUT', `${where}: no rows or no columns (rows = ${x.rows}, cols = ${x.cols}).`);
  if (opts.cols !== undefined && x.cols !== opts.cols) {
    throw new CohortlabError('BAD_ARGUMENT', `${where}: x has ${x.cols} columns but the model was fitted on ${opts.cols}; pass the same features in the same order.`);
  }
  if (opts.y && opts.y.length !== x.rows) throw new CohortlabError('BAD_ARGUMENT', `${where}: ${opts.y.length} labels for ${x.rows} rows; pass one 0/1 label per row.`);
  if (opts.y) {
    for (let i = 0; i < opts.y.length; i++) {
      const v = opts.y[i];
      if (v !== 0 && v !== 1) throw new CohortlabError('BAD_ARGUMENT', `${where}: label of row ${i} is ${v}; labels must be 0 or 1.`);
    }
  }
  if (opts.w) {
    if (opts.w.length !== x.rows) throw new CohortlabError('BAD_ARGUMENT', `${where}: ${opts.w.length} sample weights for ${x.rows} rows; pass one weight per row.`);
    for (let i = 0; i < opts.w.length; i++) {
      const v = opts.w[i];
      if (!(v >= 0) || !Number.isFinite(v)) throw new CohortlabError('BAD_ARGUMENT', `${where}: sample weight of row ${i} is ${v}; weights must be finite and >= 0.`);
    }
  }
  if (opts.finite) {
    const d = x.data;
    for (let k = 0; k < d.length; k++) {
      if (!Number.isFinite(d[k])) {
        throw new CohortlabError('BAD_FEATURE', `${where}: value at row ${Math.floor(k / x.cols)}, column ${k % x.cols} is ${d[k]}; this estimator needs finite numbers (impute missing values first).`);
      }
    }
  }
}

/** Rows `idx` of `x` (in the given order) as a new matrix of the same element type. */
export function takeRows<T extends MatrixData>(x: Matrix<T>, idx: ArrayLike<number>): Matrix<T> {
  const d = x.cols;
  const out = (x.data instanceof Float32Array ? new Float32Array(idx.length * d) : new Float64Array(idx.length * d)) as T;
  for (let r = 0; r < idx.length; r++) out.set(x.data.subarray(idx[r] * d, idx[r] * d + d), r * d);
  return { data: out, rows: idx.length, cols: d };
}
