import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, spawnCli } from '../cli/run.js';
import { trainedFixture, type Fixture } from './helper.js';

/**
 * `cohortlab serve --workers N`: N processes on one port. Each request goes out on a new connection (node:cluster
 * hands connections round-robin), so the requests are spread over the workers and what must span them is seen:
 * /metrics sums every worker, a reload reaches every worker, a dead worker is replaced, SIGTERM stops them all.
 */
let fx: Fixture;
let child: ChildProcess | null = null;

beforeAll(async () => {
  fx = await trainedFixture();
}, 240_000);

afterAll(() => {
  child?.kill('SIGKILL');
});

/** GET on a connection of its own (no keep-alive: the next request may reach another worker). */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
}
function post(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request(url, { method: 'POST', agent: false, headers: { connection: 'close', 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end('{}');
  });
}
const childrenOf = (pid: number) => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
const loadedAtOf = async (url: string) => (JSON.parse((await get(`${url}v1/models`)).body) as { loaded: { loadedAt: string } }).loaded.loadedAt;

describe('serve --workers', () => {
  it('refuses --refresh with more than one worker, and a worker count that is not one', async () => {
    const r = await runCli(['serve', '--models-dir', fx.modelsDir, '--port', '0', '--workers', '2', '--refresh', 'daily', '--events', fx.events]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--refresh keeps its schedule and the snapshot it serves in one process: use it with --workers 1/);
    const zero = await runCli(['serve', '--models-dir', fx.modelsDir, '--port', '0', '--workers', '0']);
    expect(zero.code).toBe(2);
    expect(zero.err).toMatch(/--workers/);
  });

  it('two workers: metrics summed, a reload reaches both, a dead worker replaced, SIGTERM stops all', async () => {
    expect(spawnCli(['--version']).code).toBe(0); // rebuilds dist/ when a source is newer
    child = spawn(process.execPath, [join(ROOT, 'bin', 'cohortlab.js'), 'serve', '--models-dir', fx.modelsDir, '--port', '0', '--workers', '2'], { env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += String(d)));
    const url = await new Promise<string>((resolve, reject) => {
      child!.stderr!.on('data', () => {
        const m = /cohortlab explorer: (http:\/\/\S+\/) .*2 worker processes/.exec(err);
        if (m) resolve(m[1]);
      });
      child!.on('exit', (c) => reject(new Error(`serve exited with ${c}: ${err}`)));
    });
    const pid = child.pid!;
    expect(childrenOf(pid)).toHaveLength(2);

    // 20 requests on 20 connections: round-robin gives each worker about half; /metrics counts all 20
    for (let i = 0; i < 20; i++) expect((await get(`${url}v1/health`)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await get(`${url}metrics`)).body).toMatch(/cohortlab_http_requests_total\{method="GET",route="\/v1\/health",status="200"\} 20\n/);

    // each worker loaded the model itself; one reload request, and every worker has loaded it again
    // (6 requests on new connections reach both workers, round-robin)
    const reloadedAt = new Date().toISOString();
    expect((await post(`${url}v1/models/reload`)).status).toBe(200);
    const t0 = Date.now();
    let after: string[] = [];
    while (Date.now() - t0 < 20_000) {
      after = [];
      for (let i = 0; i < 6; i++) after.push(await loadedAtOf(url));
      if (after.every((a) => a > reloadedAt)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(after.every((a) => a > reloadedAt)).toBe(true);

    // a worker killed: the primary starts another, and the server keeps answering on the same port
    const [victim] = childrenOf(pid);
    process.kill(victim, 'SIGKILL');
    const t1 = Date.now();
    while (Date.now() - t1 < 30_000 && !(childrenOf(pid).length === 2 && !childrenOf(pid).includes(victim))) await new Promise((r) => setTimeout(r, 200));
    expect(err).toMatch(/serve worker \d died \(SIGKILL\); starting a new one/);
    let ok = 0;
    const t2 = Date.now();
    while (ok < 10 && Date.now() - t2 < 30_000) ok = (await get(`${url}v1/health`).catch(() => ({ status: 0 }))).status === 200 ? ok + 1 : 0;
    expect(ok).toBe(10);

    const workers = childrenOf(pid);
    const code = await new Promise<number | null>((resolve) => {
      child!.once('exit', (c) => resolve(c));
      child!.kill('SIGTERM');
    });
    child = null;
    expect(code).toBe(0);
    for (const w of workers) expect(() => process.kill(w, 0)).toThrow();
  }, 120_000);
});
