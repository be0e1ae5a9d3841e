import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { createProvider, servingSnapshot, type ModelProvider } from './provider.js';
import { loadPropensity } from './propensity.js';
import { createRefresher, followingRefresher, parseCadence, type Refresher, type RefresherOptions } from './refresh.js';
import type { Logger } from '../shared/log.js';
import { openModelStore } from '../registry/index.js';
import type { EventSourceSpec } from '../engine/index.js';
import type { EventConfig } from '../ingest/index.js';
import { refreshSettings } from '../pipeline/index.js';
import { workerRunner } from './refresh-job.js';
import { workerLink, type WorkerLink } from './workers.js';

export { buildApp, type AppOptions } from './app.js';
export { loadPropensity, type PropensityAnswer } from './propensity.js';
export { createProvider, loadServing, type Loaded, type ModelProvider } from './provider.js';
export { MAX_USERS_PER_REQUEST, BODY_LIMIT_BYTES } from './schemas.js';
export { Metrics } from './plugins/metrics.js';
export { runPrimary, workerLink, type WorkerLink } from './workers.js';
export { createRefresher, inProcessRunner, parseCadence, RefreshRunFailure, type Cadence, type RefreshRunner, type Refresher, type RefresherOptions, type RefreshRun, type RefreshState } from './refresh.js';
export type { LogOptions } from './plugins/request-log.js';

export interface ServeOptions {
  ref: string;
  modelsDir: string;
  port: number;
  host: string;
  apiKey?: string;
  logger: Logger;
  /** Log one JSON line per request (route pattern, status, ms; never ids or values); errors are logged always. */
  logRequests?: boolean;
  /** Where the server's JSON log lines go (default: stdout). */
  logStream?: { write(line: string): void };
  /** Browser origins allowed by CORS (none: CORS off). */
  corsOrigins?: string[];
  /** An upgrade (or event) model to show beside the served one (GET /v1/propensity); a churn model is refused. */
  propensityRef?: string;
  /** serve --refresh: re-score on a schedule from this event source and serve the newest snapshot (src/serve/refresh.ts). */
  refresh?: {
    cadence: string;
    /**
     * Where the events are, given the loaded version's config: files through DuckDB or the warehouse. Called at
     * startup (a bad source is refused before listening) and for each run (the source is opened anew each time).
     */
    source: (modelConfig: EventConfig) => { spec: EventSourceSpec; config: EventConfig };
    /** Where each run's segment changes go besides the config's refresh.webhooks (NDJSON, replaced each run). */
    changesFile?: string;
    /** Webhook batches that still fail (default models/NAME/history/dead-letter.ndjson). */
    deadLetterFile?: string;
    /** Where the webhook secrets are read (default process.env). */
    env?: NodeJS.ProcessEnv;
  } & Pick<RefresherOptions, 'keep' | 'track' | 'salt' | 'clock'>;
}

/** Loads the model and listens; returns the app and the explorer URL. */
export async function startServer(opts: ServeOptions): Promise<{ app: FastifyInstance; url: string; refresher: Refresher | null; link: WorkerLink | null }> {
  const store = openModelStore(opts.modelsDir);
  // the propensity version first: a wrong --propensity-model is refused before the churn model is loaded
  const propensity = opts.propensityRef ? await loadPropensity(opts.propensityRef, store) : null;
  const provider = await createProvider(opts.ref, store, opts.logger);
  // the schedule, its source and its destinations are checked before the server listens
  const link = workerLink();
  const refresher = opts.refresh ? refresherOf(opts, provider, opts.refresh, link) : null;
  const app = await buildApp({ provider, propensity, refresher, link, apiKey: opts.apiKey, corsOrigins: opts.corsOrigins, log: { requests: opts.logRequests, stream: opts.logStream } });
  await app.listen({ port: opts.port, host: opts.host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  refresher?.start();
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}/`;
  link?.listening(url);
  return { app, refresher, url, link };
}

/**
 * serve --refresh: the schedule itself, or with --workers, in worker 1 only; after each of its runs every other
 * worker serves the snapshot worker 1 stored and shows its state (src/serve/workers.ts).
 */
function refresherOf(opts: ServeOptions, provider: ModelProvider, r: NonNullable<ServeOptions['refresh']>, link: WorkerLink | null): Refresher {
  if (!link || link.id === 1) return scheduleRefresh(opts, provider, r, link);
  const follower = followingRefresher(parseCadence(r.cadence, provider.current().model.segments));
  link.onRefreshed(async (state) => {
    // the snapshot worker 1 now serves, read from the history it was stored in (the same rows, the same swap)
    const asOf = state.last?.served ? state.last.as_of : null;
    if (asOf) {
      const basis = provider.current();
      const history = basis.store.history(basis.model.name);
      const record = await history.read(asOf);
      if (record.model.version === basis.model.version) provider.swap(basis, servingSnapshot(basis, record, await history.readTable(asOf)));
      else await provider.reload(); // worker 1 had loaded another version (a reload raced the run): load it too
    }
    follower.follow(state);
  });
  return follower;
}

/**
 * The schedule of serve --refresh: its source, retention, tracked columns (flags, else the config's refresh
 * block) and destinations (the config's refresh.webhooks, --changes), all checked before the server listens.
 */
function scheduleRefresh(opts: ServeOptions, provider: ModelProvider, r: NonNullable<ServeOptions['refresh']>, link: WorkerLink | null): Refresher {
  const model = provider.current().model;
  const { config } = r.source(model.config); // a bad source or config is refused now, not at the first run
  const { keep, track, dest } = refreshSettings(config, r.env ?? process.env, model, { modelsDir: opts.modelsDir, keep: r.keep, track: r.track, changesFile: r.changesFile, deadLetterFile: r.deadLetterFile });
  const sends = Boolean(dest.changesFile || dest.webhooks.length);
  // each run in a worker thread (refresh-job.ts): the event loop keeps answering while it ingests and scores
  const runner = workerRunner({
    modelsDir: opts.modelsDir,
    source: r.source,
    destinations: sends ? dest : null,
    keep,
    track,
    salt: r.salt,
    logger: opts.logger,
  });
  return createRefresher({ provider, cadence: parseCadence(r.cadence, model.segments), logger: opts.logger, runner, clock: r.clock, onRun: link ? (state) => link.refreshed(state) : undefined });
}
