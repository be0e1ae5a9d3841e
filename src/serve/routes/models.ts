import type { FastifyPluginAsync } from 'fastify';
import { readProductionHistory } from '../../registry/index.js';
import { CohortlabError } from '../../shared/errors.js';
import { openApiDocument, type RouteDoc } from '../openapi.js';
import type { PropensityAnswer } from '../propensity.js';
import type { Loaded, ModelProvider } from '../provider.js';
import type { Refresher } from '../refresh.js';
import type { WorkerLink } from '../workers.js';
import { errorResponses, healthResponseSchema, modelsResponseSchema, openApiResponseSchema, reloadResponseSchema } from '../schemas.js';
import { modelDates, modelInfo } from '../snapshot.js';

/** The snapshot answers are counted on: the version's training one, or the newest refresh (issue 21). */
function servedSnapshot(l: Loaded) {
  return { as_of: modelDates(l).snapshot, source: l.refreshed ? ('refresh' as const) : ('training' as const), users: l.snapshot.rows };
}

/** GET /v1/health, GET /v1/models, POST /v1/models/reload and GET /v1/openapi.json. */
export const modelRoutes: FastifyPluginAsync<{ provider: ModelProvider; routes: RouteDoc[]; propensity: PropensityAnswer | null; refresher: Refresher | null; link: WorkerLink | null }> = async (app, { provider, routes, propensity, refresher, link }) => {
  // serve --workers: another worker reloaded, so this one loads the reference again too
  link?.onReload(() => provider.reload());
  app.get('/v1/health', { schema: { summary: 'liveness, the loaded model, the served snapshot date and the refresh schedule (serve --refresh)', response: { 200: healthResponseSchema, 500: errorResponses()[500] } } }, async () => {
    const l = provider.current();
    return { status: 'ok', model: modelInfo(l), snapshot: servedSnapshot(l), refresh: refresher ? refresher.state() : null };
  });

  app.get('/v1/models', { schema: { summary: 'the loaded and the promoted version, the features the model needs, and which version was in production over which dates', response: { 200: modelsResponseSchema, ...errorResponses() } } }, async () => {
    const l = provider.current();
    // read-only (the trail and the pointer's mtime): a read-only registry mount still answers
    const history = await readProductionHistory(provider.store, l.model.name);
    return {
      loaded: { ...modelInfo(l), createdAt: l.model.manifest.createdAt, loadedAt: l.loadedAt, metrics: l.model.manifest.metrics, params: l.model.manifest.params },
      production: (await provider.production()) ?? null,
      reference: provider.ref,
      features: l.model.featureNames,
      propensity: propensity ? propensity.model : null,
      production_history: history.periods,
      warnings: history.warnings,
      snapshot: servedSnapshot(l),
      refresh: refresher ? refresher.state() : null,
    };
  });

  app.post('/v1/models/reload', {
    schema: { summary: 'load the reference again (e.g. a newly promoted version) and switch atomically; on failure the loaded version stays', response: { 200: reloadResponseSchema, ...errorResponses(404, 422, 503) } },
  }, async (req) => {
    // No body or {}: the reference is the one the server started with. A "ref" sent here is refused, not ignored
    // (nor followed: a ref from a request never reaches the registry).
    const b = req.body as unknown;
    if (b !== undefined && b !== null && !(typeof b === 'object' && !Array.isArray(b) && Object.keys(b).length === 0)) {
      const key = typeof b === 'object' && !Array.isArray(b) ? Object.keys(b)[0] : undefined;
      throw new CohortlabError('INVALID_REQUEST', `${key ? `body/${key} is not allowed here` : 'the body must be empty or {}'}: reload loads again the reference the server was started with (serve --model); to serve another version, promote it first (cohortlab models promote NAME@VERSION)`, { path: key ? `/${key}` : 'body' });
    }
    const answer = await provider.reload();
    link?.reloadOthers(); // serve --workers: every other worker loads the same reference
    return answer;
  });

  app.get('/v1/openapi.json', { schema: { summary: 'this document', response: { 200: openApiResponseSchema, ...errorResponses() } } }, async () =>
    openApiDocument(routes, { title: 'cohortlab API', version: '1', description: 'Churn probability, playbook rule scores and segments, and discovered clusters for users; the explorer is served at /, Prometheus metrics at /metrics.' }),
  );
};
