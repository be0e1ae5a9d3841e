import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EventSourceSpec } from '../engine/index.js';
import type { EventConfig } from '../ingest/index.js';
import type { RefreshDestinations } from '../pipeline/index.js';
import type { SnapshotRecord } from '../registry/index.js';
import type { ColumnTable } from '../shared/table-io.js';
import { CohortlabError, type ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { RefreshRunFailure, type RefreshRunner } from './refresh.js';

/**
 * A scheduled refresh in a worker thread (refresh-worker.ts), so the server's event loop keeps answering while
 * a run ingests, scores and writes. The job is plain data (where the registry is, which version, the event
 * source, the destinations); the worker stores the snapshot in the history and hands the table over (numeric
 * buffers moved), then sends the changes. This thread builds the serving state from it and swaps it in.
 */
export interface RefreshJob {
  id: number;
  modelsDir: string;
  /** `name@version`: the version loaded in the server when the run starts. */
  ref: string;
  spec: EventSourceSpec;
  config: EventConfig;
  nowMs: number;
  keep?: number;
  track?: string[];
  salt?: string;
  destinations: RefreshDestinations | null;
}

export type RefreshJobMessage =
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  | { type: 'stored'; id: number; record: SnapshotRecord; table: ColumnTable }
  | { type: 'done'; id: number }
  | { type: 'failed'; id: number; stage: 'refresh' | 'publish'; asOf: string | null; error: { code: string | null; message: string } };

let source: { url: URL; ts: boolean } | null | undefined;
/** The compiled worker next to this file (dist/), or the TypeScript source compiled by tsx's loader (tests). */
function workerSource(): { url: URL; ts: boolean } {
  if (source === undefined) {
    const js = new URL('./refresh-worker.js', import.meta.url);
    const ts = new URL('./refresh-worker.ts', import.meta.url);
    source = existsSync(fileURLToPath(js)) ? { url: js, ts: false } : existsSync(fileURLToPath(ts)) ? { url: ts, ts: true } : null;
  }
  if (!source) throw new Error('refresh-worker is missing next to refresh-job (a broken install)');
  return source;
}

function startWorker(): Worker {
  const src = workerSource();
  const w = src.ts
    ? new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(src.url.href)}); });`, { eval: true })
    : new Worker(src.url);
  w.unref();
  return w;
}

/** The worker's error as this thread's: our errors keep their code (their message may reach a client). */
function errorFrom(e: { code: string | null; message: string }): Error {
  return e.code ? new CohortlabError(e.code as ErrorCode, e.message) : new Error(e.message);
}

export interface WorkerRunnerOptions {
  modelsDir: string;
  /** The event source of a run, given the loaded version's config (the CLI's flags, or the config's engine). */
  source: (modelConfig: EventConfig) => { spec: EventSourceSpec; config: EventConfig };
  destinations: RefreshDestinations | null;
  keep?: number;
  track?: string[];
  salt?: string;
  logger: Logger;
}

/** Runs each refresh in one long-lived worker thread (started at the first run, restarted if it dies). */
export function workerRunner(opts: WorkerRunnerOptions): RefreshRunner & { close(): Promise<void> } {
  let worker: Worker | null = null;
  let nextId = 1;
  const runner = (async (basis, nowMs, stored) => {
    const { spec: given, config } = opts.source(basis.model.config);
    // one DuckDB thread for a refresh unless --threads (or the environment, or the config) says otherwise: the
    // cores are left to the requests the server answers meanwhile
    const spec: EventSourceSpec = given.engine === 'duckdb' ? { ...given, limits: { ...given.limits, threads: given.limits?.threads ?? 1 } } : given;
    const job: RefreshJob = {
      id: nextId++, modelsDir: opts.modelsDir, ref: `${basis.model.name}@${basis.model.version}`, spec, config, nowMs,
      keep: opts.keep, track: opts.track, salt: opts.salt, destinations: opts.destinations,
    };
    const w = (worker ??= startWorker());
    let asOf: string | null = null;
    return new Promise<{ publishError: unknown }>((resolve, reject) => {
      const fail = (e: unknown) => {
        cleanup();
        reject(new RefreshRunFailure(asOf, e));
      };
      const onExit = (code: number) => {
        worker = null;
        fail(new Error(`the refresh worker exited with code ${code}`));
      };
      const onMessage = (m: RefreshJobMessage) => {
        if (m.type === 'log') {
          opts.logger[m.level](m.message);
          return;
        }
        if (m.id !== job.id) return;
        if (m.type === 'stored') {
          asOf = m.record.as_of;
          // the table as stored, moved over from the worker: the serving state is built in the server's thread
          try {
            stored(m.record, m.table);
          } catch (e) {
            fail(e);
          }
        } else if (m.type === 'done') {
          cleanup();
          resolve({ publishError: null });
        } else if (m.stage === 'publish') {
          cleanup();
          resolve({ publishError: errorFrom(m.error) });
        } else {
          asOf = m.asOf;
          fail(errorFrom(m.error));
        }
      };
      const cleanup = () => {
        w.off('message', onMessage);
        w.off('error', fail);
        w.off('exit', onExit);
      };
      w.on('message', onMessage);
      w.on('error', fail);
      w.on('exit', onExit);
      w.postMessage(job);
    });
  }) as RefreshRunner & { close(): Promise<void> };
  runner.close = async () => {
    const w = worker;
    worker = null;
    if (w) await w.terminate();
  };
  return runner;
}
