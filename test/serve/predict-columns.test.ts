import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeFeatures } from '../../src/features/index.js';
import { loadEvents } from '../../src/ingest/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { openModelStore } from '../../src/registry/index.js';
import { buildApp, createProvider } from '../../src/serve/index.js';
import { trainedFixture } from './helper.js';
import { readFeatureRows } from '../../src/serve/rows-body.js';
import { MAX_USERS_PER_REQUEST } from '../../src/serve/schemas.js';

/** POST /v1/predict/columns: feature rows sent column by column get POST /v1/predict's answer, byte for byte. */
let app: FastifyInstance;
let names: string[];
let rows: { user_id: string; features: Record<string, number | string> }[];

beforeAll(async () => {
  const fx = await trainedFixture();
  app = await buildApp({ provider: await createProvider('default', openModelStore(fx.modelsDir)) });
  names = (await app.inject({ method: 'GET', url: '/v1/models' })).json().features;
  const store = await loadEvents([fx.events], SYNTHETIC_PRESET);
  const t = await computeFeatures(store, { asOf: '2026-04-30' });
  store.close();
  rows = Array.from({ length: 60 }, (_, i) => ({ user_id: t.userIds[i], features: { ...Object.fromEntries(names.map((n) => [n, t.columns[n][i]])), plan: t.plan[i] } }));
}, 240_000);

afterAll(async () => {
  await app?.close();
});

const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: typeof payload === 'string' ? payload : JSON.stringify(payload), headers: { 'content-type': 'application/json' } });
const asColumns = (rs: typeof rows, extra: Record<string, unknown[]> = {}) => ({ user_id: rs.map((r) => r.user_id), columns: { ...Object.fromEntries([...names, 'plan'].map((n) => [n, rs.map((r) => r.features[n])])), ...extra } });

describe('POST /v1/predict/columns', () => {
  it('answers what POST /v1/predict answers for the same users as rows (with plan, already_churned and as_of)', async () => {
    for (const top of [3, 0]) {
      const a = await post('/v1/predict', { users: rows, top_reasons: top });
      const b = await post('/v1/predict/columns', { ...asColumns(rows), top_reasons: top });
      expect(a.statusCode).toBe(200);
      expect(b.statusCode).toBe(200);
      expect(b.body).toBe(a.body);
    }
    const dated = rows.slice(0, 3).map((r, i) => ({ ...r, features: { ...r.features, already_churned: i === 1 ? 1 : 0, as_of: '2026-04-30' } }));
    const a = await post('/v1/predict', { users: dated });
    const b = await post('/v1/predict/columns', asColumns(dated, { already_churned: [0, 1, 0], as_of: ['2026-04-30', '2026-04-30', '2026-04-30'] }));
    expect(b.body).toBe(a.body);
    expect(b.json().predictions[1]).toMatchObject({ lifecycle_stage: 'Churned', as_of: '2026-04-30' });
  });

  it('POST /v1/predict reads feature rows in place (rows-body.ts): the answer of the parsed path, byte for byte', async () => {
    const dated = rows.map((r, i) => ({ ...r, features: { ...r.features, already_churned: i % 3 === 1 ? 1 : 0, as_of: '2026-04-30' } }));
    for (const [users, top] of [[rows, { top_reasons: 3 }], [rows, { top_reasons: 0 }], [dated, {}]] as const) {
      const body = JSON.stringify({ users, ...top }, null, 1);
      // "pl\u0061n" is "plan" to JSON.parse; the reader leaves escapes to it
      const parsed = body.replaceAll('"plan":', '"pl\\u0061n":');
      expect(readFeatureRows(Buffer.from(body), names, MAX_USERS_PER_REQUEST)).not.toBeNull();
      expect(readFeatureRows(Buffer.from(parsed), names, MAX_USERS_PER_REQUEST)).toBeNull();
      const a = await post('/v1/predict', body);
      const b = await post('/v1/predict', parsed);
      expect(a.statusCode).toBe(200);
      expect(a.body).toBe(b.body);
    }
    // what the reader refuses still gets the schema's answer
    const typo = await post('/v1/predict', { users: [{ user_id: 'u1', features: { ...rows[0].features, sesions_7d: 1 } }] });
    expect(typo.statusCode).toBe(400);
    expect(typo.json().message).toMatch(/^unknown feature "sesions_7d"/);
  });

  it('refuses columns of the wrong length, a missing or unknown column, and a non-number, naming where', async () => {
    const body = asColumns(rows.slice(0, 4));
    const short = await post('/v1/predict/columns', { ...body, columns: { ...body.columns, [names[0]]: [1, 2, 3] } });
    expect(short.statusCode).toBe(400);
    expect(short.json()).toMatchObject({ code: 'BAD_FEATURE', path: `/columns/${names[0]}` });
    expect(short.json().message).toBe(`column "${names[0]}" has 3 values for 4 users; every column needs one value per user_id, in its order.`);
    const { [names[1]]: _drop, ...missing } = body.columns;
    const m = await post('/v1/predict/columns', { ...body, columns: missing });
    expect(m.statusCode).toBe(400);
    expect(m.json().message).toBe(`missing feature "${names[1]}" at body/columns`);
    const typo = await post('/v1/predict/columns', { ...body, columns: { ...body.columns, sesions_7d: [1, 2, 3, 4] } });
    expect(typo.statusCode).toBe(400);
    expect(typo.json().message).toMatch(/^unknown feature "sesions_7d" at body\/columns; GET \/v1\/models lists/);
    const text = await post('/v1/predict/columns', { ...body, columns: { ...body.columns, [names[0]]: [1, 'x', 3, 4] } });
    expect(text.statusCode).toBe(400);
    expect(text.json().path).toBe(`/columns/${names[0]}/1`);
    const inf = await post('/v1/predict/columns', JSON.stringify(body).replace(`"${names[0]}":[`, `"${names[0]}":[1e400,`).replace(/"user_id":\[/, '"user_id":["extra",'));
    expect(inf.statusCode).toBe(400);
    expect(inf.json().path).toBe(`/columns/${names[0]}/0`);
    const many = await post('/v1/predict/columns', { user_id: Array.from({ length: 10_001 }, (_, i) => String(i)), columns: {} });
    expect(many.statusCode).toBe(400);
    expect(many.json().message).toMatch(/too many users: at most 10000 per request/);
  });
});
