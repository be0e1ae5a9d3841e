import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createProvider } from '../../src/serve/index.js';
import { readTable, type ColumnTable } from '../../src/shared/table-io.js';
import { loadEvents, SYNTHETIC_PRESET } from '../../src/ingest/index.js';
import { computeFeatures } from '../../src/features/index.js';
import { trainedFixture, type Fixture } from './helper.js';
import { openModelStore } from '../../src/registry/index.js';

/**
 * Issue 17 part 5: every answer says which as-of date each number belongs to, and the counts of one block come
 * from one table. The fixture model has two dates: the test cutoff (clusters fitted and profiled, §9.1
 * dashboard, evaluation) and the scored snapshot (the last event day: users, members, segment sizes).
 */
let fx: Fixture;
let app: FastifyInstance;
let snap: ColumnTable;
let params: { asOf: string; snapshotAsOf: string; horizonDays: number };
let report: { clusters: { users: number; fittedUsers: number; alreadyChurnedUsers: number }; dashboard: { users: number } };

const get = async (url: string) => {
  const r = await app.inject({ url });
  return { status: r.statusCode, json: r.headers['content-type']?.toString().startsWith('application/json') ? r.json() : null, text: r.body, headers: r.headers };
};

beforeAll(async () => {
  fx = await trainedFixture();
  app = await buildApp({ provider: await createProvider('default@1', openModelStore(fx.modelsDir)) });
  const dir = join(fx.modelsDir, 'default', '1');
  snap = await readTable(join(dir, 'scores.parquet'));
  params = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')).params;
  report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'));
}, 180_000);

afterAll(async () => {
  await app?.close();
});

describe('dated answers', () => {
  it('the fixture has two different dates, so a mix-up would show', () => {
    expect(params.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(params.snapshotAsOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(params.asOf < params.snapshotAsOf).toBe(true);
  });

  it('GET /v1/clusters: profiles in a fit block of the test cutoff, sizes in a snapshot block of the snapshot date', async () => {
    const r = await get('/v1/clusters');
    expect(r.status).toBe(200);
    const { fit, snapshot } = r.json;
    expect(fit.as_of).toBe(params.asOf);
    expect(fit.horizon_days).toBe(params.horizonDays);
    expect(fit.users).toBe(report.clusters.users);
    expect(fit.fitted_users).toBe(report.clusters.fittedUsers);
    expect(fit.already_churned).toBe(report.clusters.alreadyChurnedUsers);
    expect(fit.fitted_on).toBe('live');
    expect(fit.fitted_users + fit.already_churned).toBe(fit.users);
    // every count of the fit block is of the test-cutoff table: profile sizes add up to its users, as the dashboard's
    expect(fit.profiles.reduce((a: number, p: { size: number }) => a + p.size, 0)).toBe(fit.users);
    expect(fit.users).toBe(report.dashboard.users);

    expect(snapshot.as_of).toBe(params.snapshotAsOf);
    expect(snapshot.users).toBe(snap.rows);
    const cluster = snap.columns.cluster as Float64Array;
    const prob = snap.columns.churn_probability as Float64Array;
    for (const c of snapshot.clusters) {
      const rows = [...cluster.keys()].filter((i) => cluster[i] === c.cluster);
      expect(c.users).toBe(rows.length);
      expect(c.share).toBeCloseTo(rows.length / snap.rows, 12);
      expect(c.mean_churn_probability).toBeCloseTo(rows.reduce((a, i) => a + prob[i], 0) / rows.length, 9);
      expect(c.label).toBe(r.json.labels[c.cluster]);
    }
    expect(snapshot.clusters.reduce((a: number, c: { users: number }) => a + c.users, 0)).toBe(snap.rows);
    // nothing of one date sits at the top level beside the other's
    expect(Object.keys(r.json).sort()).toEqual(['features', 'fit', 'k', 'labels', 'model', 'snapshot']);
  });

  it('GET /v1/segments: snapshot sizes and the §9.1 dashboard are separate blocks with their own dates', async () => {
    const r = await get('/v1/segments');
    expect(r.status).toBe(200);
    const { snapshot, dashboard } = r.json;
    expect(snapshot.as_of).toBe(params.snapshotAsOf);
    expect(snapshot.users).toBe(snap.rows);
    for (const [col, sizes] of Object.entries(snapshot.sizes as Record<string, Record<string, number>>)) {
      expect(Object.values(sizes).reduce((a, b) => a + b, 0), col).toBe(snap.rows);
    }
    expect(dashboard.as_of).toBe(params.asOf);
    expect(dashboard.horizon_days).toBe(params.horizonDays);
    expect(dashboard.users).toBe(report.dashboard.users);
    expect(dashboard.rows.reduce((a: number, x: { users: number }) => a + x.users, 0)).toBe(dashboard.users);
    // the §10 warnings are those of the dashboard's own rows
    type Warning = { code: string; message: string; segment?: string };
    const small = (dashboard.warnings as Warning[]).filter((x) => x.code === 'SMALL_SEGMENT' && !/rule-file/.test(x.message));
    for (const w of small) {
      const row = dashboard.rows.find((x: { segment: string }) => x.segment === w.segment);
      expect(w.message).toContain(row.alreadyChurned > 0 ? `has ${row.users - row.alreadyChurned} live users (and ${row.alreadyChurned} already churned)` : `has ${row.users} users`);
    }
    // §9.1 LTV per segment: null here, the synthetic product has no purchases (test/pipeline/ltv-baseline.test.ts checks the CDNOW tables)
    expect(r.json.ltv).toBeNull();
    expect(Object.keys(r.json).sort()).toEqual(['dashboard', 'ltv', 'model', 'snapshot']);
  });

  it('a user, a page of members, the CSV export, the map points and the report say their date', async () => {
    const id = (snap.columns.user_id as string[])[5];
    const u = await get(`/v1/users/${id}`);
    expect(u.json.as_of).toBe(params.snapshotAsOf);
    expect(u.json.user_id).toBe(id);
    const m = await get('/v1/members?cluster=0&page_size=3');
    expect(m.json.as_of).toBe(params.snapshotAsOf);
    const e = await get('/v1/export?cluster=0');
    const lines = e.text.trim().split('\n');
    expect(lines[0].split(',').at(-1)).toBe('as_of');
    expect(lines.slice(1).every((l) => l.endsWith(`,${params.snapshotAsOf}`))).toBe(true);
    expect(String(e.headers['content-disposition'])).toContain(`-${params.snapshotAsOf}.csv`);
    expect((await get('/v1/points?sample=10')).json.as_of).toBe(params.snapshotAsOf);
    const rep = await get('/v1/report');
    expect(rep.json.evaluation.as_of).toBe(params.asOf);
    expect(rep.json.evaluation.horizon_days).toBe(params.horizonDays);
    expect(rep.json.snapshot_as_of).toBe(params.snapshotAsOf);
    expect(Array.isArray(rep.json.warnings)).toBe(true);
  });

  it('the explorer charts carry their dates: profiles of the test cutoff, the map of the snapshot', async () => {
    const c = (await get('/v1/charts')).json.clusters;
    expect(c.sizes[0].title).toBe(`Users per cluster (as of ${params.asOf})`);
    expect(c.heat[0].title).toContain(`(as of ${params.asOf})`);
    expect(c.churn[0].title).toContain(`(as of ${params.asOf})`);
    expect(c.pca[0].title).toContain(`, as of ${params.snapshotAsOf})`);
  });

  it('a snapshot with an already_churned column: counted apart, in total and per cluster, at the snapshot date', async () => {
    // The scored snapshot carries the flag the features of the snapshot date give each user (what `score` writes).
    const store = await loadEvents([fx.events], SYNTHETIC_PRESET);
    const table = await computeFeatures(store, { asOf: params.snapshotAsOf });
    store.close();
    const flag = new Map(table.userIds.map((u, i) => [u, table.alreadyChurned[i]]));
    const ids = snap.columns.user_id as string[];
    const col = snap.columns.already_churned as Float64Array;
    expect(Array.from(col)).toEqual(ids.map((u) => flag.get(u) as number));
    {
      const total = col.reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThan(0);
      const c = app.inject({ url: '/v1/clusters' }).then((r) => r.json());
      const sg = app.inject({ url: '/v1/segments' }).then((r) => r.json());
      const [clusters, segments] = await Promise.all([c, sg]);
      expect(clusters.snapshot.already_churned).toBe(total);
      expect(segments.snapshot.already_churned).toBe(total);
      const cluster = snap.columns.cluster as Float64Array;
      for (const k of clusters.snapshot.clusters) {
        expect(k.already_churned).toBe([...cluster.keys()].filter((i) => cluster[i] === k.cluster && col[i] === 1).length);
      }
    }
  });

  it('the OpenAPI document declares the dated blocks', async () => {
    const doc = (await get('/v1/openapi.json')).json;
    const schema = (path: string) => doc.paths[path].get.responses['200'].content['application/json'].schema;
    expect(schema('/v1/clusters').required).toEqual(['model', 'k', 'labels', 'fit', 'snapshot']);
    expect(schema('/v1/clusters').properties.fit.required).toContain('as_of');
    expect(schema('/v1/segments').properties.dashboard.required).toContain('as_of');
    expect(schema('/v1/users/{id}').required).toEqual(['user_id', 'as_of']);
  });
});
