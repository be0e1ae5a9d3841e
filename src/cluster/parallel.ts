import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DenseMatrix } from '../shared/matrix.js';
import { internalError } from '../shared/errors.js';
import { MIN_ROWS_FOR_THREADS, type KMeansWorkers, type ParallelRunner, type SharedKMeansState } from './lloyd.js';

/**
 * Splitting the Elkan passes of k-means over threads (sklearn runs its passes on every core; so do we).
 * Rows are cut into T contiguous ranges: this thread takes the first, T - 1 worker threads
 * (kmeans-worker.ts) the others. Every array a worker writes is a SharedArrayBuffer; each range writes
 * only its own rows, and each worker accumulates its cluster sums and counts in its own buffer, which
 * this thread adds in after the pass. Commands go through a small Int32Array with Atomics.wait/notify,
 * so `lloyd` stays synchronous. `lloyd` never imports this file: a caller passes `workerThreads` in
 * (`KMeans.fit(x, { workers })`). Labels do not depend on T (each row's label is computed by the same
 * code); centroids differ only by the order of the per-range sums (~1e-16 relative).
 *
 * Workers are created once and kept (unref'd, they never keep the process alive) for later fits.
 */
let workerSource: { url: URL; ts: boolean } | null | undefined;
function resolveWorker(): { url: URL; ts: boolean } | null {
  if (workerSource !== undefined) return workerSource;
  const js = new URL('./kmeans-worker.js', import.meta.url);
  const ts = new URL('./kmeans-worker.ts', import.meta.url);
  // compiled (dist/) next to this file; from source (tests, tsx) tsx's loader compiles it in the worker
  if (existsSync(fileURLToPath(js))) workerSource = { url: js, ts: false };
  else if (existsSync(fileURLToPath(ts))) workerSource = { url: ts, ts: true };
  else workerSource = null;
  return workerSource;
}

export function threadCount(n: number, threads?: number): number {
  const t = threads ?? (n >= MIN_ROWS_FOR_THREADS ? Math.min(2, availableParallelism()) : 1);
  return Math.max(1, Math.min(Math.floor(t), 16, Math.floor(n / 2)));
}

export function wantsThreads(n: number, threads?: number): boolean {
  return threadCount(n, threads) > 1 && resolveWorker() !== null;
}

const pool: Worker[] = [];
function workers(count: number): Worker[] {
  const src = resolveWorker();
  if (!src) return [];
  while (pool.length < count) {
    const w = src.ts
      ? new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(src.url.href)}); });`, { eval: true })
      : new Worker(src.url);
    w.unref();
    pool.push(w);
  }
  return pool.slice(0, count);
}


/** Control words: [0] command sequence, [1] command, [2] done sequence, [3] rows that changed, [4] ready, [5] error. */
const SEQ = 0;
const CMD = 1;
const DONE = 2;
const CHANGED = 3;
const READY = 4;
const ERROR = 5;

export function parallelRunner(x: DenseMatrix, k: number, threads: number | undefined, st: SharedKMeansState): ParallelRunner | undefined {
  const { rows: n, cols: d } = x;
  const T = threadCount(n, threads);
  if (T < 2 || !resolveWorker()) return undefined;
  if (!(st.labels.buffer instanceof SharedArrayBuffer)) throw internalError('parallel k-means needs its state in shared memory');
  let data = x.data;
  if (!(data.buffer instanceof SharedArrayBuffer)) {
    data = new Float64Array(new SharedArrayBuffer(x.data.length * 8));
    data.set(x.data);
  }
  const cuts = Array.from({ length: T + 1 }, (_, t) => Math.floor((t * n) / T));
  const ws = workers(T - 1);
  const slots = ws.map((w, j) => {
    const ctrl = new Int32Array(new SharedArrayBuffer(8 * 4));
    const params = new Float64Array(new SharedArrayBuffer(8));
    const wsums = new Float64Array(new SharedArrayBuffer(k * d * 8));
    const wcounts = new Float64Array(new SharedArrayBuffer(k * 8));
    w.postMessage({ ...st, data, d, k, ctrl, params, wsums, wcounts, r0: cuts[j + 1], r1: cuts[j + 2] });
    return { w, ctrl, params, wsums, wcounts, r0: cuts[j + 1], r1: cuts[j + 2] };
  });
  let broken = false;
  return {
    run(cmd, cumMax, own, sums, counts) {
      if (broken) return own(0, n);
      for (const s of slots) {
        s.params[0] = cumMax;
        Atomics.store(s.ctrl, CMD, cmd);
        Atomics.add(s.ctrl, SEQ, 1);
        Atomics.notify(s.ctrl, SEQ);
      }
      let changed = own(cuts[0], cuts[1]);
      for (const s of slots) {
        const seq = Atomics.load(s.ctrl, SEQ);
        // a worker that never starts (its module failed to load) would block us: after 10 s without a
        // ready flag, do its rows here and stop using the workers
        if (Atomics.load(s.ctrl, READY) === 0) {
          const started = Date.now();
          while (Atomics.load(s.ctrl, READY) === 0 && Date.now() - started < 10_000) Atomics.wait(s.ctrl, READY, 0, 50);
          if (Atomics.load(s.ctrl, READY) === 0) {
            broken = true;
            const at = pool.indexOf(s.w);
            if (at >= 0) pool.splice(at, 1);
            void s.w.terminate();
            changed += own(s.r0, s.r1);
            continue;
          }
        }
        for (let v = Atomics.load(s.ctrl, DONE); v !== seq; v = Atomics.load(s.ctrl, DONE)) Atomics.wait(s.ctrl, DONE, v);
        if (Atomics.load(s.ctrl, ERROR) !== 0) throw internalError('a k-means worker thread failed; rerun with threads: 1');
        changed += Atomics.load(s.ctrl, CHANGED);
        for (let i = 0; i < s.wsums.length; i++) sums[i] += s.wsums[i];
        for (let c = 0; c < k; c++) counts[c] += s.wcounts[c];
      }
      return changed;
    },
    release() {
      for (const s of slots) {
        Atomics.store(s.ctrl, CMD, 9);
        Atomics.add(s.ctrl, SEQ, 1);
        Atomics.notify(s.ctrl, SEQ);
      }
    },
  };
}

/** The worker-thread pool for `lloyd` / `KMeans.fit` (`{ workers: workerThreads }`). */
export const workerThreads: KMeansWorkers = { wants: wantsThreads, runner: parallelRunner };
