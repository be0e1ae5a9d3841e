/**
 * TreeSHAP of a gbdt churn model in a worker thread, for a caller with other work meanwhile: `score` computes the
 * next block's contributions there while this thread applies the rules, the probabilities, the clusters and the
 * reason codes of the current one and writes it (pipeline/score-stream.ts). The worker runs the same treeShap on the
 * same design matrix, so the contributions are the same bits as computed here.
 *
 * Used for a gbdt model with two or more cores and the compiled worker (dist/) or tsx (tests); otherwise, or with
 * COHORTLAB_SCORE_THREADS=0, there is no thread (startShapThread returns null) and the caller computes in place.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { internalError } from '../shared/errors.js';
import { fromWorkerError, startWorker, workerSource, type WorkerError } from '../shared/worker.js';
import type { Matrix } from '../shared/matrix.js';
import type { GbdtState } from './gbdt.js';

/** A request: the raw design matrix of a block (its buffer is handed over). */
export interface ShapRequest {
  id: number;
  data: Float32Array | Float64Array;
  rows: number;
  cols: number;
}

/** The answer: rows x cols contributions (row-major), or the error treeShap threw. */
export interface ShapAnswer {
  id: number;
  contributions?: Float64Array;
  error?: WorkerError;
}

export interface ShapThread {
  /** The TreeSHAP contributions of every row of `x` (x.data is handed to the worker: do not use it afterwards). */
  contributions(x: Matrix): Promise<Float64Array>;
  close(): Promise<void>;
}

/** A worker holding `state`'s trees (and the patterns it meets), or null where a thread does not pay (file comment). */
export function startShapThread(state: GbdtState): ShapThread | null {
  const src = workerSource(import.meta.url, 'shap-worker');
  if (process.env.COHORTLAB_SCORE_THREADS === '0' || availableParallelism() < 2 || src === null) return null;
  // a small young generation: the worker's garbage is the blocks' buffers (about 30 MB less peak RSS scoring 1M users)
  const worker: Worker = startWorker(src, { state }, { resourceLimits: { maxYoungGenerationSizeMb: 8 } });
  const waiting = new Map<number, { resolve: (c: Float64Array) => void; reject: (e: Error) => void }>();
  let next = 0;
  let failed: Error | null = null;
  const failAll = (e: Error): void => {
    failed ??= e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  worker.on('message', (a: ShapAnswer) => {
    const w = waiting.get(a.id);
    if (!w) return;
    waiting.delete(a.id);
    if (a.error) w.reject(fromWorkerError(a.error));
    else w.resolve(a.contributions!);
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(internalError(`the TreeSHAP worker exited with code ${code}`)));
  return {
    contributions(x) {
      if (failed) return Promise.reject(failed);
      const id = next++;
      return new Promise<Float64Array>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, data: x.data, rows: x.rows, cols: x.cols } satisfies ShapRequest, [x.data.buffer as ArrayBuffer]);
      });
    },
    async close() {
      failed ??= internalError('the TreeSHAP worker was closed');
      await worker.terminate();
    },
  };
}
