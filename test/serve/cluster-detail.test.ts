import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openEventSource } from '../../src/engine/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterReport } from '../../src/cluster/index.js';
import { readSnapshotFeatures, refreshModel } from '../../src/pipeline/index.js';
import { openModelStore } from '../../src/registry/index.js';
import { buildApp, createProvider, loadServing, type Loaded } from '../../src/serve/index.js';
import { renderSvg } from '../../src/shared/charts.js';
import type { ColumnTable } from '../../src/shared/table-io.js';
import { trainedFixture } from './helper.js';

/**
 * GET /v1/clusters/:cluster[?compare=J] (issue 22 part 3) on the trained fixture. Counts are checked against the
 * snapshot's columns and the stored snapshot features, quantiles against a sort done here (type 7 by hand),
 * churn against the fit profile.
 */
let app: FastifyInstance;
let l: Loaded;
let report: ClusterReport;
let features: ColumnTable;

beforeAll(async () => {
  const fx = await trainedFixture();
  const provider = await createProvider('default', openModelStore(fx.modelsDir));
  l = provider.current();
  report = (l.model.report as { clusters: ClusterReport }).clusters;
  features = (await readSnapshotFeatures(l.store, l.model))!.table;
  app = await buildApp({ provider });
}, 180_000);

afterAll(async () => {
  await app?.close();
});

/** numpy's default quantile, written out again: sort, then interpolate between the neighbours of q (n - 1). */
function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  return s[lo] + (pos - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? s[lo]) - s[lo]);
}

describe('GET /v1/clusters/:cluster', () => {
  it('counts the members of the snapshot, their mix and reasons, and the fit churn with its interval', async () => {
    const cl = l.snapshot.columns.cluster as Float64Array;
    const seg = l.snapshot.columns.behavioral_segment as string[];
    const reasons = l.snapshot.columns.reasons as string[];
    let total = 0;
    for (let c = 0; c < report.k; c++) {
      const r = await app.inject(`/v1/clusters/${c}`);
      expect(r.statusCode).toBe(200);
      const j = r.json();
      const members = [...cl.keys()].filter((i) => cl[i] === c);
      total += j.cluster.users;
      expect(j).toMatchObject({ model: { name: 'default', version: 1 }, as_of: l.model.params.snapshotAsOf, features_as_of: l.model.params.snapshotAsOf, test_cutoff: report.asOf, horizon_days: l.model.params.horizonDays, population: { users: l.snapshot.rows }, compare: null });
      expect(j.cluster).toMatchObject({ cluster: c, label: report.profiles[c].label, users: members.length, share: members.length / l.snapshot.rows });
      // churn from the fit profile (test cutoff): every member of the table, with a Wilson interval around the rate
      const p = report.profiles[c];
      expect(j.cluster.churn.users).toBe(p.size);
      expect(j.cluster.churn.churned).toBe(Math.round((p.churnRate as number) * p.size));
      expect(j.cluster.churn.lo).toBeLessThanOrEqual(j.cluster.churn.rate);
      expect(j.cluster.churn.hi).toBeGreaterThanOrEqual(j.cluster.churn.rate);
      expect(j.cluster.churn.hi - j.cluster.churn.lo).toBeGreaterThan(0);
      expect(j.cluster.churn.as_of).toBe(report.asOf);
      const prob = l.snapshot.columns.churn_probability as Float64Array;
      expect(j.cluster.mean_churn_probability).toBeCloseTo(members.reduce((a, i) => a + prob[i], 0) / members.length, 12);
      // mix: every segment of the snapshot, the members counted, the population share beside
      const mix = j.cluster.mix.behavioral_segment as { value: string; users: number; population_share: number }[];
      expect(new Set(mix.map((m) => m.value))).toEqual(new Set(seg));
      for (const m of mix) {
        expect(m.users).toBe(members.filter((i) => seg[i] === m.value).length);
        expect(m.population_share).toBeCloseTo(seg.filter((v) => v === m.value).length / seg.length, 12);
      }
      expect(Object.keys(j.cluster.mix)).toEqual(['behavioral_segment', 'lifecycle_stage']);
      // reasons: the most common code counted again from the JSON column
      const top = j.cluster.reasons[0];
      const having = members.filter((i) => (JSON.parse(reasons[i] || '[]') as { feature: string; direction: string }[]).some((x) => x.feature === top.feature && x.direction === top.direction));
      expect(top.users).toBe(having.length);
      expect(j.cluster.reasons.length).toBeLessThanOrEqual(8);
      for (let i = 1; i < j.cluster.reasons.length; i++) expect(j.cluster.reasons[i].users).toBeLessThanOrEqual(j.cluster.reasons[i - 1].users);
    }
    expect(total).toBe(l.snapshot.rows);
  });

  it('shows the 6 clustered features with the largest |z|, with type-7 quantiles of the cluster and of all users', async () => {
    const c = 1;
    const j = (await app.inject(`/v1/clusters/${c}`)).json();
    const z = report.profiles[c].z;
    const want = [...report.features].sort((a, b) => Math.abs(z[b]) - Math.abs(z[a]) || a.localeCompare(b)).slice(0, 6);
    expect(j.cluster.features.map((f: { feature: string }) => f.feature)).toEqual(want);
    const fc = features.columns.cluster as Float64Array;
    for (const f of j.cluster.features) {
      expect(f.z).toBe(z[f.feature]);
      const all = [...(features.columns[f.feature] as Float64Array)].filter((v) => !Number.isNaN(v));
      const mine = [...(features.columns[f.feature] as Float64Array)].filter((v, i) => fc[i] === c && !Number.isNaN(v));
      expect(f.cluster.n).toBe(mine.length);
      expect(f.population.n).toBe(all.length);
      for (const [k, q] of [['p05', 0.05], ['q1', 0.25], ['median', 0.5], ['q3', 0.75], ['p95', 0.95]] as const) {
        expect(f.cluster[k]).toBeCloseTo(quantile(mine, q), 9);
        expect(f.population[k]).toBeCloseTo(quantile(all, q), 9);
      }
      expect(f.scale).toBe(f.population.min >= 0 && (f.population.p95 > 10 * f.population.median || f.population.max > 10 * f.population.p95) ? 'symlog' : 'linear');
    }
    // features= adds stored features after the top ones
    const extra = features.names.find((n) => n !== 'cluster' && !want.includes(n))!;
    const withExtra = (await app.inject(`/v1/clusters/${c}?features=${extra}`)).json();
    expect(withExtra.cluster.features.map((f: { feature: string }) => f.feature)).toEqual([...want, extra]);
    const bad = await app.inject(`/v1/clusters/${c}?features=${extra},nope`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'UNKNOWN_COLUMN', path: 'querystring:features' });
  });

  it('compares two clusters on the union of their top features, in the same order for both', async () => {
    const j = (await app.inject('/v1/clusters/0?compare=2')).json();
    expect(j.compare.cluster).toBe(2);
    const names = (d: { features: { feature: string }[] }) => d.features.map((f) => f.feature);
    expect(names(j.compare)).toEqual(names(j.cluster));
    const top = (c: number) => [...report.features].sort((a, b) => Math.abs(report.profiles[c].z[b]) - Math.abs(report.profiles[c].z[a]) || a.localeCompare(b)).slice(0, 6);
    expect(names(j.cluster)).toEqual([...new Set([...top(0), ...top(2)])]);
    // the population summary is the same object for both; the scale too
    expect(j.compare.features.map((f: { population: unknown }) => f.population)).toEqual(j.cluster.features.map((f: { population: unknown }) => f.population));
    const dist = j.charts.distributions;
    expect(dist.vconcat).toHaveLength(j.cluster.features.length);
    expect(dist.vconcat[0].data.values.map((v: { group: string }) => v.group)).toEqual([`0: ${report.profiles[0].label}`, `2: ${report.profiles[2].label}`, 'all users']);
    j.cluster.features.forEach((f: { scale: string }, i: number) => expect(dist.vconcat[i].layer[0].encoding.x.scale.type ?? 'linear').toBe(f.scale));
    for (const key of ['distributions', 'mix', 'reasons'] as const) {
      expect(j.charts[key].title).toMatch(/^Cluster 0: .* vs 2: /);
      expect(j.charts[key].description).toMatch(/cluster 0.*cluster 2/);
    }
    expect(await renderSvg(dist)).toMatch(/^<svg/);
    expect(await renderSvg(j.charts.mix)).toMatch(/^<svg/);
    expect(await renderSvg(j.charts.reasons)).toMatch(/^<svg/);
  }, 60_000);

  it('refuses a cluster or a compared cluster that does not exist', async () => {
    const r = await app.inject(`/v1/clusters/${report.k}`);
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ code: 'UNKNOWN_CLUSTER', path: 'params:cluster', message: `cluster ${report.k} does not exist; clusters are 0..${report.k - 1}` });
    expect((await app.inject('/v1/clusters/0?compare=99')).json()).toMatchObject({ code: 'UNKNOWN_CLUSTER', path: 'querystring:compare' });
    expect((await app.inject('/v1/clusters/x')).statusCode).toBe(400);
    expect((await app.inject('/v1/clusters/0?other=1')).statusCode).toBe(400);
  });
});

describe('GET /v1/clusters/:cluster while a refresh snapshot is served', () => {
  it('counts members, mix and reasons on the served snapshot and dates the feature quantiles by the training snapshot', async () => {
    const fx = await trainedFixture();
    const dir = join(await mkdtemp(join(tmpdir(), 'cl-detail-')), 'models');
    await cp(fx.modelsDir, dir, { recursive: true });
    const store = openModelStore(dir);
    const model = (await loadServing('default', store)).model;
    const later = new Date(Date.parse(`${model.params.snapshotAsOf}T00:00:00Z`) + 5 * 86_400_000).toISOString().slice(0, 10);
    const src = await openEventSource({ engine: 'duckdb', events: [fx.events] }, model.config);
    try {
      await refreshModel({ models: store, model, source: src, asOf: later });
    } finally {
      await src.close();
    }
    const served = await buildApp({ provider: await createProvider('default', store) });
    try {
      const rec = await store.history('default').read(later);
      const j = (await served.inject('/v1/clusters/1')).json();
      expect(j).toMatchObject({ as_of: later, features_as_of: model.params.snapshotAsOf, population: { users: rec.users } });
      expect(j.cluster.users).toBe(rec.sizes.cluster_label[report.profiles[1].label]);
      const mixUsers = (j.cluster.mix.lifecycle_stage as { users: number }[]).reduce((a, m) => a + m.users, 0);
      expect(mixUsers).toBe(j.cluster.users);
      // the quantiles stay those of the training snapshot's members (the stored features)
      const trained = (await app.inject('/v1/clusters/1')).json();
      expect(j.cluster.features).toEqual(trained.cluster.features);
    } finally {
      await served.close();
    }
  }, 180_000);
});
