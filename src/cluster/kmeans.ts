import { CohortlabError } from '../shared/errors.js';
import { createRng, DEFAULT_SEED, type Rng } from '../shared/rng.js';
import { parallelRunner, wantsThreads } from './parallel.js';
import type { DenseMatrix, JsonObject, KMeansRun } from './types.js';

/**
 * k-means on a row-major Float64Array. Pure: numbers in, numbers out, randomness from a seed.
 *
 * `lloyd` is Lloyd's algorithm with Hamerly's bounds (G. Hamerly, "Making k-means even faster",
 * SDM 2010): per point an upper bound on the distance to its centre and a lower bound on the distance
 * to the second-closest, per centre half the distance to its nearest other centre. A point whose upper
 * bound is below both is skipped without computing any distance; after the first iterations that is
 * almost every point. The bounds only skip work, they never change a result: every iteration gives
 * the assignment of plain Lloyd, which is what `ml-kmeans` (the reference) computes; a test proves
 * identical assignments and centroids from the same initial centroids.
 *
 * One iteration = assign every point to its nearest centre, then move each centre to the mean of its
 * points (an empty cluster keeps its centre, as ml-kmeans does). It stops when no assignment changed
 * (a fixed point) or when the total squared centre shift is <= tol x mean feature variance (sklearn's
 * tolerance), or after `maxIter` iterations. The returned labels are then recomputed against the final
 * centres (sklearn's final E-step), so labels, centroids and inertia agree.
 */
export interface LloydOptions {
  maxIter: number;
  /** Relative tolerance (sklearn): stop when the summed squared centre shift <= tol x mean column variance. */
  tol: number;
  /**
   * Which bounds skip distance computations: 'elkan' keeps one lower bound per point and centre (n x k
   * doubles; best when clusters overlap), 'hamerly' one per point. 'auto' (default): elkan while the
   * n x k bounds take at most 512 MB. Both give the same labels.
   */
  bounds?: 'auto' | 'elkan' | 'hamerly';
  /**
   * Threads for the Elkan passes: 1 = this thread only; 2+ = rows split with worker threads (parallel.ts).
   * Default: 2 from 200,000 rows when the machine has 2+ cores. Labels and inertia do not depend on it.
   */
  threads?: number;
}

function checkMatrix(x: DenseMatrix, where: string): void {
  if (x.data.length !== x.n * x.d) {
    throw new CohortlabError('BAD_ARGUMENT', `${where}: the matrix has ${x.data.length} values but n x d = ${x.n} x ${x.d}; pass a row-major Float64Array of n * d values.`);
  }
  if (x.n === 0 || x.d === 0) throw new CohortlabError('EMPTY_INPUT', `${where}: no rows or no columns to cluster (n = ${x.n}, d = ${x.d}).`);
}

/** Mean of the per-column variances (population), the scale sklearn multiplies `tol` by. */
export function meanColumnVariance(x: DenseMatrix): number {
  const { data, n, d } = x;
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) mean[j] += data[o + j];
  }
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) {
      const v = data[o + j] - mean[j];
      sq[j] += v * v;
    }
  }
  let s = 0;
  for (let j = 0; j < d; j++) s += sq[j] / n;
  return s / d;
}

/** Squared distance between row i of `data` and row c of `cent`. */
function sqDist(data: Float64Array, i: number, cent: Float64Array, c: number, d: number): number {
  let s = 0;
  const xo = i * d;
  const co = c * d;
  for (let t = 0; t < d; t++) {
    const v = data[xo + t] - cent[co + t];
    s += v * v;
  }
  return s;
}

/** Nearest centre of every row (first centre wins a tie), written into `labels`; returns the inertia. */
export function assignNearest(x: DenseMatrix, centroids: Float64Array, k: number, labels: Int32Array): number {
  const { data, n, d } = x;
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      const dist = sqDist(data, i, centroids, c, d);
      if (dist < bestD) {
        bestD = dist;
        best = c;
      }
    }
    labels[i] = best;
    inertia += bestD;
  }
  return inertia;
}

/** Sum of squared distances of each row to the centre of its label. */
export function inertiaOf(x: DenseMatrix, centroids: Float64Array, labels: Int32Array): number {
  let s = 0;
  for (let i = 0; i < x.n; i++) s += sqDist(x.data, i, centroids, labels[i], x.d);
  return s;
}

/** Lloyd iterations with Hamerly bounds from the given initial centroids (k x d, not modified). */
export function lloyd(x: DenseMatrix, initCentroids: Float64Array, k: number, opts: LloydOptions): KMeansRun {
  checkMatrix(x, 'k-means');
  const { data, n, d } = x;
  if (initCentroids.length !== k * d) {
    throw new CohortlabError('BAD_ARGUMENT', `k-means: ${initCentroids.length} initial centroid values for k = ${k} and d = ${d}; expected k * d = ${k * d}.`);
  }
  if (k < 1 || k > n) throw new CohortlabError('BAD_ARGUMENT', `k-means: k = ${k} must be between 1 and the number of rows (${n}).`);
  const tolAbs = opts.tol > 0 ? opts.tol * meanColumnVariance(x) : 0;
  const mode = opts.bounds ?? 'auto';
  const elkan = mode === 'elkan' || (mode === 'auto' && n * k * 8 <= 512 * 2 ** 20);
  // arrays a worker thread also writes live in shared memory when the pass is split (parallel.ts)
  const shared = elkan && wantsThreads(n, opts.threads);
  const f64 = (len: number) => (shared ? new Float64Array(new SharedArrayBuffer(len * 8)) : new Float64Array(len));
  const cent = f64(k * d);
  cent.set(initCentroids);
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  const labels = shared ? new Int32Array(new SharedArrayBuffer(n * 4)) : new Int32Array(n);
  const upper = f64(n);
  // Hamerly: lower[i] bounds the distance to the second-closest centre; Elkan: lower[i * k + c] to centre c
  const lower = f64(elkan ? n * k : n);
  const shift = new Float64Array(k);
  const cum = f64(k); // Elkan: every centre's total shift so far (bounds are stored against it)
  const second = f64(elkan ? n : 0); // Elkan: bound on the second-closest centre + cumMax
  let cumMax = 0; // running sum of the largest shift of each iteration
  const half = f64(k);
  const halfCC = f64(k * k);
  let emptyClusters = 0;

  // Iteration 1, assignment. Hamerly: full scan, both bounds exact. Elkan: see elkanFirstPass.
  const pool = elkan ? parallelRunner(x, k, opts.threads, { labels, upper, lower, second, cent, cum, half, halfCC }) : undefined;
  if (elkan) {
    centreHalfDistances(cent, k, d, half, halfCC);
    if (pool) pool.run(1, 0, (r0, r1) => (elkanFirstPass(data, d, k, cent, labels, upper, lower, second, halfCC, sums, counts, r0, r1), 0), sums, counts);
    else elkanFirstPass(data, d, k, cent, labels, upper, lower, second, halfCC, sums, counts, 0, n);
  } else {
    for (let i = 0; i < n; i++) {
      let a = 0;
      let b1 = Infinity;
      let b2 = Infinity;
      for (let c = 0; c < k; c++) {
        const dist = sqDist(data, i, cent, c, d);
        if (dist < b1) {
          b2 = b1;
          b1 = dist;
          a = c;
        } else if (dist < b2) b2 = dist;
      }
      upper[i] = Math.sqrt(b1);
      lower[i] = Math.sqrt(b2);
      labels[i] = a;
      counts[a] += 1;
      const xo = i * d;
      const so = a * d;
      for (let t = 0; t < d; t++) sums[so + t] += data[xo + t];
    }
  }

  let iterations = 0;
  let converged = false;
  let changed = n;
  for (;;) {
    iterations++;
    // Update step: centres to the means of their points; an empty cluster keeps its centre.
    let shiftTotal = 0;
    let iterMax = 0;
    for (let c = 0; c < k; c++) {
      const co = c * d;
      const m = counts[c];
      let s = 0;
      if (m > 0) {
        for (let t = 0; t < d; t++) {
          const v = sums[co + t] / m;
          const diff = v - cent[co + t];
          s += diff * diff;
          cent[co + t] = v;
        }
      } else emptyClusters++;
      shiftTotal += s;
      shift[c] = Math.sqrt(s);
      cum[c] += shift[c];
      if (shift[c] > iterMax) iterMax = shift[c];
    }
    cumMax += iterMax;
    if (changed === 0) {
      converged = true; // a fixed point: the centres did not move, labels agree with them
      break;
    }
    const last = shiftTotal <= tolAbs || iterations >= opts.maxIter;
    if (shiftTotal <= tolAbs) converged = true;
    // Next assignment (or, after the last update, sklearn's final E-step without a centre update).
    if (elkan) {
      centreHalfDistances(cent, k, d, half, halfCC);
      changed = pool
        ? pool.run(last ? 3 : 2, cumMax, (r0, r1) => elkanAssign(data, d, k, cent, labels, upper, lower, cum, second, cumMax, half, halfCC, sums, counts, !last, r0, r1), sums, counts)
        : elkanAssign(data, d, k, cent, labels, upper, lower, cum, second, cumMax, half, halfCC, sums, counts, !last, 0, n);
    } else changed = boundedAssign(data, n, d, k, cent, labels, upper, lower, shift, half, halfCC, sums, counts, !last);
    // an emptied cluster must read exactly 0, not the rounding left by the incremental updates
    if (!last) for (let c = 0; c < k; c++) if (counts[c] === 0) sums.fill(0, c * d, c * d + d);
    if (last) break;
  }
  pool?.release();
  const inertia = inertiaOf(x, cent, labels);
  return { labels: shared ? Int32Array.from(labels) : labels, centroids: Float64Array.from(cent), inertia, iterations, converged, tolAbs, emptyClusters };
}

/**
 * One assignment pass with Hamerly bounds after the centres moved by `shift`. A point is skipped when its
 * upper bound is below max(half distance from its centre to the nearest other, its lower bound); else
 * the upper bound is tightened, and only then are the other centres scanned, skipping (Elkan's
 * inter-centre test) every centre c with d(a, c) / 2 >= d(x, a), which cannot be nearer. Distances that
 * are computed are the same sums as plain Lloyd's, in the same centre order, so the labels are Lloyd's.
 * With `updateSums`, cluster sums and counts follow the points that move. Returns how many moved.
 */
function boundedAssign(
  data: Float64Array, n: number, d: number, k: number, cent: Float64Array, labels: Int32Array, upper: Float64Array,
  lower: Float64Array, shift: Float64Array, half: Float64Array, halfCC: Float64Array, sums: Float64Array,
  counts: Float64Array, updateSums: boolean,
): number {
  let maxShift = 0;
  let maxShiftAt = -1;
  let secondShift = 0;
  for (let c = 0; c < k; c++) {
    const p = shift[c];
    if (p > maxShift) {
      secondShift = maxShift;
      maxShift = p;
      maxShiftAt = c;
    } else if (p > secondShift) secondShift = p;
  }
  centreHalfDistances(cent, k, d, half, halfCC);
  let changed = 0;
  for (let i = 0; i < n; i++) {
    const a = labels[i];
    const u = upper[i] + shift[a];
    const l = lower[i] - (a === maxShiftAt ? secondShift : maxShift);
    const bound = half[a] > l ? half[a] : l;
    if (u <= bound) {
      upper[i] = u;
      lower[i] = l;
      continue;
    }
    const dA = sqDist(data, i, cent, a, d);
    const uTight = Math.sqrt(dA);
    if (uTight <= bound) {
      upper[i] = uTight;
      lower[i] = l;
      continue;
    }
    // Scan the others in centre order; ties go to the lower index, as in plain Lloyd.
    let best = a;
    let b1 = dA;
    let l2 = Infinity; // squared lower bound on the distance to every centre but `best`
    const ao = a * k;
    for (let c = 0; c < k; c++) {
      if (c === a) continue;
      const h = halfCC[ao + c];
      if (h >= uTight) {
        const lb = 2 * h - uTight; // d(x, c) >= d(a, c) - d(x, a) >= uTight
        if (lb * lb < l2) l2 = lb * lb;
        continue;
      }
      const dist = sqDist(data, i, cent, c, d);
      if (dist < b1 || (dist === b1 && c < best)) {
        if (b1 < l2) l2 = b1;
        b1 = dist;
        best = c;
      } else if (dist < l2) l2 = dist;
    }
    upper[i] = Math.sqrt(b1);
    lower[i] = Math.sqrt(l2);
    if (best !== a) {
      changed++;
      labels[i] = best;
      if (updateSums) {
        counts[a] -= 1;
        counts[best] += 1;
        const xo = i * d;
        const so = a * d;
        const bo = best * d;
        for (let t = 0; t < d; t++) {
          const v = data[xo + t];
          sums[so + t] -= v;
          sums[bo + t] += v;
        }
      }
    }
  }
  return changed;
}

/** halfCC[c * k + c2] = d(c, c2) / 2; half[c] = the smallest of them (the nearest other centre). */
export function centreHalfDistances(cent: Float64Array, k: number, d: number, half: Float64Array, halfCC: Float64Array): void {
  for (let c = 0; c < k; c++) {
    let m = Infinity;
    for (let c2 = 0; c2 < k; c2++) {
      if (c2 === c) continue;
      const h = 0.5 * Math.sqrt(sqDist(cent, c, cent, c2, d));
      halfCC[c * k + c2] = h;
      if (h < m) m = h;
    }
    half[c] = m;
  }
}

/**
 * First assignment with Elkan's initialisation over rows [r0, r1): centres are visited in order and c is
 * skipped when half the gap between the best so far and c is >= the best distance; its lower bound is
 * then 2h - u (d(x, c) >= d(best, c) - d(x, best)). Adds each row to `sums`/`counts` of its cluster.
 */
export function elkanFirstPass(
  data: Float64Array, d: number, k: number, cent: Float64Array, labels: Int32Array, upper: Float64Array,
  lower: Float64Array, second: Float64Array, halfCC: Float64Array, sums: Float64Array, counts: Float64Array, r0: number, r1: number,
): void {
  for (let i = r0; i < r1; i++) {
    const lo = i * k;
    let a = 0;
    let b1 = sqDist(data, i, cent, 0, d);
    let u = Math.sqrt(b1);
    lower[lo] = u;
    for (let c = 1; c < k; c++) {
      const h = halfCC[a * k + c];
      if (h >= u) {
        lower[lo + c] = 2 * h - u;
        continue;
      }
      const dist = sqDist(data, i, cent, c, d);
      const dc = Math.sqrt(dist);
      lower[lo + c] = dc;
      if (dist < b1) {
        a = c;
        b1 = dist;
        u = dc;
      }
    }
    let l2 = Infinity;
    for (let c = 0; c < k; c++) if (c !== a && lower[lo + c] < l2) l2 = lower[lo + c];
    upper[i] = u;
    second[i] = l2;
    labels[i] = a;
    counts[a] += 1;
    const xo = i * d;
    const so = a * d;
    for (let t = 0; t < d; t++) sums[so + t] += data[xo + t];
  }
}

/**
 * One assignment pass with Elkan's bounds (C. Elkan, "Using the triangle inequality to accelerate
 * k-means", ICML 2003): per point an upper bound u on the distance to its centre and a lower bound per
 * centre. Centre c is examined only when u exceeds both its lower bound and half the distance between
 * the current centre and c; the upper bound is made exact at most once per point. Selection compares
 * the same squared sums as plain Lloyd (ties to the lower index), so the labels are Lloyd's.
 *
 * The bounds are stored lazily against `cum`, the running sum of every centre's shifts: `upper[i]` holds
 * u - cum[a] and `lower[i * k + c]` holds l + cum[c], so moving the centres costs nothing per point and a
 * point that passes the first test (u <= half the distance to the nearest other centre) reads two
 * numbers and writes none. This is what makes a pass over a million users memory-cheap.
 */
export function elkanAssign(
  data: Float64Array, d: number, k: number, cent: Float64Array, labels: Int32Array, upper: Float64Array,
  lower: Float64Array, cum: Float64Array, second: Float64Array, cumMax: number, half: Float64Array, halfCC: Float64Array,
  sums: Float64Array, counts: Float64Array, updateSums: boolean, r0: number, r1: number,
): number {
  let changed = 0;
  for (let i = r0; i < r1; i++) {
    const a0 = labels[i];
    let a = a0;
    let u = upper[i] + cum[a];
    // Hamerly's test first: no other centre is nearer than half the gap to the nearest one, nor than the
    // point's bound on its second-closest centre (which every centre moved away from by at most cumMax)
    if (u <= half[a] || u <= second[i] - cumMax) continue;
    const lo = i * k;
    let tight = false;
    let uSq = 0;
    for (let c = 0; c < k; c++) {
      if (c === a) continue;
      const lc = lower[lo + c] - cum[c];
      if (u <= lc) continue;
      let h = halfCC[a * k + c];
      if (u <= h) {
        // pruned by the centres' gap: d(x, c) >= 2h - d(x, a) >= 2h - u also tightens c's lower bound
        const nb = 2 * h - u;
        if (nb > lc) lower[lo + c] = nb + cum[c];
        continue;
      }
      if (!tight) {
        uSq = sqDist(data, i, cent, a, d);
        u = Math.sqrt(uSq);
        lower[lo + a] = u + cum[a];
        tight = true;
        if (u <= lc) continue;
        h = halfCC[a * k + c];
        if (u <= h) {
          const nb = 2 * h - u;
          if (nb > lc) lower[lo + c] = nb + cum[c];
          continue;
        }
      }
      const dist = sqDist(data, i, cent, c, d);
      const dc = Math.sqrt(dist);
      lower[lo + c] = dc + cum[c];
      if (dist < uSq || (dist === uSq && c < a)) {
        a = c;
        u = dc;
        uSq = dist;
      }
    }
    if (tight) upper[i] = u - cum[a];
    let l2 = Infinity;
    for (let c = 0; c < k; c++) {
      if (c === a) continue;
      const l = lower[lo + c] - cum[c];
      if (l < l2) l2 = l;
    }
    second[i] = l2 + cumMax;
    if (a !== a0) {
      changed++;
      labels[i] = a;
      if (updateSums) {
        counts[a0] -= 1;
        counts[a] += 1;
        const xo = i * d;
        const so = a0 * d;
        const bo = a * d;
        for (let t = 0; t < d; t++) {
          const v = data[xo + t];
          sums[so + t] -= v;
          sums[bo + t] += v;
        }
      }
    }
  }
  return changed;
}

/**
 * Greedy k-means++ (Arthur & Vassilvitskii 2007, with sklearn's 2 + ln k candidates per step): the first
 * centre is a uniformly drawn row, each next one the best of several rows drawn with probability
 * proportional to the squared distance to the nearest centre so far.
 */
export function kmeansPlusPlus(x: DenseMatrix, k: number, rng: Rng, localTrials = 2 + Math.floor(Math.log(k))): Float64Array {
  checkMatrix(x, 'k-means++');
  const { data, n, d } = x;
  if (k < 1 || k > n) throw new CohortlabError('BAD_ARGUMENT', `k-means++: k = ${k} must be between 1 and the number of rows (${n}).`);
  const cent = new Float64Array(k * d);
  const closest = new Float64Array(n);
  const cand = new Float64Array(n);
  const bestCand = new Float64Array(n);
  const cum = new Float64Array(n);
  const first = rng.int(n);
  cent.set(data.subarray(first * d, first * d + d), 0);
  let pot = 0;
  for (let i = 0; i < n; i++) {
    closest[i] = sqDist(data, i, cent, 0, d);
    pot += closest[i];
  }
  for (let c = 1; c < k; c++) {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += closest[i];
      cum[i] = acc;
    }
    let bestPot = Infinity;
    let bestRow = -1;
    for (let t = 0; t < localTrials; t++) {
      let row: number;
      if (acc > 0) {
        const r = rng.next() * acc;
        let lo = 0;
        let hi = n - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cum[mid] <= r) lo = mid + 1;
          else hi = mid;
        }
        row = lo;
      } else row = rng.int(n); // all rows coincide with chosen centres: any row will do
      let p = 0;
      for (let i = 0; i < n; i++) {
        const dist = sqDist(data, i, data, row, d);
        const m = dist < closest[i] ? dist : closest[i];
        cand[i] = m;
        p += m;
      }
      if (p < bestPot) {
        bestPot = p;
        bestRow = row;
        bestCand.set(cand);
      }
    }
    cent.set(data.subarray(bestRow * d, bestRow * d + d), c * d);
    closest.set(bestCand);
    pot = bestPot;
  }
  void pot;
  return cent;
}

// ---------------------------------------------------------------------------------------------------
// Estimators (STYLE.md contract: params kept as given, fit validates and replaces state, toJSON/fromJSON)

export interface KMeansParams {
  k: number;
  /** Restarts from different k-means++ seeds; the lowest inertia wins. */
  nInit: number;
  maxIter: number;
  tol: number;
  seed: number;
}

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

function notFitted(kind: string): never {
  throw new CohortlabError('NOT_FITTED', `${kind}: predict was called before fit; call fit(x) first or load a fitted model with fromJSON.`);
}

function checkWidth(kind: string, x: DenseMatrix, d: number): void {
  if (x.d !== d) throw new CohortlabError('BAD_ARGUMENT', `${kind}: the model was fitted on ${d} features but got rows of ${x.d}; pass the same features in the same order.`);
}

export class KMeans {
  readonly params: KMeansParams;
  state: KMeansState | undefined;
  /** Labels of the training rows from the last fit (not serialised). */
  labels: Int32Array | undefined;

  constructor(params: Partial<KMeansParams> = {}) {
    this.params = { ...DEFAULT_KMEANS_PARAMS, ...params };
  }

  fit(x: DenseMatrix, opts: { init?: Float64Array } = {}): this {
    checkParams('KMeans', this.params);
    checkMatrix(x, 'KMeans.fit');
    const { k, nInit, maxIter, tol, seed } = this.params;
    if (k > x.n) throw new CohortlabError('BAD_ARGUMENT', `KMeans: k = ${k} is more than the ${x.n} rows to cluster; lower --k.`);
    const rng = createRng(seed);
    let best: KMeansRun | undefined;
    const inertias: number[] = [];
    const runs = opts.init ? 1 : nInit;
    for (let r = 0; r < runs; r++) {
      const init = opts.init ?? kmeansPlusPlus(x, k, rng.fork());
      const run = lloyd(x, init, k, { maxIter, tol });
      inertias.push(run.inertia);
      if (!best || run.inertia < best.inertia) best = run;
    }
    const b = best as KMeansRun;
    this.labels = b.labels;
    this.state = { d: x.d, centroids: toRows(b.centroids, k, x.d), inertia: b.inertia, iterations: b.iterations, converged: b.converged, tolAbs: b.tolAbs, restartInertias: inertias };
    return this;
  }

  centroidArray(): Float64Array {
    return this.state ? fromRows(this.state.centroids) : notFitted('KMeans');
  }

  predict(x: DenseMatrix): Int32Array {
    const s = this.state ?? notFitted('KMeans');
    checkWidth('KMeans', x, s.d);
    const labels = new Int32Array(x.n);
    assignNearest(x, fromRows(s.centroids), s.centroids.length, labels);
    return labels;
  }

  toJSON(): { kind: 'kmeans'; version: 1; params: KMeansParams; state: KMeansState } {
    return { kind: 'kmeans', version: 1, params: this.params, state: this.state ?? notFitted('KMeans') };
  }

  static fromJSON(json: { kind: string; version: number; params: KMeansParams; state: KMeansState }): KMeans {
    if (json.kind !== 'kmeans' || json.version !== 1) throw new CohortlabError('MODEL_INCOMPATIBLE', `expected a kmeans model of version 1, got kind "${json.kind}" version ${json.version}.`);
    const m = new KMeans(json.params);
    m.state = json.state;
    return m;
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
export class MiniBatchKMeans {
  readonly params: MiniBatchKMeansParams;
  state: KMeansState | undefined;
  labels: Int32Array | undefined;

  constructor(params: Partial<MiniBatchKMeansParams> = {}) {
    this.params = { ...DEFAULT_MINIBATCH_PARAMS, ...params };
  }

  fit(x: DenseMatrix): this {
    checkParams('MiniBatchKMeans', this.params);
    checkMatrix(x, 'MiniBatchKMeans.fit');
    const { k, batchSize, maxIter, maxNoImprovement, tol, nInit, seed } = this.params;
    const { data, n, d } = x;
    if (k > n) throw new CohortlabError('BAD_ARGUMENT', `MiniBatchKMeans: k = ${k} is more than the ${n} rows to cluster; lower --k.`);
    const rng = createRng(seed);
    // Initialisation: best of nInit k-means++ runs on one sample of 3 batches (at least k rows).
    const sampleSize = Math.min(n, Math.max(3 * batchSize, k));
    const sample = sampleRows(x, sampleSize, rng.fork());
    let cent = new Float64Array(0);
    let bestInit = Infinity;
    const sampleLabels = new Int32Array(sample.n);
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
        let best = 0;
        let bestD = Infinity;
        for (let c = 0; c < k; c++) {
          const dist = sqDist(data, i, cent, c, d);
          if (dist < bestD) {
            bestD = dist;
            best = c;
          }
        }
        batchInertia += bestD;
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

  predict(x: DenseMatrix): Int32Array {
    const s = this.state ?? notFitted('MiniBatchKMeans');
    checkWidth('MiniBatchKMeans', x, s.d);
    const labels = new Int32Array(x.n);
    assignNearest(x, fromRows(s.centroids), s.centroids.length, labels);
    return labels;
  }

  toJSON(): { kind: 'minibatch-kmeans'; version: 1; params: MiniBatchKMeansParams; state: KMeansState } {
    return { kind: 'minibatch-kmeans', version: 1, params: this.params, state: this.state ?? notFitted('MiniBatchKMeans') };
  }

  static fromJSON(json: { kind: string; version: number; params: MiniBatchKMeansParams; state: KMeansState }): MiniBatchKMeans {
    if (json.kind !== 'minibatch-kmeans' || json.version !== 1) throw new CohortlabError('MODEL_INCOMPATIBLE', `expected a minibatch-kmeans model of version 1, got kind "${json.kind}" version ${json.version}.`);
    const m = new MiniBatchKMeans(json.params);
    m.state = json.state;
    return m;
  }
}

/** `size` distinct rows drawn without replacement (partial Fisher-Yates), copied into a new matrix, plus their indices. */
export function sampleRows(x: DenseMatrix, size: number, rng: Rng): DenseMatrix & { rows: Uint32Array } {
  const { data, n, d } = x;
  const m = Math.min(size, n);
  const rows = new Uint32Array(m);
  if (m === n) {
    for (let i = 0; i < n; i++) rows[i] = i;
  } else {
    const perm = new Uint32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    for (let i = 0; i < m; i++) {
      const j = i + rng.int(n - i);
      const t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
      rows[i] = perm[i];
    }
  }
  const out = new Float64Array(m * d);
  for (let r = 0; r < m; r++) out.set(data.subarray(rows[r] * d, rows[r] * d + d), r * d);
  return { data: out, n: m, d, rows };
}
