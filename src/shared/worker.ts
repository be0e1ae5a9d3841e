/**
 * Worker threads of cohortlab's own modules: the compiled file (dist/) beside the caller, or, running from source
 * (tests, tsx), the .ts file compiled in the worker by tsx's loader.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { CohortlabError, internalError, isErrorCode } from './errors.js';

export interface WorkerSource {
  url: URL;
  ts: boolean;
}

/** The worker module `name` (without extension) beside `base` (the caller's import.meta.url), or null when neither file exists. */
export function workerSource(base: string, name: string): WorkerSource | null {
  const js = new URL(`./${name}.js`, base);
  const ts = new URL(`./${name}.ts`, base);
  if (existsSync(fileURLToPath(js))) return { url: js, ts: false };
  if (existsSync(fileURLToPath(ts))) return { url: ts, ts: true };
  return null;
}

export function startWorker(src: WorkerSource, workerData?: unknown, opts: Pick<WorkerOptions, 'resourceLimits'> = {}): Worker {
  return src.ts
    ? new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(src.url.href)}); });`, { eval: true, workerData, ...opts })
    : new Worker(src.url, { workerData, ...opts });
}

/** An error as a worker thread sends it back (a thrown Error does not cross threads with its class and code). */
export interface WorkerError {
  code: string;
  message: string;
  path?: string;
}

/** A CohortlabError's code, message and path; any other error as INTERNAL with its stack, after `context: ` when given. */
export function workerError(e: unknown, context?: string): WorkerError {
  if (e instanceof CohortlabError) return { code: e.code, message: e.message, path: e.path };
  return { code: 'INTERNAL', message: `${context ? `${context}: ` : ''}${(e as Error).stack ?? String(e)}` };
}

/** The error a worker sent back, thrown again here: a CohortlabError with its code, or an internal error. */
export function fromWorkerError(e: WorkerError): Error {
  return isErrorCode(e.code) ? new CohortlabError(e.code, e.message, { path: e.path }) : internalError(e.message);
}
