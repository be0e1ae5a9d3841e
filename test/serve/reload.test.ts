import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { trainPipeline } from '../../src/pipeline/train.js';
import { promote, openModelStore } from '../../src/registry/index.js';
import { buildApp, createProvider, loadServing } from '../../src/serve/index.js';
import { predictUsers, type PredictUser } from '../../src/serve/predict.js';
import { readTable } from '../../src/shared/table-io.js';
import { trainedFixture, type Fixture } from './helper.js';
import { loadScoringModel } from '../../src/pipeline/load.js';

/**
 * Reloading the model while requests stream in: no request fails, and every answer is wholly one
 * version's (the prediction the answer's version gives that input, computed apart: never a mix).
 */
let fx: Fixture;
let app: FastifyInstance;
let base: string;
let body: string;
/** version -> the JSON of its prediction for the request body, computed without the server */
const expected = new Map<number, string>();
const RELOADS = 6;
const CLIENTS = 4;

beforeAll(async () => {
  fx = await trainedFixture();
  // a second version of the same name, different seed and k: its answers differ from version 1's
  await trainPipeline({ events: [fx.events], config: SYNTHETIC_PRESET, seed: 99, name: 'default', models: openModelStore(fx.modelsDir), kind: 'logistic', k: 3, resamples: 20, keepUserIds: true });
  await promote(openModelStore(fx.modelsDir), 'default@1');
  app = await buildApp({ provider: await createProvider('default', openModelStore(fx.modelsDir)) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const snap = await readTable(join(fx.modelsDir, 'default', '1', 'scores.parquet'));
  const names = (await loadScoringModel(openModelStore(fx.modelsDir), 'default@1')).featureNames;
  const user = { user_id: (snap.columns.user_id as string[])[0], features: Object.fromEntries(names.map((n, i) => [n, (i % 5) + 1])) };
  body = JSON.stringify({ users: [user] });
  for (const v of [1, 2]) expected.set(v, canonical(JSON.parse(JSON.stringify((await predictUsers(await loadServing(`default@${v}`, openModelStore(fx.modelsDir)), [user as PredictUser]))[0]))));
}, 240_000);
/** JSON with keys sorted at every level (the server's serializer orders keys by its schema). */
function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (x && typeof x === 'object') return `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canonical((x as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(x);
}

afterAll(async () => {
  await app?.close();
});

describe('reload under load', () => {
  it('6 reloads between two versions while 4 clients send predictions: no failed request, no mixed answer', async () => {
    const seen = new Set<number>();
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
        const j = JSON.parse(text) as { model: { name: string; version: number }; predictions: unknown[] };
        const v = j.model.version;
        seen.add(v);
        const got = canonical(j.predictions[0]);
        if (j.model.name !== 'default' || got !== expected.get(v)) failures.push(`answer labelled ${j.model.name}@${v} is not that version's: ${got}`);
        ok++;
      }
    };
    const clients = Array.from({ length: CLIENTS }, client);
    const versions: number[] = [];
    for (let k = 0; k < RELOADS; k++) {
      await promote(openModelStore(fx.modelsDir), `default@${k % 2 === 0 ? 2 : 1}`);
      const r = await fetch(`${base}/v1/models/reload`, { method: 'POST' });
      expect(r.status).toBe(200);
      versions.push(((await r.json()) as { loaded: { version: number } }).loaded.version);
      await new Promise((res) => setTimeout(res, 50));
    }
    running = false;
    await Promise.all(clients);
    expect(failures.length, failures.slice(0, 3).join(" | ")).toBe(0);
    expect(versions).toEqual(Array.from({ length: RELOADS }, (_, k) => (k % 2 === 0 ? 2 : 1)));
    expect([...seen.keys()].sort()).toEqual([1, 2]);
    expect(expected.get(1)).not.toBe(expected.get(2)); // the versions answer differently, so a mix would show
    expect(ok).toBeGreaterThan(100);
  }, 120_000);
});
