import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../plugins/metrics.js';
import { predictionsJson, predictRows, type PredictUser } from '../predict.js';
import type { ModelProvider } from '../provider.js';
import { errorResponses, MAX_USERS_PER_REQUEST, predictBodySchema, predictResponseSchema } from '../schemas.js';
import { modelInfo } from '../snapshot.js';

/** POST /v1/predict: users given as features or raw events (src/serve/predict.ts). */
export const predictRoutes: FastifyPluginAsync<{ provider: ModelProvider; metrics: Metrics }> = async (app, { provider, metrics }) => {
  app.post('/v1/predict', {
    schema: {
      summary: `churn probability, rule scores, segment and cluster for up to ${MAX_USERS_PER_REQUEST} users given as features or raw events`,
      // Built from the features of the version loaded at start.
      body: predictBodySchema(provider.current().model.featureNames),
      response: { 200: predictResponseSchema, ...errorResponses(413, 415, 422) },
    },
  }, async (req, reply) => {
    const l = provider.current();
    const body = req.body as { users: PredictUser[]; as_of?: string; top_reasons: number };
    const rows = await predictRows(l, body.users, body.as_of, body.top_reasons);
    metrics.countPredictions(rows.row.length);
    // the answer's text written from the scored columns (predictionsJson), the same JSON the schema describes
    const model = modelInfo(l);
    return reply.type('application/json; charset=utf-8').send(`{"model":{"name":${JSON.stringify(model.name)},"version":${model.version}},"predictions":${predictionsJson(rows)}}`);
  });
};
