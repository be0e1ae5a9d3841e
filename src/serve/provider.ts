import { loadScoringModel, readLtvArtifact, type LoadedModel, type StoredLtv } from '../pipeline/index.js';
import { readVersionTable, SCORES_FILE, type ModelStore, type SnapshotRecord } from '../registry/index.js';
import type { Logger } from '../shared/log.js';
import { SALT_ENV, saltFingerprint, type MemberIds } from '../shared/pseudonym.js';
import { CohortlabError } from '../shared/errors.js';
import type { ColumnTable } from '../shared/table-io.js';

/**
 * The model the server answers with, and the scored snapshot behind /v1/users, member tables and
 * exports. `reload()` loads the new version completely, then swaps one reference: a request holds
 * the `Loaded` object it started with, so in-flight requests finish on the old model.
 */
export interface Loaded {
  model: LoadedModel;
  /** The registry the version was loaded from (for files read on demand, e.g. the stored retention curves). */
  store: ModelStore;
  snapshot: ColumnTable;
  /** user_id (as stored: raw or pseudonym) -> row of the snapshot; empty when the model stores no ids. */
  rowOf: Map<string, number>;
  /** How the model stores member ids (train --keep-user-ids / --pseudonymize; none by default). */
  memberIds: MemberIds;
  loadedAt: string;
  /** The version's BG/NBD (+ Gamma-Gamma) from ltv.json; null when it has none. */
  ltv?: StoredLtv | null;
  /**
   * The refresh snapshot served instead of the training one (issue 21: the newest snapshot of the model's
   * history scored by this version), or null/absent when the training snapshot is served.
   */
  refreshed?: SnapshotRecord | null;
}

export interface ModelProvider {
  current(): Loaded;
  reload(): Promise<{ previous: { name: string; version: number }; loaded: { name: string; version: number } }>;
  production(): Promise<number | undefined>;
  /**
   * Serves `next` (a refresh snapshot of the same loaded version, built completely by the caller) in one
   * reference swap. Refused (false) when the loaded version changed since `basis` was read (a reload won the race).
   */
  swap(basis: Loaded, next: Loaded): boolean;
  readonly ref: string;
  readonly store: ModelStore;
}

export async function loadServing(ref: string, store: ModelStore, logger?: Logger): Promise<Loaded> {
  const model = await loadScoringModel(store, ref, { logger });
  const snapshot = await readVersionTable(store, model, SCORES_FILE);
  if (!snapshot) throw new CohortlabError('MODEL_CORRUPT', `model ${model.label} has no ${SCORES_FILE} (the scored snapshot the server answers from); re-train it.`);
  const ids = snapshot.columns.user_id as string[] | undefined;
  const rowOf = new Map<string, number>();
  ids?.forEach((id, i) => rowOf.set(id, i));
  // Versions trained before the privacy switches stored raw ids.
  const memberIds: MemberIds = model.manifest.memberIds ?? (ids ? 'raw' : 'none');
  const salt = process.env[SALT_ENV];
  if (memberIds === 'pseudonymized' && salt && saltFingerprint(salt) !== model.manifest.saltFingerprint) {
    logger?.warn(`${SALT_ENV} is not the salt ${model.name}@${model.version} was trained with (fingerprints differ): raw user ids will not be found, pseudonyms still are`);
  }
  const trained: Loaded = { model, store, snapshot, rowOf, memberIds, loadedAt: new Date().toISOString(), ltv: await readLtvArtifact(store, model), refreshed: null };
  const newest = await newestRefresh(trained);
  return newest ? servingSnapshot(trained, newest.record, newest.table) : trained;
}

/**
 * The newest snapshot of the model's history scored by this very version and dated after its training snapshot
 * (what a server restarted after refreshes must keep answering from), or null.
 */
async function newestRefresh(l: Loaded): Promise<{ record: SnapshotRecord; table: ColumnTable } | null> {
  const history = l.store.history(l.model.name);
  const trainedAt = l.model.params.snapshotAsOf ?? '';
  for (const d of (await history.list()).reverse()) {
    if (d <= trainedAt) break;
    const record = await history.read(d);
    if (record.model.version === l.model.version) return { record, table: await history.readTable(d) };
  }
  return null;
}

/**
 * The serving state of a refresh snapshot of the loaded version: the same model, the snapshot's rows. A history
 * of a model that stores no ids holds keyed hashes (registry/history.ts): they are dropped here, so no answer,
 * export or chart can carry them, and members stay refused (memberIds stays "none").
 */
export function servingSnapshot(base: Loaded, record: SnapshotRecord, table: ColumnTable): Loaded {
  let snapshot = table;
  if (record.member_ids === 'keyed' || base.memberIds === 'none') {
    const { user_id: _keyed, ...rest } = table.columns;
    snapshot = { rows: table.rows, names: table.names.filter((n) => n !== 'user_id'), columns: rest };
  }
  const rowOf = new Map<string, number>();
  (snapshot.columns.user_id as string[] | undefined)?.forEach((id, i) => rowOf.set(id, i));
  return { ...base, snapshot, rowOf, refreshed: record };
}

export async function createProvider(ref: string, store: ModelStore, logger?: Logger): Promise<ModelProvider> {
  let loaded = await loadServing(ref, store, logger);
  return {
    ref,
    store,
    current: () => loaded,
    production: () => store.productionVersion(loaded.model.name),
    swap(basis, next) {
      if (loaded.model !== basis.model || next.model !== basis.model) return false;
      loaded = next;
      return true;
    },
    async reload() {
      const next = await loadServing(ref, store, logger);
      const previous = { name: loaded.model.name, version: loaded.model.version };
      loaded = next;
      return { previous, loaded: { name: next.model.name, version: next.model.version } };
    },
  };
}
