import type { FastifyPluginAsync } from 'fastify';
import type { EvaluationReport } from '../../evaluate/index.js';
import { charts, retentionCharts, storedRetentionOf } from '../charts.js';
import type { ModelProvider } from '../provider.js';
import { chartsResponseSchema, errorResponses, reportResponseSchema } from '../schemas.js';
import { modelDates, modelInfo } from '../snapshot.js';

/** GET /v1/charts and GET /v1/report: what the explorer draws and the version's evaluation. */
export const explorerRoutes: FastifyPluginAsync<{ provider: ModelProvider }> = async (app, { provider }) => {
  app.get('/v1/charts', { schema: { summary: 'the vega-lite specs of the explorer', response: { 200: chartsResponseSchema, ...errorResponses() } } }, async () => {
    const l = provider.current();
    return { ...charts(l), retention: await retentionCharts(l) };
  });

  app.get('/v1/report', { schema: { summary: 'the evaluation (model vs rule), backtest and ingest summary of the loaded version', response: { 200: reportResponseSchema, ...errorResponses() } } }, async () => {
    const l = provider.current();
    const r = l.model.report as { evaluation?: EvaluationReport; backtest?: unknown; ingest?: unknown; warnings?: unknown[] };
    const ev = r.evaluation;
    const dates = modelDates(l);
    return {
      model: modelInfo(l),
      // The evaluation is counted on the users of the test cutoff, labelled over the horizon after it.
      evaluation: ev ? { as_of: dates.testCutoff, horizon_days: dates.horizonDays, title: ev.title, testUsers: ev.testUsers, testChurnRate: ev.testChurnRate, metrics: ev.metrics, differences: ev.differences, verdict: ev.verdict, evidence: ev.evidence ?? null, warnings: ev.warnings ?? [], ceiling: ev.ceiling, highRisk: ev.highRisk, candidates: ev.candidates ?? [] } : null,
      backtest: r.backtest ?? null,
      snapshot_as_of: dates.snapshot,
      // the groupings GET /v1/retention can answer for this version (none: it stores no retention.json)
      retention_views: Object.keys((await storedRetentionOf(l))?.views ?? {}),
      warnings: r.warnings ?? [],
    };
  });
};
