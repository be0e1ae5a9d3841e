import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { writeSynthetic } from '../../src/synth/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { trainPipeline } from '../../src/pipeline/train.js';
import { buildApp, createProvider } from '../../src/serve/index.js';
import { openModelStore } from '../../src/registry/index.js';

/**
 * Issue 17 part 6, the train side: a product of 250 users over 120 days leaves 142 users live at the test cutoff
 * (76 churned before it), under the 200 needed to fit on live users. train does not stop: it fits on everyone,
 * says so in report.json `warnings` and in /v1/clusters, and the cluster of churned users is named for them.
 */
let app: FastifyInstance;
let modelDir: string;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cl-fewlive-'));
  await writeSynthetic(join(dir, 'data'), { users: 250, days: 120, seed: 7 });
  const modelsDir = join(dir, 'models');
  await trainPipeline({ events: [join(dir, 'data', 'events.parquet')], config: SYNTHETIC_PRESET, seed: 7, name: 'default', models: openModelStore(modelsDir), kind: 'logistic', resamples: 50, keepUserIds: true });
  modelDir = join(modelsDir, 'default', '1');
  app = await buildApp({ provider: await createProvider('default@1', openModelStore(modelsDir)) });
}, 180_000);

afterAll(async () => {
  await app?.close();
});

describe('train with too few live users at the test cutoff', () => {
  it('fits the clusters on every user and warns CLUSTER_FIT_ON_ALL_USERS in report.json and /v1/clusters', async () => {
    const report = JSON.parse(await readFile(join(modelDir, 'report.json'), 'utf8'));
    const c = report.clusters;
    expect(c).toMatchObject({ fittedOn: 'all', users: 218, fittedUsers: 218, alreadyChurnedUsers: 76 });
    const w = report.warnings.find((x: { code: string }) => x.code === 'CLUSTER_FIT_ON_ALL_USERS');
    expect(w.message).toBe(`only 142 of 218 users are live at the cutoff ${c.asOf} (76 already churned); clustering fits on live users and needs at least 200 (2 clusters of the playbook §10 minimum of 100), so the clusters are fitted on all 218 users, churned ones included; expect clusters of churned users (labelled "mostly churned").`);
    // every profile whose members mostly churned before the cutoff says so, with its share
    for (const p of c.profiles) {
      if (p.alreadyChurnedRate >= 0.5) expect(p.label).toMatch(new RegExp(`^mostly churned \\(${Math.floor(100 * p.alreadyChurnedRate)}%\\)`));
      else expect(p.label).not.toMatch(/mostly churned|typical users/);
    }
    expect(c.profiles.some((p: { alreadyChurnedRate: number }) => p.alreadyChurnedRate >= 0.5)).toBe(true);
    const api = (await app.inject({ url: '/v1/clusters' })).json();
    expect(api.fit.fitted_on).toBe('all');
    expect(api.fit.warnings.map((x: { code: string }) => x.code)).toContain('CLUSTER_FIT_ON_ALL_USERS');
    expect(api.labels).toEqual(c.profiles.map((p: { label: string }) => p.label));
  });
});
