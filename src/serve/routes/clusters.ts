import type { FastifyPluginAsync } from 'fastify';
import { clusterDistributionsSpec, clusterMixSpec, clusterReasonsSpec, describeCluster, distributionOf, topFeatures, type ClusterDetail, type ClusterReport, type Distribution } from '../../cluster/index.js';
import { readSnapshotFeatures } from '../../pipeline/index.js';
import type { ColumnTable } from '../../shared/table-io.js';
import { antiPatternWarnings, type Dashboard } from '../../rules/index.js';
import { CohortlabError, errorMessage } from '../../shared/errors.js';
import type { Loaded, ModelProvider } from '../provider.js';
import { clusterDetailQuerySchema, clusterDetailResponseSchema, clusterParamsSchema, clustersResponseSchema, errorResponses, pointsQuerySchema, pointsResponseSchema, segmentsResponseSchema } from '../schemas.js';
import { modelDates, modelInfo, snapshotAlreadyChurned } from '../snapshot.js';

/** The snapshot features of a loaded version (read once), with the population summary of each feature (computed once). */
interface FeatureState {
  asOf: string | null;
  table: ColumnTable;
  population: Map<string, Distribution>;
}
const featureCache = new WeakMap<Loaded, Promise<FeatureState | null>>();
function snapshotFeaturesOf(l: Loaded): Promise<FeatureState | null> {
  let hit = featureCache.get(l);
  if (!hit) {
    hit = readSnapshotFeatures(l.store, l.model).then((f) => (f ? { ...f, population: new Map() } : null));
    featureCache.set(l, hit);
  }
  return hit;
}

/** The rows of a cluster column (the snapshot's, or the snapshot features') that hold cluster k. */
function rowsOf(col: ArrayLike<number>, k: number): number[] {
  const rows: number[] = [];
  for (let i = 0; i < col.length; i++) if (col[i] === k) rows.push(i);
  return rows;
}

/** Answers of GET /v1/clusters/:cluster per loaded version and (cluster, compare) pair: the work is done once. */
const detailCache = new WeakMap<Loaded, Map<string, Promise<unknown>>>();

/** The columns whose mix a cluster detail reports (playbook §2.1 segments, §2.3 lifecycle). */
const MIX_COLUMNS = ['behavioral_segment', 'lifecycle_stage'] as const;

async function clusterDetailAnswer(l: Loaded, report: ClusterReport, c: number, j: number | null, asked: string[]) {
  const dates = modelDates(l);
  const s = l.snapshot.columns;
  const col = s.cluster as ArrayLike<number>;
  const n = l.snapshot.rows;
  const f = await snapshotFeaturesOf(l);
  // the clusters' top features by |z| in the profile; with a comparison the union, in the same order for both
  const stored = f ? f.table.names.filter((x) => x !== 'cluster') : [];
  const unknown = asked.filter((x) => !stored.includes(x));
  if (unknown.length) {
    throw new CohortlabError('UNKNOWN_COLUMN', f ? `features=${unknown.join(',')}: not among the stored snapshot features of ${l.model.name}@${l.model.version}; use any of ${stored.join(', ')}` : `features=${unknown.join(',')}: ${l.model.name}@${l.model.version} stores no snapshot features (trained before they were stored); train a new version`, { path: 'querystring:features' });
  }
  const names = [...new Set([...topFeatures(report.profiles[c], report.features), ...(j === null ? [] : topFeatures(report.profiles[j], report.features)), ...asked])].filter((x) => f?.table.columns[x]);
  const population = (name: string): Distribution => {
    let d = f!.population.get(name);
    if (!d) {
      d = distributionOf(f!.table.columns[name] as ArrayLike<number>);
      f!.population.set(name, d);
    }
    return d;
  };
  const mixColumns: Record<string, readonly string[]> = {};
  for (const m of MIX_COLUMNS) if (Array.isArray(s[m])) mixColumns[m] = s[m] as string[];
  const prob = s.churn_probability;
  const detail = (k: number): ClusterDetail => {
    const featureRows = f ? rowsOf(f.table.columns.cluster as ArrayLike<number>, k) : [];
    return describeCluster({
      profile: report.profiles[k],
      testCutoff: report.asOf || dates.testCutoff,
      rows: rowsOf(col, k),
      populationUsers: n,
      mixColumns,
      reasons: Array.isArray(s.reasons) ? (s.reasons as string[]) : null,
      probability: prob && !Array.isArray(prob) ? prob : null,
      features: f ? { names, columns: f.table.columns as Record<string, ArrayLike<number>>, featureRows, population } : null,
    });
  };
  const cluster = detail(c);
  const compare = j === null ? null : detail(j);
  return {
    model: modelInfo(l),
    as_of: dates.snapshot,
    features_as_of: f?.asOf ?? null,
    test_cutoff: report.asOf || dates.testCutoff,
    horizon_days: dates.horizonDays,
    population: { users: n },
    cluster,
    compare,
    charts: { distributions: clusterDistributionsSpec(cluster, compare, f?.table.rows ?? n), mix: clusterMixSpec(cluster, compare), reasons: clusterReasonsSpec(cluster, compare) },
  };
}

/** GET /v1/clusters, GET /v1/clusters/:cluster, GET /v1/segments and GET /v1/points: profiles, one cluster in detail, sizes and the PCA map, each dated. */
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

  app.get('/v1/clusters/:cluster', {
    schema: {
      summary: 'one cluster in detail (and ?compare=J side by side): distributions of the features that set it apart against all users, its rule-segment and lifecycle mix, its churn rate with a 95% Wilson interval, the reason codes of its members, with three vega-lite charts',
      params: clusterParamsSchema,
      querystring: clusterDetailQuerySchema,
      response: { 200: clusterDetailResponseSchema, ...errorResponses(404) },
    },
  }, async (req) => {
    const l = provider.current();
    const r = l.model.report as { clusters?: ClusterReport };
    if (!r.clusters || !l.snapshot.columns.cluster) throw new CohortlabError('NO_CLUSTERS', errorMessage('NO_CLUSTERS'), { path: 'params:cluster' });
    const { cluster } = req.params as { cluster: number };
    const { compare, features } = req.query as { compare?: number; features?: string };
    const asked = [...new Set((features ?? '').split(',').map((x) => x.trim()).filter(Boolean))];
    const k = r.clusters.k;
    for (const [v, where] of [[cluster, 'params:cluster'], [compare, 'querystring:compare']] as const) {
      if (v !== undefined && v >= k) throw new CohortlabError('UNKNOWN_CLUSTER', `cluster ${v} does not exist; clusters are 0..${k - 1}`, { path: where });
    }
    // answers are cached per (cluster, compare); one with features= asked is computed each time (any list could be asked)
    if (asked.length) return clusterDetailAnswer(l, r.clusters, cluster, compare ?? null, asked);
    const answers = detailCache.get(l) ?? new Map<string, Promise<unknown>>();
    detailCache.set(l, answers);
    const key = `${cluster}:${compare ?? ''}`;
    let hit = answers.get(key);
    if (!hit) {
      hit = clusterDetailAnswer(l, r.clusters, cluster, compare ?? null, asked);
      answers.set(key, hit);
      hit.catch(() => answers.delete(key));
    }
    return hit;
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
