import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createProvider } from '../../src/serve/index.js';
import { trainedFixture } from './helper.js';
import { openModelStore } from '../../src/registry/index.js';

/**
 * Property-based fuzzing of every /v1 route over a real port (seeded, bounded runs). Whatever comes in:
 * an answer within the timeout, never a 5xx, every 4xx as JSON { code, message, path }, and the server
 * still answers /v1/health afterwards.
 */
let app: FastifyInstance;
let base: string;
const SEED = 20261123;
const TIMEOUT_MS = 5000;

beforeAll(async () => {
  const fx = await trainedFixture();
  app = await buildApp({ provider: await createProvider('default', openModelStore(fx.modelsDir)) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}, 180_000);
afterAll(async () => {
  await app?.close();
});

async function send(method: string, path: string, body?: string, contentType = 'application/json'): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': contentType },
    body,
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  return { status: res.status, text: await res.text() };
}

function expectWellFormed(r: { status: number; text: string }, what: string): void {
  expect(r.status, `${what} -> ${r.status} ${r.text.slice(0, 300)}`).toBeLessThan(500);
  if (r.status >= 400) {
    const body = JSON.parse(r.text) as Record<string, unknown>;
    expect(Object.keys(body).sort(), what).toEqual(['code', 'message', 'path']);
    expect(typeof body.code, what).toBe('string');
    expect(typeof body.message, what).toBe('string');
    expect((body.message as string).length, what).toBeGreaterThan(5);
  }
}

/** Numbers as JSON cannot carry; what clients send instead. */
const weirdScalar = fc.oneof(
  fc.constantFrom('NaN', 'Infinity', '-Infinity', 'null', '', '1e999', '0x10', ' 3 ', 'true'),
  fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }),
);
const anyJson = fc.jsonValue({ maxDepth: 4 });
const featureBag = fc.dictionary(fc.constantFrom('sessions_7d', 'dau_mau', 'tenure_days', 'is_paid', 'x', '__proto__', 'constructor', ''), fc.oneof(weirdScalar, anyJson), { maxKeys: 6 });
const userEntry = fc.oneof(
  fc.record({ user_id: weirdScalar, features: fc.oneof(featureBag, anyJson) }, { requiredKeys: [] }),
  fc.record({ user_id: fc.string({ maxLength: 30 }), events: fc.array(fc.oneof(anyJson, fc.record({ timestamp: weirdScalar, event: weirdScalar, user_id: weirdScalar })), { maxLength: 4 }) }, { requiredKeys: [] }),
  anyJson,
);
const predictBody = fc.oneof(
  fc.record({ users: fc.oneof(fc.array(userEntry, { maxLength: 4 }), anyJson), extra: anyJson }, { requiredKeys: [] }),
  anyJson,
);

describe('fuzzing the /v1 routes', () => {
  it('POST /v1/predict: random JSON bodies of every shape', async () => {
    await fc.assert(
      fc.asyncProperty(predictBody, async (body) => {
        const text = JSON.stringify(body) ?? 'null';
        expectWellFormed(await send('POST', '/v1/predict', text), `predict ${text.slice(0, 200)}`);
      }),
      { seed: SEED, numRuns: 150 },
    );
  }, 120_000);

  it('POST /v1/predict: text that is not JSON, wrong content types, deep nesting, 10 MB', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1'), async (text, type) => {
        expectWellFormed(await send('POST', '/v1/predict', text, type), `predict as ${type}: ${text.slice(0, 100)}`);
      }),
      { seed: SEED, numRuns: 80 },
    );
    const deep = `${'{"users":['.repeat(1)}${'['.repeat(10_000)}${']'.repeat(10_000)}]}`;
    expectWellFormed(await send('POST', '/v1/predict', deep), 'nested 10,000 deep');
    const deepObject = `{"users":[{"user_id":"u","features":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}]}`;
    expectWellFormed(await send('POST', '/v1/predict', deepObject), 'object nested 5,000 deep');
    const tenMb = JSON.stringify({ users: [{ user_id: 'u', features: { sessions_7d: 1 } }], pad: 'x'.repeat(10 * 1024 * 1024) });
    const r = await send('POST', '/v1/predict', tenMb);
    expectWellFormed(r, '10 MB body');
    expect(r.status).toBe(400); // within the body limit: the unknown field is named
    expect(JSON.parse(r.text).path).toMatch(/pad|body/);
    const tooLarge = await send('POST', '/v1/predict', `{"users":[],"pad":"${'x'.repeat(40 * 1024 * 1024)}"}`);
    expectWellFormed(tooLarge, '40 MB body');
    expect(tooLarge.status).toBe(413);
  }, 60_000);

  it('GET routes: random ids, query strings and models', async () => {
    const segment = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 10 }), fc.constantFrom('..', '%', '%00', '../../etc/passwd', '\u0000', 'NaN', '-1', '1e9', '0x1'));
    await fc.assert(
      fc.asyncProperty(segment, segment, fc.constantFrom('cluster', 'segment', 'limit', 'offset', 'x'), async (a, b, key) => {
        for (const path of [
          `/v1/users/${encodeURIComponent(a) || '%20'}`,
          `/v1/export?${key}=${encodeURIComponent(a)}&cluster=${encodeURIComponent(b)}`,
          `/v1/members?${key}=${encodeURIComponent(a)}`,
          `/v1/clusters?${encodeURIComponent(a)}=${encodeURIComponent(b)}`,
          `/v1/segments?${key}=${encodeURIComponent(a)}`,
          `/v1/models?${key}=${encodeURIComponent(b)}`,
        ]) {
          expectWellFormed(await send('GET', path), `GET ${path}`);
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
  }, 120_000);

  it('POST /v1/models/reload and methods a route does not take', async () => {
    await fc.assert(
      fc.asyncProperty(anyJson, fc.constantFrom('PUT', 'DELETE', 'PATCH'), fc.constantFrom('/v1/predict', '/v1/models', '/v1/health', '/v1/export'), async (body, method, path) => {
        expectWellFormed(await send('POST', '/v1/models/reload', JSON.stringify(body) ?? 'null'), 'reload');
        expectWellFormed(await send(method, path, JSON.stringify(body) ?? 'null'), `${method} ${path}`);
      }),
      { seed: SEED, numRuns: 30 },
    );
  }, 120_000);

  it('still answers health and a valid prediction after all of it', async () => {
    expect((await send('GET', '/v1/health')).status).toBe(200);
  });
});
