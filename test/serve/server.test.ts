import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createProvider, type ModelProvider } from '../../src/serve/index.js';
import { exportCsv } from '../../src/serve/routes/export.js';
import { trainedFixture, type Fixture } from './helper.js';
import { openModelStore } from '../../src/registry/index.js';

/**
 * The server's plumbing (issue 19 part 4): request ids, the JSON-lines log, generic 5xx answers,
 * /metrics, static files with ETag and compression, typed schemas for every status of every route.
 */
interface LogLine {
  level: string;
  time: string;
  request_id?: string;
  msg: string;
  route?: string;
  status?: number;
  code?: string;
  ms?: number;
  err?: { message: string; stack: string };
  detail?: string;
}

let fx: Fixture;
const apps: FastifyInstance[] = [];

async function app(opts: { requests?: boolean; provider?: ModelProvider } = {}): Promise<{ app: FastifyInstance; lines: LogLine[] }> {
  const lines: LogLine[] = [];
  const provider = opts.provider ?? (await createProvider('default@1', openModelStore(fx.modelsDir)));
  const a = await buildApp({ provider, log: { requests: opts.requests, stream: { write: (l: string) => lines.push(JSON.parse(l) as LogLine) } } });
  apps.push(a);
  return { app: a, lines };
}

beforeAll(async () => {
  fx = await trainedFixture();
}, 180_000);
afterAll(async () => {
  for (const a of apps) await a.close();
});

describe('request ids', () => {
  it('echoes a caller\'s x-request-id, makes one otherwise, and refuses one that could forge log lines', async () => {
    const { app: a } = await app();
    expect((await a.inject({ url: '/v1/health', headers: { 'x-request-id': 'req-42.a' } })).headers['x-request-id']).toBe('req-42.a');
    expect((await a.inject({ url: '/v1/health' })).headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const forged = (await a.inject({ url: '/v1/health', headers: { 'x-request-id': 'x" level=error' } })).headers['x-request-id'];
    expect(forged).not.toContain('"');
    expect((await a.inject({ url: '/no/such/route', headers: { 'x-request-id': 'nf-1' } })).headers['x-request-id']).toBe('nf-1');
  });
});

describe('the JSON-lines log', () => {
  it('without --log-requests: refusals as warn lines (code and route, no message, no id), no request lines', async () => {
    const { app: a, lines } = await app();
    await a.inject({ url: '/v1/health' });
    await a.inject({ url: '/v1/users/secret-user-77', headers: { 'x-request-id': 'w-1' } });
    expect(lines).toHaveLength(1);
    const [w] = lines;
    expect(w).toMatchObject({ level: 'warn', request_id: 'w-1', msg: 'request refused', code: 'UNKNOWN_USER', route: '/v1/users/:id', status: 404 });
    expect(new Date(w.time).toISOString()).toBe(w.time);
    expect(JSON.stringify(lines)).not.toContain('secret-user-77');
  });

  it('with --log-requests: one info line per request with route pattern, status and duration', async () => {
    const { app: a, lines } = await app({ requests: true });
    await a.inject({ url: '/v1/users/secret-user-77', headers: { 'x-request-id': 'i-1' } });
    const info = lines.filter((l) => l.msg === 'request');
    expect(info).toHaveLength(1);
    expect(info[0]).toMatchObject({ level: 'info', request_id: 'i-1', route: '/v1/users/:id', status: 404 });
    expect(info[0].ms).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(lines)).not.toContain('secret-user-77');
  });

  it('an internal error: a generic 500 naming the request id to the client, the message and stack in the log', async () => {
    const real = await createProvider('default@1', openModelStore(fx.modelsDir));
    // The registry breaking under the running server: a failure the client cannot fix and must not read.
    const failing: ModelProvider = { ...real, current: real.current, ref: real.ref, store: real.store, reload: real.reload, production: () => Promise.reject(new Error('SELECT * FROM secret_table failed')) };
    const { app: a, lines } = await app({ provider: failing });
    const r = await a.inject({ url: '/v1/models', headers: { 'x-request-id': 'e-1' } });
    expect(r.statusCode).toBe(500);
    expect(r.json()).toEqual({ code: 'INTERNAL', message: 'internal error; request id e-1', path: 'request' });
    const e = lines.find((l) => l.level === 'error');
    expect(e).toMatchObject({ request_id: 'e-1', msg: 'request failed', code: 'INTERNAL', route: '/v1/models', status: 500 });
    expect(e?.err?.message).toBe('SELECT * FROM secret_table failed');
    expect(e?.err?.stack).toMatch(/at /);
  });

  it('MODEL_CORRUPT on reload: a 503 without the file names, the old version keeps serving', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cl-corrupt-'));
    await cp(fx.modelsDir, dir, { recursive: true });
    const { app: a, lines } = await app({ provider: await createProvider('default@1', openModelStore(dir)) });
    await writeFile(join(dir, 'default', '1', 'rules-reference.json'), 'not json');
    const r = await a.inject({ method: 'POST', url: '/v1/models/reload', headers: { 'x-request-id': 'c-1' } });
    expect(r.statusCode).toBe(503);
    expect(r.json().code).toBe('MODEL_CORRUPT');
    expect(r.json().message).toMatch(/request id c-1/);
    expect(r.body).not.toContain('rules-reference');
    expect(lines.find((l) => l.level === 'error')?.err?.message).toMatch(/rules-reference\.json/);
    expect((await a.inject({ url: '/v1/health' })).json().model).toEqual({ name: 'default', version: 1 });
  });
});

/** Parses the Prometheus text format: `name{labels} value` lines, HELP and TYPE comments. */
function parseProm(text: string): { types: Map<string, string>; samples: { name: string; labels: Record<string, string>; value: number }[] } {
  const types = new Map<string, string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE (\w+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t) {
      types.set(t[1], t[2]);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return { types, samples };
}

describe('GET /metrics', () => {
  it('counts requests and latency per route pattern and status, predictions, and names the loaded model', async () => {
    const { app: a } = await app({ requests: false });
    const features = Object.fromEntries(((await a.inject({ url: '/v1/models' })).json().features as string[]).map((f) => [f, 1]));
    await a.inject({ method: 'POST', url: '/v1/predict', payload: { users: [{ user_id: 'a', features }, { user_id: 'b', features }, { user_id: 'c', features }] } });
    await a.inject({ url: '/v1/users/nobody-1' });
    await a.inject({ url: '/v1/users/nobody-2' });
    const r = await a.inject({ url: '/metrics' });
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const { types, samples } = parseProm(r.body);
    expect(types.get('cohortlab_http_requests_total')).toBe('counter');
    expect(types.get('cohortlab_http_request_duration_seconds')).toBe('histogram');
    const find = (name: string, labels: Record<string, string>) => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    expect(find('cohortlab_http_requests_total', { route: '/v1/users/:id', status: '404' })?.value).toBe(2);
    expect(find('cohortlab_http_requests_total', { route: '/v1/predict', status: '200', method: 'POST' })?.value).toBe(1);
    expect(find('cohortlab_http_request_duration_seconds_count', { route: '/v1/users/:id', status: '404' })?.value).toBe(2);
    expect(find('cohortlab_http_request_duration_seconds_bucket', { route: '/v1/users/:id', status: '404', le: '+Inf' })?.value).toBe(2);
    // Buckets are cumulative.
    const buckets = samples.filter((s) => s.name === 'cohortlab_http_request_duration_seconds_bucket' && s.labels.route === '/v1/predict').map((s) => s.value);
    expect(buckets).toEqual([...buckets].sort((x, y) => x - y));
    expect(find('cohortlab_predictions_total', {})?.value).toBe(3);
    expect(find('cohortlab_model_info', { name: 'default', version: '1' })?.value).toBe(1);
    expect(r.body).not.toMatch(/nobody-1/);
  });

  it('needs no API key (CONTRACT.md) while the /v1 routes do', async () => {
    const keyed = await buildApp({ provider: await createProvider('default@1', openModelStore(fx.modelsDir)), apiKey: 'k3y-for-metrics', log: { stream: { write: () => {} } } });
    apps.push(keyed);
    const refused = await keyed.inject({ url: '/v1/models', headers: { 'x-request-id': 'k-401' } });
    expect(refused.statusCode).toBe(401);
    // Every answer echoes the request id, a refusal by the key check included (CONTRACT.md).
    expect(refused.headers['x-request-id']).toBe('k-401');
    const m = await keyed.inject({ url: '/metrics' });
    expect(m.statusCode).toBe(200);
    expect(parseProm(m.body).samples.find((s) => s.name === 'cohortlab_http_requests_total' && s.labels.route === '/v1/models')?.labels.status).toBe('401');
  });
});

describe('static files', () => {
  it('the explorer and vega with ETag: a second request with If-None-Match is a 304; gzip and br work', async () => {
    const { app: a } = await app();
    const first = await a.inject({ url: '/vendor/vega.min.js' });
    expect(first.statusCode).toBe(200);
    expect(first.headers.etag).toBeTruthy();
    expect(first.headers['last-modified']).toBeTruthy();
    expect(first.headers['cache-control']).toMatch(/max-age=86400/);
    const again = await a.inject({ url: '/vendor/vega.min.js', headers: { 'if-none-match': String(first.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
    const gz = await a.inject({ url: '/vendor/vega.min.js', headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.rawPayload.length).toBeLessThan(first.rawPayload.length / 2);
    expect(gunzipSync(gz.rawPayload).equals(first.rawPayload)).toBe(true);
    expect((await a.inject({ url: '/vendor/vega.min.js', headers: { 'accept-encoding': 'br' } })).headers['content-encoding']).toBe('br');
    const page = await a.inject({ url: '/' });
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-cache');
    expect((await a.inject({ url: '/', headers: { 'if-none-match': String(page.headers.etag) } })).statusCode).toBe(304);
    // Only the listed files: not the rest of vega's build folder, not the package.
    expect((await a.inject({ url: '/vendor/vega.js' })).statusCode).toBe(404);
    expect((await a.inject({ url: '/explorer/../package.json' })).statusCode).toBe(404);
  });
});

describe('the OpenAPI document', () => {
  it('declares a typed schema for every status of every route, 200 included, and validates', async () => {
    const { app: a } = await app();
    const doc = (await a.inject({ url: '/v1/openapi.json' })).json();
    await SwaggerParser.validate(structuredClone(doc));
    const untyped: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: { type?: unknown; properties?: unknown; additionalProperties?: unknown } }> }> }>>)) {
      for (const [method, op] of Object.entries(ops)) {
        // Health takes no input and no key: 200 or 500. Every other route can also refuse the request (400) or the key (401).
        expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(path === '/v1/health' ? ['200', '500'] : ['200', '400', '401', '500']));
        for (const [status, r] of Object.entries(op.responses)) {
          const schema = Object.values(r.content)[0].schema;
          // An object answer names its fields (not `{ type: object, additionalProperties: true }` alone).
          if (schema.type === 'object' || (Array.isArray(schema.type) && schema.type.includes('object'))) if (!schema.properties) untyped.push(`${method} ${path} ${status}`);
        }
      }
    }
    expect(untyped).toEqual([]);
    expect(doc.paths['/v1/models/reload'].post.responses['503']).toBeTruthy();
    expect(doc.paths['/v1/members'].get.responses['409']).toBeTruthy();
    // Error codes are an enum of the catalogue, so a generated client knows every code.
    expect(doc.paths['/v1/predict'].post.responses['400'].content['application/json'].schema.properties.code.enum).toEqual(expect.arrayContaining(['INVALID_REQUEST', 'UNKNOWN_USER', 'INTERNAL', 'MODEL_CORRUPT']));
  });

  it('serializes answers by their schema: a field the schema does not declare is not sent', async () => {
    const { app: a } = await app();
    const models = (await a.inject({ url: '/v1/models' })).json();
    expect(Object.keys(models).sort()).toEqual(['features', 'loaded', 'production', 'production_history', 'propensity', 'reference', 'refresh', 'snapshot', 'warnings']);
    expect(Object.keys(models.loaded).sort()).toEqual(['createdAt', 'loadedAt', 'metrics', 'name', 'params', 'version']);
  });
});

describe('GET /v1/export', () => {
  it('streams the CSV in chunks, every member once, text cells neutralized', async () => {
    const { app: a } = await app();
    await a.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`http://127.0.0.1:${(a.server.address() as { port: number }).port}/v1/export?cluster=1`);
    expect(res.status).toBe(200);
    // Streamed: no content-length, chunked transfer.
    expect(res.headers.get('content-length')).toBeNull();
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const text = await res.text();
    const lines = text.trimEnd().split('\n');
    const header = lines[0].split(',');
    expect(header[0]).toBe('user_id');
    expect(header.at(-1)).toBe('as_of');
    const members = (await a.inject({ url: `/v1/members?cluster=1&page_size=1` })).json();
    expect(lines.length - 1).toBe(members.total);
    expect(members.total).toBeGreaterThan(0);
  });

  it('a user id or segment name that a spreadsheet would run as a formula is written as text', async () => {
    const l = await (await createProvider('default@1', openModelStore(fx.modelsDir))).current();
    const ids = [...(l.snapshot.columns.user_id as string[])];
    ids[0] = '=HYPERLINK("http://evil","x")';
    ids[1] = '@SUM(1+1)';
    const evil = { ...l, snapshot: { ...l.snapshot, columns: { ...l.snapshot.columns, user_id: ids } } };
    let text = '';
    for await (const chunk of exportCsv(evil, [0, 1, 2])) text += String(chunk);
    const rows = text.trimEnd().split('\n');
    expect(rows).toHaveLength(4);
    expect(rows[1].startsWith(`"'=HYPERLINK(""http://evil"",""x"")",`)).toBe(true);
    expect(rows[2].startsWith("'@SUM(1+1),")).toBe(true);
    expect(rows[3].startsWith(`${ids[2]},`)).toBe(true);
  });
});
