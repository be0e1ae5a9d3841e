/**
 * The inner loops of k-means (pure: typed arrays in, typed arrays out; no threads, no randomness).
 * `lloyd.ts` drives them; the worker threads of `parallel.ts` run `elkanFirstPass` and `elkanAssign`
 * over their row ranges. Every distance is the same squared sum, in the same centre order, as plain
 * Lloyd's, so the bounds only skip work and never change a label.
 */
import { CohortlabError } from '../shared/errors.js';
import { checkMatrix, type DenseMatrix } from '../shared/matrix.js';
import type { WasmPass } from './kmeans-wasm.js';

/** Shape check shared by the k-means entry points: a row-major Float64 matrix with rows and columns. */
export function checkKMeansInput(x: DenseMatrix, k: number, where: string): void {
  checkMatrix(x, where);
  if (!Number.isInteger(k) || k < 1 || k > x.rows) throw new CohortlabError('BAD_ARGUMENT', `${where}: k = ${k} must be between 1 and the number of rows (${x.rows}).`);
}

/** Mean of the per-column variances (population), the scale sklearn multiplies `tol` by. */
export function meanColumnVariance(x: DenseMatrix): number {
  const { data, rows: n, cols: d } = x;
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
export function sqDist(data: Float64Array, i: number, cent: Float64Array, c: number, d: number): number {
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
  const { data, rows: n, cols: d } = x;
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += nearestCentre(data, i, d, centroids, k, labels, i);
  return inertia;
}

/** Nearest of the k centres to row i (first wins a tie), written to labels[at]; returns its squared distance. */
export function nearestCentre(data: Float64Array, i: number, d: number, centroids: Float64Array, k: number, labels: Int32Array, at: number): number {
  let best = 0;
  let bestD = Infinity;
  for (let c = 0; c < k; c++) {
    const dist = sqDist(data, i, centroids, c, d);
    if (dist < bestD) {
      bestD = dist;
      best = c;
    }
  }
  labels[at] = best;
  return bestD;
}

/** Row i leaves cluster `from` for cluster `to`: the running cluster sums and counts follow it. */
export function moveRow(data: Float64Array, i: number, d: number, from: number, to: number, sums: Float64Array, counts: Float64Array): void {
  counts[from] -= 1;
  counts[to] += 1;
  const xo = i * d;
  const so = from * d;
  const bo = to * d;
  for (let t = 0; t < d; t++) {
    const v = data[xo + t];
    sums[so + t] -= v;
    sums[bo + t] += v;
  }
}

/** Sum of squared distances of rows [r0, r1) to the centres of their labels, in row order. */
export function inertiaOf(data: Float64Array, d: number, centroids: Float64Array, labels: Int32Array, r0: number, r1: number): number {
  let s = 0;
  for (let i = r0; i < r1; i++) s += sqDist(data, i, centroids, labels[i], d);
  return s;
}

/**
 * The inertia of a fit as every kernel computes it: per chunk of `chunkRows` rows (`elkanChunkRows`) the
 * rows' squared distances in row order, then the chunks' sums in chunk order. So the threads can share
 * the chunks and the result is the same bits on any thread count and in JavaScript or WebAssembly.
 */
export function chunkedInertia(x: DenseMatrix, centroids: Float64Array, labels: Int32Array, chunkRows: number): number {
  let s = 0;
  for (let r0 = 0; r0 < x.rows; r0 += chunkRows) s += inertiaOf(x.data, x.cols, centroids, labels, r0, Math.min(x.rows, r0 + chunkRows));
  return s;
}


/**
 * One assignment pass with Hamerly bounds after the centres moved by `shift`. A point is skipped when its
 * upper bound is below max(half distance from its centre to the nearest other, its lower bound); else
 * the upper bound is tightened, and only then are the other centres scanned, skipping (Elkan's
 * inter-centre test) every centre c with d(a, c) / 2 >= d(x, a), which cannot be nearer. Distances that
 * are computed are the same sums as plain Lloyd's, in the same centre order, so the labels are Lloyd's.
 * With `updateSums`, cluster sums and counts follow the points that move. Returns how many moved.
 */
export function boundedAssign(
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
      if (updateSums) moveRow(data, i, d, a, best, sums, counts);
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
 * Squared distances from row `xo / d` of `data` to the centres listed in `cand[0..m)`, into `out[0..m)`.
 * Four centres at a time in one sweep over the row: four independent sums, so the additions of one do
 * not wait for the other's (one sum is a chain of d dependent additions). Each sum adds the same terms
 * in the same order as `sqDist`, so every distance is the same bits as plain Lloyd's.
 */
export function candidateDistances(data: Float64Array, xo: number, d: number, cent: Float64Array, cand: Int32Array, m: number, out: Float64Array): void {
  let q = 0;
  for (; q + 4 <= m; q += 4) {
    const o0 = cand[q] * d;
    const o1 = cand[q + 1] * d;
    const o2 = cand[q + 2] * d;
    const o3 = cand[q + 3] * d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let t = 0; t < d; t++) {
      const x = data[xo + t];
      const v0 = x - cent[o0 + t];
      const v1 = x - cent[o1 + t];
      const v2 = x - cent[o2 + t];
      const v3 = x - cent[o3 + t];
      s0 += v0 * v0;
      s1 += v1 * v1;
      s2 += v2 * v2;
      s3 += v3 * v3;
    }
    out[q] = s0;
    out[q + 1] = s1;
    out[q + 2] = s2;
    out[q + 3] = s3;
  }
  if (q + 2 <= m) {
    const o0 = cand[q] * d;
    const o1 = cand[q + 1] * d;
    let s0 = 0;
    let s1 = 0;
    for (let t = 0; t < d; t++) {
      const x = data[xo + t];
      const v0 = x - cent[o0 + t];
      const v1 = x - cent[o1 + t];
      s0 += v0 * v0;
      s1 += v1 * v1;
    }
    out[q] = s0;
    out[q + 1] = s1;
    q += 2;
  }
  if (q < m) {
    const o0 = cand[q] * d;
    let s0 = 0;
    for (let t = 0; t < d; t++) {
      const v0 = data[xo + t] - cent[o0 + t];
      s0 += v0 * v0;
    }
    out[q] = s0;
  }
}

/**
 * First assignment over rows [r0, r1): every distance, four centres at a time (`candidateDistances`),
 * so every lower bound starts exact; the nearest centre wins, the first on a tie (plain Lloyd). Adds
 * each row to `sums`/`counts` of its cluster.
 */
export function elkanFirstPass(
  data: Float64Array, d: number, k: number, cent: Float64Array, labels: Int32Array, upper: Float64Array,
  lower: Float64Array, second: Float64Array, sums: Float64Array, counts: Float64Array, r0: number, r1: number,
): void {
  const all = Int32Array.from({ length: k }, (_, c) => c);
  const dist = new Float64Array(k);
  for (let i = r0; i < r1; i++) {
    const lo = i * k;
    const xo = i * d;
    candidateDistances(data, xo, d, cent, all, k, dist);
    let a = 0;
    let b1 = dist[0];
    for (let c = 1; c < k; c++) {
      if (dist[c] < b1) {
        a = c;
        b1 = dist[c];
      }
    }
    let l2 = Infinity;
    for (let c = 0; c < k; c++) {
      const dc = Math.sqrt(dist[c]);
      lower[lo + c] = dc;
      if (c !== a && dc < l2) l2 = dc;
    }
    upper[i] = Math.sqrt(b1);
    second[i] = l2;
    labels[i] = a;
    counts[a] += 1;
    const so = a * d;
    for (let t = 0; t < d; t++) sums[so + t] += data[xo + t];
  }
}

/**
 * One assignment pass with Elkan's bounds (C. Elkan, "Using the triangle inequality to accelerate
 * k-means", ICML 2003): per point an upper bound u on the distance to its centre and a lower bound per
 * centre. Centre c is a candidate only when u exceeds both its lower bound and half the distance between
 * the point's centre and c; if any is, the distances to the point's own centre and to the candidates are
 * computed in one sweep over the row, four centres at a time (`candidateDistances`; measured 6-11% less
 * CPU than making u exact first and testing the candidates again). The nearest of the point's centre and
 * the candidates wins, the lowest index on a tie: every centre left out is at least as far as the
 * point's own centre, so the label is plain Lloyd's.
 *
 * The bounds are stored lazily against `cum`, the running sum of every centre's shifts: `upper[i]` holds
 * u - cum[a] and `lower[i * k + c]` holds l + cum[c], so moving the centres costs nothing per point and a
 * point that passes the first test (u <= half the distance to the nearest other centre) reads two
 * numbers and writes none. This is what makes a pass over a million users memory-cheap.
 */
export function elkanAssign(
  data: Float64Array, d: number, k: number, cent: Float64Array, labels: Int32Array, upper: Float64Array,
  lower: Float64Array, cum: Float64Array, second: Float64Array, cumOther: Float64Array, half: Float64Array, halfCC: Float64Array,
  sums: Float64Array, counts: Float64Array, updateSums: boolean, r0: number, r1: number,
): number {
  const cand = new Int32Array(k);
  const dist = new Float64Array(k);
  let changed = 0;
  for (let i = r0; i < r1; i++) {
    const a0 = labels[i];
    const u = upper[i] + cum[a0];
    // Hamerly's test first: no other centre is nearer than half the gap to the nearest one, nor than the
    // point's bound on its second-closest centre (which every other centre moved away from by at most
    // cumOther[a0], the running sum of the largest shift of a centre other than a0)
    if (u <= half[a0] || u <= second[i] - cumOther[a0]) continue;
    const lo = i * k;
    const ao = a0 * k;
    let m = 0;
    for (let c = 0; c < k; c++) {
      if (c === a0) continue;
      const lc = lower[lo + c] - cum[c];
      if (u <= lc) continue;
      const h = halfCC[ao + c];
      if (u <= h) {
        // pruned by the centres' gap: d(x, c) >= 2h - d(x, a) >= 2h - u also tightens c's lower bound
        const nb = 2 * h - u;
        if (nb > lc) lower[lo + c] = nb + cum[c];
        continue;
      }
      cand[m++] = c;
    }
    let a = a0;
    if (m > 0) {
      // the point's own centre (to make u exact) and the candidates in one sweep over the row: with up to
      // three candidates that costs about what the own distance alone would
      cand[m] = a0;
      candidateDistances(data, i * d, d, cent, cand, m + 1, dist);
      let best = dist[m];
      lower[lo + a0] = Math.sqrt(best) + cum[a0];
      for (let q = 0; q < m; q++) {
        const c = cand[q];
        const dc = dist[q];
        lower[lo + c] = Math.sqrt(dc) + cum[c];
        if (dc < best || (dc === best && c < a)) {
          a = c;
          best = dc;
        }
      }
      upper[i] = Math.sqrt(best) - cum[a];
    }
    let l2 = Infinity;
    for (let c = 0; c < k; c++) {
      if (c === a) continue;
      const l = lower[lo + c] - cum[c];
      if (l < l2) l2 = l;
    }
    second[i] = l2 + cumOther[a];
    if (a !== a0) {
      changed++;
      labels[i] = a;
      if (updateSums) moveRow(data, i, d, a0, a, sums, counts);
    }
  }
  return changed;
}

/**
 * Everything a chunked pass reads and writes: the JavaScript Elkan kernel's (`elkanChunk`) or, when
 * `wasm` is set, the WebAssembly SIMD kernel's (kmeans-wasm.ts; every array is then a view of its
 * memory, `lower` is empty: that kernel keeps Hamerly's two bounds per row). When threads split the
 * passes (parallel.ts) every array is in a SharedArrayBuffer. Rows are cut into chunks of `chunkRows` (a
 * function of n only, never of the thread count); each chunk adds the sums and counts of the rows it
 * assigns or moves into its own slot of `chunkSums`/`chunkCounts`, and `addChunks` adds the slots in
 * chunk order. So whichever thread runs a chunk, and however many threads there are, the centroids are
 * the same bits.
 */
export interface PassState {
  data: Float64Array;
  n: number;
  d: number;
  k: number;
  labels: Int32Array;
  /** Per row: distance to its centre minus cum[label]. */
  upper: Float64Array;
  /** Per row and centre: lower bound on the distance plus cum[centre]. */
  lower: Float64Array;
  /** Per row: lower bound on the distance to the second-closest centre plus cumOther[label]. */
  second: Float64Array;
  cent: Float64Array;
  /** Per centre: the sum of its shifts so far. */
  cum: Float64Array;
  /** Per centre a: the sum over iterations of the largest shift of a centre other than a. */
  cumOther: Float64Array;
  half: Float64Array;
  halfCC: Float64Array;
  chunkRows: number;
  /** Per chunk: k x d sums, k counts, rows that changed. */
  chunkSums: Float64Array;
  chunkCounts: Float64Array;
  chunkChanged: Int32Array;
  /** Per chunk: the inertia of its rows (command 4). */
  chunkInertia: Float64Array;
  /** Set when the passes run in the WebAssembly SIMD kernel (kmeans-wasm.ts `wasmPassState`). */
  wasm?: WasmPass;
}

/** Rows per chunk of an Elkan pass: about 64 chunks (so 2+ threads balance), 256 to 8,192 rows each. */
export function elkanChunkRows(n: number): number {
  return Math.max(256, Math.min(8192, Math.ceil(n / 64)));
}

export function chunkCount(st: PassState): number {
  return Math.ceil(st.n / st.chunkRows);
}

/** What a chunked pass does: 1 first assignment, 2 assignment moving rows between cluster sums, 3 assignment only (the final E-step), 4 inertia. */
export type PassCommand = 1 | 2 | 3 | 4;

/**
 * Chunk j of a pass: command 1 = first assignment (elkanFirstPass), 2 = assignment moving rows between
 * cluster sums, 3 = assignment only (the final E-step): writes the chunk's sums, counts and changed rows;
 * 4 = the chunk's inertia into chunkInertia[j] (as `chunkedInertia`).
 */
export function elkanChunk(st: PassState, cmd: PassCommand, j: number): void {
  const { data, d, k } = st;
  const r0 = j * st.chunkRows;
  const r1 = Math.min(st.n, r0 + st.chunkRows);
  if (cmd === 4) {
    st.chunkInertia[j] = inertiaOf(data, d, st.cent, st.labels, r0, r1);
    return;
  }
  const kd = k * d;
  const sums = st.chunkSums.subarray(j * kd, j * kd + kd);
  const counts = st.chunkCounts.subarray(j * k, j * k + k);
  sums.fill(0);
  counts.fill(0);
  if (cmd === 1) {
    elkanFirstPass(data, d, k, st.cent, st.labels, st.upper, st.lower, st.second, sums, counts, r0, r1);
    st.chunkChanged[j] = r1 - r0;
  } else {
    st.chunkChanged[j] = elkanAssign(data, d, k, st.cent, st.labels, st.upper, st.lower, st.cum, st.second, st.cumOther, st.half, st.halfCC, sums, counts, cmd === 2, r0, r1);
  }
}

/** Adds every chunk's sums and counts into `sums`/`counts`, in chunk order; returns the rows that changed. */
export function addChunks(st: PassState, sums: Float64Array, counts: Float64Array): number {
  const { k, d, chunkSums, chunkCounts } = st;
  const kd = k * d;
  let changed = 0;
  for (let j = 0, m = chunkCount(st); j < m; j++) {
    changed += st.chunkChanged[j];
    const so = j * kd;
    for (let t = 0; t < kd; t++) sums[t] += chunkSums[so + t];
    const co = j * k;
    for (let c = 0; c < k; c++) counts[c] += chunkCounts[co + c];
  }
  return changed;
}
