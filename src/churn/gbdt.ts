/**
 * Gradient-boosted decision trees for the binary log loss, histogram-based, after scikit-learn's
 * HistGradientBoostingClassifier (sklearn/ensemble/_hist_gradient_boosting). Pure: typed arrays in,
 * typed arrays out; every random choice from `seed`.
 *
 *   fit(x, y)
 *     1. bin edges per feature from training quantiles (binning: `findBinEdges`): <= maxBins - 1
 *        thresholds, so at most 255 bins of values; NaN gets one more bin of its own
 *     2. baseline = log-odds of the (weighted) training rate
 *     3. per iteration: gradient g = p - y and hessian h = p (1 - p) of the log loss at the current
 *        margins (x sample weight); grow one tree leaf-wise (best gain first) on the histograms of
 *        (sum g, sum h, count) per bin, the larger child's histogram = parent - smaller child's
 *        (the subtraction trick); leaf value = -G / (H + l2) x learningRate; margins += leaf values
 *     4. with a validation set: stop when the validation log loss has not improved by more than
 *        `tol` over the last `nIterNoChange` iterations (sklearn's rule; the trees are kept, as sklearn does)
 *
 * Splits (sklearn's splitting.py): for every feature and bin, gain = G_L^2/(H_L+l2) + G_R^2/(H_R+l2)
 * - G^2/(H+l2); both children need >= minSamplesLeaf rows and >= minHessianLeaf hessian. Missing
 * values are tried on the right (scan left to right) and on the left (scan right to left) and go
 * where the gain is larger, including "all values left, missing right"; a feature with no missing
 * value in the node sends future NaNs to the child with more training rows. A node becomes a leaf at
 * maxDepth, below 2 x minSamplesLeaf rows, or without a split of positive gain; growth stops at
 * maxLeafNodes leaves.
 *
 * Saved form (toJSON): trees as arrays of nodes { feature, threshold, missingGoesLeft, left, right,
 * value, count, cover }: x[feature] <= threshold (a bin's upper edge, a real value) goes left, NaN
 * goes left iff missingGoesLeft; leaves have feature = -1 and value = their margin contribution.
 * `count` (training rows) and `cover` (training hessian) are kept for TreeSHAP (treeshap.ts).
 *
 * Files: gbdt.ts the estimator (params, fit loop, predict, JSON); gbdt-grow.ts binning and the
 * leaf-wise tree grower; gbdt-compiled.ts the flat compiled trees that predict.
 */
import { CohortlabError } from '../shared/errors.js';
import { createRng, sampleWithoutReplacement, type Rng } from '../shared/rng.js';
import { checkMatrix, type Matrix } from '../shared/matrix.js';
import { addTrees, columnChangePredictor, compile, type Compiled } from './gbdt-compiled.js';
import { TreeGrower, binOf, findBinEdges } from './gbdt-grow.js';
import { checkSavedModel, logLossFromMargins, sigmoid, sigmoidArray } from './link.js';

export { binOf, findBinEdges };

export interface GbdtParams {
  /** Shrinkage of every leaf value. Default 0.1. */
  learningRate: number;
  /** Boosting iterations (trees) at most. Default 100. */
  maxIter: number;
  /** Leaves per tree at most (>= 2). Default 31. */
  maxLeafNodes: number;
  /** Depth limit (root = depth 0), or null for none. Default null (as sklearn). */
  maxDepth: number | null;
  /** Rows per leaf at least. Default 20. */
  minSamplesLeaf: number;
  /** L2 penalty on leaf values (the l2 in -G / (H + l2)). Default 0. */
  l2Regularization: number;
  /** Hessian per leaf at least (sklearn's min_hessian_to_split). Default 1e-3. */
  minHessianLeaf: number;
  /** Bins of non-missing values per feature at most (2..255); NaN has one more. Default 255. */
  maxBins: number;
  /** Rows used to find the bin edges (seeded sample when there are more, as sklearn's 2e5). Default 200000. */
  binSampleRows: number;
  /** Share of rows drawn (without replacement, seeded) for each tree; 1 = all (default, like sklearn). */
  subsample: number;
  /** Share of features considered at each split (seeded); 1 = all (default). */
  colsampleByNode: number;
  /** Early stopping patience on the validation log loss (only when a validation set is given). Default 10. */
  nIterNoChange: number;
  /** Smallest improvement of the validation log loss that counts. Default 1e-7. */
  tol: number;
  seed: number;
}

export interface GbdtNode {
  /** Split feature (column index), -1 for a leaf. */
  feature: number;
  /** x <= threshold goes left (a bin's upper edge). */
  threshold: number;
  missingGoesLeft: boolean;
  /** Node indices within the tree, -1 for a leaf. */
  left: number;
  right: number;
  /** Leaf: its margin contribution (already x learningRate); inner node: what it would be as a leaf. */
  value: number;
  /** Training rows that reached the node (TreeSHAP's cover). */
  count: number;
  /** Sum of training hessians that reached the node (xgboost's cover). */
  cover: number;
}

export interface GbdtState {
  nFeatures: number;
  /** Margin before any tree: log-odds of the training rate. */
  baseline: number;
  trees: GbdtNode[][];
  /** Bin upper edges per feature (non-missing bins = edges + 1). */
  binEdges: number[][];
  /** Validation log loss after each tree (empty without a validation set); index 0 = baseline only. */
  validLoss: number[];
  stoppedEarly: boolean;
}

export interface GbdtJson {
  kind: 'gbdt';
  version: 1;
  params: GbdtParams;
  state: GbdtState;
}

export const DEFAULT_GBDT_PARAMS: GbdtParams = {
  learningRate: 0.1,
  maxIter: 100,
  maxLeafNodes: 31,
  maxDepth: null,
  minSamplesLeaf: 20,
  l2Regularization: 0,
  minHessianLeaf: 1e-3,
  maxBins: 255,
  binSampleRows: 200_000,
  subsample: 1,
  colsampleByNode: 1,
  nIterNoChange: 10,
  tol: 1e-7,
  seed: 42,
};

/** Merges defaults once and checks every value; the message names the parameter and its allowed range. */
export function resolveGbdtParams(p: Partial<GbdtParams> = {}): GbdtParams {
  const r: GbdtParams = { ...DEFAULT_GBDT_PARAMS, ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) };
  const bad = (name: string, value: unknown, rule: string) => new CohortlabError('BAD_ARGUMENT', `gradient-boosted trees parameter ${name} = ${JSON.stringify(value)} is invalid; it must be ${rule}.`);
  const isInt = (v: unknown, lo: number) => Number.isInteger(v) && (v as number) >= lo;
  if (!(r.learningRate > 0 && r.learningRate <= 10)) throw bad('learningRate', r.learningRate, 'in (0, 10]');
  if (!isInt(r.maxIter, 1)) throw bad('maxIter', r.maxIter, 'an integer >= 1');
  if (!isInt(r.maxLeafNodes, 2)) throw bad('maxLeafNodes', r.maxLeafNodes, 'an integer >= 2');
  if (r.maxDepth !== null && !isInt(r.maxDepth, 1)) throw bad('maxDepth', r.maxDepth, 'null or an integer >= 1');
  if (!isInt(r.minSamplesLeaf, 1)) throw bad('minSamplesLeaf', r.minSamplesLeaf, 'an integer >= 1');
  if (!(r.l2Regularization >= 0 && Number.isFinite(r.l2Regularization))) throw bad('l2Regularization', r.l2Regularization, 'a finite number >= 0');
  if (!(r.minHessianLeaf >= 0 && Number.isFinite(r.minHessianLeaf))) throw bad('minHessianLeaf', r.minHessianLeaf, 'a finite number >= 0');
  if (!(isInt(r.maxBins, 2) && r.maxBins <= 255)) throw bad('maxBins', r.maxBins, 'an integer in 2..255');
  if (!isInt(r.binSampleRows, 10)) throw bad('binSampleRows', r.binSampleRows, 'an integer >= 10');
  if (!(r.subsample > 0 && r.subsample <= 1)) throw bad('subsample', r.subsample, 'in (0, 1]');
  if (!(r.colsampleByNode > 0 && r.colsampleByNode <= 1)) throw bad('colsampleByNode', r.colsampleByNode, 'in (0, 1]');
  if (!isInt(r.nIterNoChange, 1)) throw bad('nIterNoChange', r.nIterNoChange, 'an integer >= 1');
  if (!(r.tol >= 0 && Number.isFinite(r.tol))) throw bad('tol', r.tol, 'a finite number >= 0');
  if (!Number.isInteger(r.seed)) throw bad('seed', r.seed, 'an integer');
  return r;
}

export interface GbdtFitOptions {
  sampleWeight?: ArrayLike<number> | null;
  /** Early stopping on this set's log loss (never trained on). */
  valid?: { x: Matrix; y: ArrayLike<number>; sampleWeight?: ArrayLike<number> | null } | null;
}

/** Histogram-based gradient-boosted trees for binary classification (log loss). */
export class GradientBoostedTrees {
  readonly params: Partial<GbdtParams>;
  private state: GbdtState | null = null;
  private compiled: Compiled | null = null;

  constructor(params: Partial<GbdtParams> = {}) {
    this.params = { ...params };
  }

  fit(x: Matrix, y: ArrayLike<number>, opts: GbdtFitOptions = {}): this {
    const p = resolveGbdtParams(this.params);
    const w = opts.sampleWeight ?? null;
    checkMatrix(x, 'GradientBoostedTrees.fit', { y, w });
    const valid = opts.valid ?? null;
    if (valid) checkMatrix(valid.x, 'GradientBoostedTrees.fit (validation set)', { y: valid.y, w: valid.sampleWeight ?? null, cols: x.cols });
    const n = x.rows;
    const d = x.cols;
    const data = x.data;
    for (let k = 0; k < data.length; k++) {
      const v = data[k];
      if (v === Infinity || v === -Infinity) throw new CohortlabError('BAD_FEATURE', `GradientBoostedTrees.fit: value at row ${Math.floor(k / d)}, column ${k % d} is ${v}; use finite numbers or NaN for missing.`);
    }
    const rng = createRng(p.seed);

    // 1. bin edges (a seeded row sample when there are many rows) and the binned columns
    const binRows = n > p.binSampleRows ? sampleRows(n, p.binSampleRows, rng.fork()) : null;
    const binEdges: number[][] = [];
    const edgesTyped: Float64Array[] = [];
    const binned = new Uint8Array(n * d); // column-major: feature f at [f * n, (f + 1) * n)
    // the non-missing values of a column, into one reused buffer (a JS array's push cost 1.9 s of a 17 s fit)
    const m = binRows ? binRows.length : n;
    const vals = new Float64Array(m);
    for (let f = 0; f < d; f++) {
      let nv = 0;
      for (let k = 0; k < m; k++) {
        const v = data[(binRows ? binRows[k] : k) * d + f];
        if (v === v) vals[nv++] = v;
      }
      const e = findBinEdges(vals.subarray(0, nv), p.maxBins);
      binEdges.push(e);
      const et = Float64Array.from(e);
      edgesTyped.push(et);
      const col = binned.subarray(f * n, (f + 1) * n);
      for (let i = 0; i < n; i++) {
        const b = binOf(et, data[i * d + f]);
        col[i] = b;
      }
    }

    // 2. baseline
    let sw = 0;
    let swPos = 0;
    for (let i = 0; i < n; i++) {
      const s = w ? w[i] : 1;
      sw += s;
      if (y[i] === 1) swPos += s;
    }
    if (!(sw > 0)) throw new CohortlabError('BAD_ARGUMENT', 'GradientBoostedTrees.fit: every sample weight is 0; give some rows a positive weight.');
    if (swPos === 0 || swPos === sw) {
      throw new CohortlabError('ONE_CLASS', `GradientBoostedTrees.fit: every one of the ${n} rows (with a positive weight) is labelled ${swPos === 0 ? 0 : 1}; a churn model needs churners and stayers.`);
    }
    const rate = Math.min(1 - 1e-12, Math.max(1e-12, swPos / sw));
    const baseline = Math.log(rate / (1 - rate));

    const raw = new Float64Array(n).fill(baseline);
    const grad = new Float64Array(n);
    const hess = new Float64Array(n);
    const trees: GbdtNode[][] = [];
    const validLoss: number[] = [];
    let validRaw: Float64Array | null = null;
    if (valid) {
      validRaw = new Float64Array(valid.x.rows).fill(baseline);
      validLoss.push(logLossFromMargins(validRaw, valid.y, valid.sampleWeight));
    }
    const grower = new TreeGrower(binned, n, d, edgesTyped, p, rng.fork());
    const idxAll = new Uint32Array(n);
    for (let i = 0; i < n; i++) idxAll[i] = i;
    const subRng = rng.fork();
    const nSub = p.subsample < 1 ? Math.max(1, Math.floor(p.subsample * n)) : n;
    let stoppedEarly = false;

    for (let it = 0; it < p.maxIter; it++) {
      // 3. gradients and hessians of the log loss at the current margins
      for (let i = 0; i < n; i++) {
        const pr = sigmoid(raw[i]);
        const s = w ? w[i] : 1;
        grad[i] = s * (pr - y[i]);
        hess[i] = s * pr * (1 - pr);
      }
      const rows = nSub < n ? sampleRows(n, nSub, subRng) : idxAll;
      const { nodes, leafRanges } = grower.grow(rows, grad, hess);
      trees.push(nodes);
      if (nSub < n) {
        addTrees(compile([nodes]), 0, 1, x, raw);
      } else {
        const idx = grower.indices;
        for (const [leaf, start, end] of leafRanges) {
          const v = nodes[leaf].value;
          for (let k = start; k < end; k++) raw[idx[k]] += v;
        }
      }
      // 4. early stopping (sklearn's _should_stop on the negative validation loss)
      if (valid && validRaw) {
        addTrees(compile([nodes]), 0, 1, valid.x, validRaw);
        validLoss.push(logLossFromMargins(validRaw, valid.y, valid.sampleWeight));
        const k = validLoss.length;
        if (k > p.nIterNoChange) {
          const ref = validLoss[k - 1 - p.nIterNoChange];
          let improved = false;
          for (let j = k - p.nIterNoChange; j < k; j++) if (validLoss[j] < ref - p.tol) improved = true;
          if (!improved) {
            stoppedEarly = true;
            break;
          }
        }
      }
    }
    this.state = { nFeatures: d, baseline, trees, binEdges, validLoss, stoppedEarly };
    this.compiled = compile(trees);
    return this;
  }

  get fitted(): GbdtState {
    if (!this.state) throw new CohortlabError('NOT_FITTED', 'GradientBoostedTrees: predict or toJSON before fit; call fit(x, y) first.');
    return this.state;
  }

  /** Margins (log-odds) of every row; `nTrees` limits the trees used (staged prediction). */
  predictRaw(x: Matrix, nTrees?: number): Float64Array {
    const s = this.fitted;
    checkMatrix(x, 'GradientBoostedTrees.predictRaw', { cols: s.nFeatures });
    const out = new Float64Array(x.rows).fill(s.baseline);
    this.compiled ??= compile(s.trees);
    addTrees(this.compiled, 0, Math.min(nTrees ?? s.trees.length, s.trees.length), x, out);
    return out;
  }

  predictProba(x: Matrix): Float64Array {
    return sigmoidArray(this.predictRaw(x));
  }

  /** predictProba of matrices that differ from `x` in one column only, each the same bits as predictProba (gbdt-compiled.ts). */
  columnChangeProba(x: Matrix): (changed: Matrix, column: number) => Float64Array {
    const s = this.fitted;
    checkMatrix(x, 'GradientBoostedTrees.columnChangeProba', { cols: s.nFeatures });
    this.compiled ??= compile(s.trees);
    const raw = columnChangePredictor(this.compiled, s.trees.length, x, s.baseline);
    return (changed, column) => sigmoidArray(raw(changed, column));
  }

  toJSON(): GbdtJson {
    return { kind: 'gbdt', version: 1, params: resolveGbdtParams(this.params), state: structuredClone(this.fitted) };
  }

  static fromJSON(j: GbdtJson, path = 'gbdt model'): GradientBoostedTrees {
    checkSavedModel(j, 'gbdt', path);
    const s = j.state;
    if (!s || !Number.isInteger(s.nFeatures) || !Number.isFinite(s.baseline) || !Array.isArray(s.trees)) {
      throw new CohortlabError('MODEL_CORRUPT', `${path}: state needs nFeatures, a finite baseline and trees.`, { path });
    }
    s.trees.forEach((t, k) => {
      t.forEach((nd, i) => {
        const leaf = nd.feature < 0;
        const okChild = (c: number) => Number.isInteger(c) && c > i && c < t.length;
        if (!Number.isFinite(nd.value) || (!leaf && (nd.feature >= s.nFeatures || typeof nd.threshold !== 'number' || !okChild(nd.left) || !okChild(nd.right)))) {
          throw new CohortlabError('MODEL_CORRUPT', `${path}: tree ${k} node ${i} is malformed (feature ${nd.feature}, children ${nd.left}/${nd.right}, value ${nd.value}); re-train the model.`, { path });
        }
      });
    });
    const m = new GradientBoostedTrees(resolveGbdtParams(j.params));
    m.state = structuredClone(s);
    m.compiled = compile(m.state.trees);
    return m;
  }
}

/** `m` distinct row indices out of n (partial Fisher-Yates, seeded), ascending. */
function sampleRows(n: number, m: number, rng: Rng): Uint32Array {
  return sampleWithoutReplacement(n, m, rng).sort();
}
