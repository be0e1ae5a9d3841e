import { join } from 'node:path';
import { readLtvArtifact, type StoredLtv } from '../pipeline/ltv-baseline.js';
import { loadModel, productionVersion, type LoadedRegistryModel } from '../registry/index.js';
import type { Logger } from '../shared/log.js';
import { SALT_ENV, saltFingerprint, type MemberIds } from '../shared/pseudonym.js';
import { readTable, type ColumnTable } from '../shared/table-io.js';

/**
 * The model the server answers with, and the scored snapshot behind /v1/users, member tables and
 * exports. `reload()` loads the new version completely, then swaps one reference: a request holds
 * the `Loaded` object it started with, so in-flight requests finish on the old model.
 */
export interface Loaded {
  model: LoadedRegistryModel;
  snapshot: ColumnTable;
  /** user_id (as stored: raw or pseudonym) -> row of the snapshot; empty when the model stores no ids. */
  rowOf: Map<string, number>;
  /** How the model stores member ids (train --keep-user-ids / --pseudonymize; none by default). */
  memberIds: MemberIds;
  loadedAt: string;
  /** The version's BG/NBD (+ Gamma-Gamma) from ltv.json; null when it has none. */
  ltv?: StoredLtv | null;
}

export interface ModelProvider {
  current(): Loaded;
  reload(): Promise<{ previous: { name: string; version: number }; loaded: { name: string; version: number } }>;
  production(): Promise<number | undefined>;
  readonly ref: string;
  readonly modelsDir: string;
}

export async function loadServing(ref: string, modelsDir: string, logger?: Logger): Promise<Loaded> {
  const model = await loadModel(ref, { modelsDir, logger });
  const snapshot = await readTable(join(model.dir, 'scores.parquet'));
  const ids = snapshot.columns.user_id as string[] | undefined;
  const rowOf = new Map<string, number>();
  ids?.forEach((id, i) => rowOf.set(id, i));
  // Versions trained before the privacy switches stored raw ids.
  const memberIds = (model.manifest.memberIds as MemberIds | undefined) ?? (ids ? 'raw' : 'none');
  const salt = process.env[SALT_ENV];
  if (memberIds === 'pseudonymized' && salt && saltFingerprint(salt) !== model.manifest.saltFingerprint) {
    logger?.warn(`${SALT_ENV} is not the salt ${model.name}@${model.version} was trained with (fingerprints differ): raw user ids will not be found, pseudonyms still are`);
  }
  return { model, snapshot, rowOf, memberIds, loadedAt: new Date().toISOString(), ltv: await readLtvArtifact(model.dir) };
}

export async function createProvider(ref: string, modelsDir: string, logger?: Logger): Promise<ModelProvider> {
  let loaded = await loadServing(ref, modelsDir, logger);
  return {
    ref,
    modelsDir,
    current: () => loaded,
    production: () => productionVersion(modelsDir, loaded.model.name),
    async reload() {
      const next = await loadServing(ref, modelsDir, logger);
      const previous = { name: loaded.model.name, version: loaded.model.version };
      loaded = next;
      return { previous, loaded: { name: next.model.name, version: next.model.version } };
    },
  };
}
