import { cp, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/index.js';
import { corsOrigins, serveCommand } from '../../src/cli/serve.js';
import { buildApp, createProvider } from '../../src/serve/index.js';
import { collectingLogger } from '../../src/shared/log.js';
import { readTable } from '../../src/shared/table-io.js';
import { trainedFixture, type Fixture } from './helper.js';

/**
 * Who may see what: the API key on every /v1 route (health aside) however the path is spelled,
 * CORS off unless configured, loopback by default, no user id in the logs, no model name or ref
 * reaching outside the registry.
 */
const KEY = 's3cret-key-with-some-length';
let fx: Fixture;
const servers: FastifyInstance[] = [];
const logLines: string[] = [];
let keyed: string;
let open: string;
let withCors: string;
let userIds: string[];

async function serve(opts: { apiKey?: string; corsOrigins?: string[] }): Promise<string> {
  const provider = await createProvider('default', fx.modelsDir);
  const app = await buildApp({ provider, ...opts, log: { requests: true, stream: { write: (l: string) => logLines.push(l) } } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  servers.push(app);
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

beforeAll(async () => {
  fx = await trainedFixture();
  keyed = await serve({ apiKey: KEY });
  open = await serve({});
  withCors = await serve({ corsOrigins: ['https://dash.example.com'] });
  userIds = ((await readTable(join(fx.modelsDir, 'default', '1', 'scores.parquet'))).columns.user_id as string[]).slice(0, 3);
}, 180_000);
afterAll(async () => {
  for (const s of servers) await s.close();
});

/** Every route of the OpenAPI document, with its path parameters filled in. */
async function routes(): Promise<{ method: string; path: string; body?: unknown }[]> {
  const doc = (await (await fetch(`${open}/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const out: { method: string; path: string; body?: unknown }[] = [];
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const m of Object.keys(ops)) {
      const path = p.replace('{id}', encodeURIComponent(userIds[0])) + (p === '/v1/export' || p === '/v1/members' ? '?cluster=0' : '');
      out.push({ method: m.toUpperCase(), path, body: m === 'post' && p === '/v1/predict' ? { users: [{ user_id: 'x', features: {} }] } : m === 'post' ? {} : undefined });
    }
  }
  return out;
}

/** Every file and folder under dir with its size and modification time. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { recursive: true })) {
    const s = await stat(join(dir, e));
    out[relative(dir, join(dir, e))] = `${s.isDirectory() ? 'd' : s.size} ${s.mtimeMs}`;
  }
  return out;
}

async function call(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await fetch(`${base}${path}`, { method, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('API key', () => {
  it('every /v1 route but health answers 401 without the key and with a wrong one, and serves with the right one', async () => {
    const all = await routes();
    expect(all.map((r) => r.path)).toEqual(expect.arrayContaining(['/v1/predict', '/v1/export?cluster=0', `/v1/users/${encodeURIComponent(userIds[0])}`, '/v1/models/reload']));
    for (const r of all) {
      const none = await call(keyed, r.method, r.path, {}, r.body);
      const wrong = await call(keyed, r.method, r.path, { authorization: `Bearer ${KEY.slice(0, -1)}x` }, r.body);
      const short = await call(keyed, r.method, r.path, { authorization: 'Bearer s' }, r.body);
      const right = await call(keyed, r.method, r.path, { authorization: `Bearer ${KEY}` }, r.body);
      if (r.path === '/v1/health') {
        expect(none.status, r.path).toBe(200);
        continue;
      }
      for (const x of [none, wrong, short]) {
        expect(x.status, `${r.method} ${r.path}`).toBe(401);
        expect(JSON.parse(x.text)).toEqual({ code: 'UNAUTHORIZED', message: expect.stringContaining('Authorization: Bearer <key>'), path: 'header:authorization' });
        expect(x.text).not.toContain(userIds[0]);
      }
      expect(right.status, `${r.method} ${r.path} with the key`).not.toBe(401);
      expect(right.status, `${r.method} ${r.path} with the key`).toBeLessThan(500);
    }
  }, 60_000);

  it('no spelling of a path gets member data out without the key', async () => {
    const id = encodeURIComponent(userIds[0]);
    for (const p of ['/v1//export?cluster=0', '/V1/export?cluster=0', '/v1/health/../export?cluster=0', '/v1/health%2F..%2Fexport?cluster=0', `/v1/users/${id}/`, `/v1/./users/${id}`, '/v1/export/?cluster=0', '/v1/healthz']) {
      const r = await call(keyed, 'GET', p);
      expect(r.status, p).not.toBe(200);
      expect(r.text, p).not.toContain(userIds[0]);
      expect(r.text, p).not.toContain(userIds[1]);
    }
  });
});

describe('CORS and binding', () => {
  it('sends no CORS header unless an origin is configured, and only to that origin', async () => {
    const plain = await call(open, 'GET', '/v1/health', { origin: 'https://evil.example' });
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await call(withCors, 'GET', '/v1/health', { origin: 'https://dash.example.com' });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://dash.example.com');
    const other = await call(withCors, 'GET', '/v1/health', { origin: 'https://evil.example' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await call(withCors, 'OPTIONS', '/v1/predict', { origin: 'https://dash.example.com', 'access-control-request-method': 'POST' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toBe('Authorization, Content-Type, X-Request-Id');
  });

  it('takes exact origins only, from the flag or COHORTLAB_CORS_ORIGIN', () => {
    expect(corsOrigins([], 'https://a.example, http://localhost:3000')).toEqual(['https://a.example', 'http://localhost:3000']);
    expect(corsOrigins(['https://b.example'], 'https://a.example')).toEqual(['https://b.example']);
    expect(corsOrigins([], undefined)).toEqual([]);
    expect(() => corsOrigins(['*'], undefined)).toThrow(/must be an exact origin/);
    expect(() => corsOrigins(['https://a.example/path'], undefined)).toThrow(/must be an exact origin/);
  });

  it('binds to 127.0.0.1 unless told otherwise', () => {
    expect(serveCommand.options.find((o) => o.name === 'host')?.default).toBe('127.0.0.1');
    for (const s of servers) expect((s.server.address() as { address: string }).address).toBe('127.0.0.1');
  });
});

describe('user ids stay out of logs', () => {
  it('request logs carry the route pattern, never the ids in URLs, bodies or errors', async () => {
    logLines.length = 0;
    const marker = 'zz-Secret-User-Ü-42';
    await call(open, 'GET', `/v1/users/${encodeURIComponent(userIds[1])}`);
    await call(open, 'GET', `/v1/users/${encodeURIComponent(marker)}`);
    await call(open, 'POST', '/v1/predict', {}, { users: [{ user_id: marker, features: { sessions_7d: 'x' } }] });
    await call(open, 'GET', '/v1/export?cluster=0');
    expect(logLines.length).toBeGreaterThanOrEqual(4);
    for (const line of logLines) {
      expect(line).not.toContain(marker);
      expect(line).not.toContain(encodeURIComponent(marker));
      expect(line).not.toContain(userIds[1]);
    }
    expect(logLines.map((l) => JSON.parse(l) as { route?: string; status?: number; msg: string }).filter((l) => l.msg === 'request' && l.route === '/v1/users/:id' && l.status === 404)).toHaveLength(1);
  });
});

describe('model names and refs stay inside the registry', () => {
  it('refuses traversal in every spelling, from the CLI, before touching the disk (exit 2)', async () => {
    // A whole model just outside the registry: were "../x" followed, `models show ../x` would succeed.
    await cp(join(fx.modelsDir, 'default'), join(fx.dir, 'x'), { recursive: true });
    const before = await tree(fx.dir);
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      for (const ref of ['../x', '..', '../../etc/passwd', '/etc', fx.dir, 'default@../../etc', 'a/b', 'a\\b', 'x\u0000y', '..%2Fx', '%2e%2e', '\u2025', '\uff0e\uff0e/x', '.hidden', 'default@1/../2', 'default@../x', 'CON']) {
        for (const argv of [['models', 'show', ref], ['models', 'promote', ref], ['models', 'rm', ref], ['serve', '--model', ref, '--port', '0'], ['score', '--model', ref, '--table', 'x.csv', '--out', 'y.csv'], ['train', '--events', fx.events, '--preset', 'synthetic', '--seed', '1', '--name', ref]]) {
          spy.mockClear();
          const code = await main([...argv, '--models-dir', fx.modelsDir], { logger: collectingLogger(), out: () => {}, cwd: fx.dir });
          expect(code, `${argv.join(' ')}`).toBe(2);
          expect(spy.mock.calls.map((c) => String(c[0])).join(''), argv.join(' ')).toMatch(/model name|model reference|version after "@"/);
        }
      }
    } finally {
      spy.mockRestore();
    }
    // nothing written, moved or removed anywhere in the temp folder (registry, decoy, data)
    expect(await tree(fx.dir)).toEqual(before);
  }, 60_000);

  it('POST /v1/models/reload takes no reference: a ref in the body is refused, never followed', async () => {
    const r = await call(open, 'POST', '/v1/models/reload', {}, { ref: '../x' });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toEqual({ code: 'INVALID_REQUEST', message: expect.stringMatching(/ref/), path: '/ref' });
    const ok = await call(open, 'POST', '/v1/models/reload');
    expect(JSON.parse(ok.text).loaded).toEqual({ name: 'default', version: 1 });
  });
});
