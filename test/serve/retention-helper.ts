import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadEvents, SYNTHETIC_PRESET } from '../../src/ingest/index.js';
import { loadModel } from '../../src/registry/index.js';
import { RETENTION_FILE, storedRetention } from '../../src/retention/index.js';
import type { Fixture } from './helper.js';

/**
 * Writes the fixture version's retention.json as the writer of a version does (src/retention/stored.ts): groups at
 * the test cutoff, time to the snapshot date, clusters assigned by the version's own model.
 */
export async function writeStoredRetention(fx: Fixture, ref = 'default@1'): Promise<void> {
  const model = await loadModel(ref, { modelsDir: fx.modelsDir });
  const params = JSON.parse(await readFile(join(model.dir, 'manifest.json'), 'utf8')).params as { asOf: string; snapshotAsOf: string };
  const store = await loadEvents([fx.events], SYNTHETIC_PRESET);
  try {
    const stored = await storedRetention(store, { asOf: params.snapshotAsOf, landmark: params.asOf, clusterLabels: async (t) => (await model.score(t, { reasons: 0 })).columns.cluster_label as string[] });
    await writeFile(join(model.dir, RETENTION_FILE), `${JSON.stringify(stored)}\n`);
  } finally {
    await store.close();
  }
}
