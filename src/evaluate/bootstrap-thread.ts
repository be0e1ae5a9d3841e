/**
 * bootstrapMetrics in a worker thread, so the main thread does other work meanwhile (train: permutation importance
 * and scoring the snapshot). The worker runs the same function on the same numbers: the same result, bit for bit.
 * Runs here instead (the returned promise is then already settled) with one core, without the worker file (a
 * build without dist/ and without tsx), or with COHORTLAB_EVALUATION_THREADS=0.
 */
import { availableParallelism } from 'node:os';
import { internalError } from '../shared/errors.js';
import { fromWorkerError, startWorker, workerSource, type WorkerError } from '../shared/worker.js';
import { bootstrapMetrics, type BootstrapOptions, type BootstrapResult, type ScorerInput } from './bootstrap.js';
import type { Labels } from './metrics.js';

/** One bootstrapMetrics call. */
export interface BootstrapJob {
  y: Labels;
  scorers: ScorerInput[];
  opts: BootstrapOptions;
}

/** The worker's answer: every job's result in order, or the error one threw (code, message, path). */
export type BootstrapReply = { results: BootstrapResult[] } | { error: WorkerError };

export function runJobs(jobs: BootstrapJob[]): BootstrapResult[] {
  return jobs.map((j) => bootstrapMetrics(j.y, j.scorers, j.opts));
}


/** bootstrapMetrics of every job, in order, in one worker thread (see the file comment). */
export function bootstrapInThread(jobs: BootstrapJob[]): Promise<BootstrapResult[]> {
  const src = workerSource(import.meta.url, 'bootstrap-worker');
  if (process.env.COHORTLAB_EVALUATION_THREADS === '0' || availableParallelism() < 2 || !src) {
    try {
      return Promise.resolve(runJobs(jobs));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  const workerData = { jobs };
  const worker = startWorker(src, workerData);
  return new Promise<BootstrapResult[]>((resolve, reject) => {
    let settled = false;
    worker.on('message', (r: BootstrapReply) => {
      settled = true;
      if ('results' in r) resolve(r.results);
      else reject(fromWorkerError(r.error));
      void worker.terminate();
    });
    worker.on('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(internalError(`the bootstrap worker exited with code ${code} before answering`));
    });
  });
}
