/**
 * Worker threads of cohortlab's own modules: the compiled file (dist/) beside the caller, or, running from source
 * (tests, tsx), the .ts file compiled in the worker by tsx's loader.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

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
