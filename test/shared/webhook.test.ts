import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deliverRecords, idempotencyKey } from '../../src/shared/webhook.js';

const SECRET = 'whsec_test_0123456789';

/** A receiver as a team would write it: checks the signature, drops repeated idempotency keys, may be told to fail. */
function receiver(plan: (attempt: number, key: string) => 'ok' | 'fail' | 'process-then-fail' | 'reject' | 'hang') {
  const seen = new Map<string, unknown[]>();
  const attempts = new Map<string, number>();
  const badSignatures: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      const ts = String(req.headers['x-cohortlab-timestamp']);
      const sig = Buffer.from(String(req.headers['x-cohortlab-signature']));
      const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`);
      if (sig.length !== expected.length || !timingSafeEqual(sig, expected)) {
        badSignatures.push(key);
        res.writeHead(401).end();
        return;
      }
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      const action = plan(n, key);
      if (action === 'hang') return; // never answers: the sender's timeout fires
      if (action === 'reject') return void res.writeHead(422).end();
      if (action === 'fail') return void res.writeHead(503).end();
      if (!seen.has(key)) seen.set(key, (JSON.parse(body) as { records: unknown[] }).records);
      res.writeHead(action === 'process-then-fail' ? 500 : 200).end();
    });
  });
  return { server, seen, attempts, badSignatures };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return `http://127.0.0.1:${addr.port}/hook`;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const records = Array.from({ length: 25 }, (_, i) => ({ user_id: `u${i}`, segment: 'lifecycle_stage', from: 'Activated', to: 'At-risk', as_of: '2026-06-30' }));

describe('webhook delivery', () => {
  it('delivers every record exactly once across forced failures, with valid signatures', async () => {
    // Batch 0 fails twice with 503; batch 1 is processed but its answer is a 500 (the retry must be dropped by its key).
    const keys: string[] = [];
    const r = receiver((attempt, key) => {
      if (!keys.includes(key)) keys.push(key);
      const batch = keys.indexOf(key);
      if (batch === 0 && attempt <= 2) return 'fail';
      if (batch === 1 && attempt === 1) return 'process-then-fail';
      return 'ok';
    });
    servers.push(r.server);
    const url = await listen(r.server);
    const dead = join(mkdtempSync(join(tmpdir(), 'cl-hook-')), 'dead.ndjson');
    const report = await deliverRecords({ url, secret: SECRET, batchSize: 10 }, records, { deliveryId: 'refresh:default:2026-06-30', deadLetterFile: dead, backoffMs: 5, seed: 1 });
    expect(report).toEqual({ url, batches: 3, records: 25, delivered: 25, retries: 3, deadLettered: 0 });
    expect(r.badSignatures).toEqual([]);
    const received = [...r.seen.values()].flat();
    expect(received).toEqual(records);
    expect([...r.attempts.values()]).toEqual([3, 2, 1]);
    expect(keys).toEqual([0, 1, 2].map((b) => idempotencyKey(url, 'refresh:default:2026-06-30', b)));
    expect(existsSync(dead)).toBe(false);
  });

  it('sends what cannot be delivered to the dead-letter file, whole, and does not retry a 4xx', async () => {
    let calls = 0;
    const r = receiver((_attempt, _key) => (++calls <= 1 ? 'reject' : 'fail'));
    servers.push(r.server);
    const url = await listen(r.server);
    const dead = join(mkdtempSync(join(tmpdir(), 'cl-hook-')), 'dead.ndjson');
    const report = await deliverRecords({ url, secret: SECRET, batchSize: 20 }, records, { deliveryId: 'd1', deadLetterFile: dead, retries: 2, backoffMs: 1 });
    expect(report.delivered).toBe(0);
    expect(report.deadLettered).toBe(25);
    expect(report.retries).toBe(2); // batch 0: 422, not retried; batch 1: 503 three times
    const lines = readFileSync(dead, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.batch, l.error, l.records.length])).toEqual([[0, 'HTTP 422', 20], [1, 'HTTP 503', 5]]);
    expect(lines.flatMap((l) => l.records)).toEqual(records);
  });

  it('times out a receiver that never answers and retries it', async () => {
    const r = receiver((attempt) => (attempt === 1 ? 'hang' : 'ok'));
    servers.push(r.server);
    const url = await listen(r.server);
    const report = await deliverRecords({ url, secret: SECRET }, records.slice(0, 3), { deliveryId: 'd2', deadLetterFile: '/nonexistent/dead', timeoutMs: 200, backoffMs: 1 });
    expect(report).toMatchObject({ delivered: 3, retries: 1, deadLettered: 0 });
  });

  it('refuses to send unsigned', async () => {
    await expect(deliverRecords({ url: 'http://127.0.0.1:9/x', secret: '' }, records, { deliveryId: 'd', deadLetterFile: '/tmp/x' })).rejects.toThrow(/no signing secret/);
  });
});
