import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Metrics } from '../plugins/metrics.js';
import { predictColumnRows, predictionsJson, predictRows, type PredictColumns, type PredictionRows, type PredictUser } from '../predict.js';
import type { Loaded, ModelProvider } from '../provider.js';
import { errorResponses, MAX_USERS_PER_REQUEST, predictBodySchema, predictColumnsBodySchema, predictResponseSchema } from '../schemas.js';
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
    return answer(reply, l, await predictRows(l, body.users, body.as_of, body.top_reasons));
  });

  app.post('/v1/predict/columns', {
    schema: {
      summary: `the answer of POST /v1/predict for up to ${MAX_USERS_PER_REQUEST} users sent as feature columns (one array per feature): the fastest way to score a batch`,
      body: predictColumnsBodySchema(provider.current().model.featureNames),
      response: { 200: predictResponseSchema, ...errorResponses(413, 415, 422) },
    },
  }, async (req, reply) => {
    const l = provider.current();
    const body = req.body as PredictColumns & { top_reasons: number };
    return answer(reply, l, await predictColumnRows(l, body, body.top_reasons));
  });

  /** The answer's text written from the scored columns (predictionsJson), the same JSON the response schema describes. */
  function answer(reply: FastifyReply, l: Loaded, rows: PredictionRows) {
    metrics.countPredictions(rows.row.length);
    const model = modelInfo(l);
    return reply.type('application/json; charset=utf-8').send(`{"model":{"name":${JSON.stringify(model.name)},"version":${model.version}},"predictions":${predictionsJson(rows)}}`);
  }
};
