import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { kmeans as mlKmeans } from 'ml-kmeans';
import { kmeansPlusPlus, lloyd } from '../../src/cluster/kmeans.js';
import { meanColumnVariance } from '../../src/cluster/kmeans-kernels.js';
import { newWasmMemory, transposeCentres, transposedLength, wasmMeanColumnVariance, wasmPassState } from '../../src/cluster/kmeans-wasm.js';
import { kmeansKernel, kmeansWasm, startWorkers, workerThreads } from '../../src/cluster/parallel.js';
import { createRng } from '../../src/shared/rng.js';
import { sparkifyColumns } from '../fixtures/load.js';
import { expectSameRun, plantedBlobs, rowsOf } from './helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** k random centres in d dimensions, spread so that blobs overlap and Lloyd needs several iterations. */
function overlapping(k: number, d: number, perCluster: number, seed: number) {
  const rng = createRng(seed);
  const centres = Array.from({ length: k }, () => Array.from({ length: d }, () => rng.normal() * 2));
  return plantedBlobs(centres, perCluster, 1.5, seed + 1).x;
}

describe('WebAssembly SIMD k-means kernel', () => {
  it('is built by npm run build and loads in this runtime (else every other test here would test the JavaScript kernel)', () => {
    expect(kmeansKernel()).toMatch(/^wasm-simd/);
    expect(kmeansWasm()?.module).toBeInstanceOf(WebAssembly.Module);
  });

  it('transposeCentres(k = 3, d = 2) puts column t of the centres side by side, padded to a group of 4 with an infinitely far centre', () => {
    const out = new Float64Array(transposedLength(3, 2));
    transposeCentres(Float64Array.from([1, 2, 3, 4, 5, 6]), 3, 2, out);
    expect(Array.from(out)).toEqual([1, 3, 5, Infinity, 2, 4, 6, Infinity]);
  });

  it('transposeCentres(k = 11, d = 1) makes a group of 8, then one of 4', () => {
    const out = new Float64Array(transposedLength(11, 1));
    transposeCentres(Float64Array.from({ length: 11 }, (_, c) => c + 1), 11, 1, out);
    expect(Array.from(out)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, Infinity]);
  });

  // k = 1..17 covers every group shape of the kernel (8 + 8 + 2, 8 + 4, 8 with padding, 4, 2, ...); d = 1 and 3
  // take the odd-column tail of the cluster sums, d = 20 is the bench's width
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17])('gives the JavaScript kernel\'s bits for k = %i (labels, centroids, inertia, iterations, tolerance)', (k) => {
    for (const d of [1, 3, 20]) {
      const x = overlapping(k, d, 60, 100 * k + d);
      const init = kmeansPlusPlus(x, k, createRng(k + d));
      const js = lloyd(x, init, k, { maxIter: 300, tol: 1e-4 });
      const wasm = lloyd(x, init, k, { maxIter: 300, tol: 1e-4, threads: 1, workers: workerThreads });
      expect(js.kernel).toBe('js-elkan');
      expect(wasm.kernel).toBe('wasm-simd');
      expectSameRun(wasm, js);
      expect(wasm.tolAbs).toBe(js.tolAbs);
    }
  });

  it('gives a tie to the first centre, within a group of 8 and across groups (identical initial centres 1 = 6 and 2 = 9 of k = 10)', () => {
    const x = overlapping(10, 3, 40, 31);
    const init = kmeansPlusPlus(x, 10, createRng(31));
    init.copyWithin(6 * 3, 1 * 3, 2 * 3);
    init.copyWithin(9 * 3, 2 * 3, 3 * 3);
    const js = lloyd(x, init, 10, { maxIter: 1, tol: 0 });
    const wasm = lloyd(x, init, 10, { maxIter: 1, tol: 0, workers: workerThreads });
    expect(wasm.kernel).toBe('wasm-simd');
    // after one update the duplicates sit where their twins are and keep no row: every tie went to 1 and 2
    expect(wasm.emptyClusters).toBe(2);
    expect(Array.from(wasm.labels)).toEqual(Array.from(js.labels));
    expect(Array.from(wasm.centroids)).toEqual(Array.from(js.centroids));
  });

  it('computes the mean column variance with the same bits as the JavaScript loop', () => {
    const x = overlapping(3, 7, 50, 4);
    const module = kmeansWasm()?.module as WebAssembly.Module;
    const st = wasmPassState({ module, memory: (bytes) => newWasmMemory(bytes) }, x, 3, 256);
    expect(st && wasmMeanColumnVariance(st)).toBe(meanColumnVariance(x));
  });

  it('matches ml-kmeans (the reference) on 91 real Sparkify users, 7 standardised features, k = 4: identical labels and iterations, centroids and inertia within 1e-9', () => {
    const cols = sparkifyColumns();
    const names = ['sessions_7d', 'avg_weekly_sessions_28d', 'active_days_30d', 'feature_breadth_30d', 'avg_session_minutes_30d', 'days_since_last_activity', 'typical_gap_days'];
    const n = cols[names[0]].length;
    const d = names.length;
    const data = new Float64Array(n * d);
    names.forEach((f, j) => {
      const v = cols[f];
      const mean = v.reduce((s, a) => s + a, 0) / n;
      const sd = Math.sqrt(v.reduce((s, a) => s + (a - mean) ** 2, 0) / n);
      for (let i = 0; i < n; i++) data[i * d + j] = (v[i] - mean) / sd;
    });
    const x = { data, rows: n, cols: d };
    const init = kmeansPlusPlus(x, 4, createRng(7));
    const initRows = [0, 1, 2, 3].map((c) => Array.from(init.subarray(c * d, c * d + d)));
    const ref = mlKmeans(rowsOf(x), 4, { initialization: initRows, tolerance: 0, maxIterations: 1000 });
    const ours = lloyd(x, init, 4, { maxIter: 1000, tol: 0, workers: workerThreads });
    expect(ours.kernel).toBe('wasm-simd');
    expect(ref.iterations).toBeGreaterThan(2);
    expect(ours.iterations).toBe(ref.iterations);
    expect(Array.from(ours.labels)).toEqual(ref.clusters);
    let refInertia = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) refInertia += (data[i * d + j] - ref.centroids[ref.clusters[i]][j]) ** 2;
    expect(Math.abs(ours.inertia - refInertia) / refInertia).toBeLessThan(1e-9);
    for (let c = 0; c < 4; c++) for (let j = 0; j < d; j++) expect(Math.abs(ours.centroids[c * d + j] - ref.centroids[c][j])).toBeLessThan(1e-9);
  });

  it('gives the same bits on 1 and 2 threads at 24,000 rows x 20 (the threaded size), and the JavaScript kernel\'s bits', async () => {
    await startWorkers(2, 24_000);
    const x = overlapping(8, 20, 3000, 23);
    const init = kmeansPlusPlus(x, 8, createRng(23));
    const js = lloyd(x, init, 8, { maxIter: 300, tol: 1e-4 });
    const one = lloyd(x, init, 8, { maxIter: 300, tol: 1e-4, threads: 1, workers: workerThreads });
    const two = lloyd(x, init, 8, { maxIter: 300, tol: 1e-4, threads: 2, workers: workerThreads });
    expect([one.kernel, one.threads, two.kernel, two.threads]).toEqual(['wasm-simd', 1, 'wasm-simd', 2]);
    expect(js.iterations).toBeGreaterThan(5);
    for (const run of [one, two]) expectSameRun(run, js);
  }, 60_000);

  it('runs the JavaScript kernel when asked (kernel: js) or when the bounds are chosen, and says which ran', () => {
    const x = overlapping(4, 3, 50, 9);
    const init = kmeansPlusPlus(x, 4, createRng(9));
    expect(lloyd(x, init, 4, { maxIter: 300, tol: 1e-4, workers: workerThreads, kernel: 'js' }).kernel).toBe('js-elkan');
    expect(lloyd(x, init, 4, { maxIter: 300, tol: 1e-4, workers: workerThreads, bounds: 'hamerly' }).kernel).toBe('js-hamerly');
    expect(lloyd(x, init, 4, { maxIter: 300, tol: 1e-4 }).kernel).toBe('js-elkan');
  });

  it('falls back to the JavaScript kernel, with the same bits, when no memory can be had for the fit (e.g. over 4 GiB)', () => {
    const x = overlapping(5, 4, 80, 12);
    const init = kmeansPlusPlus(x, 5, createRng(12));
    const module = kmeansWasm()?.module as WebAssembly.Module;
    const noMemory = { ...workerThreads, wasm: () => ({ module, memory: () => undefined }) };
    const run = lloyd(x, init, 5, { maxIter: 300, tol: 1e-4, workers: noMemory });
    expect(run.kernel).toBe('js-elkan');
    expectSameRun(run, lloyd(x, init, 5, { maxIter: 300, tol: 1e-4, workers: workerThreads }));
  });

  it('COHORTLAB_KMEANS_KERNEL=js falls back to the JavaScript kernel, and kmeansKernel() says why', () => {
    const code = "const m = await import('./dist/cluster/parallel.js'); console.log(m.kmeansKernel());";
    const run = (env: Record<string, string>) => spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
    const off = run({ COHORTLAB_KMEANS_KERNEL: 'js' });
    expect(off.status).toBe(0);
    expect(off.stdout.trim()).toBe('js (COHORTLAB_KMEANS_KERNEL=js)');
    expect(run({ COHORTLAB_KMEANS_KERNEL: '' }).stdout.trim()).toBe('wasm-simd (WebAssembly SIMD, f64x2)');
  });
});
