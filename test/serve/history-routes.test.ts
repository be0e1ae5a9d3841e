import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventSource } from '../../src/engine/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { refreshModel, type LoadedModel } from '../../src/pipeline/index.js';
import { trainPipeline } from '../../src/pipeline/train.js';
import { openModelStore, type ModelStore } from '../../src/registry/index.js';
import { buildApp, createProvider, loadServing } from '../../src/serve/index.js';
import { trainedFixture, type Fixture } from './helper.js';

/**
 * GET /v1/history, /v1/transitions and /v1/drift over a real history: three refreshes of the synthetic
 * product a month apart. Matrices are checked against a join of the two stored tables computed here, sizes
 * and drift against the stored records; an empty history answers how to fill it.
 */
let fx: Fixture;
let store: ModelStore;
let app: FastifyInstance;
let dates: string[];

const addDays = (d: string, n: number) => new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

async function refreshAt(models: ModelStore, model: LoadedModel, asOf: string) {
  const source = await openEventSource({ engine: 'duckdb', events: [fx.events] }, model.config);
  try {
    return await refreshModel({ models, model, source, asOf });
  } finally {
    await source.close();
  }
}

async function copyOf(modelsDir: string): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), 'cl-hist-')), 'models');
  await cp(modelsDir, dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  fx = await trainedFixture();
  store = openModelStore(await copyOf(fx.modelsDir));
  const model = (await loadServing('default', store)).model;
  const last = model.params.snapshotAsOf;
  dates = [addDays(last, -62), addDays(last, -31), last];
  for (const d of dates) await refreshAt(store, model, d);
  app = await buildApp({ provider: await createProvider('default', store) });
}, 240_000);

afterAll(async () => {
  await app?.close();
});

describe('GET /v1/history', () => {
  it('lists every snapshot with the stored sizes and draws one column as stacked areas', async () => {
    const r = await app.inject('/v1/history?column=lifecycle_stage');
    expect(r.statusCode).toBe(200);
    const j = r.json();
    expect(j.points.map((p: { as_of: string }) => p.as_of)).toEqual(dates);
    for (const p of j.points) {
      const rec = await store.history('default').read(p.as_of);
      expect(p.sizes).toEqual(rec.sizes);
      expect(p.users).toBe(rec.users);
      expect(p.model).toEqual({ name: 'default', version: 1 });
    }
    expect(j.points[0].changes).toBeNull();
    expect(j.points[1].changes).toBeGreaterThan(0);
    expect(j.columns).toEqual(expect.arrayContaining(['behavioral_segment', 'lifecycle_stage', 'cluster_label']));
    expect(j.column).toBe('lifecycle_stage');
    expect(j.note).toBeNull();
    // the chart carries every (date, stage) count of the records
    const values = j.chart.data.values as { as_of: string; value: string; users: number }[];
    expect(values.reduce((s, v) => s + v.users, 0)).toBe(j.points.reduce((s: number, p: { users: number }) => s + p.users, 0));
    expect(j.chart.encoding.y.stack).toBe('zero');
    expect(j.served_as_of).toBe(dates[2]);
  });

  it('refuses a column the history has no sizes of', async () => {
    const r = await app.inject('/v1/history?column=nope');
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'UNKNOWN_COLUMN', path: 'querystring:column' });
    expect(r.json().message).toMatch(/column=nope has no sizes in the history of default; columns: .*behavioral_segment/);
  });
});

describe('GET /v1/transitions', () => {
  /** The §9.2 count from -> to, joined here from the two stored tables. */
  async function joined(a: string, b: string, by: string) {
    const h = store.history('default');
    const [ta, tb] = [await h.readTable(a), await h.readTable(b)];
    const at = new Map((ta.columns.user_id as string[]).map((u, i) => [u, (ta.columns[by] as string[])[i]]));
    const counts = new Map<string, number>();
    (tb.columns.user_id as string[]).forEach((u, i) => {
      const key = `${at.get(u) ?? '(new)'}->${(tb.columns[by] as string[])[i]}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    });
    return counts;
  }

  it('between two dates: counts equal the join of the stored tables, row shares sum to 1', async () => {
    const r = await app.inject(`/v1/transitions?from=${dates[0]}&to=${dates[2]}&by=lifecycle_stage`);
    expect(r.statusCode).toBe(200);
    const j = r.json();
    expect(j.dates).toEqual(dates);
    expect(j.matrices).toHaveLength(1);
    const m = j.matrices[0];
    expect([m.from_as_of, m.to_as_of, m.by]).toEqual([dates[0], dates[2], 'lifecycle_stage']);
    const want = await joined(dates[0], dates[2], 'lifecycle_stage');
    let compared = 0;
    m.from.forEach((f: string, i: number) => m.to.forEach((t: string, k: number) => {
      if (t.startsWith('(') && t.endsWith(')')) return; // the (gone) column: users of `from` absent later
      const label = f.startsWith('(') ? '(new)' : f;
      expect(m.counts[i][k], `${f} -> ${t}`).toBe(want.get(`${label}->${t}`) ?? 0);
      compared++;
    }));
    expect(compared).toBeGreaterThan(4);
    for (const row of m.shares) {
      const s = row.reduce((a: number, b: number) => a + b, 0);
      if (s > 0) expect(s).toBeCloseTo(1, 9);
    }
    expect(m.chart.layer).toHaveLength(2);
  });

  it('month over month: every pair with monthly=true, the latest by default', async () => {
    const all = (await app.inject('/v1/transitions?monthly=true')).json();
    expect(all.matrices.map((m: { from_as_of: string; to_as_of: string }) => [m.from_as_of, m.to_as_of])).toEqual([[dates[0], dates[1]], [dates[1], dates[2]]]);
    const latest = (await app.inject('/v1/transitions')).json();
    expect(latest.by).toBe('behavioral_segment');
    expect(latest.matrices.map((m: { from_as_of: string }) => m.from_as_of)).toEqual([dates[1]]);
    expect(latest.matrices[0].counts).toEqual(all.matrices[1].counts);
  });

  it('refuses half a pair, a date the history lacks, a reversed pair', async () => {
    const half = await app.inject(`/v1/transitions?from=${dates[0]}`);
    expect(half.statusCode).toBe(400);
    expect(half.json()).toMatchObject({ code: 'BAD_QUERY', path: 'querystring:to' });
    const missing = await app.inject(`/v1/transitions?from=2001-01-01&to=${dates[2]}`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().message).toMatch(new RegExp(`from=2001-01-01 is not a snapshot date of default; the history holds ${dates.join(', ')}`));
    const reversed = await app.inject(`/v1/transitions?from=${dates[2]}&to=${dates[0]}`);
    expect(reversed.statusCode).toBe(400);
    expect(reversed.json().message).toMatch(/must be before/);
  });
});

describe('GET /v1/drift', () => {
  it('answers the stored report of the newest refresh, or of as_of, with the PSI chart', async () => {
    const r = await app.inject('/v1/drift');
    expect(r.statusCode).toBe(200);
    const j = r.json();
    const rec = await store.history('default').read(dates[2]);
    expect(j.as_of).toBe(dates[2]);
    expect(j.report).toEqual(JSON.parse(JSON.stringify(rec.drift)));
    expect(j.report.thresholds).toMatchObject({ watch: 0.1, act: 0.25 });
    expect(j.report.summary.text).toMatch(/^drift \d{4}-\d{2}-\d{2} \(/);
    // the report's own chart: the 25 largest PSIs, the two rules
    const bars = j.chart.layer[0].data.values as { variable: string; psi: number; noise: number }[];
    expect(bars.length).toBe(Math.min(25, j.report.features.length + (j.report.prediction ? 1 : 0) + j.report.rule_scores.length));
    expect(bars.find((b) => b.variable === j.report.features[0].name)?.psi).toBe(j.report.features[0].psi);
    expect(j.chart.layer[2].data.values.map((v: { at: number }) => v.at)).toEqual([0.1, 0.25]);
    const old = (await app.inject(`/v1/drift?as_of=${dates[0]}`)).json();
    expect(old.report.current.as_of).toBe(dates[0]);
    const none = await app.inject('/v1/drift?as_of=2001-01-01');
    expect(none.statusCode).toBe(404);
    expect(none.json()).toMatchObject({ code: 'SNAPSHOT_NOT_FOUND', path: 'querystring:as_of' });
  });

  it('the routes are in the OpenAPI document', async () => {
    const doc = (await app.inject('/v1/openapi.json')).json();
    for (const p of ['/v1/history', '/v1/transitions', '/v1/drift']) expect(Object.keys(doc.paths)).toContain(p);
  });
});

describe('an empty history', () => {
  it('says so and how to fill it', async () => {
    const empty = await buildApp({ provider: await createProvider('default', openModelStore(await copyOf(fx.modelsDir))) });
    try {
      const d = await empty.inject('/v1/drift');
      expect(d.statusCode).toBe(404);
      expect(d.json().code).toBe('SNAPSHOT_NOT_FOUND');
      expect(d.json().message).toMatch(/the history of default is empty: run "cohortlab refresh --model default --events FILE\.\.\. --as-of DATE".*serve --refresh/);
      const h = (await empty.inject('/v1/history')).json();
      expect(h.points).toEqual([]);
      expect(h.chart).toBeNull();
      expect(h.note).toMatch(/is empty: run "cohortlab refresh/);
      expect((await empty.inject('/v1/transitions')).statusCode).toBe(404);
      expect((await empty.inject('/v1/health')).json().snapshot.source).toBe('training');
    } finally {
      await empty.close();
    }
  });
});

describe('a model that stores no ids', () => {
  it('serves the refreshed sizes and transitions, never the keyed ids, and keeps refusing members', async () => {
    const dir = await copyOf(fx.modelsDir);
    const models = openModelStore(dir);
    await trainPipeline({ events: [fx.events], config: SYNTHETIC_PRESET, seed: 4, name: 'private', models, kind: 'logistic', k: 3, resamples: 20 });
    const model = (await loadServing('private', models)).model;
    const later = addDays(model.params.snapshotAsOf, 3);
    await refreshAt(models, model, addDays(model.params.snapshotAsOf, -31));
    const last = await refreshAt(models, model, later);
    expect(last.record.member_ids).toBe('keyed');
    const keyed = last.table.columns.user_id as string[];
    const provider = await createProvider('private', models);
    // the served state holds no keyed id at all (not only refused at the routes)
    expect(provider.current().snapshot.names).not.toContain('user_id');
    expect(provider.current().rowOf.size).toBe(0);
    expect(provider.current().snapshot.rows).toBe(last.record.users);
    const priv = await buildApp({ provider });
    try {
      const h = (await priv.inject('/v1/health')).json();
      expect(h.snapshot).toMatchObject({ as_of: later, source: 'refresh' });
      for (const url of ['/v1/members?cluster=0', '/v1/export?cluster=0', `/v1/users/${encodeURIComponent(keyed[0])}`]) {
        const r = await priv.inject(url);
        expect(r.statusCode, url).toBe(409);
        expect(r.json().code).toBe('NO_MEMBER_IDS');
      }
      const seg = (await priv.inject('/v1/segments')).json();
      expect(seg.snapshot.sizes.behavioral_segment).toEqual(last.record.sizes.behavioral_segment);
      const bodies = await Promise.all(['/v1/transitions', '/v1/history', '/v1/drift', '/v1/points?sample=5000', '/v1/charts', '/v1/clusters'].map(async (u) => (await priv.inject(u)).body));
      const t = JSON.parse(bodies[0]);
      expect(t.matrices[0].matched).toBeGreaterThan(100);
      const leaked = keyed.filter((k, i) => i % 10 === 0 && bodies.some((b) => b.includes(k)));
      expect(leaked).toEqual([]);
    } finally {
      await priv.close();
    }
  }, 240_000);
});
