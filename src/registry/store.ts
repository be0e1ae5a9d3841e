import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { syncPath } from '../shared/atomic.js';
import { CohortlabError } from '../shared/errors.js';
import { AUDIT_FILE, productionPeriods, skippedAuditWarnings, type AuditRecord, type AuditTrail, type ProductionPeriod } from './audit.js';
import type { ReportWarning } from '../evaluate/index.js';
import type { HistoryStore } from './history.js';
import type { Manifest, ManifestFields, ManifestFile } from './manifest.js';
import { formatRef, parseRef } from './names.js';

/**
 * Where model versions live, apart from what they hold (as tfjs separates ModelArtifacts from IOHandler):
 * the registry's functions take a `ModelStore`. `openModelStore(dir)` (disk-store.ts) is the `models/`
 * folder of the CONTRACT; `createMemoryStore()` (memory-store.ts) keeps versions in memory for tests. Both
 * pass one contract suite (test/registry/store-contract.ts).
 *
 * A version is written whole or not at all: the writer fills a staging folder, the store hashes every
 * file into the manifest, and only then does the version appear (under the next number; numbers only grow,
 * also after `removeVersion`). `listVersions` lists whole versions only.
 */
export interface VersionId {
  name: string;
  version: number;
}

export interface WrittenVersion extends VersionId {
  /** Where the version is (disk: its folder). */
  dir: string;
}

/** Fills a staging folder with the version's files and returns its manifest fields (the store adds name, version, files). */
export type VersionWriter = (stagingDir: string) => Promise<ManifestFields>;

export interface ModelStore {
  /** The store for messages: the models folder, or `memory:LABEL`. */
  readonly location: string;
  /** Model names, sorted. */
  listNames(): Promise<string[]>;
  /** The whole versions of a name, ascending (a version being written or half-removed is never listed). */
  listVersions(name: string): Promise<number[]>;
  /** The promoted version, if any. */
  productionVersion(name: string): Promise<number | undefined>;
  /** Where a version is, for messages and `models show` (disk: its folder). */
  versionLocation(id: VersionId): string;
  /** manifest.json parsed and checked (parseManifest); MODEL_CORRUPT when missing or malformed. */
  readManifest(id: VersionId): Promise<Manifest>;
  /** The bytes of a file of the version, or null when the version has no such file. */
  readArtifact(id: VersionId, file: string): Promise<Uint8Array | null>;
  /** Size and sha256 of a file of the version, or null when absent (checked against the manifest). */
  artifactDigest(id: VersionId, file: string): Promise<ManifestFile | null>;
  /**
   * Runs `use` with a local folder holding the listed files of the version under their names (Parquet is read
   * through DuckDB, rule files by folder): disk passes the version folder itself, memory a temporary copy.
   */
  withLocalFiles<T>(id: VersionId, files: string[], use: (dir: string) => Promise<T>): Promise<T>;
  /** Writes a new version atomically under the next number. */
  writeVersion(name: string, write: VersionWriter): Promise<WrittenVersion>;
  /** Points `name`'s production alias at the version (atomic: readers see the old or the new one). */
  setProduction(id: VersionId): Promise<void>;
  /** Removes a version; its number is never handed out again. */
  removeVersion(id: VersionId): Promise<void>;

  // --- audit trail (issue 21 part 5, src/registry/audit.ts) ---
  // writeVersion records `register` itself; `promote` and `removeVersion` below record theirs.
  /** Appends one record to the name's trail (disk: a line of `NAME/audit.jsonl`, fsynced; the file is never rewritten). */
  appendAudit(name: string, record: AuditRecord): Promise<void>;
  /** The name's trail in written order; torn or unreadable lines are skipped and listed, never silently. */
  readAudit(name: string): Promise<AuditTrail>;
  /** When the production alias was last set (disk: the `production` file's mtime), ISO 8601 UTC; undefined when none is. */
  productionSince(name: string): Promise<string | undefined>;
  // --- end audit trail ---
  /** The dated snapshots of `name` written by `cohortlab refresh` (history.ts); kept apart from its versions. */
  history(name: string): HistoryStore;
}

export function resolveModelsDir(cwd: string, env: NodeJS.ProcessEnv, flag?: string): string {
  return resolve(cwd, flag ?? env.COHORTLAB_MODELS_DIR ?? 'models');
}

export function sha256Bytes(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await new Promise<void>((res, rej) => {
    createReadStream(path).on('data', (d) => h.update(d)).on('end', () => res()).on('error', rej);
  });
  return h.digest('hex');
}

/** Every file a writer put in a staging folder (recursively, relative names), fsynced, with its size and sha256. */
export async function stagedFiles(dir: string): Promise<Record<string, ManifestFile>> {
  const files: Record<string, ManifestFile> = {};
  for (const f of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile())) {
    const rel = join(f.parentPath ?? (f as unknown as { path: string }).path, f.name).slice(dir.length + 1);
    const p = join(dir, rel);
    await syncPath(p);
    files[rel] = { bytes: (await stat(p)).size, sha256: await sha256File(p) };
  }
  return files;
}

export const versionLabel = (id: VersionId) => formatRef(id.name, id.version);

/** Resolves a reference to an existing version, with a sentence naming what is missing. */
export async function resolveVersion(store: ModelStore, ref: string | undefined): Promise<WrittenVersion> {
  const r = parseRef(ref);
  const versions = await store.listVersions(r.name);
  if (versions.length === 0) {
    throw new CohortlabError('MODEL_NOT_FOUND', `no model "${r.name}" in ${store.location}: train one with "cohortlab train --name ${r.name} ..." or pass --models-dir.`);
  }
  const prod = await store.productionVersion(r.name);
  let version: number;
  if (r.version === 'production') {
    if (prod === undefined) throw new CohortlabError('MODEL_NOT_FOUND', `model "${r.name}" has no production version; promote one with "cohortlab models promote ${r.name}@${versions[versions.length - 1]}".`);
    version = prod;
  } else if (r.version === undefined) {
    version = prod ?? versions[versions.length - 1];
  } else {
    version = r.version;
  }
  if (!versions.includes(version)) {
    throw new CohortlabError('MODEL_NOT_FOUND', `model ${formatRef(r.name, version)} does not exist in ${store.location}; versions of "${r.name}": ${versions.join(', ')}.`);
  }
  const id = { name: r.name, version };
  return { ...id, dir: store.versionLocation(id) };
}

/** Checks the version's files (all, or those listed in `only`) against the sha256 in the manifest; names the first that differs. */
export async function verifyFiles(store: ModelStore, id: VersionId, manifest: Manifest, only?: string[]): Promise<void> {
  for (const [rel, want] of Object.entries(manifest.files)) {
    if (only && !only.includes(rel)) continue;
    const got = await store.artifactDigest(id, rel);
    if (!got) throw new CohortlabError('MODEL_CORRUPT', `model ${versionLabel(id)}: file ${rel} listed in the manifest is missing.`);
    if (got.bytes !== want.bytes || got.sha256 !== want.sha256) {
      throw new CohortlabError('MODEL_CORRUPT', `model ${versionLabel(id)}: file ${rel} does not match its sha256 in the manifest (changed or truncated after training).`);
    }
  }
}

/** Verdicts that are not evidence (docs/churn.md): promoting such a version needs `force`. */
const UNPROVEN_VERDICTS: Record<string, string> = {
  insufficient_evidence: 'its test set is too small for a verdict',
  in_sample: 'it was evaluated on outcomes it was fitted on',
};

export async function promote(store: ModelStore, ref: string, opts: { force?: boolean } = {}): Promise<{ name: string; version: number; previous: number | undefined }> {
  const r = parseRef(ref);
  if (r.version === undefined || r.version === 'production') {
    throw new CohortlabError('BAD_ARGUMENT', `promote needs an explicit version, e.g. "${r.name}@3".`);
  }
  const v = await resolveVersion(store, ref);
  const kind = (await store.readManifest(v)).metrics.verdictKind ?? '';
  if (UNPROVEN_VERDICTS[kind] && !opts.force) {
    throw new CohortlabError('NEEDS_FORCE', `${versionLabel(v)} has the verdict ${kind} (${UNPROVEN_VERDICTS[kind]}), so nothing shows it works; pass --force to promote it anyway.`);
  }
  const previous = await store.productionVersion(v.name);
  // A version promoted before the trail existed: keep the pointer's mtime (its best known start) before the switch replaces it.
  const previousSince = previous !== undefined && !(await store.readAudit(v.name)).records.some((r) => r.action === 'promote') ? await store.productionSince(v.name) : undefined;
  await store.setProduction(v);
  // recorded after the switch: a crash in between loses the record, never invents one (productionPeriods infers the gap from the pointer)
  await store.appendAudit(v.name, { at: new Date().toISOString(), action: 'promote', version: v.version, previous: previous ?? null, ...(previousSince ? { previousSince } : {}) });
  return { name: v.name, version: v.version, previous };
}

export async function removeVersion(store: ModelStore, ref: string): Promise<VersionId> {
  const r = parseRef(ref);
  if (r.version === undefined || r.version === 'production') throw new CohortlabError('BAD_ARGUMENT', `rm needs an explicit version, e.g. "${r.name}@2".`);
  const v = await resolveVersion(store, ref);
  if ((await store.productionVersion(v.name)) === v.version) {
    throw new CohortlabError('BAD_ARGUMENT', `${versionLabel(v)} is the production version; promote another version first.`);
  }
  await store.removeVersion(v);
  await store.appendAudit(v.name, { at: new Date().toISOString(), action: 'remove', version: v.version });
  return { name: v.name, version: v.version };
}

/** What `models show` and `GET /v1/models` say about a name's production over time. */
export interface NameProductionHistory {
  /** Which version was in production over which dates (to = null: still is). */
  periods: ProductionPeriod[];
  /** The readable records of the trail, in written order. */
  trail: AuditRecord[];
  /** Where the trail is, for messages (disk: models/NAME/audit.jsonl). */
  trailLocation: string;
  /** Skipped lines (AUDIT_LINES_SKIPPED), contradictions (AUDIT_INCONSISTENT), inferred starts (PRODUCTION_START_INFERRED). */
  warnings: ReportWarning[];
}

/** The production periods of a name from its audit trail and the production pointer (read-only: safe on a read-only registry). */
export async function readProductionHistory(store: ModelStore, name: string): Promise<NameProductionHistory> {
  const trail = await store.readAudit(name);
  const version = await store.productionVersion(name);
  const current = version === undefined ? null : { version, since: (await store.productionSince(name)) ?? null };
  const h = productionPeriods(name, trail.records, current);
  const trailLocation = `${store.location}/${name}/${AUDIT_FILE}`;
  return { periods: h.periods, trail: trail.records, trailLocation, warnings: [...skippedAuditWarnings(name, trailLocation, trail.skipped), ...h.warnings] };
}
