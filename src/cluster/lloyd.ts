import { CohortlabError } from '../shared/errors.js';
import type { DenseMatrix } from '../shared/matrix.js';
import {
  addChunks, boundedAssign, centreHalfDistances, checkKMeansInput, chunkCount, chunkedInertia, elkanChunkRows, meanColumnVariance, sqDist, type PassCommand, type PassState,
} from './kmeans-kernels.js';
import { chunkRunner, transposeCentres, wasmMeanColumnVariance, wasmPassState, type KMeansWasm } from './kmeans-wasm.js';
import type { KMeansKernel, KMeansRun } from './types.js';

/**
 * Lloyd iterations on a row-major Float64Array. Pure: numbers in, numbers out; the inner loops are in
 * kmeans-kernels.ts (JavaScript) and in the WebAssembly SIMD kernel (kmeans-wasm.ts, src/cluster/wasm/).
 * Worker threads and the .wasm file are not pulled in here: a caller that wants the passes in WebAssembly
 * and split over threads passes a `KMeansWorkers` (parallel.ts provides one, `workerThreads`). Both
 * kernels give the same bits (tested).
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
   * Threads for the Elkan passes when `workers` is given: 1 = this thread only; 2+ = rows split over
   * worker threads. Default: 2 from MIN_ROWS_FOR_THREADS rows when the machine has 2+ cores. Labels,
   * centroids and inertia do not depend on it (the same bits: chunk sums are added in chunk order).
   */
  threads?: number;
  /** The thread pool and the WebAssembly kernel (parallel.ts `workerThreads`); without it every pass runs on this thread, in JavaScript. */
  workers?: KMeansWorkers;
  /**
   * 'auto' (default): the WebAssembly SIMD kernel (kmeans-wasm.ts) when `workers` provides it and `bounds`
   * is 'auto', else the JavaScript kernel with `bounds`; 'js': the JavaScript kernel. Every kernel gives
   * the same bits (tested); the run says which ran (`KMeansRun.kernel`).
   */
  kernel?: 'auto' | 'js';
}

/**
 * From this many rows the default is to split the Elkan passes over 2 threads (and scale.ts puts the
 * matrix in shared memory). Measured with a warm pool (bench/cluster.js): 2 threads 1.5x faster than 1 at
 * 10,000 rows x 20, 1.8x at 100,000, when the second core is free.
 */
export const MIN_ROWS_FOR_THREADS = 10_000;

/** The k-means state the worker threads read and write (every array in a SharedArrayBuffer). */
export type SharedKMeansState = PassState;

export interface ParallelRunner {
  /**
   * One pass over every chunk of `st` (kmeans-wasm.ts `chunkRunner`: the WebAssembly kernel or
   * kmeans-kernels.ts `elkanChunk`; command 1 = first
   * assignment, 2 = assignment updating sums, 3 = assignment without sums, the final E-step; 4 = inertia). This
   * thread and the workers claim chunks from a shared counter until none is left, so a thread slowed
   * by other work on the machine takes fewer chunks. Returns when every chunk is done.
   */
  run(cmd: PassCommand): number;
  release(): void;
}

/** A thread pool for the chunked passes and the WebAssembly kernel, passed in by the caller (parallel.ts implements it). */
export interface KMeansWorkers {
  /** The WebAssembly SIMD kernel (kmeans-wasm.ts), or undefined when it cannot run here (the JavaScript kernel runs instead). */
  wasm(): KMeansWasm | undefined;
  /** Whether `rows` rows with the requested `threads` would be split (so the state must be shared). */
  wants(rows: number, threads?: number): boolean;
  /** A runner over `st` (its arrays in shared memory), or undefined when this fit runs on one thread. */
  runner(st: SharedKMeansState, threads: number | undefined): ParallelRunner | undefined;
}

/** Lloyd iterations with Hamerly bounds from the given initial centroids (k x d, not modified). */
export function lloyd(x: DenseMatrix, initCentroids: Float64Array, k: number, opts: LloydOptions): KMeansRun {
  checkKMeansInput(x, k, 'k-means');
  const { data, rows: n, cols: d } = x;
  if (initCentroids.length !== k * d) {
    throw new CohortlabError('BAD_ARGUMENT', `k-means: ${initCentroids.length} initial centroid values for k = ${k} and d = ${d}; expected k * d = ${k * d}.`);
  }
  const mode = opts.bounds ?? 'auto';
  const chunkRows = elkanChunkRows(n);
  const chunks = Math.ceil(n / chunkRows);
  // the WebAssembly kernel when the caller provides it
  const wasm = mode === 'auto' && opts.kernel !== 'js' ? opts.workers?.wasm() : undefined;
  // without a memory for this fit (over 4 GiB, or none to be had) the JavaScript kernel runs, and the run says so
  let st: PassState | undefined = wasm ? wasmPassState(wasm, x, k, chunkRows) : undefined;
  const kernel: KMeansKernel = st ? 'wasm-simd' : mode === 'elkan' || (mode === 'auto' && n * k * 8 <= 512 * 2 ** 20) ? 'js-elkan' : 'js-hamerly';
  const tolAbs = opts.tol > 0 ? opts.tol * (st ? wasmMeanColumnVariance(st) : meanColumnVariance(x)) : 0;
  // arrays a worker thread also reads or writes live in shared memory when the pass is split (parallel.ts);
  // the WebAssembly kernel's memory is shared anyway
  const split = kernel !== 'js-hamerly' && opts.workers !== undefined && opts.workers.wants(n, opts.threads);
  if (kernel === 'js-elkan') {
    const f64 = (len: number) => (split ? new Float64Array(new SharedArrayBuffer(len * 8)) : new Float64Array(len));
    const i32 = (len: number) => (split ? new Int32Array(new SharedArrayBuffer(len * 4)) : new Int32Array(len));
    let shData = data;
    if (split && !(data.buffer instanceof SharedArrayBuffer)) {
      shData = new Float64Array(new SharedArrayBuffer(data.length * 8));
      shData.set(data);
    }
    st = {
      data: shData, n, d, k, labels: i32(n), upper: f64(n), lower: f64(n * k), second: f64(n), cent: f64(k * d), cum: f64(k), cumOther: f64(k), half: f64(k), halfCC: f64(k * k),
      chunkRows, chunkSums: f64(chunks * k * d), chunkCounts: f64(chunks * k), chunkChanged: i32(chunks), chunkInertia: f64(chunks),
    };
  }
  const cent = st ? st.cent : new Float64Array(k * d);
  cent.set(initCentroids);
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  const labels = st ? st.labels : new Int32Array(n);
  const upper = st ? st.upper : new Float64Array(n);
  // Hamerly: lower[i] bounds the distance to the second-closest centre (the chunked kernels keep theirs in st)
  const lower = st ? st.lower : new Float64Array(n);
  const shift = new Float64Array(k);
  const cum = st ? st.cum : new Float64Array(k); // chunked: every centre's total shift so far (bounds are stored against it)
  const cumOther = st ? st.cumOther : new Float64Array(k); // chunked: per centre a, running sum of the largest shift of a centre other than a
  const half = st ? st.half : new Float64Array(k);
  const halfCC = st ? st.halfCC : new Float64Array(k * k);
  let emptyClusters = 0;

  const pool: ParallelRunner | undefined = st && split ? opts.workers?.runner(st, opts.threads) : undefined;
  const runChunk = st && !pool ? chunkRunner(st) : undefined;
  let threads = 1;
  /** One chunked pass over every chunk (on the pool when there is one); cluster sums and counts follow. */
  const elkanPass = (s: PassState, cmd: 1 | 2 | 3): number => {
    if (s.wasm) transposeCentres(cent, k, d, s.wasm.centT);
    if (pool) threads = pool.run(cmd);
    else if (runChunk) for (let j = 0, m = chunkCount(s); j < m; j++) runChunk(cmd, j);
    return addChunks(s, sums, counts);
  };

  // Iteration 1, assignment. Hamerly: full scan, both bounds exact. Elkan: see elkanFirstPass.
  if (st) {
    centreHalfDistances(cent, k, d, half, halfCC);
    elkanPass(st, 1);
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
    let iterMaxAt = -1;
    let iterSecond = 0;
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
      if (shift[c] > iterMax) {
        iterSecond = iterMax;
        iterMax = shift[c];
        iterMaxAt = c;
      } else if (shift[c] > iterSecond) iterSecond = shift[c];
    }
    for (let c = 0; c < k; c++) cumOther[c] += c === iterMaxAt ? iterSecond : iterMax;
    if (changed === 0) {
      converged = true; // a fixed point: the centres did not move, labels agree with them
      break;
    }
    const last = shiftTotal <= tolAbs || iterations >= opts.maxIter;
    if (shiftTotal <= tolAbs) converged = true;
    // Next assignment (or, after the last update, sklearn's final E-step without a centre update).
    if (st) {
      centreHalfDistances(cent, k, d, half, halfCC);
      changed = elkanPass(st, last ? 3 : 2);
    } else changed = boundedAssign(data, n, d, k, cent, labels, upper, lower, shift, half, halfCC, sums, counts, !last);
    // an emptied cluster must read exactly 0, not the rounding left by the incremental updates
    if (!last) for (let c = 0; c < k; c++) if (counts[c] === 0) sums.fill(0, c * d, c * d + d);
    if (last) break;
  }
  let inertia = 0;
  if (st) {
    // chunk by chunk on the threads, added in chunk order: chunkedInertia's bits
    if (pool) pool.run(4);
    else if (runChunk) for (let j = 0; j < chunks; j++) runChunk(4, j);
    for (let j = 0; j < chunks; j++) inertia += st.chunkInertia[j];
  } else inertia = chunkedInertia(x, cent, labels, chunkRows);
  pool?.release();
  // copied out of shared (or WebAssembly) memory, so that the fit's memory can go
  return { labels: split || kernel === 'wasm-simd' ? Int32Array.from(labels) : labels, centroids: Float64Array.from(cent), inertia, iterations, converged, tolAbs, emptyClusters, threads, kernel };
}
