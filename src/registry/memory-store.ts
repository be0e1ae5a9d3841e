import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CohortlabError } from '../shared/errors.js';
import type { AuditRecord, AuditTrail } from './audit.js';
import { formatManifest, MANIFEST_FILE, parseManifestText, type Manifest } from './manifest.js';
import { memoryHistory, type HistoryStore } from './history.js';
import { validateName } from './names.js';
import { versionLabel, sha256Bytes, stagedFiles, type ModelStore, type VersionId, type VersionWriter, type WrittenVersion } from './store.js';

/**
 * Model versions held in memory (tests, notebooks that train and score without touching `models/`). Same
 * contract as the disk store: a version appears whole (its files are staged in a temporary folder, read in,
 * and added with its manifest in one step), numbers only grow, the production alias is one value. The
 * manifest is kept as the text a disk store would write and parsed on every read, so both stores check it alike.
 */
export function createMemoryStore(name = 'models'): ModelStore {
  return new MemoryModelStore(`memory:${name}`);
}

interface MemoryModel {
  versions: Map<number, Map<string, Uint8Array>>;
  production?: number;
  highest: number;
}

/** The audit trail of a name (kept apart from its versions: it outlives them) and when its production alias was last set. */
interface MemoryAudit {
  records: AuditRecord[];
  productionSince?: string;
}

class MemoryModelStore implements ModelStore {
  private readonly models = new Map<string, MemoryModel>();
  private readonly audits = new Map<string, MemoryAudit>();
  private readonly histories = new Map<string, HistoryStore>();

  constructor(readonly location: string) {}

  versionLocation(id: VersionId): string {
    return `${this.location}/${id.name}/${id.version}`;
  }

  history(name: string): HistoryStore {
    validateName(name);
    let h = this.histories.get(name);
    if (!h) this.histories.set(name, (h = memoryHistory(`${this.location}/${name}/history`)));
    return h;
  }

  async listNames(): Promise<string[]> {
    return [...this.models.keys()].sort();
  }

  async listVersions(name: string): Promise<number[]> {
    validateName(name);
    return [...(this.models.get(name)?.versions.keys() ?? [])].sort((a, b) => a - b);
  }

  async productionVersion(name: string): Promise<number | undefined> {
    return this.models.get(validateName(name))?.production;
  }

  private files(id: VersionId): Map<string, Uint8Array> | undefined {
    return this.models.get(id.name)?.versions.get(id.version);
  }

  async readManifest(id: VersionId): Promise<Manifest> {
    const bytes = this.files(id)?.get(MANIFEST_FILE);
    if (!bytes) throw new CohortlabError('MODEL_CORRUPT', `model ${versionLabel(id)} has no ${MANIFEST_FILE}; it was not written completely. Remove it with "cohortlab models rm ${versionLabel(id)}".`);
    return parseManifestText(Buffer.from(bytes).toString('utf8'), `model ${versionLabel(id)}: ${MANIFEST_FILE}`, `${this.versionLocation(id)}/${MANIFEST_FILE}`);
  }

  async readArtifact(id: VersionId, file: string): Promise<Uint8Array | null> {
    const bytes = this.files(id)?.get(file);
    // a copy: a caller that changes the bytes does not change the stored version
    return bytes ? Uint8Array.from(bytes) : null;
  }

  async artifactDigest(id: VersionId, file: string) {
    const bytes = this.files(id)?.get(file);
    return bytes ? { bytes: bytes.byteLength, sha256: sha256Bytes(bytes) } : null;
  }

  async withLocalFiles<T>(id: VersionId, files: string[], use: (dir: string) => Promise<T>): Promise<T> {
    const stored = this.files(id);
    const dir = await mkdtemp(join(tmpdir(), 'cl-memstore-'));
    try {
      for (const [rel, bytes] of stored ?? []) {
        // a listed file, or a file inside a listed folder (e.g. "rules")
        if (!files.some((f) => rel === f || rel.startsWith(`${f}/`))) continue;
        await mkdir(dirname(join(dir, rel)), { recursive: true });
        await writeFile(join(dir, rel), bytes);
      }
      return await use(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async writeVersion(name: string, write: VersionWriter): Promise<WrittenVersion> {
    validateName(name);
    const staging = await mkdtemp(join(tmpdir(), 'cl-memstore-'));
    try {
      const fields = await write(staging);
      const files = await stagedFiles(staging);
      const contents = new Map<string, Uint8Array>();
      for (const rel of Object.keys(files)) contents.set(rel, await readFile(join(staging, rel)));
      // synchronous from here: no other writer can take the number between choosing and storing it
      const model = this.models.get(name) ?? { versions: new Map(), highest: 0 };
      const version = model.highest + 1;
      contents.set(MANIFEST_FILE, Buffer.from(formatManifest({ ...fields, name, version, files })));
      model.versions.set(version, contents);
      model.highest = version;
      this.models.set(name, model);
      this.audit(name).records.push({ at: new Date().toISOString(), action: 'register', version });
      return { name, version, dir: this.versionLocation({ name, version }) };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async setProduction(id: VersionId): Promise<void> {
    const model = this.models.get(id.name);
    if (!model?.versions.has(id.version)) throw new CohortlabError('MODEL_NOT_FOUND', `model ${versionLabel(id)} does not exist in ${this.location}.`);
    model.production = id.version;
    this.audit(id.name).productionSince = new Date().toISOString();
  }

  async removeVersion(id: VersionId): Promise<void> {
    this.models.get(id.name)?.versions.delete(id.version);
  }

  // --- audit trail (issue 21 part 5) ---

  private audit(name: string): MemoryAudit {
    let a = this.audits.get(name);
    if (!a) this.audits.set(name, (a = { records: [] }));
    return a;
  }

  async appendAudit(name: string, record: AuditRecord): Promise<void> {
    // a copy: a caller that changes its object does not change the trail
    this.audit(validateName(name)).records.push({ ...record });
  }

  async readAudit(name: string): Promise<AuditTrail> {
    return { records: (this.audits.get(validateName(name))?.records ?? []).map((r) => ({ ...r })), skipped: [] };
  }

  async productionSince(name: string): Promise<string | undefined> {
    return this.audits.get(validateName(name))?.productionSince;
  }

  // --- end audit trail ---
}
