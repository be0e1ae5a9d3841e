import type { FastifyPluginAsync } from 'fastify';
import { CohortlabError, errorMessage } from '../../shared/errors.js';
import type { PropensityAnswer } from '../propensity.js';
import { errorResponses, propensityResponseSchema } from '../schemas.js';

/** GET /v1/propensity: the upgrade model of serve --propensity-model (read at startup; reload leaves it). */
export const propensityRoutes: FastifyPluginAsync<{ propensity: PropensityAnswer | null }> = async (app, { propensity }) => {
  app.get('/v1/propensity', {
    schema: { summary: 'the upgrade (or event) propensity model loaded with serve --propensity-model: verdict, evidence, ROC-AUC with intervals against the §4.3 score and the baselines, the ceiling and the ROC chart', response: { 200: propensityResponseSchema, ...errorResponses(404) } },
  }, async () => {
    if (!propensity) throw new CohortlabError('NO_PROPENSITY_MODEL', errorMessage('NO_PROPENSITY_MODEL'));
    return propensity;
  });
};
