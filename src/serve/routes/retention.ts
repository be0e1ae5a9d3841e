import type { FastifyPluginAsync } from 'fastify';
import { RETENTION_FILE } from '../../retention/index.js';
import { CohortlabError } from '../../shared/errors.js';
import { storedRetentionOf } from '../charts.js';
import type { ModelProvider } from '../provider.js';
import { errorResponses, retentionQuerySchema, retentionResponseSchema } from '../schemas.js';
import { modelInfo } from '../snapshot.js';

/** GET /v1/retention: the Kaplan-Meier curves the version stored (src/retention/stored.ts). */
export const retentionRoutes: FastifyPluginAsync<{ provider: ModelProvider }> = async (app, { provider }) => {
  app.get('/v1/retention', {
    schema: { summary: 'Kaplan-Meier retention curves with 95% bands, median lifetimes and the log-rank test, by segment, lifecycle stage or cluster, as the version stored them', querystring: retentionQuerySchema, response: { 200: retentionResponseSchema, ...errorResponses(404) } },
  }, async (req) => {
    const l = provider.current();
    const { by } = req.query as { by: 'all' | 'segment' | 'lifecycle' | 'cluster' };
    const stored = await storedRetentionOf(l);
    if (!stored) throw new CohortlabError('RETENTION_NOT_STORED', `${l.model.name}@${l.model.version} holds no ${RETENTION_FILE}: it was trained before retention curves were stored; train a new version (or compute curves from the events with cohortlab retention)`);
    const v = stored.views[by];
    if (!v) throw new CohortlabError('RETENTION_NOT_STORED', `${l.model.name}@${l.model.version} stored no retention curves by ${by}; stored: ${Object.keys(stored.views).join(', ')}`, { path: 'querystring:by' });
    return { model: modelInfo(l), ...v, as_of: stored.as_of, landmark: stored.landmark, by };
  });
};
