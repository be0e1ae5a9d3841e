import type { DenseMatrix } from '../shared/matrix.js';
import type { Rng } from '../shared/rng.js';
import { checkKMeansInput, sqDist } from './kmeans-kernels.js';

/**
 * Greedy k-means++ (Arthur & Vassilvitskii 2007, with sklearn's 2 + ln k candidates per step): the first
 * centre is a uniformly drawn row, each next one the best of several rows drawn with probability
 * proportional to the squared distance to the nearest centre so far.
 */
export function kmeansPlusPlus(x: DenseMatrix, k: number, rng: Rng, localTrials = 2 + Math.floor(Math.log(k))): Float64Array {
  checkKMeansInput(x, k, 'k-means++');
  const { data, rows: n, cols: d } = x;
  const cent = new Float64Array(k * d);
  const closest = new Float64Array(n);
  const cand = new Float64Array(n);
  const bestCand = new Float64Array(n);
  const cum = new Float64Array(n);
  const first = rng.int(n);
  cent.set(data.subarray(first * d, first * d + d), 0);
  for (let i = 0; i < n; i++) {
    closest[i] = sqDist(data, i, cent, 0, d);
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
  }
  return cent;
}
