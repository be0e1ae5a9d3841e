/**
 * The inner loops of k-means (pure: typed arrays in, typed arrays out; no threads, no randomness).
 * `lloyd.ts` drives them; the worker threads of `parallel.ts` run `elkanFirstPass` and `elkanAssign`
 * over their row ranges. Every distance is the same squared sum, in the same centre order, as plain
 * Lloyd's, so the bounds only skip work and never change a label.
 */
import { CohortlabError } from '../shared/errors.js';
import { checkMatrix, type DenseMatrix } from '../shared/matrix.js';

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

/** Sum of squared distances of each row to the centre of its label. */
export function inertiaOf(x: DenseMatrix, centroids: Float64Array, labels: Int32Array): number {
  let s = 0;
  for (let i = 0; i < x.rows; i++) s += sqDist(x.data, i, centroids, labels[i], x.cols);
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
      if (updateSums) moveRow(data, i, d, a0, a, sums, counts);
    }
  }
  return changed;
}
