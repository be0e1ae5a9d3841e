import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Metrics } from '../plugins/metrics.js';
import { predictColumnRows, predictFeatureRows, predictionsBytes, predictRows, type PredictColumns, type PredictionRows, type PredictUser } from '../predict.js';
import type { Loaded, ModelProvider } from '../provider.js';
import { errorResponses, MAX_USERS_PER_REQUEST, predictBodySchema, predictColumnsBodySchema, predictResponseSchema } from '../schemas.js';
import { modelInfo } from '../snapshot.js';
import { FeatureRowsBody, readFeatureRows } from '../rows-body.js';

const sameNames = (a: string[], b: string[]): boolean => a === b || (a.length === b.length && a.every((x, i) => x === b[i]));

/** POST /v1/predict: users given as features or raw events (src/serve/predict.ts). */
export const predictRoutes: FastifyPluginAsync<{ provider: ModelProvider; metrics: Metrics }> = async (app, { provider, metrics }) => {
  // The usual body (users as feature rows) is read straight into feature columns (rows-body.ts); any other goes
  // through JSON.parse and the schema. The parser is this route's own (a scope of its own).
  const startNames = provider.current().model.featureNames;
  await app.register(async (scope) => {
    const json = scope.getDefaultJsonParser('error', 'error');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, buf, done) => {
      // the schema below holds the features of the version loaded at start: the reader takes them only while current
      const names = provider.current().model.featureNames;
      const rows = sameNames(names, startNames) ? readFeatureRows(buf as Buffer, names, MAX_USERS_PER_REQUEST) : null;
      if (rows) done(null, rows);
      else json(req, (buf as Buffer).toString('utf8'), done);
    });
    scope.post('/v1/predict', {
      schema: {
        summary: `churn probability, rule scores, segment and cluster for up to ${MAX_USERS_PER_REQUEST} users given as features or raw events`,
        // Built from the features of the version loaded at start.
        body: predictBodySchema(startNames),
        response: { 200: predictResponseSchema, ...errorResponses(413, 415, 422) },
      },
    }, async (req, reply) => {
      const l = provider.current();
      if (req.body instanceof FeatureRowsBody) return answer(reply, l, await predictFeatureRows(l, req.body.table, req.body.topReasons, req.body.asOf));
      const body = req.body as { users: PredictUser[]; as_of?: string; top_reasons: number };
      return answer(reply, l, await predictRows(l, body.users, body.as_of, body.top_reasons));
    });
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

  /** The answer written from the scored columns (predictionsBytes), the same JSON the response schema describes. */
  function answer(reply: FastifyReply, l: Loaded, rows: PredictionRows) {
    metrics.countPredictions(rows.row.length);
    const model = modelInfo(l);
    return reply.type('application/json; charset=utf-8').send(predictionsBytes(rows, `{"model":{"name":${JSON.stringify(model.name)},"version":${model.version}},"predictions":`, '}'));
  }
};
