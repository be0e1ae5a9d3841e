import { describe, expect, it } from 'vitest';
import { kmeans as mlKmeans } from 'ml-kmeans';
import { KMeans, MiniBatchKMeans, RESTART_TIE, assignNearest, kmeansPlusPlus, lloyd } from '../../src/cluster/kmeans.js';
import { candidateDistances, elkanChunkRows, sqDist } from '../../src/cluster/kmeans-kernels.js';
import { adjustedRandIndex } from '../../src/cluster/metrics.js';
import { startWorkers, workerThreads } from '../../src/cluster/parallel.js';
import { createRng } from '../../src/shared/rng.js';
import { expectSameRun, plantedBlobs, rowsOf } from './helpers.js';

const CENTERS = [
  [0, 0, 0],
  [6, 0, 1],
  [0, 6, -1],
  [5, 5, 5],
];

describe('lloyd (Elkan and Hamerly bounds)', () => {
  it('lloyd(four points, two clusters) gives the hand-computed centres and inertia', () => {
    // points (0,0),(0,1) and (10,0),(10,2): centres (0,0.5) and (10,1); inertia 0.25*2 + 1*2 = 2.5
    const x = { data: Float64Array.from([0, 0, 10, 0, 0, 1, 10, 2]), rows: 4, cols: 2 };
    const run = lloyd(x, Float64Array.from([0, 0, 10, 0]), 2, { maxIter: 100, tol: 0 });
    expect(Array.from(run.labels)).toEqual([0, 1, 0, 1]);
    expect(Array.from(run.centroids)).toEqual([0, 0.5, 10, 1]);
    expect(run.inertia).toBeCloseTo(2.5, 12);
    expect(run.converged).toBe(true);
    expect(run.iterations).toBe(2);
  });

  it.each(['elkan', 'hamerly'] as const)('matches ml-kmeans (the reference) from the same initial centroids (%s bounds): identical assignments, centroids within 1e-9', (bounds) => {
    // overlapping blobs so that many points change cluster over many iterations
    const { x } = plantedBlobs(CENTERS, 300, 2.5, 7);
    const init = kmeansPlusPlus(x, 4, createRng(3));
    const initRows = [0, 1, 2, 3].map((c) => Array.from(init.subarray(c * 3, c * 3 + 3)));
    const ref = mlKmeans(rowsOf(x), 4, { initialization: initRows, tolerance: 0, maxIterations: 1000 });
    const ours = lloyd(x, init, 4, { maxIter: 1000, tol: 0, bounds });
    expect(ref.iterations).toBeGreaterThan(3);
    expect(ours.iterations).toBe(ref.iterations);
    expect(Array.from(ours.labels)).toEqual(ref.clusters);
    for (let c = 0; c < 4; c++) for (let j = 0; j < 3; j++) expect(Math.abs(ours.centroids[c * 3 + j] - ref.centroids[c][j])).toBeLessThan(1e-9);
  });

  it.each(['elkan', 'hamerly'] as const)('matches ml-kmeans under an iteration cap (%s bounds): same centroids, labels = the reference nearest centre', (bounds) => {
    const { x } = plantedBlobs(CENTERS, 200, 3, 11);
    const init = kmeansPlusPlus(x, 4, createRng(5));
    const initRows = [0, 1, 2, 3].map((c) => Array.from(init.subarray(c * 3, c * 3 + 3)));
    const ref = mlKmeans(rowsOf(x), 4, { initialization: initRows, tolerance: 0, maxIterations: 3 });
    const ours = lloyd(x, init, 4, { maxIter: 3, tol: 0, bounds });
    expect(ours.converged).toBe(false);
    expect(ours.iterations).toBe(3);
    for (let c = 0; c < 4; c++) for (let j = 0; j < 3; j++) expect(Math.abs(ours.centroids[c * 3 + j] - ref.centroids[c][j])).toBeLessThan(1e-9);
    expect(Array.from(ours.labels)).toEqual(ref.nearest(rowsOf(x)));
  });

  it('splits the Elkan passes over 2 threads with the same labels, iterations and centroids (within 1e-9)', () => {
    const { x } = plantedBlobs(CENTERS, 400, 2.5, 13);
    const init = kmeansPlusPlus(x, 4, createRng(8));
    const one = lloyd(x, init, 4, { maxIter: 1000, tol: 0, threads: 1, workers: workerThreads });
    const two = lloyd(x, init, 4, { maxIter: 1000, tol: 0, threads: 2, workers: workerThreads });
    expect(one.iterations).toBeGreaterThan(3);
    expect(two.iterations).toBe(one.iterations);
    expect(Array.from(two.labels)).toEqual(Array.from(one.labels));
    for (let i = 0; i < one.centroids.length; i++) expect(Math.abs(two.centroids[i] - one.centroids[i])).toBeLessThan(1e-9);
    // and again with the tolerance stop and the final E-step, reusing the kept worker
    const a = lloyd(x, init, 4, { maxIter: 300, tol: 1e-3, threads: 1, workers: workerThreads });
    const b = lloyd(x, init, 4, { maxIter: 300, tol: 1e-3, threads: 2, workers: workerThreads });
    expect(Array.from(b.labels)).toEqual(Array.from(a.labels));
    expect(b.inertia).toBeCloseTo(a.inertia, 8);
  }, 60_000);

  it('gives the same bits on 1, 2 and 3 threads and without the pool: chunks claimed by any thread are added in chunk order', async () => {
    // 2,000 rows = 8 chunks of 256 (elkanChunkRows), so the threads share the passes; not in shared memory (lloyd copies)
    const { x } = plantedBlobs(CENTERS, 500, 2.5, 17);
    expect(elkanChunkRows(x.rows)).toBe(256);
    // a fit does not wait for workers that are still starting; wait here so that every thread takes part
    await startWorkers(3, x.rows);
    const init = kmeansPlusPlus(x, 4, createRng(12));
    const plain = lloyd(x, init, 4, { maxIter: 300, tol: 1e-4 });
    expect(plain.iterations).toBeGreaterThan(3);
    for (const threads of [1, 2, 3]) {
      const run = lloyd(x, init, 4, { maxIter: 300, tol: 1e-4, threads, workers: workerThreads });
      expect(run.threads).toBe(threads);
      expectSameRun(run, plain);
    }
  }, 60_000);

  it('candidateDistances gives the same bits as sqDist, four, two and one centre at a time', () => {
    const { x } = plantedBlobs(CENTERS, 5, 2, 3);
    const cent = x.data.slice(0, 7 * 3); // 7 rows as centres: one block of 4, one of 2, one single
    const cand = Int32Array.from([6, 0, 3, 5, 1, 2, 4]);
    const out = new Float64Array(7);
    for (let i = 0; i < x.rows; i++) {
      candidateDistances(x.data, i * 3, 3, cent, cand, 7, out);
      for (let q = 0; q < 7; q++) expect(out[q]).toBe(sqDist(x.data, i, cent, cand[q], 3));
    }
  });

  it('gives the plain-Lloyd inertia of its own labels and centroids', () => {
    const { x } = plantedBlobs(CENTERS, 100, 1.5, 2);
    const run = lloyd(x, kmeansPlusPlus(x, 4, createRng(1)), 4, { maxIter: 300, tol: 1e-4 });
    const labels = new Int32Array(x.rows);
    const inertia = assignNearest(x, run.centroids, 4, labels);
    expect(Array.from(labels)).toEqual(Array.from(run.labels));
    expect(run.inertia).toBeCloseTo(inertia, 8);
  });
});

describe('KMeans', () => {
  it('KMeans.fit recovers planted clusters (ARI 1) and the same seed gives identical state', () => {
    const { x, truth } = plantedBlobs(CENTERS, 150, 0.8, 21);
    const a = new KMeans({ k: 4, seed: 9, nInit: 3 }).fit(x);
    const b = new KMeans({ k: 4, seed: 9, nInit: 3 }).fit(x);
    expect(adjustedRandIndex(a.labels as Int32Array, truth)).toBe(1);
    expect(b.toJSON()).toEqual(a.toJSON());
    expect(Array.from(b.labels as Int32Array)).toEqual(Array.from(a.labels as Int32Array));
    expect(a.state?.restartInertias.length).toBe(3);
    expect(a.state?.inertia).toBe(Math.min(...(a.state?.restartInertias ?? [])));
  });

  it('KMeans.fit keeps the first of restarts whose inertias differ only in the last bits (the same partition)', () => {
    // seed 5: all 4 restarts find the planted partition; restarts 2-4's sums round 2e-13 lower than restart 1's
    const { x } = plantedBlobs(CENTERS, 150, 0.8, 5);
    const m = new KMeans({ k: 4, seed: 5, nInit: 4 }).fit(x);
    const r = m.state?.restartInertias ?? [];
    expect(Math.min(...r)).toBeLessThan(r[0]);
    expect((r[0] - Math.min(...r)) / r[0]).toBeLessThan(RESTART_TIE);
    expect(m.state?.inertia).toBe(r[0]);
    const first = lloyd(x, kmeansPlusPlus(x, 4, createRng(5).fork()), 4, { maxIter: 300, tol: 1e-4 });
    expect(Array.from(m.labels as Int32Array)).toEqual(Array.from(first.labels));
  });

  it('fit is idempotent and fromJSON(toJSON()) predicts the training labels', () => {
    const { x } = plantedBlobs(CENTERS, 80, 1, 4);
    const m = new KMeans({ k: 4, seed: 1 }).fit(x);
    const first = m.toJSON();
    m.fit(x);
    expect(m.toJSON()).toEqual(first);
    const loaded = KMeans.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    expect(Array.from(loaded.predict(x))).toEqual(Array.from(m.labels as Int32Array));
  });

  it('predict before fit throws NOT_FITTED; bad params and widths are named', () => {
    const { x } = plantedBlobs(CENTERS, 10, 1, 4);
    expect(() => new KMeans().predict(x)).toThrow(/before fit/);
    expect(() => new KMeans({ k: 0 }).fit(x)).toThrow(/k must be an integer in \[1, 1000\], got 0/);
    expect(() => new KMeans({ k: 41 }).fit(x)).toThrow(/k = 41 is more than the 40 rows/);
    const m = new KMeans({ k: 2 }).fit(x);
    expect(() => m.predict({ data: new Float64Array(4), rows: 2, cols: 2 })).toThrow(/fitted on 3 features but got rows of 2/);
  });
});

describe('MiniBatchKMeans', () => {
  it('recovers planted clusters, is seeded, and round-trips through JSON', () => {
    const { x, truth } = plantedBlobs(CENTERS, 500, 0.8, 8);
    const a = new MiniBatchKMeans({ k: 4, seed: 3, batchSize: 256 }).fit(x);
    const b = new MiniBatchKMeans({ k: 4, seed: 3, batchSize: 256 }).fit(x);
    expect(adjustedRandIndex(a.labels as Int32Array, truth)).toBeGreaterThan(0.99);
    expect(b.toJSON()).toEqual(a.toJSON());
    const full = new KMeans({ k: 4, seed: 3 }).fit(x);
    expect((a.state?.inertia ?? 0) / (full.state?.inertia ?? 1)).toBeLessThan(1.01);
    const loaded = MiniBatchKMeans.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    expect(Array.from(loaded.predict(x))).toEqual(Array.from(a.labels as Int32Array));
  });
});
