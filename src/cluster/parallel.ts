import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { internalError } from '../shared/errors.js';
import { startWorker, workerSource, type WorkerSource } from '../shared/worker.js';
import { chunkCount } from './kmeans-kernels.js';
import { chunkRunner, newWasmMemory, type KMeansWasm } from './kmeans-wasm.js';
import { MIN_ROWS_FOR_THREADS, type KMeansWorkers, type ParallelRunner, type SharedKMeansState } from './lloyd.js';

/**
 * The fast path of k-means, handed to `lloyd` as `workerThreads`: the WebAssembly SIMD kernel (read from
 * the .wasm that `npm run build` writes, with one shared memory kept between fits; see kmeans-wasm.ts) and
 * the passes split over threads (sklearn runs its passes on every core; so do we).
 * Rows are cut into chunks (kmeans-kernels.ts `elkanChunkRows`, about 64 of them); this thread and T - 1
 * worker threads (kmeans-worker.ts) claim chunks from a shared counter until none is left, so a thread
 * that the machine's other work slows down simply takes fewer chunks. Every array a worker reads or
 * writes is a SharedArrayBuffer; each chunk writes only its own rows and its own slot of cluster sums
 * and counts, which `lloyd` adds in chunk order after the pass. So labels, centroids and inertia are the
 * same bits whatever T is and whichever thread ran which chunk (tested); the WebAssembly kernel's arrays
 * are views of its shared memory, which each worker instantiates the module on once per fit. Commands go through a small
 * Int32Array per worker with Atomics.wait/notify, so `lloyd` stays synchronous. `lloyd` never imports
 * this file: a caller passes `workerThreads` in (`KMeans.fit(x, { workers })`).
 *
 * Workers are created once per process and kept (unref'd, they never keep the process alive) for later
 * fits; a fit never waits for one that is still starting (it joins at a later pass or fit), so the first
 * fit of a process pays no start-up. `startWorkers` starts them ahead and reports how long that took.
 */
let source: WorkerSource | null | undefined;
function resolveWorker(): WorkerSource | null {
  if (source === undefined) source = workerSource(import.meta.url, 'kmeans-worker');
  return source;
}

export function threadCount(n: number, threads?: number): number {
  const t = threads ?? (n >= MIN_ROWS_FOR_THREADS ? Math.min(2, availableParallelism()) : 1);
  return Math.max(1, Math.min(Math.floor(t), 16, Math.floor(n / 2)));
}

export function wantsThreads(n: number, threads?: number): boolean {
  return threadCount(n, threads) > 1 && resolveWorker() !== null;
}

const pool: Worker[] = [];
/** Workers known to have loaded (answered startWorkers or joined a fit): a fit waits for these to join. */
const loaded = new WeakSet<Worker>();
function workers(count: number): Worker[] {
  const src = resolveWorker();
  if (!src) return [];
  while (pool.length < count) {
    const w = startWorker(src);
    w.unref();
    // a worker whose module fails to load never joins a pass; drop it so the next fit starts another
    w.on('error', () => {
      const at = pool.indexOf(w);
      if (at >= 0) pool.splice(at, 1);
    });
    pool.push(w);
  }
  return pool.slice(0, count);
}


/**
 * Starts the pool for `threads` threads (default: as many as a fit of `rows` rows would use) and
 * resolves when every worker has loaded and answered, with the milliseconds that took. Optional: a fit
 * never waits for the pool (workers join the passes once ready); the bench and the tests call it so that
 * a timed or checked fit runs with every thread, and the bench prints the start-up, paid once per process.
 */
export async function startWorkers(threads?: number, rows = MIN_ROWS_FOR_THREADS): Promise<number> {
  const t0 = performance.now();
  const ws = workers(threadCount(Math.max(rows, 2 * (threads ?? 1)), threads) - 1);
  await Promise.all(
    ws.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: unknown) => {
            if ((m as { pong?: boolean }).pong !== true) return;
            w.off('message', onMessage);
            w.off('error', reject);
            loaded.add(w);
            resolve();
          };
          w.on('message', onMessage);
          w.once('error', reject);
          w.postMessage({ ping: true });
        }),
    ),
  );
  return performance.now() - t0;
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
  const runChunk = chunkRunner(st);
  // the next chunk to claim (shared by every thread of this fit)
  const next = new Int32Array(new SharedArrayBuffer(4));
  const slots = workers(T - 1).map((w) => {
    const ctrl = new Int32Array(new SharedArrayBuffer(8 * 4));
    w.postMessage({ st, ctrl, next, chunks });
    return { w, ctrl, joined: false, waitMs: loaded.has(w) ? 1000 : 0 };
  });
  const signal = (s: (typeof slots)[number], cmd: number) => {
    Atomics.store(s.ctrl, CMD, cmd);
    Atomics.add(s.ctrl, SEQ, 1);
    Atomics.notify(s.ctrl, SEQ);
  };
  // every worker, joined or not: one that is still starting reads STOP first and goes back to waiting
  const release = () => {
    for (const s of slots) signal(s, STOP);
  };
  return {
    run(cmd) {
      Atomics.store(next, 0, 0);
      // a worker joins at the first pass after it is ready: one that has loaded before is idle and reads
      // this fit's state at once (waited for, at most 1 s); one still starting (the first fit of a process)
      // is not waited for. Only joined workers are told to run a pass, so no other claims a chunk.
      const told = [];
      for (const s of slots) {
        if (!s.joined && s.waitMs > 0) Atomics.wait(s.ctrl, READY, 0, s.waitMs);
        s.waitMs = 0;
        if (!s.joined && Atomics.load(s.ctrl, READY) === 1) {
          s.joined = true;
          loaded.add(s.w);
        }
        if (!s.joined) continue;
        signal(s, cmd);
        told.push({ s, seq: Atomics.load(s.ctrl, SEQ) });
      }
      for (let j = Atomics.add(next, 0, 1); j < chunks; j = Atomics.add(next, 0, 1)) runChunk(cmd, j);
      for (const { s, seq } of told) {
        for (let v = Atomics.load(s.ctrl, DONE); v !== seq; v = Atomics.load(s.ctrl, DONE)) Atomics.wait(s.ctrl, DONE, v);
        if (Atomics.load(s.ctrl, ERROR) !== 0) {
          release();
          throw internalError('a k-means worker thread failed; rerun with threads: 1');
        }
      }
      return told.length + 1;
    },
    release,
  };
}

/** Where `npm run build` writes the WebAssembly kernel: next to this file in dist/, or dist/ seen from src/ (tests). */
const WASM_FILES = ['./wasm/kmeans-simd.wasm', '../../dist/cluster/wasm/kmeans-simd.wasm'];

let wasmModule: WebAssembly.Module | null | undefined;
let wasmNote = '';
/** The memory of the last fit, kept for the next (as the worker threads are): its pages are mapped already. */
let keptMemory: WebAssembly.Memory | undefined;

function fitMemory(bytes: number): WebAssembly.Memory | undefined {
  try {
    if (keptMemory && keptMemory.buffer.byteLength < bytes) keptMemory.grow(Math.ceil((bytes - keptMemory.buffer.byteLength) / 65536));
    keptMemory ??= newWasmMemory(bytes);
  } catch (e) {
    // a memory that cannot grow or be reserved: this fit runs in JavaScript; a later, smaller one may get one
    if (!(e instanceof RangeError)) throw e;
    keptMemory = undefined;
  }
  return keptMemory;
}

/**
 * The compiled WebAssembly SIMD kernel of k-means (src/cluster/wasm/kmeans-simd.ts, built by `npm run
 * build`), read and compiled once per process; undefined when it cannot run here (not built, no SIMD or
 * no shared memory in this runtime, or COHORTLAB_KMEANS_KERNEL=js), and `kmeansKernel()` says why.
 */
export function kmeansWasm(): KMeansWasm | undefined {
  const module = kmeansWasmModule();
  return module ? { module, memory: fitMemory } : undefined;
}

function kmeansWasmModule(): WebAssembly.Module | undefined {
  if (wasmModule === undefined) {
    wasmModule = null;
    const url = WASM_FILES.map((f) => new URL(f, import.meta.url)).find((u) => existsSync(fileURLToPath(u)));
    if (process.env.COHORTLAB_KMEANS_KERNEL === 'js') wasmNote = 'COHORTLAB_KMEANS_KERNEL=js';
    else if (!url) wasmNote = 'dist/cluster/wasm/kmeans-simd.wasm is not built (npm run build)';
    else {
      try {
        // compiling checks SIMD; the shared memory is checked by making one
        const m = new WebAssembly.Module(readFileSync(url));
        new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
        wasmModule = m;
      } catch (e) {
        wasmNote = `the WebAssembly kernel does not load here (${(e as Error).message})`;
      }
    }
  }
  return wasmModule ?? undefined;
}

/** Which k-means kernel fits with `workerThreads` run, and why not WebAssembly when they cannot (for the log). */
export function kmeansKernel(): string {
  return kmeansWasmModule() ? 'wasm-simd (WebAssembly SIMD, f64x2)' : `js (${wasmNote})`;
}

/** The worker-thread pool and the WebAssembly kernel for `lloyd` / `KMeans.fit` (`{ workers: workerThreads }`). */
export const workerThreads: KMeansWorkers = { wants: wantsThreads, runner: parallelRunner, wasm: kmeansWasm };
