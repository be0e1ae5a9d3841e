import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createProvider, loadServing } from '../../src/serve/index.js';
import { loadEvents, SYNTHETIC_PRESET } from '../../src/ingest/index.js';
import { computeFeatures } from '../../src/features/index.js';
import { promote, openModelStore } from '../../src/registry/index.js';
import { readTable } from '../../src/shared/table-io.js';
import { cp } from 'node:fs/promises';
import type { Fixture } from './helper.js';

/**
 * The prediction API suite, run on a registry's `default@1` (api.test.ts: the logistic fixture; api-gbdt.test.ts:
 * the gbdt one, whose reasons come from TreeSHAP).
 */
export function apiSuite(fixture: () => Promise<Fixture>): void {
  let fx: Fixture;
  let app: FastifyInstance;
  let base: string;
  const logLines: string[] = [];

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.status, json, text, headers: res.headers };
  }

  beforeAll(async () => {
    fx = await fixture();
    const provider = await createProvider('default', openModelStore(fx.modelsDir));
    app = await buildApp({ provider, log: { requests: true, stream: { write: (l: string) => logLines.push(l) } } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
  }, 180_000);

  afterAll(async () => {
    await app?.close();
  });

  describe('prediction API over a real port', () => {
    it('health names the loaded model, the served snapshot and (without serve --refresh) no schedule', async () => {
      const r = await call('GET', '/v1/health');
      expect(r.status).toBe(200);
      const l = await loadServing('default', openModelStore(fx.modelsDir));
      expect(r.json).toEqual({ status: 'ok', model: { name: 'default', version: 1 }, snapshot: { as_of: l.model.params.snapshotAsOf, source: 'training', users: l.snapshot.rows }, refresh: null });
    });

    it('features given or raw events given: the same features and the same prediction', async () => {
      const snap = await readTable(join(fx.modelsDir, 'default', '1', 'scores.parquet'));
      const models = await call('GET', '/v1/models');
      const asOf = models.json.loaded.params.snapshotAsOf as string;
      const userIds = (snap.columns.user_id as string[]).slice(0, 5);
      const store = await loadEvents([fx.events], SYNTHETIC_PRESET);
      const table = await computeFeatures(store, { asOf });
      store.close();
      const ev = await readTable(fx.events);
      const byFeatures = userIds.map((id) => {
        const i = table.userIds.indexOf(id);
        const features: Record<string, number | string> = Object.fromEntries(Object.entries(table.columns).map(([k, v]) => [k, v[i]]));
        features.plan = table.plan[i];
        return { user_id: id, features };
      });
      const ids = ev.columns.user_id as string[];
      const cutoff = Date.parse(`${asOf}T00:00:00Z`) + 86_400_000;
      const byEvents = userIds.map((id) => ({
        user_id: id,
        events: ids.flatMap((u, k) => {
          const ts = Date.parse(String((ev.columns.timestamp as string[])[k]).replace(' ', 'T') + 'Z');
          if (u !== id || ts >= cutoff) return [];
          return [{ timestamp: new Date(ts).toISOString(), event: (ev.columns.event as string[])[k], session_id: (ev.columns.session_id as string[])[k], plan: (ev.columns.plan as string[])[k], signup: new Date(Date.parse(String((ev.columns.signup_at as string[])[k]).replace(' ', 'T') + 'Z')).toISOString() }];
        }),
      }));
      const a = await call('POST', '/v1/predict', { users: byFeatures });
      const b = await call('POST', '/v1/predict', { users: byEvents, as_of: asOf });
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(a.json.model).toEqual({ name: 'default', version: 1 });
      for (let i = 0; i < userIds.length; i++) {
        const p = a.json.predictions[i];
        const q = b.json.predictions[i];
        expect(q.as_of).toBe(asOf);
        expect(q.user_id).toBe(p.user_id);
        expect(q.churn_probability).toBeCloseTo(p.churn_probability, 12);
        for (const k of ['churn_risk_score', 'churn_risk_tier', 'engagement_score', 'activation_score', 'expansion_readiness_score', 'behavioral_segment', 'lifecycle_stage', 'cluster', 'cluster_label']) expect(q[k], k).toEqual(p[k]);
        expect(q.reasons.map((r: { feature: string }) => r.feature)).toEqual(p.reasons.map((r: { feature: string }) => r.feature));
        // ... and the snapshot of the training run agrees (scored in one big tfjs batch, float32: ~1e-7).
        const row = (snap.columns.user_id as string[]).indexOf(p.user_id);
        expect(p.churn_probability).toBeCloseTo((snap.columns.churn_probability as Float64Array)[row], 6);
      }
      expect(a.json.predictions[0].reasons).toHaveLength(3);
    });

    it('a user sent alone, or among 1,000, gets the rule columns of the training snapshot (the reference thresholds fitted at train); already_churned in every answer', async () => {
      const snap = await readTable(join(fx.modelsDir, 'default', '1', 'scores.parquet'));
      const models = await call('GET', '/v1/models');
      const store = await loadEvents([fx.events], SYNTHETIC_PRESET);
      const table = await computeFeatures(store, { asOf: models.json.loaded.params.snapshotAsOf as string });
      store.close();
      const payload = (i: number, id = table.userIds[i]) => ({
        user_id: id,
        features: { ...Object.fromEntries(Object.entries(table.columns).map(([k, v]) => [k, v[i]])), plan: table.plan[i] },
      });
      const snapIds = snap.columns.user_id as string[];
      const stage = snap.columns.lifecycle_stage as string[];
      // the lightest Power User of the snapshot, a user already churned, and a user of each other stage
      const power = snapIds.map((id, j) => [id, j] as const).filter(([, j]) => stage[j] === 'Power User');
      const weekly = (id: string) => table.columns.avg_weekly_sessions_28d[table.userIds.indexOf(id)];
      const lightest = power.sort((a, b) => weekly(a[0]) - weekly(b[0]))[0][0];
      const churned = snapIds[stage.indexOf('Churned')];
      const others = ['Engaged', 'Activated', 'New User', 'At-Risk'].map((s) => snapIds[stage.indexOf(s)]).filter((x) => x !== undefined);
      const picks = [lightest, churned, ...others];
      expect(picks.length).toBeGreaterThanOrEqual(5);
      const fields = ['churn_risk_score', 'churn_risk_tier', 'engagement_score', 'engagement_tier', 'activation_score', 'activation_tier', 'expansion_readiness_score', 'expansion_readiness_tier', 'behavioral_segment', 'lifecycle_stage', 'already_churned'];
      // 1,000 users: every snapshot user, then copies under other ids
      const batch = Array.from({ length: 1000 }, (_, k) => payload(k % table.userIds.length, k < table.userIds.length ? undefined : `copy-${k}`));
      const many = await call('POST', '/v1/predict', { users: batch });
      expect(many.status).toBe(200);
      for (const id of picks) {
        const alone = await call('POST', '/v1/predict', { users: [payload(table.userIds.indexOf(id))] });
        expect(alone.status).toBe(200);
        const a = alone.json.predictions[0];
        const b = many.json.predictions[table.userIds.indexOf(id)];
        const row = snapIds.indexOf(id);
        for (const f of fields) {
          expect(a[f], `${id} ${f}: alone vs in 1,000`).toEqual(b[f]);
          const v = snap.columns[f] as ArrayLike<unknown>;
          expect(a[f], `${id} ${f}: alone vs the training snapshot`).toEqual(v[row]);
        }
      }
      const gone = many.json.predictions[table.userIds.indexOf(churned)];
      expect([gone.already_churned, gone.lifecycle_stage, gone.churn_risk_tier]).toEqual([1, 'Churned', 'Churned']);
      expect(many.json.predictions[table.userIds.indexOf(lightest)].already_churned).toBe(0);
      const user = await call('GET', `/v1/users/${churned}`);
      expect([user.json.already_churned, user.json.lifecycle_stage, user.json.churn_risk_tier]).toEqual([1, 'Churned', 'Churned']);
    }, 60_000);

    it('GET /v1/users/:id returns the snapshot row; an unknown user is a 404 naming the id', async () => {
      const snap = await readTable(join(fx.modelsDir, 'default', '1', 'scores.parquet'));
      const id = (snap.columns.user_id as string[])[3];
      const r = await call('GET', `/v1/users/${id}`);
      expect(r.status).toBe(200);
      expect(r.json.user_id).toBe(id);
      expect(r.json.churn_probability).toBeCloseTo((snap.columns.churn_probability as Float64Array)[3], 12);
      expect(Array.isArray(r.json.reasons)).toBe(true);
      const u = await call('GET', '/v1/users/no-such-user');
      expect(u.status).toBe(404);
      expect(u.json).toMatchObject({ code: 'UNKNOWN_USER', path: 'params:id' });
      expect(u.json.message).toMatch(/user "no-such-user" is not in the scored snapshot of default@1/);
    });

    it('every bad request is a JSON error with code, message and path, no stack trace', async () => {
      const bad = await call('POST', '/v1/predict', '{"users": [');
      expect(bad.status).toBe(400);
      expect(bad.json.code).toBe('MALFORMED_JSON');
      const snapFeatures = (await call('GET', '/v1/models')).json.features as string[];
      const full = Object.fromEntries(snapFeatures.map((f) => [f, 1]));
      const { sessions_7d: _drop, ...missing } = full;
      const m = await call('POST', '/v1/predict', { users: [{ user_id: 'a', features: missing }] });
      expect(m.status).toBe(400);
      expect(m.json).toEqual({ code: 'INVALID_REQUEST', message: 'missing feature "sessions_7d" at body/users/0/features', path: '/users/0/features/sessions_7d' });
      const typo = await call('POST', '/v1/predict', { users: [{ user_id: 'a', features: { ...full, sesions_7d: 2 } }] });
      expect(typo.json.message).toMatch(/unknown feature "sesions_7d"/);
      const wrong = await call('POST', '/v1/predict', { users: [{ user_id: 'a', features: { ...full, tenure_days: 'NaN' } }] });
      expect(wrong.status).toBe(400);
      expect(wrong.json.path).toBe('/users/0/features/tenure_days');
      expect(wrong.json.message).toMatch(/must be number/);
      const inf = await call('POST', '/v1/predict', '{"users":[{"user_id":"a","features":' + JSON.stringify(full).replace('"tenure_days":1', '"tenure_days":1e400') + '}]}');
      expect(inf.status).toBe(400);
      // 1e400 parses to Infinity, which is not a JSON number.
      expect(inf.json.path).toBe('/users/0/features/tenure_days');
      const neither = await call('POST', '/v1/predict', { users: [{ user_id: 'a' }] });
      expect(neither.json.message).toMatch(/either "features" or "events"/);
      const many = await call('POST', '/v1/predict', { users: Array.from({ length: 10_001 }, (_, i) => ({ user_id: String(i), features: {} })) });
      expect(many.status).toBe(400);
      expect(many.json.message).toMatch(/too many users: at most 10000 per request/);
      const huge = await call('POST', '/v1/predict', `{"users":[{"user_id":"${'x'.repeat(33 * 1024 * 1024)}"}]}`);
      expect(huge.status).toBe(413);
      expect(huge.json.code).toBe('BODY_TOO_LARGE');
      const ts = await call('POST', '/v1/predict', { users: [{ user_id: 'a', events: [{ timestamp: '2026-05-01T00:00:00Z', event: 'app_opened' }, { timestamp: 'soon', event: 'app_opened' }] }] });
      expect(ts.status).toBe(400);
      expect(ts.json).toMatchObject({ code: 'BAD_ROWS', path: '/users/0/events/1' });
      const route = await call('GET', '/v1/nope');
      expect(route.status).toBe(404);
      for (const r of [bad, m, typo, wrong, inf, neither, many, huge, ts, route]) expect(r.text).not.toMatch(/\n\s+at /);
    });

    it('members are paged and the CSV export holds every member with the API values', async () => {
      const clusters = await call('GET', '/v1/clusters');
      expect(clusters.status).toBe(200);
      expect(clusters.json.k).toBe(4);
      const biggest = [...clusters.json.snapshot.clusters].sort((a: any, b: any) => b.users - a.users)[0];
      const page1 = await call('GET', `/v1/members?cluster=${biggest.cluster}&page=1&page_size=7`);
      expect(page1.json.rows).toHaveLength(7);
      const exp = await call('GET', `/v1/export?cluster=${biggest.cluster}`);
      expect(exp.status).toBe(200);
      expect(exp.headers.get('content-type')).toMatch(/text\/csv/);
      const lines = exp.text.trim().split('\n');
      expect(lines.length - 1).toBe(page1.json.total);
      expect(lines[0].split(',').at(-1)).toBe('as_of');
      // members are the scored snapshot's: compare with the snapshot block, not with the fit-time profiles
      expect(page1.json.total).toBe(clusters.json.snapshot.clusters[biggest.cluster].users);
      expect(clusters.json.snapshot.clusters.reduce((a: number, b: { users: number }) => a + b.users, 0)).toBe((await call('GET', '/v1/segments')).json.snapshot.users);
      const header = lines[0].split(',');
      const first = lines[1].split(',');
      expect(first[header.indexOf('user_id')]).toBe(page1.json.rows[0].user_id);
      expect(Number(first[header.indexOf('churn_probability')])).toBeCloseTo(page1.json.rows[0].churn_probability, 12);
      const seg = await call('GET', '/v1/segments');
      const [name, size] = Object.entries(seg.json.snapshot.sizes.behavioral_segment as Record<string, number>)[0];
      const bySeg = await call('GET', `/v1/members?segment=${encodeURIComponent(name)}`);
      expect(bySeg.json.total).toBe(size);
      const none = await call('GET', '/v1/members?segment=Nobody');
      expect(none.status).toBe(404);
      expect(none.json.message).toMatch(/no users in behavioral_segment = "Nobody"; values: /);
      // cluster and segment combine (AND); a value nobody has in the column is still refused
      const both = await call('GET', `/v1/members?cluster=${biggest.cluster}&segment=${encodeURIComponent(name)}&page_size=500`);
      expect(both.status).toBe(200);
      expect(both.json.rows.every((r: { cluster: number; behavioral_segment: string }) => r.cluster === biggest.cluster && r.behavioral_segment === name)).toBe(true);
      expect(both.json.total).toBeLessThanOrEqual(Math.min(size, page1.json.total));
      const unknown = await call('GET', '/v1/export?cluster=0&segment=x');
      expect(unknown.status).toBe(404);
      expect(unknown.json.code).toBe('UNKNOWN_SEGMENT');
    });

    it('reload switches to the promoted version atomically; in-flight requests finish on the old model', async () => {
      // A second version: the same files under a new number (what a re-train produces), promoted.
      const v2 = await openModelStore(fx.modelsDir).writeVersion('default', async (dir) => {
        await cp(join(fx.modelsDir, 'default', '1'), dir, { recursive: true, filter: (src) => !src.endsWith('manifest.json') });
        const m = JSON.parse(await (await import('node:fs/promises')).readFile(join(fx.modelsDir, 'default', '1', 'manifest.json'), 'utf8'));
        delete m.files;
        delete m.version;
        return m;
      });
      await promote(openModelStore(fx.modelsDir), `default@${v2.version}`);
      const features = (await call('GET', '/v1/models')).json.features as string[];
      const users = Array.from({ length: 3000 }, (_, i) => ({ user_id: `u${i}`, features: Object.fromEntries(features.map((f) => [f, i % 7])) }));
      const [inFlight, reload] = await Promise.all([call('POST', '/v1/predict', { users }), call('POST', '/v1/models/reload')]);
      expect(inFlight.status).toBe(200);
      expect(inFlight.json.model.version).toBe(1);
      expect(reload.json).toEqual({ previous: { name: 'default', version: 1 }, loaded: { name: 'default', version: v2.version } });
      expect((await call('GET', '/v1/health')).json.model.version).toBe(v2.version);
      const models = await call('GET', '/v1/models');
      expect(models.json.production).toBe(v2.version);
    });

    it('serves a valid OpenAPI document of every route', async () => {
      const doc = (await call('GET', '/v1/openapi.json')).json;
      const api = await SwaggerParser.validate(structuredClone(doc));
      expect(Object.keys(api.paths ?? {})).toEqual(expect.arrayContaining(['/v1/predict', '/v1/users/{id}', '/v1/health', '/v1/models', '/v1/models/reload', '/v1/clusters', '/v1/segments', '/v1/export', '/v1/openapi.json']));
      expect(doc.paths['/v1/predict'].post.requestBody.content['application/json'].schema.properties.users.maxItems).toBe(10_000);
    });

    it('logs route patterns, never user ids', () => {
      expect(logLines.map((l) => JSON.parse(l) as { route?: string; status?: number; msg: string }).some((l) => l.msg === 'request' && l.route === '/v1/users/:id' && l.status === 404)).toBe(true);
      expect(logLines.join('\n')).not.toMatch(/no-such-user|u000/);
    });
  });

  describe('API key', () => {
    it('with COHORTLAB_API_KEY every /v1 route but health needs the bearer key', async () => {
      const provider = await createProvider('default@1', openModelStore(fx.modelsDir));
      const keyed = await buildApp({ provider, apiKey: 's3cret' });
      try {
        expect((await keyed.inject({ url: '/v1/health' })).statusCode).toBe(200);
        const no = await keyed.inject({ url: '/v1/segments' });
        expect(no.statusCode).toBe(401);
        expect(no.json()).toMatchObject({ code: 'UNAUTHORIZED' });
        expect((await keyed.inject({ url: '/v1/export?cluster=0', headers: { authorization: 'Bearer wrong!' } })).statusCode).toBe(401);
        expect((await keyed.inject({ url: '/v1/export?cluster=0', headers: { authorization: 'Bearer s3cret' } })).statusCode).toBe(200);
        expect((await keyed.inject({ url: '/' })).statusCode).toBe(200);
      } finally {
        await keyed.close();
      }
    });
  });
}
