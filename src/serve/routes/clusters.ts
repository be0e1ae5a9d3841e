import type { FastifyPluginAsync } from 'fastify';
import type { ClusterReport } from '../../cluster/index.js';
import { antiPatternWarnings, type Dashboard } from '../../rules/index.js';
import { CohortlabError, errorMessage } from '../../shared/errors.js';
import type { ModelProvider } from '../provider.js';
import { clustersResponseSchema, errorResponses, pointsQuerySchema, pointsResponseSchema, segmentsResponseSchema } from '../schemas.js';
import { modelDates, modelInfo, snapshotAlreadyChurned } from '../snapshot.js';

/** GET /v1/clusters, GET /v1/segments and GET /v1/points: profiles, sizes and the PCA map, each dated. */
export const clusterRoutes: FastifyPluginAsync<{ provider: ModelProvider }> = async (app, { provider }) => {
  app.get('/v1/clusters', { schema: { summary: 'clusters in two dated blocks: profiles of the users they were fitted on (fit.as_of) and sizes in the scored snapshot (snapshot.as_of)', response: { 200: clustersResponseSchema, ...errorResponses(404) } } }, async () => {
    const l = provider.current();
    const r = l.model.report as { clusters?: ClusterReport };
    if (!r.clusters) throw new CohortlabError('NO_CLUSTERS', errorMessage('NO_CLUSTERS'));
    const { profiles, k, features, kSelection, stability, warnings, pca, crosstabs } = r.clusters;
    const dates = modelDates(l);
    // Two blocks, each counted on one table: never a fit-time profile beside a snapshot count without its date.
    const col = l.snapshot.columns.cluster as Float64Array;
    const prob = l.snapshot.columns.churn_probability;
    const members: number[][] = Array.from({ length: k }, () => []);
    for (let i = 0; i < col.length; i++) members[col[i]].push(i);
    const n = l.snapshot.rows;
    const clusters = members.map((rows, c) => {
      let sum = 0;
      if (prob && !Array.isArray(prob)) for (const i of rows) sum += prob[i];
      return {
        cluster: c,
        label: profiles[c].label,
        users: rows.length,
        share: n > 0 ? rows.length / n : 0,
        already_churned: snapshotAlreadyChurned(l, rows),
        mean_churn_probability: prob && !Array.isArray(prob) && rows.length ? sum / rows.length : null,
      };
    });
    return {
      model: modelInfo(l),
      k,
      features,
      labels: profiles.map((p) => p.label),
      fit: {
        as_of: r.clusters.asOf,
        horizon_days: dates.horizonDays,
        users: r.clusters.users,
        fitted_users: r.clusters.fittedUsers,
        // Reports written before these fields: the profiles carry the share of already-churned members.
        already_churned: r.clusters.alreadyChurnedUsers ?? Math.round(profiles.reduce((a, p) => a + p.alreadyChurnedRate * p.size, 0)),
        fitted_on: r.clusters.fittedOn ?? (r.clusters.fittedUsers < r.clusters.users ? 'live' : 'all'),
        profiles,
        kSelection,
        stability,
        pca: { explainedVariance: pca.explainedVariance },
        crosstabs,
        warnings,
      },
      snapshot: { as_of: dates.snapshot, users: n, already_churned: snapshotAlreadyChurned(l), clusters },
    };
  });

  app.get('/v1/segments', { schema: { summary: 'rule segment sizes of the scored snapshot (snapshot.as_of) and the 9.1 dashboard with the section 10 warnings of the test cutoff (dashboard.as_of)', response: { 200: segmentsResponseSchema, ...errorResponses(404) } } }, async () => {
    const l = provider.current();
    const dates = modelDates(l);
    const sizes: Record<string, Record<string, number>> = {};
    for (const col of ['behavioral_segment', 'lifecycle_stage', 'rfm_segment', 'churn_risk_tier', 'engagement_tier', 'intent_segment', 'plan_segment', 'sales_tier']) {
      const c = l.snapshot.columns[col];
      if (!Array.isArray(c)) continue;
      const m: Record<string, number> = {};
      for (const v of c) m[v] = (m[v] ?? 0) + 1;
      sizes[col] = m;
    }
    const d = (l.model.report as { dashboard?: Dashboard }).dashboard;
    return {
      model: modelInfo(l),
      snapshot: { as_of: dates.snapshot, users: l.snapshot.rows, already_churned: snapshotAlreadyChurned(l), sizes },
      // §10 warnings from the stored dashboard itself, so they are counted on the same users as its rows.
      dashboard: d ? { as_of: dates.testCutoff, horizon_days: d.retentionHorizonDays ?? dates.horizonDays, ...d, warnings: antiPatternWarnings(d, l.model.parts.segments) } : null,
      // §9.1 "LTV" per segment, lifecycle stage and cluster at the test cutoff (docs/ltv.md); null without a purchase log.
      ltv: (l.model.report as { ltvDashboard?: unknown }).ltvDashboard ?? null,
    };
  });

  app.get('/v1/points', {
    schema: { summary: 'a seeded sample of the scored snapshot on the PCA map, with its as_of date', querystring: pointsQuerySchema, response: { 200: pointsResponseSchema, ...errorResponses(404) } },
  }, async (req) => {
    const l = provider.current();
    const { sample } = req.query as { sample: number };
    const n = l.snapshot.rows;
    const step = Math.max(1, n / sample);
    const s = l.snapshot.columns;
    const pts = [];
    for (let x = 0; x < n && pts.length < sample; x += step) {
      const i = Math.floor(x);
      pts.push({ pc1: (s.pc1 as Float64Array)[i], pc2: (s.pc2 as Float64Array)[i], cluster: (s.cluster as Float64Array)[i], cluster_label: (s.cluster_label as string[])[i] });
    }
    return { as_of: modelDates(l).snapshot, users: n, points: pts };
  });
};
