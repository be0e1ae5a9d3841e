import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createProvider } from '../../src/serve/index.js';
import { loadEvents, SYNTHETIC_PRESET } from '../../src/ingest/index.js';
import { computeRetention, RETENTION_FILE, type StoredRetention } from '../../src/retention/index.js';
import { versionWithoutRetention } from './retention-helper.js';
import { trainedFixture, type Fixture } from './helper.js';
import { openModelStore } from '../../src/registry/index.js';

/**
 * GET /v1/retention answers from the version's retention.json (src/retention/stored.ts): groups assigned at the
 * test cutoff, time from it to the snapshot date. train writes it; a version without it (written before) answers 404.
 */
let fx: Fixture;
let app: FastifyInstance;
let params: { asOf: string; snapshotAsOf: string };
const dir = () => join(fx.modelsDir, 'default', '1');

beforeAll(async () => {
  fx = await trainedFixture();
  app = await buildApp({ provider: await createProvider('default@1', openModelStore(fx.modelsDir)) });
  params = JSON.parse(await readFile(join(dir(), 'manifest.json'), 'utf8')).params;
}, 180_000);

afterAll(async () => {
  await app?.close();
});

describe('GET /v1/retention', () => {
  it('says 404 RETENTION_NOT_STORED for a version without retention.json, and serves the views train stored', async () => {
    const ref = await versionWithoutRetention(fx, 'noretention');
    const old = await buildApp({ provider: await createProvider(ref, openModelStore(fx.modelsDir)) });
    try {
      const missing = await old.inject({ url: '/v1/retention?by=segment' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toMatchObject({ code: 'RETENTION_NOT_STORED' });
      expect(missing.json().message).toMatch(/noretention@1 holds no retention\.json/);
      const report0 = (await old.inject({ url: '/v1/report' })).json() as { retention_views: string[] };
      expect(report0.retention_views).toEqual([]);
    } finally {
      await old.close();
    }
    const store = await loadEvents([fx.events], SYNTHETIC_PRESET);
    let direct;
    try {
      direct = await computeRetention(store, { asOf: params.snapshotAsOf, landmark: params.asOf, by: { kind: 'lifecycle' } });
    } finally {
      await store.close();
    }
    const r = await app.inject({ url: '/v1/retention?by=lifecycle' });
    expect(r.statusCode).toBe(200);
    const body = r.json() as { as_of: string; landmark: string; by: string; groups: { group: string; users: number; median_days: number | null }[]; curves: { group: string; steps: { survival: number; lower: number; upper: number }[] }[]; log_rank: { df: number; chi_square: number }; warnings: { code: string }[] };
    expect([body.as_of, body.landmark, body.by]).toEqual([params.snapshotAsOf, params.asOf, 'lifecycle']);
    // the same numbers as computing from the events directly
    expect(body.groups.map((g) => [g.group, g.users, g.median_days])).toEqual(direct.curves.map((c) => [c.group, c.curve.users, c.curve.medianDays]));
    expect(body.curves[0].steps.map((s) => s.survival)).toEqual(direct.curves[0].curve.steps.map((s) => s.survival));
    expect(body.log_rank.chi_square).toBe(direct.logRank!.chiSquare);
    expect(body.warnings.map((w) => w.code)).not.toContain('GROUPS_FROM_OUTCOME');
    for (const c of body.curves) for (const s of c.steps) expect(s.lower <= s.survival && s.survival <= s.upper && s.lower >= 0 && s.upper <= 1).toBe(true);

    const cl = (await app.inject({ url: '/v1/retention?by=cluster' })).json() as { groups: { group: string; users: number }[] };
    const labels = (JSON.parse(await readFile(join(dir(), 'clusters.json'), 'utf8')) as { clusterLabels: string[] }).clusterLabels;
    expect(cl.groups.reduce((s, g) => s + g.users, 0)).toBe(direct.userIds.length);
    expect(cl.groups.length).toBeGreaterThan(1);
    for (const g of cl.groups) expect(labels).toContain(g.group);
    const all = (await app.inject({ url: '/v1/retention?by=all' })).json() as { groups: { group: string }[]; log_rank: null };
    expect(all.groups.map((g) => g.group)).toEqual(['all']);
    expect(all.log_rank).toBeNull();
    const stored = JSON.parse(await readFile(join(dir(), RETENTION_FILE), 'utf8')) as StoredRetention;
    expect(Object.keys(stored.views)).toEqual(['all', 'segment', 'lifecycle', 'cluster']);
    expect(((await app.inject({ url: '/v1/report' })).json() as { retention_views: string[] }).retention_views).toEqual(['all', 'segment', 'lifecycle', 'cluster']);
    const charts = (await app.inject({ url: '/v1/charts' })).json() as { retention: Record<string, { layer: unknown[]; data: { values: { group: string }[] } }> };
    expect(Object.keys(charts.retention)).toEqual(['all', 'segment', 'lifecycle', 'cluster']);
    expect(new Set(charts.retention.lifecycle.data.values.map((v) => v.group))).toEqual(new Set(direct.curves.map((c) => c.group)));
  }, 120_000);

  it('refuses an unknown grouping with 400 naming the parameter', async () => {
    const r = await app.inject({ url: '/v1/retention?by=plan' });
    expect(r.statusCode).toBe(400);
    expect(r.json().path).toMatch(/by/);
  });
});
