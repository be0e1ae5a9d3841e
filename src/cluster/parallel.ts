import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { internalError } from '../shared/errors.js';
import { chunkCount, elkanChunk } from './kmeans-kernels.js';
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


/** Control words per worker: [0] command sequence, [1] command, [2] done sequence, [4] ready, [5] error. */
const SEQ = 0;
const CMD = 1;
const DONE = 2;
const READY = 4;
const ERROR = 5;
/** Command that ends a fit: the worker leaves its loop and waits for the next fit's state. */
const STOP = 9;

export function parallelRunner(st: SharedKMeansState, threads: number | undefined): ParallelRunner | undefined {
  const T = threadCount(st.n, threads);
  if (T < 2 || !resolveWorker()) return undefined;
  if (!(st.labels.buffer instanceof SharedArrayBuffer) || !(st.data.buffer instanceof SharedArrayBuffer)) throw internalError('parallel k-means needs its state in shared memory');
  const chunks = chunkCount(st);
  // the next chunk to claim (shared by every thread of this fit) and the pass's cumMax
  const next = new Int32Array(new SharedArrayBuffer(4));
  const params = new Float64Array(new SharedArrayBuffer(8));
  const slots = workers(T - 1).map((w) => {
    const ctrl = new Int32Array(new SharedArrayBuffer(8 * 4));
    w.postMessage({ st, ctrl, next, params, chunks });
    return { w, ctrl, live: true };
  });
  const signal = (s: (typeof slots)[number], cmd: number) => {
    Atomics.store(s.ctrl, CMD, cmd);
    Atomics.add(s.ctrl, SEQ, 1);
    Atomics.notify(s.ctrl, SEQ);
  };
  const release = () => {
    for (const s of slots) if (s.live) signal(s, STOP);
  };
  return {
    run(cmd, cumMax) {
      params[0] = cumMax;
      Atomics.store(next, 0, 0);
      for (const s of slots) if (s.live) signal(s, cmd);
      for (let j = Atomics.add(next, 0, 1); j < chunks; j = Atomics.add(next, 0, 1)) elkanChunk(st, cmd, j, cumMax);
      for (const s of slots) {
        if (!s.live) continue;
        const seq = Atomics.load(s.ctrl, SEQ);
        // a worker that never starts (its module failed to load) claims no chunk, so this thread has done
        // them all; after 10 s without its ready flag, stop using it (it reads STOP first if it ever starts)
        if (Atomics.load(s.ctrl, READY) === 0) {
          const started = Date.now();
          while (Atomics.load(s.ctrl, READY) === 0 && Date.now() - started < 10_000) Atomics.wait(s.ctrl, READY, 0, 50);
          if (Atomics.load(s.ctrl, READY) === 0) {
            s.live = false;
            signal(s, STOP);
            const at = pool.indexOf(s.w);
            if (at >= 0) pool.splice(at, 1);
            void s.w.terminate();
            continue;
          }
        }
        for (let v = Atomics.load(s.ctrl, DONE); v !== seq; v = Atomics.load(s.ctrl, DONE)) Atomics.wait(s.ctrl, DONE, v);
        if (Atomics.load(s.ctrl, ERROR) !== 0) {
          release();
          throw internalError('a k-means worker thread failed; rerun with threads: 1');
        }
      }
    },
    release,
  };
}

/** The worker-thread pool for `lloyd` / `KMeans.fit` (`{ workers: workerThreads }`). */
export const workerThreads: KMeansWorkers = { wants: wantsThreads, runner: parallelRunner };
