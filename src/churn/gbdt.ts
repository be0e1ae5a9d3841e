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
 */
import { CohortlabError } from '../shared/errors.js';
import { createRng, sampleWithoutReplacement, type Rng } from '../shared/rng.js';
import { checkMatrix, type Matrix } from '../shared/matrix.js';

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


function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/**
 * Bin upper edges of one column, as sklearn's `_find_binning_thresholds`: with at most `maxBins`
 * distinct values, the midpoints between consecutive ones; otherwise the percentiles at
 * 100 k / maxBins (k = 1..maxBins-1, numpy's "midpoint" interpolation), duplicates removed.
 * `values` are the non-missing values (any order; sorted in place).
 */
export function findBinEdges(values: Float64Array, maxBins: number): number[] {
  values.sort();
  const distinct: number[] = [];
  for (let i = 0; i < values.length; i++) if (i === 0 || values[i] !== values[i - 1]) distinct.push(values[i]);
  if (distinct.length <= maxBins) {
    const edges: number[] = [];
    for (let i = 0; i + 1 < distinct.length; i++) edges.push((distinct[i] + distinct[i + 1]) / 2);
    return edges;
  }
  const n = values.length;
  const edges: number[] = [];
  for (let k = 1; k < maxBins; k++) {
    // numpy percentile, method='midpoint': average of the two order statistics around (n - 1) q
    const pos = ((n - 1) * k) / maxBins;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    const v = (values[lo] + values[hi]) / 2;
    if (edges.length === 0 || v > edges[edges.length - 1]) edges.push(v);
  }
  return edges;
}

/** Bin of one value: the first edge >= v; NaN -> edges.length + 1 (the bin after the last value bin). */
export function binOf(edges: Float64Array, v: number): number {
  if (v !== v) return edges.length + 1;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v <= edges[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

interface SplitInfo {
  gain: number;
  feature: number;
  bin: number; // x-bin <= bin goes left; bin = nb-1 means "all values left, missing right"
  missingGoesLeft: boolean;
  gL: number;
  hL: number;
  cL: number;
}

interface GrowNode {
  id: number;
  start: number;
  end: number;
  g: number;
  h: number;
  depth: number;
  hist: Float64Array | null;
  split: SplitInfo | null;
}

/**
 * Compiled trees for fast prediction: inner nodes of all trees in flat typed arrays; a child >= 0 is
 * an inner node, a child < 0 is leaf ~child (its value in `leafValue`). A tree that is a single leaf
 * has root ~leaf.
 */
interface Compiled {
  roots: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  /** 1 when NaN goes right. */
  nanRight: Uint8Array;
  /** children: [2 a] left, [2 a + 1] right. */
  child: Int32Array;
  leafValue: Float64Array;
}

function compile(trees: GbdtNode[][]): Compiled {
  let inner = 0;
  let leaves = 0;
  for (const t of trees) for (const nd of t) if (nd.feature < 0) leaves++; else inner++;
  const c: Compiled = {
    roots: new Int32Array(trees.length),
    feature: new Int32Array(inner),
    threshold: new Float64Array(inner),
    nanRight: new Uint8Array(inner),
    child: new Int32Array(2 * inner),
    leafValue: new Float64Array(leaves),
  };
  let ni = 0;
  let nl = 0;
  trees.forEach((t, k) => {
    const ref = new Int32Array(t.length);
    t.forEach((nd, j) => {
      if (nd.feature < 0) {
        c.leafValue[nl] = nd.value;
        ref[j] = ~nl++;
      } else ref[j] = ni++;
    });
    c.roots[k] = ref[0];
    t.forEach((nd, j) => {
      if (nd.feature < 0) return;
      const a = ref[j];
      c.feature[a] = nd.feature;
      c.threshold[a] = nd.threshold;
      c.nanRight[a] = nd.missingGoesLeft ? 0 : 1;
      c.child[2 * a] = ref[nd.left];
      c.child[2 * a + 1] = ref[nd.right];
    });
  });
  return c;
}

const PREDICT_BLOCK = 512;

/**
 * Adds trees [from, to) of `c` to `out` for every row of x (row-major), a block of rows at a time so
 * the block and the trees stay in cache. The cost is one data-dependent branch per level (about 6-7
 * per tree on 31 leaves), which the CPU mispredicts half the time; level-by-level passes over a block
 * and four interleaved walks were measured no faster (docs/churn.md).
 */
function addTrees(c: Compiled, from: number, to: number, x: Matrix, out: Float64Array): void {
  const { roots, feature, threshold, nanRight, child, leafValue } = c;
  const data = x.data;
  const d = x.cols;
  const n = x.rows;
  for (let b0 = 0; b0 < n; b0 += PREDICT_BLOCK) {
    const b1 = Math.min(n, b0 + PREDICT_BLOCK);
    for (let t = from; t < to; t++) {
      const root = roots[t];
      if (root < 0) {
        const v = leafValue[~root];
        for (let i = b0; i < b1; i++) out[i] += v;
        continue;
      }
      for (let i = b0; i < b1; i++) {
        const o = i * d;
        let nd = root;
        do {
          const v = data[o + feature[nd]];
          nd = child[2 * nd + (v <= threshold[nd] ? 0 : v === v ? 1 : nanRight[nd])];
        } while (nd >= 0);
        out[i] += leafValue[~nd];
      }
    }
  }
}

/** Log loss (mean, weighted) from margins. */
function meanLogLoss(z: Float64Array, y: ArrayLike<number>, w: ArrayLike<number> | null | undefined): number {
  let s = 0;
  let sw = 0;
  for (let i = 0; i < z.length; i++) {
    const wi = w ? w[i] : 1;
    const zi = z[i];
    const sp = zi > 0 ? zi + Math.log1p(Math.exp(-zi)) : Math.log1p(Math.exp(zi));
    s += wi * (sp - (y[i] === 1 ? zi : 0));
    sw += wi;
  }
  return s / sw;
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
    for (let f = 0; f < d; f++) {
      const vals: number[] = [];
      const m = binRows ? binRows.length : n;
      for (let k = 0; k < m; k++) {
        const v = data[(binRows ? binRows[k] : k) * d + f];
        if (v === v) vals.push(v);
      }
      const e = findBinEdges(Float64Array.from(vals), p.maxBins);
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
      validLoss.push(meanLogLoss(validRaw, valid.y, valid.sampleWeight));
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
        validLoss.push(meanLogLoss(validRaw, valid.y, valid.sampleWeight));
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
    const z = this.predictRaw(x);
    for (let i = 0; i < z.length; i++) z[i] = sigmoid(z[i]);
    return z;
  }

  toJSON(): GbdtJson {
    return { kind: 'gbdt', version: 1, params: resolveGbdtParams(this.params), state: structuredClone(this.fitted) };
  }

  static fromJSON(j: GbdtJson, path = 'gbdt model'): GradientBoostedTrees {
    if (!j || j.kind !== 'gbdt') throw new CohortlabError('MODEL_CORRUPT', `${path} is not a gbdt model (kind ${JSON.stringify(j?.kind)}).`, { path });
    if (j.version !== 1) throw new CohortlabError('MODEL_INCOMPATIBLE', `${path} has gbdt version ${j.version}; this cohortlab reads version 1.`, { path });
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

/** One tree at a time, leaf-wise, on binned columns; buffers are reused across trees. */
class TreeGrower {
  /** Row indices, partitioned so that every node owns [start, end). */
  indices: Uint32Array;
  private readonly tmp: Uint32Array;
  private readonly pool: Float64Array[] = [];
  private readonly featOrder: Int32Array;
  /** Non-missing bins per feature (edges + 1); the missing bin of feature f is nBins[f]. */
  private readonly nBins: number[];
  private readonly featOff: Int32Array;
  /** The same bins row-major (row i at [i d, (i + 1) d)), for building histograms. */
  private readonly binnedRows: Uint8Array;
  private readonly histSize: number;

  constructor(
    private readonly binned: Uint8Array,
    private readonly n: number,
    private readonly d: number,
    private readonly edges: Float64Array[],
    private readonly p: GbdtParams,
    private readonly rng: Rng,
  ) {
    this.nBins = edges.map((e) => e.length + 1);
    this.binnedRows = new Uint8Array(n * d);
    for (let f = 0; f < d; f++) {
      const col = f * n;
      for (let i = 0; i < n; i++) this.binnedRows[i * d + f] = binned[col + i];
    }
    // compact histograms: feature f owns (value bins + missing bin) x (sum g, sum h, count) from featOff[f]
    this.featOff = new Int32Array(d);
    let off = 0;
    for (let f = 0; f < d; f++) {
      this.featOff[f] = off;
      off += (this.nBins[f] + 1) * 3;
    }
    this.histSize = off;
    this.indices = new Uint32Array(n);
    this.tmp = new Uint32Array(n);
    this.featOrder = new Int32Array(d);
  }

  private takeHist(): Float64Array {
    const h = this.pool.pop();
    if (h) {
      h.fill(0);
      return h;
    }
    return new Float64Array(this.histSize);
  }

  /**
   * Histogram of a node's rows. Row-major bins: one row's d bins share a cache line and its gradient
   * and hessian are read once (measured 1.6x faster than sklearn's column-by-column loop here, where a
   * node's rows are scattered).
   */
  private buildHist(node: GrowNode, grad: Float64Array, hess: Float64Array): Float64Array {
    const hist = this.takeHist();
    const { indices: idx, binnedRows, d, featOff } = this;
    for (let k = node.start; k < node.end; k++) {
      const i = idx[k];
      const g = grad[i];
      const h = hess[i];
      const ro = i * d;
      for (let f = 0; f < d; f++) {
        const o = featOff[f] + binnedRows[ro + f] * 3;
        hist[o] += g;
        hist[o + 1] += h;
        hist[o + 2] += 1;
      }
    }
    return hist;
  }

  private findSplit(node: GrowNode): SplitInfo | null {
    const p = this.p;
    const hist = node.hist!;
    const l2 = p.l2Regularization;
    const cnt = node.end - node.start;
    if (p.maxDepth !== null && node.depth >= p.maxDepth) return null;
    if (cnt < 2 * p.minSamplesLeaf || node.h < 2 * p.minHessianLeaf) return null;
    const G = node.g;
    const H = node.h;
    const parentScore = (G * G) / (H + l2);
    let best: SplitInfo | null = null;
    let nf = this.d;
    const order = this.featOrder;
    for (let f = 0; f < this.d; f++) order[f] = f;
    if (p.colsampleByNode < 1) {
      nf = Math.max(1, Math.ceil(p.colsampleByNode * this.d));
      for (let i = 0; i < nf; i++) {
        const j = i + this.rng.int(this.d - i);
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
      order.subarray(0, nf).sort();
    }
    const minLeaf = p.minSamplesLeaf;
    const minH = p.minHessianLeaf;
    for (let q = 0; q < nf; q++) {
      const f = order[q];
      const base = this.featOff[f];
      const nb = this.nBins[f];
      const mo = base + nb * 3;
      const mc = hist[mo + 2];
      // missing on the right: scan left to right; with missing values also "all values left"
      let gL = 0;
      let hL = 0;
      let cL = 0;
      const lastBin = mc > 0 ? nb - 1 : nb - 2;
      for (let b = 0; b <= lastBin; b++) {
        const o = base + b * 3;
        gL += hist[o];
        hL += hist[o + 1];
        cL += hist[o + 2];
        const cR = cnt - cL;
        if (cL < minLeaf) continue;
        if (cR < minLeaf) break;
        const hR = H - hL;
        if (hL < minH || hR < minH) continue;
        const gR = G - gL;
        const gain = (gL * gL) / (hL + l2) + (gR * gR) / (hR + l2) - parentScore;
        if (gain > 0 && (best === null || gain > best.gain)) {
          best = { gain, feature: f, bin: b, missingGoesLeft: false, gL, hL, cL };
        }
      }
      if (mc > 0) {
        // missing on the left: scan right to left
        let gR = 0;
        let hR = 0;
        let cR = 0;
        for (let b = nb - 1; b >= 1; b--) {
          const o = base + b * 3;
          gR += hist[o];
          hR += hist[o + 1];
          cR += hist[o + 2];
          const cLm = cnt - cR;
          if (cR < minLeaf) continue;
          if (cLm < minLeaf) break;
          const hLm = H - hR;
          if (hLm < minH || hR < minH) continue;
          const gLm = G - gR;
          const gain = (gLm * gLm) / (hLm + l2) + (gR * gR) / (hR + l2) - parentScore;
          if (gain > 0 && (best === null || gain > best.gain)) {
            best = { gain, feature: f, bin: b - 1, missingGoesLeft: true, gL: gLm, hL: hLm, cL: cLm };
          }
        }
      }
    }
    if (best && !best.missingGoesLeft) {
      // no missing value of this feature in the node: future NaNs follow the larger child (sklearn)
      const mc = hist[this.featOff[best.feature] + this.nBins[best.feature] * 3 + 2];
      if (mc === 0) best.missingGoesLeft = best.cL > cnt - best.cL;
    }
    return best;
  }

  grow(rows: Uint32Array, grad: Float64Array, hess: Float64Array): { nodes: GbdtNode[]; leafRanges: [number, number, number][] } {
    const p = this.p;
    const lr = p.learningRate;
    const l2 = p.l2Regularization;
    const m = rows.length;
    this.indices.set(rows);
    let G = 0;
    let H = 0;
    for (let k = 0; k < m; k++) {
      G += grad[rows[k]];
      H += hess[rows[k]];
    }
    const nodes: GbdtNode[] = [];
    const leafValue = (g: number, h: number) => (-g / (h + l2 + 1e-15)) * lr;
    const mk = (g: number, h: number, start: number, end: number, depth: number): GrowNode => {
      const id = nodes.length;
      nodes.push({ feature: -1, threshold: 0, missingGoesLeft: false, left: -1, right: -1, value: leafValue(g, h), count: end - start, cover: h });
      return { id, start, end, g, h, depth, hist: null, split: null };
    };
    const root = mk(G, H, 0, m, 0);
    root.hist = this.buildHist(root, grad, hess);
    root.split = this.findSplit(root);
    const open: GrowNode[] = [];
    const leafRanges: [number, number, number][] = [];
    const finalize = (nd: GrowNode) => {
      leafRanges.push([nd.id, nd.start, nd.end]);
      if (nd.hist) this.pool.push(nd.hist);
      nd.hist = null;
    };
    if (root.split) open.push(root);
    else finalize(root);
    let leaves = 1;
    const { binned, n } = this;
    const idx = this.indices;
    const tmp = this.tmp;
    while (open.length > 0) {
      // best gain first (sklearn's heap; ties: the earlier node)
      let bi = 0;
      for (let k = 1; k < open.length; k++) if (open[k].split!.gain > open[bi].split!.gain) bi = k;
      const nd = open.splice(bi, 1)[0];
      const s = nd.split!;
      // stable partition of [start, end)
      const col = s.feature * n;
      const missL = s.missingGoesLeft;
      const missingBin = this.nBins[s.feature];
      let a = nd.start;
      let bcount = 0;
      for (let k = nd.start; k < nd.end; k++) {
        const i = idx[k];
        const b = binned[col + i];
        const goLeft = b === missingBin ? missL : b <= s.bin;
        if (goLeft) idx[a++] = i;
        else tmp[bcount++] = i;
      }
      idx.set(tmp.subarray(0, bcount), a);
      const node = nodes[nd.id];
      node.feature = s.feature;
      const edges = this.nBins[s.feature] - 1;
      // bin nb-1 has no upper edge: "every value left, missing right"
      node.threshold = s.bin < edges ? this.edges[s.feature][s.bin] : Number.MAX_VALUE;
      node.missingGoesLeft = s.missingGoesLeft;
      const L = mk(s.gL, s.hL, nd.start, a, nd.depth + 1);
      const R = mk(nd.g - s.gL, nd.h - s.hL, a, nd.end, nd.depth + 1);
      node.left = L.id;
      node.right = R.id;
      leaves += 1;
      if (leaves >= p.maxLeafNodes) {
        this.pool.push(nd.hist!);
        nd.hist = null;
        finalize(L);
        finalize(R);
        for (const o of open) finalize(o);
        open.length = 0;
        break;
      }
      // histograms: build the smaller child, subtract for the larger
      const small = L.end - L.start <= R.end - R.start ? L : R;
      const large = small === L ? R : L;
      small.hist = this.buildHist(small, grad, hess);
      const ph = nd.hist!;
      const sh = small.hist;
      for (let k = 0; k < ph.length; k++) ph[k] -= sh[k];
      large.hist = ph;
      nd.hist = null;
      for (const c of [L, R]) {
        c.split = this.findSplit(c);
        if (c.split) open.push(c);
        else finalize(c);
      }
    }
    return { nodes, leafRanges };
  }
}
