import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { createProvider } from './provider.js';
import { loadPropensity } from './propensity.js';
import type { Logger } from '../shared/log.js';
import { openModelStore } from '../registry/index.js';

export { buildApp, type AppOptions } from './app.js';
export { loadPropensity, type PropensityAnswer } from './propensity.js';
export { createProvider, loadServing, type Loaded, type ModelProvider } from './provider.js';
export { MAX_USERS_PER_REQUEST, BODY_LIMIT_BYTES } from './schemas.js';
export { Metrics } from './plugins/metrics.js';
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
}

/** Loads the model and listens; returns the app and the explorer URL. */
export async function startServer(opts: ServeOptions): Promise<{ app: FastifyInstance; url: string }> {
  const store = openModelStore(opts.modelsDir);
  // the propensity version first: a wrong --propensity-model is refused before the churn model is loaded
  const propensity = opts.propensityRef ? await loadPropensity(opts.propensityRef, store) : null;
  const provider = await createProvider(opts.ref, store, opts.logger);
  const app = await buildApp({ provider, propensity, apiKey: opts.apiKey, corsOrigins: opts.corsOrigins, log: { requests: opts.logRequests, stream: opts.logStream } });
  await app.listen({ port: opts.port, host: opts.host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  return { app, url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}/` };
}
