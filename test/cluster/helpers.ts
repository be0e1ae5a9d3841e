import { expect } from 'vitest';
import { createRng } from '../../src/shared/rng.js';
import type { KMeansRun } from '../../src/cluster/types.js';
import type { DenseMatrix } from '../../src/cluster/types.js';

/**
 * Planted Gaussian clusters: `centers` (rows of d values), `perCluster` points each, unit noise x `sd`.
 * Returns the matrix and the true cluster of every row (rows are interleaved, not grouped).
 */
export function plantedBlobs(centers: number[][], perCluster: number, sd: number, seed: number): { x: DenseMatrix; truth: Int32Array } {
  const rng = createRng(seed);
  const k = centers.length;
  const d = centers[0].length;
  const n = k * perCluster;
  const data = new Float64Array(n * d);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    truth[i] = c;
    for (let j = 0; j < d; j++) data[i * d + j] = centers[c][j] + sd * rng.normal();
  }
  return { x: { data, rows: n, cols: d }, truth };
}

export function rowsOf(x: DenseMatrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < x.rows; i++) out.push(Array.from(x.data.subarray(i * x.cols, (i + 1) * x.cols)));
  return out;
}

/** `run` is `ref` to the bit: iterations, labels, centroids and inertia (kernels and thread counts must agree so). */
export function expectSameRun(run: KMeansRun, ref: KMeansRun): void {
  expect(run.iterations).toBe(ref.iterations);
  expect(Array.from(run.labels)).toEqual(Array.from(ref.labels));
  expect(Array.from(run.centroids)).toEqual(Array.from(ref.centroids));
  expect(run.inertia).toBe(ref.inertia);
}
