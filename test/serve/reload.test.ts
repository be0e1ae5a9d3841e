import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { trainPipeline } from '../../src/pipeline/train.js';
import { loadModel, promote } from '../../src/registry/index.js';
import { buildApp, createProvider } from '../../src/serve/index.js';
import { readTable } from '../../src/shared/table-io.js';
import { trainedFixture, type Fixture } from './helper.js';

/**
 * Reloading the model while requests stream in: no request fails, and every answer is wholly one
 * version's (the same input gets exactly the probability that version gives it, never a mix).
 */
let fx: Fixture;
let app: FastifyInstance;
let base: string;
let body: string;

beforeAll(async () => {
  fx = await trainedFixture();
  // a second version of the same name, different seed and k: its answers differ from version 1's
  await trainPipeline({ events: [fx.events], config: SYNTHETIC_PRESET, seed: 99, name: 'default', modelsDir: fx.modelsDir, kind: 'logistic', k: 3, resamples: 20, keepUserIds: true });
  await promote(fx.modelsDir, 'default@1');
  app = await buildApp({ provider: await createProvider('default', fx.modelsDir) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const snap = await readTable(join(fx.modelsDir, 'default', '1', 'scores.parquet'));
  const names = (await loadModel('default@1', { modelsDir: fx.modelsDir })).featureNames;
  const user = { user_id: (snap.columns.user_id as string[])[0], features: Object.fromEntries(names.map((n, i) => [n, (i % 5) + 1])) };
  body = JSON.stringify({ users: [user] });
}, 240_000);
afterAll(async () => {
  await app?.close();
});

describe('reload under load', () => {
  it('20 reloads between two versions while 8 clients send predictions: no failed request, no mixed answer', async () => {
    const seen = new Map<number, number>(); // version -> probability for the fixed input
    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const client = async () => {
      while (running) {
        const r = await fetch(`${base}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const text = await r.text();
        if (r.status !== 200) {
          failures.push(`${r.status} ${text.slice(0, 200)}`);
          continue;
        }
        const j = JSON.parse(text) as { model: { version: number }; predictions: { churn_probability: number }[] };
        const p = j.predictions[0].churn_probability;
        const v = j.model.version;
        if (!seen.has(v)) seen.set(v, p);
        else if (seen.get(v) !== p) failures.push(`version ${v} answered ${p} and ${seen.get(v)}`);
        ok++;
      }
    };
    const clients = Array.from({ length: 8 }, client);
    const versions: number[] = [];
    for (let k = 0; k < 20; k++) {
      await promote(fx.modelsDir, `default@${k % 2 === 0 ? 2 : 1}`);
      const r = await fetch(`${base}/v1/models/reload`, { method: 'POST' });
      expect(r.status).toBe(200);
      versions.push(((await r.json()) as { loaded: { version: number } }).loaded.version);
      await new Promise((res) => setTimeout(res, 50));
    }
    running = false;
    await Promise.all(clients);
    expect(failures.length, failures.slice(0, 3).join(" | ")).toBe(0);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, k) => (k % 2 === 0 ? 2 : 1)));
    expect([...seen.keys()].sort()).toEqual([1, 2]);
    expect(seen.get(1)).not.toBe(seen.get(2));
    expect(ok).toBeGreaterThan(100);
  }, 120_000);
});
