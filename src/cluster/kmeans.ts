import { CohortlabError } from '../shared/errors.js';
import { checkMatrix, type DenseMatrix } from '../shared/matrix.js';
import { createRng, DEFAULT_SEED } from '../shared/rng.js';
import { kmeansPlusPlus } from './kmeans-init.js';
import { assignNearest, meanColumnVariance, nearestCentre } from './kmeans-kernels.js';
import { lloyd, type KMeansWorkers } from './lloyd.js';
import { sampleRows } from './sample.js';
import type { JsonObject, KMeansRun } from './types.js';

/**
 * The k-means estimators (STYLE.md contract: params kept as given, fit validates and replaces state,
 * toJSON/fromJSON). The pieces they use: kmeans-kernels.ts (inner loops), kmeans-init.ts (k-means++),
 * lloyd.ts (the iterations), sample.ts (seeded row samples); parallel.ts is the optional thread pool a
 * caller passes to `fit` as `workers`.
 */
export { assignNearest, kmeansPlusPlus, lloyd };

export interface KMeansParams {
  k: number;
  /** Restarts from different k-means++ seeds; the lowest inertia wins. */
  nInit: number;
  maxIter: number;
  tol: number;
  seed: number;
}

/** Relative inertia difference under which two restarts count as equal (the first is kept). */
export const RESTART_TIE = 1e-9;

export const DEFAULT_KMEANS_PARAMS: KMeansParams = { k: 5, nInit: 4, maxIter: 300, tol: 1e-4, seed: DEFAULT_SEED };

export interface KMeansState extends JsonObject {
  d: number;
  /** k rows of d values. */
  centroids: number[][];
  inertia: number;
  /** Iterations of the winning restart. */
  iterations: number;
  converged: boolean;
  tolAbs: number;
  /** Inertia of every restart, in order. */
  restartInertias: number[];
}

/** Ranges of every hyperparameter, as data (sklearn `_parameter_constraints`). */
export const KMEANS_PARAM_RANGES: Record<string, [number, number]> = {
  k: [1, 1000],
  nInit: [1, 1000],
  maxIter: [1, 100000],
  tol: [0, 1],
  batchSize: [1, 1e7],
  maxNoImprovement: [1, 100000],
};

function checkParams(kind: string, params: KMeansParams | MiniBatchKMeansParams): void {
  for (const [name, value] of Object.entries(params)) {
    const range = KMEANS_PARAM_RANGES[name];
    if (!range) continue;
    const isInt = name !== 'tol';
    if (typeof value !== 'number' || !Number.isFinite(value) || value < range[0] || value > range[1] || (isInt && !Number.isInteger(value))) {
      throw new CohortlabError('BAD_ARGUMENT', `${kind}: ${name} must be ${isInt ? 'an integer' : 'a number'} in [${range[0]}, ${range[1]}], got ${JSON.stringify(value)}.`);
    }
  }
  if (!Number.isFinite(params.seed)) throw new CohortlabError('BAD_ARGUMENT', `${kind}: seed must be a finite number, got ${JSON.stringify(params.seed)}.`);
}

function toRows(c: Float64Array, k: number, d: number): number[][] {
  const rows: number[][] = [];
  for (let j = 0; j < k; j++) rows.push(Array.from(c.subarray(j * d, j * d + d)));
  return rows;
}

export function fromRows(rows: number[][]): Float64Array {
  const d = rows[0]?.length ?? 0;
  const out = new Float64Array(rows.length * d);
  rows.forEach((r, j) => out.set(r, j * d));
  return out;
}

/** The training matrix is well formed and has at least k rows (the message says to lower --k). */
function checkFitInput(kind: string, x: DenseMatrix, k: number): void {
  checkMatrix(x, `${kind}.fit`);
  if (k > x.rows) throw new CohortlabError('BAD_ARGUMENT', `${kind}: k = ${k} is more than the ${x.rows} rows to cluster; lower --k.`);
}

function notFitted(kind: string): never {
  throw new CohortlabError('NOT_FITTED', `${kind}: predict was called before fit; call fit(x) first or load a fitted model with fromJSON.`);
}

function checkWidth(kind: string, x: DenseMatrix, d: number): void {
  if (x.cols !== d) throw new CohortlabError('BAD_ARGUMENT', `${kind}: the model was fitted on ${d} features but got rows of ${x.cols}; pass the same features in the same order.`);
}

/** Options of `KMeans.fit` that are not hyperparameters: fixed initial centres, the thread pool. */
export interface KMeansFitOptions {
  /** Start one run from these k x d centres instead of nInit k-means++ restarts. */
  init?: Float64Array;
  /** Split the Elkan passes over worker threads (parallel.ts `workerThreads`); default: this thread. */
  workers?: KMeansWorkers;
  /** Threads when `workers` is given (lloyd.ts `threads`). */
  threads?: number;
}

/**
 * What both estimators share: the fitted centres (`state`, same JSON shape for both), nearest-centre
 * prediction, and the saved envelope { kind, version: 1, params, state }.
 */
abstract class CentroidEstimator<P, K extends string> {
  readonly params: P;
  state: KMeansState | undefined;
  /** Labels of the training rows from the last fit (not serialised). */
  labels: Int32Array | undefined;

  constructor(
    params: P,
    private readonly name: string,
    private readonly kind: K,
  ) {
    this.params = params;
  }

  centroidArray(): Float64Array {
    return this.state ? fromRows(this.state.centroids) : notFitted(this.name);
  }

  predict(x: DenseMatrix): Int32Array {
    const s = this.state ?? notFitted(this.name);
    checkMatrix(x, `${this.name}.predict`);
    checkWidth(this.name, x, s.d);
    const labels = new Int32Array(x.rows);
    assignNearest(x, fromRows(s.centroids), s.centroids.length, labels);
    return labels;
  }

  toJSON(): { kind: K; version: 1; params: P; state: KMeansState } {
    return { kind: this.kind, version: 1, params: this.params, state: this.state ?? notFitted(this.name) };
  }

  /** Sets the state of a model read back from JSON, after checking its kind and version. */
  protected restore(json: { kind: string; version: number; state: KMeansState }): this {
    if (json.kind !== this.kind || json.version !== 1) throw new CohortlabError('MODEL_INCOMPATIBLE', `expected a ${this.kind} model of version 1, got kind "${json.kind}" version ${json.version}.`);
    this.state = json.state;
    return this;
  }
}

export class KMeans extends CentroidEstimator<KMeansParams, 'kmeans'> {
  constructor(params: Partial<KMeansParams> = {}) {
    super({ ...DEFAULT_KMEANS_PARAMS, ...params }, 'KMeans', 'kmeans');
  }

  fit(x: DenseMatrix, opts: KMeansFitOptions = {}): this {
    checkParams('KMeans', this.params);
    const { k, nInit, maxIter, tol, seed } = this.params;
    checkFitInput('KMeans', x, k);
    const rng = createRng(seed);
    let best: KMeansRun | undefined;
    const inertias: number[] = [];
    const runs = opts.init ? 1 : nInit;
    for (let r = 0; r < runs; r++) {
      const init = opts.init ?? kmeansPlusPlus(x, k, rng.fork());
      const run = lloyd(x, init, k, { maxIter, tol, workers: opts.workers, threads: opts.threads });
      inertias.push(run.inertia);
      // a later restart wins only when its inertia is lower by more than 1e-9 relative: restarts that reach
      // the same partition (numbered differently) differ in the last bits of their sums, which depend on the
      // order of the additions; the first of them keeps the numbering, whatever that order
      if (!best || run.inertia < best.inertia * (1 - RESTART_TIE)) best = run;
    }
    const b = best as KMeansRun;
    this.labels = b.labels;
    this.state = { d: x.cols, centroids: toRows(b.centroids, k, x.cols), inertia: b.inertia, iterations: b.iterations, converged: b.converged, tolAbs: b.tolAbs, restartInertias: inertias };
    return this;
  }

  static fromJSON(json: { kind: string; version: number; params: KMeansParams; state: KMeansState }): KMeans {
    return new KMeans(json.params).restore(json);
  }
}

export interface MiniBatchKMeansParams {
  k: number;
  batchSize: number;
  /** Passes over the data (epochs), at most. */
  maxIter: number;
  /** Stop when the smoothed batch inertia has not improved for this many batches. */
  maxNoImprovement: number;
  /** Stop when the summed squared centre shift of a batch <= tol x mean feature variance (0: off). */
  tol: number;
  /** k-means++ restarts on the initialisation sample. */
  nInit: number;
  seed: number;
}

export const DEFAULT_MINIBATCH_PARAMS: MiniBatchKMeansParams = { k: 5, batchSize: 1024, maxIter: 100, maxNoImprovement: 10, tol: 0, nInit: 3, seed: DEFAULT_SEED };

/**
 * Mini-batch k-means (Sculley 2010, as in sklearn's MiniBatchKMeans): k-means++ on a seeded sample,
 * then per batch of `batchSize` rows drawn with replacement each centre moves to the running mean of
 * every row ever assigned to it (learning rate 1 / count). Memory is O(k d + batch); the final labels
 * are one nearest-centre pass. Same state and JSON shape as KMeans, so predict and assign are shared.
 */
export class MiniBatchKMeans extends CentroidEstimator<MiniBatchKMeansParams, 'minibatch-kmeans'> {
  constructor(params: Partial<MiniBatchKMeansParams> = {}) {
    super({ ...DEFAULT_MINIBATCH_PARAMS, ...params }, 'MiniBatchKMeans', 'minibatch-kmeans');
  }

  fit(x: DenseMatrix): this {
    checkParams('MiniBatchKMeans', this.params);
    const { k, batchSize, maxIter, maxNoImprovement, tol, nInit, seed } = this.params;
    checkFitInput('MiniBatchKMeans', x, k);
    const { data, rows: n, cols: d } = x;
    const rng = createRng(seed);
    // Initialisation: best of nInit k-means++ runs on one sample of 3 batches (at least k rows).
    const sampleSize = Math.min(n, Math.max(3 * batchSize, k));
    const sample = sampleRows(x, sampleSize, rng.fork());
    let cent = new Float64Array(0);
    let bestInit = Infinity;
    const sampleLabels = new Int32Array(sample.rows);
    const inertias: number[] = [];
    for (let r = 0; r < nInit; r++) {
      const c = kmeansPlusPlus(sample, k, rng.fork());
      const inertia = assignNearest(sample, c, k, sampleLabels);
      inertias.push(inertia);
      if (inertia < bestInit) {
        bestInit = inertia;
        cent = c;
      }
    }
    const tolAbs = tol > 0 ? tol * meanColumnVariance(sample) : 0;
    const counts = new Float64Array(k);
    const bsum = new Float64Array(k * d);
    const bcount = new Float64Array(k);
    const batch = new Int32Array(Math.min(batchSize, n));
    const batchLabel = new Int32Array(batch.length);
    const steps = Math.max(1, Math.ceil((maxIter * n) / batch.length));
    let ewa = -1;
    let bestEwa = Infinity;
    let noImprovement = 0;
    let converged = false;
    let step = 0;
    const alpha = Math.min(1, (2 * batch.length) / (n + 1));
    for (step = 0; step < steps; step++) {
      bsum.fill(0);
      bcount.fill(0);
      let batchInertia = 0;
      for (let b = 0; b < batch.length; b++) {
        const i = rng.int(n);
        batch[b] = i;
        batchInertia += nearestCentre(data, i, d, cent, k, batchLabel, b);
        const best = batchLabel[b];
        bcount[best] += 1;
        const xo = i * d;
        const so = best * d;
        for (let t = 0; t < d; t++) bsum[so + t] += data[xo + t];
      }
      let shiftTotal = 0;
      for (let c = 0; c < k; c++) {
        if (bcount[c] === 0) continue;
        const total = counts[c] + bcount[c];
        const co = c * d;
        for (let t = 0; t < d; t++) {
          const v = (cent[co + t] * counts[c] + bsum[co + t]) / total;
          const diff = v - cent[co + t];
          shiftTotal += diff * diff;
          cent[co + t] = v;
        }
        counts[c] = total;
      }
      const perRow = batchInertia / batch.length;
      ewa = ewa < 0 ? perRow : ewa * (1 - alpha) + perRow * alpha;
      if (ewa < bestEwa) {
        bestEwa = ewa;
        noImprovement = 0;
      } else if (++noImprovement >= maxNoImprovement) {
        converged = true;
        step++;
        break;
      }
      if (tolAbs > 0 && step > 0 && shiftTotal <= tolAbs) {
        converged = true;
        step++;
        break;
      }
    }
    const labels = new Int32Array(n);
    const inertia = assignNearest(x, cent, k, labels);
    this.labels = labels;
    this.state = { d, centroids: toRows(cent, k, d), inertia, iterations: step, converged, tolAbs, restartInertias: inertias };
    return this;
  }

  static fromJSON(json: { kind: string; version: number; params: MiniBatchKMeansParams; state: KMeansState }): MiniBatchKMeans {
    return new MiniBatchKMeans(json.params).restore(json);
  }
}

