import { Ajv } from 'ajv';
import { FeatureRowsBody } from './rows-body.js';
import Fastify, { type FastifyInstance } from 'fastify';
import type { RouteDoc } from './openapi.js';
import { authPlugin } from './plugins/auth.js';
import { corsPlugin } from './plugins/cors.js';
import { errorsPlugin } from './plugins/errors.js';
import { Metrics, metricsPlugin } from './plugins/metrics.js';
import type { WorkerLink } from './workers.js';
import { loggerOptions, requestLogPlugin, type LogOptions } from './plugins/request-log.js';
import { staticPlugin } from './plugins/static.js';
import type { PropensityAnswer } from './propensity.js';
import type { ModelProvider } from './provider.js';
import type { Refresher } from './refresh.js';
import { clusterRoutes } from './routes/clusters.js';
import { explorerRoutes } from './routes/explorer.js';
import { exportRoutes } from './routes/export.js';
import { historyRoutes } from './routes/history.js';
import { modelRoutes } from './routes/models.js';
import { predictRoutes } from './routes/predict.js';
import { propensityRoutes } from './routes/propensity.js';
import { retentionRoutes } from './routes/retention.js';
import { userRoutes } from './routes/users.js';
import { BODY_LIMIT_BYTES } from './schemas.js';

export { modelDates, type ModelDates } from './snapshot.js';

/**
 * serve: one fastify app with the /v1 prediction API for services and the explorer for analysts.
 * The app is built here and only listened to in index.ts (startServer), so tests drive it over a real port
 * or with inject. Phases, in order:
 *   1. fastify with its pino logger (plugins/request-log.ts), request ids and the body validators;
 *   2. app-wide plugins: errors (one catalogue, src/shared/errors.ts), request log, CORS, API key, metrics,
 *      static files with compression;
 *   3. route groups, one file each under routes/; their schemas (schemas.ts) validate requests, serialize
 *      answers and make /v1/openapi.json.
 */
export interface AppOptions {
  provider: ModelProvider;
  /** When set, every /v1 route but health needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Origins allowed to call the API from a browser (CORS); none by default. */
  corsOrigins?: string[];
  /** The JSON-lines log: where it goes and whether every request gets a line (errors are always logged). */
  log?: LogOptions;
  /** The upgrade model of serve --propensity-model (GET /v1/propensity, the explorer's "Upgrade model"); none by default. */
  propensity?: PropensityAnswer | null;
  /** The schedule of serve --refresh (its state in /v1/health and /v1/models; stopped when the app closes); none by default. */
  refresher?: Refresher | null;
  /** serve --workers: this worker's link to the others (reloads and /metrics span every worker); none in one process. */
  link?: WorkerLink | null;
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({ bodyLimit: BODY_LIMIT_BYTES, ...loggerOptions(opts.log ?? {}) });
  // Bodies: no coercion ("12" stays a string and is rejected), nothing removed silently (a misspelled
  // feature is an error). Query strings and path parameters are text by nature: numbers are coerced.
  const bodyAjv = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, allowUnionTypes: true, allErrors: false });
  const queryAjv = new Ajv({ coerceTypes: true, removeAdditional: false, useDefaults: true, allowUnionTypes: true, allErrors: false });
  app.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart !== 'body') return queryAjv.compile(schema);
    const check = bodyAjv.compile(schema);
    // POST /v1/predict's reader (rows-body.ts) takes only bodies this schema accepts: what it read is valid as read
    const checkBody = (data: unknown): boolean => {
      if (data instanceof FeatureRowsBody) return true;
      const ok = check(data);
      checkBody.errors = check.errors;
      return ok;
    };
    checkBody.errors = check.errors;
    return checkBody;
  });

  const routes: RouteDoc[] = [];
  app.addHook('onRoute', (r) => {
    if (r.schema && r.url.startsWith('/v1')) {
      for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url, schema: r.schema as RouteDoc['schema'], summary: (r.schema as { summary?: string }).summary, produces: (r.config as { produces?: string } | undefined)?.produces });
    }
  });

  const { provider } = opts;
  const metrics = new Metrics();
  await app.register(errorsPlugin);
  // First of the onRequest hooks: a CORS preflight or a 401 answered by the next ones still carries x-request-id.
  await app.register(requestLogPlugin);
  await app.register(corsPlugin, { origins: opts.corsOrigins });
  await app.register(authPlugin, { apiKey: opts.apiKey });
  await app.register(metricsPlugin, { metrics, provider, link: opts.link ?? null });
  await app.register(staticPlugin);

  await app.register(modelRoutes, { provider, routes, propensity: opts.propensity ?? null, refresher: opts.refresher ?? null, link: opts.link ?? null });
  await app.register(predictRoutes, { provider, metrics });
  await app.register(userRoutes, { provider });
  await app.register(exportRoutes, { provider });
  await app.register(clusterRoutes, { provider });
  await app.register(retentionRoutes, { provider });
  await app.register(explorerRoutes, { provider });
  await app.register(historyRoutes, { provider });
  await app.register(propensityRoutes, { propensity: opts.propensity ?? null });
  // a run in progress finishes (and its source is closed) before the server is gone
  if (opts.refresher) app.addHook('onClose', async () => opts.refresher?.stop());
  await app.ready();
  return app;
}
