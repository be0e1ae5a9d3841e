import { appendFile, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { trainPipeline } from '../../src/pipeline/train.js';
import { openModelStore, promote } from '../../src/registry/index.js';
import { buildApp, createProvider } from '../../src/serve/index.js';
import { trainedFixture, type Fixture } from './helper.js';

/**
 * GET /v1/models carries `production_history` (issue 21 part 5): which version of the loaded name was in production
 * over which dates, from the registry's audit trail, typed in the OpenAPI document. A real registry: the synthetic
 * fixture's version 1 and a second version trained here.
 */
let fx: Fixture;
let app: FastifyInstance;
const get = async (url: string) => (await app.inject({ url })).json();

beforeAll(async () => {
  fx = await trainedFixture();
  await trainPipeline({ events: [fx.events], config: SYNTHETIC_PRESET, seed: 99, name: 'default', models: openModelStore(fx.modelsDir), kind: 'logistic', k: 3, resamples: 20, keepUserIds: true });
  app = await buildApp({ provider: await createProvider('default', openModelStore(fx.modelsDir)) });
}, 240_000);
afterAll(() => app?.close());

describe('GET /v1/models: production_history', () => {
  it('none promoted: an empty history; then promote 1, promote 2: two periods with the recorded times', async () => {
    const before = await get('/v1/models');
    expect([before.production, before.production_history, before.warnings]).toEqual([null, [], []]);

    const store = openModelStore(fx.modelsDir);
    await promote(store, 'default@1', { force: true });
    // reload is unchanged: it loads the reference again (default: latest 2 at start, now production 1)
    const reload = await app.inject({ method: 'POST', url: '/v1/models/reload' });
    expect(reload.json()).toEqual({ previous: { name: 'default', version: 2 }, loaded: { name: 'default', version: 1 } });
    await promote(store, 'default@2', { force: true });
    const trail = (await store.readAudit('default')).records;
    expect(trail.map((r) => [r.action, r.version])).toEqual([['register', 1], ['register', 2], ['promote', 1], ['promote', 2]]);
    const m = await get('/v1/models');
    expect(m.production).toBe(2);
    expect(m.production_history).toEqual([
      { version: 1, from: trail[2].at, to: trail[3].at, inferred: false },
      { version: 2, from: trail[3].at, to: null, inferred: false },
    ]);
    expect(m.warnings).toEqual([]);
    expect(m.loaded.version).toBe(1); // the history is of the name, whichever version this server has loaded
  });

  it('an unreadable line and a promotion made before the trail are said in warnings; the inferred period is marked', async () => {
    await appendFile(join(fx.modelsDir, 'default', 'audit.jsonl'), '{"at":"2026-06-02T00:00:00.000Z","action":"pro');
    const torn = await get('/v1/models');
    expect(torn.production_history.map((p: { version: number }) => p.version)).toEqual([1, 2]);
    expect(torn.warnings.map((w: { code: string }) => w.code)).toEqual(['AUDIT_LINES_SKIPPED']);
    expect(torn.warnings[0].message).toMatch(/has 1 unreadable line, skipped \(line 5: cut short/);

    // the registry of an older cohortlab: no trail, a pointer last written on 2026-06-01
    await rm(join(fx.modelsDir, 'default', 'audit.jsonl'));
    const then = new Date('2026-06-01T08:00:00.000Z');
    await utimes(join(fx.modelsDir, 'default', 'production'), then, then);
    const legacy = await get('/v1/models');
    expect(legacy.production_history).toEqual([{ version: 2, from: '2026-06-01T08:00:00.000Z', to: null, inferred: true }]);
    expect(legacy.warnings.map((w: { code: string }) => w.code)).toEqual(['PRODUCTION_START_INFERRED']);
  });

  it('is typed in the OpenAPI document', async () => {
    const schema = (await get('/v1/openapi.json')).paths['/v1/models'].get.responses['200'].content['application/json'].schema;
    expect(schema.required).toEqual(expect.arrayContaining(['production_history', 'warnings']));
    expect(schema.properties.production_history.items).toMatchObject({
      required: ['version', 'from', 'to', 'inferred'],
      additionalProperties: false,
      properties: { version: { type: 'integer' }, from: { type: ['string', 'null'] }, to: { type: ['string', 'null'] }, inferred: { type: 'boolean' } },
    });
  });
});
