import type { FastifyPluginAsync } from 'fastify';
import type { EvaluationReport } from '../../evaluate/index.js';
import { charts, retentionCharts, storedRetentionOf } from '../charts.js';
import type { Loaded, ModelProvider } from '../provider.js';
import { chartsResponseSchema, errorResponses, reportResponseSchema } from '../schemas.js';
import { modelDates, modelInfo } from '../snapshot.js';

const PROCESS_TAG = Date.now().toString(36);
const tags = new WeakMap<Loaded, string>();
let tagged = 0;

/** The charts' ETag: one per loaded version and served snapshot (the charts are built once for each), new at every start. */
function chartsTag(l: Loaded): string {
  let tag = tags.get(l);
  if (!tag) {
    tag = `"charts-${PROCESS_TAG}-${++tagged}"`;
    tags.set(l, tag);
  }
  return tag;
}

/** GET /v1/charts and GET /v1/report: what the explorer draws and the version's evaluation. */
export const explorerRoutes: FastifyPluginAsync<{ provider: ModelProvider }> = async (app, { provider }) => {
  app.get('/v1/charts', { schema: { summary: 'the vega-lite specs of the explorer (ETag: a revalidation answers 304 until another version or snapshot is loaded)', response: { 200: chartsResponseSchema, 304: { type: 'null', description: 'not modified: the If-None-Match ETag is current' }, ...errorResponses() } } }, async (req, reply) => {
    const l = provider.current();
    // The largest answer the explorer loads (the PCA map of up to 20,000 users): a warm visit revalidates it.
    const tag = chartsTag(l);
    reply.header('etag', tag).header('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === tag) return reply.code(304).send();
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
