import { createRng } from '../shared/rng.js';
import { KMeans, assignNearest } from './kmeans.js';
import { adjustedRandIndex } from './metrics.js';
import type { DenseMatrix } from '../shared/matrix.js';
import type { KMeansWorkers } from './lloyd.js';

/**
 * Stability of a clustering (issue 5 part 5).
 *  - seeds: refit with other seeds on the same users; ARI of each against the reference labels.
 *  - bootstrap: refit on resamples drawn with replacement (at most `sampleSize` rows each, so the cost is
 *    bounded on large data), put every user into the nearest resample centre, and compare with the
 *    reference: ARI overall and, per reference cluster, the best Jaccard index with any resample cluster
 *    (Hennig 2007, "Cluster-wise assessment of cluster stability"). A mean Jaccard under 0.6 means the
 *    cluster dissolves under resampling: it is flagged unstable and the CLI warns.
 */
export interface StabilityOptions {
  k: number;
  seed: number;
  nInit: number;
  maxIter: number;
  tol: number;
  seeds: number;
  bootstraps: number;
  sampleSize: number;
  unstableBelow?: number;
  /** Thread pool for the k-means fits (parallel.ts `workerThreads`); default: this thread. */
  workers?: KMeansWorkers;
}

export interface StabilityReport {
  seedAri: number[];
  bootstrapAri: number[];
  /** Per reference cluster: mean best-match Jaccard over the bootstrap fits. */
  clusterJaccard: number[];
  unstable: number[];
  threshold: number;
}

export function clusterStability(x: DenseMatrix, reference: Int32Array, o: StabilityOptions): StabilityReport {
  const { rows: n, cols: d } = x;
  const threshold = o.unstableBelow ?? 0.6;
  const rng = createRng(o.seed ^ 0x2545f491);
  const seedAri: number[] = [];
  for (let s = 0; s < o.seeds; s++) {
    const m = new KMeans({ k: o.k, nInit: o.nInit, maxIter: o.maxIter, tol: o.tol, seed: o.seed + 1 + s }).fit(x, { workers: o.workers });
    seedAri.push(adjustedRandIndex(m.labels as Int32Array, reference));
  }
  const refSize = new Float64Array(o.k);
  for (let i = 0; i < n; i++) refSize[reference[i]]++;
  const jaccardSum = new Float64Array(o.k);
  const bootstrapAri: number[] = [];
  const m = Math.min(n, o.sampleSize);
  const boot = new Float64Array(m * d);
  const labels = new Int32Array(n);
  const inter = new Float64Array(o.k * o.k);
  const bootSize = new Float64Array(o.k);
  for (let b = 0; b < o.bootstraps; b++) {
    for (let r = 0; r < m; r++) {
      const i = rng.int(n);
      boot.set(x.data.subarray(i * d, i * d + d), r * d);
    }
    const fit = new KMeans({ k: o.k, nInit: o.nInit, maxIter: o.maxIter, tol: o.tol, seed: o.seed + 1000 + b }).fit({ data: boot, rows: m, cols: d }, { workers: o.workers });
    assignNearest(x, fit.centroidArray(), o.k, labels);
    bootstrapAri.push(adjustedRandIndex(labels, reference));
    inter.fill(0);
    bootSize.fill(0);
    for (let i = 0; i < n; i++) {
      inter[reference[i] * o.k + labels[i]]++;
      bootSize[labels[i]]++;
    }
    for (let c = 0; c < o.k; c++) {
      let best = 0;
      for (let c2 = 0; c2 < o.k; c2++) {
        const I = inter[c * o.k + c2];
        const U = refSize[c] + bootSize[c2] - I;
        const j = U > 0 ? I / U : 0;
        if (j > best) best = j;
      }
      jaccardSum[c] += best;
    }
  }
  const clusterJaccard = Array.from(jaccardSum, (s) => (o.bootstraps > 0 ? s / o.bootstraps : NaN));
  const unstable = clusterJaccard.flatMap((j, c) => (j < threshold ? [c] : []));
  return { seedAri, bootstrapAri, clusterJaccard, unstable, threshold };
}
