import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeStaleTemps, syncDir, syncPath, writeError, writeFileAtomic } from '../shared/atomic.js';
import { CohortlabError } from '../shared/errors.js';
import { AUDIT_FILE, formatAuditLine, parseAuditText, type AuditRecord, type AuditTrail } from './audit.js';
import { formatManifest, MANIFEST_FILE, parseManifestText, type Manifest } from './manifest.js';
import { diskHistory, HISTORY_FOLDER, type HistoryStore } from './history.js';
import { validateName } from './names.js';
import { versionLabel, sha256File, stagedFiles, type ModelStore, type VersionId, type VersionWriter, type WrittenVersion } from './store.js';

/**
 * The registry on disk: `<modelsDir>/<name>/<version>/` folders with a manifest, and
 * `<name>/production` holding the promoted version. Crash safety: a version is written into
 * `<name>/.tmp-*` and renamed into place only when complete (manifest last, with the sha256 of
 * every file); the production pointer is replaced by rename. A killed run leaves only a .tmp
 * folder (or `.production.tmp-*` file), which is never listed or loaded, and is cleaned up by the
 * next write once its process is gone. Two writers of one name never share a number: a rename onto
 * an existing folder fails (ENOTEMPTY) and the writer tries the next number.
 */
const PRODUCTION_FILE = 'production';
const HIGHEST_FILE = '.highest';

export function openModelStore(modelsDir: string): ModelStore {
  return new DiskModelStore(modelsDir);
}

class DiskModelStore implements ModelStore {
  constructor(readonly location: string) {}

  versionLocation(id: VersionId): string {
    return join(this.location, id.name, String(id.version));
  }

  history(name: string): HistoryStore {
    return diskHistory(join(this.location, validateName(name), HISTORY_FOLDER));
  }

  async listNames(): Promise<string[]> {
    const entries = await readdir(this.location, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  }

  async listVersions(name: string): Promise<number[]> {
    validateName(name);
    const entries = await readdir(join(this.location, name)).catch(() => [] as string[]);
    const versions: number[] = [];
    for (const e of entries) {
      if (!/^[1-9]\d*$/.test(e)) continue;
      const ok = await stat(join(this.location, name, e, MANIFEST_FILE)).then(() => true, () => false);
      if (ok) versions.push(Number(e));
    }
    return versions.sort((a, b) => a - b);
  }

  async productionVersion(name: string): Promise<number | undefined> {
    const text = await readFile(join(this.location, validateName(name), PRODUCTION_FILE), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const v = Number(text.trim());
    return Number.isInteger(v) && v > 0 ? v : undefined;
  }

  async readManifest(id: VersionId): Promise<Manifest> {
    const path = join(this.versionLocation(id), MANIFEST_FILE);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      throw new CohortlabError('MODEL_CORRUPT', `model ${versionLabel(id)} has no ${MANIFEST_FILE}; it was not written completely. Remove it with "cohortlab models rm ${versionLabel(id)}".`);
    }
    return parseManifestText(text, `model ${versionLabel(id)}: ${MANIFEST_FILE}`, path);
  }

  async readArtifact(id: VersionId, file: string): Promise<Uint8Array | null> {
    try {
      return await readFile(join(this.versionLocation(id), file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new CohortlabError('MODEL_CORRUPT', `model ${versionLabel(id)}: ${file} cannot be read (${(e as Error).message}).`, { cause: e });
    }
  }

  async artifactDigest(id: VersionId, file: string) {
    const p = join(this.versionLocation(id), file);
    const info = await stat(p).catch(() => null);
    if (!info) return null;
    return { bytes: info.size, sha256: await sha256File(p) };
  }

  withLocalFiles<T>(id: VersionId, _files: string[], use: (dir: string) => Promise<T>): Promise<T> {
    return use(this.versionLocation(id));
  }

  /**
   * `write(tmpDir)` puts the artefacts in a temporary folder and returns the manifest fields; the manifest
   * (with the version, the file hashes) is written last, everything is fsynced, then the folder is renamed
   * to the next version number. The highest number handed out is kept in `.highest`.
   */
  async writeVersion(name: string, write: VersionWriter): Promise<WrittenVersion> {
    const w = await this.writeWhole(name, write);
    try {
      await this.appendAudit(name, { at: new Date().toISOString(), action: 'register', version: w.version });
    } catch (e) {
      // the version is whole and listed; say so, so nobody trains it again
      throw new CohortlabError('WRITE_FAILED', `${versionLabel(w)} was written to ${w.dir}, but its audit record could not be appended: ${(e as Error).message}`, { path: join(this.location, name, AUDIT_FILE), cause: e });
    }
    return w;
  }

  private async writeWhole(name: string, write: VersionWriter): Promise<WrittenVersion> {
    validateName(name);
    const base = join(this.location, name);
    await mkdir(base, { recursive: true });
    // Leftovers of killed writers go; a folder of a writer still running (another train at the same time) stays.
    await removeStaleTemps(base);
    const tmp = join(base, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(tmp);
    try {
      const fields = await write(tmp);
      const files = await stagedFiles(tmp);
      let tried = 0;
      for (let attempt = 0; attempt < 100; attempt++) {
        // the next number after every version seen (on disk, in .highest, or taken under us on the last try)
        const version = Math.max(await this.highestVersion(name), tried) + 1;
        tried = version;
        await writeFile(join(tmp, MANIFEST_FILE), formatManifest({ ...fields, name, version, files }));
        await syncPath(join(tmp, MANIFEST_FILE));
        await syncDir(tmp);
        const dir = join(base, String(version));
        try {
          // rename(2) of a folder onto a non-empty folder fails: a version another writer took is never overwritten or merged
          await rename(tmp, dir);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') continue;
          throw e;
        }
        await syncDir(base);
        await raiseHighest(base, version);
        return { name, version, dir };
      }
      throw new CohortlabError('REGISTRY_CONFLICT', `could not allocate a version for "${name}" after 100 attempts (other writers?).`);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true }).catch(() => {});
      throw versionWriteError(e, base, tmp);
    }
  }

  async setProduction(id: VersionId): Promise<void> {
    await removeStaleTemps(join(this.location, id.name));
    // temp + fsync + rename: a reader (or a kill) sees the old pointer or the new one, never an empty file
    await writeFileAtomic(join(this.location, id.name, PRODUCTION_FILE), `${id.version}\n`);
  }

  async removeVersion(id: VersionId): Promise<void> {
    // The number stays taken (versions only grow), also when the writer of this version was killed before `.highest`.
    await raiseHighest(join(this.location, id.name), id.version);
    // Rename first so a half-deleted folder is never visible under a version number.
    const trash = join(this.location, id.name, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    await rename(this.versionLocation(id), trash);
    await rm(trash, { recursive: true, force: true });
  }

  // --- audit trail (issue 21 part 5) ---

  /**
   * One line appended to `NAME/audit.jsonl` (O_APPEND, one write, fsync; the file is never rewritten). A line
   * torn by a crash has no end of line: the next record starts on a new line, so it is not glued to the torn one.
   */
  async appendAudit(name: string, record: AuditRecord): Promise<void> {
    const base = join(this.location, validateName(name));
    const path = join(base, AUDIT_FILE);
    try {
      await mkdir(base, { recursive: true });
      const fh = await open(path, 'a+');
      let created = false;
      try {
        const { size } = await fh.stat();
        created = size === 0;
        const last = Buffer.alloc(1);
        if (size > 0) await fh.read(last, 0, 1, size - 1);
        await fh.write(`${size > 0 && last[0] !== 0x0a ? '\n' : ''}${formatAuditLine(record)}`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (created) await syncDir(base);
    } catch (e) {
      throw writeError(path, e);
    }
  }

  async readAudit(name: string): Promise<AuditTrail> {
    const path = join(this.location, validateName(name), AUDIT_FILE);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], skipped: [] };
      throw new CohortlabError('MODEL_CORRUPT', `the audit trail ${path} cannot be read (${(e as Error).message}).`, { path, cause: e });
    }
    return parseAuditText(text);
  }

  async productionSince(name: string): Promise<string | undefined> {
    const info = await stat(join(this.location, validateName(name), PRODUCTION_FILE)).catch(() => null);
    return info ? info.mtime.toISOString() : undefined;
  }

  // --- end audit trail ---

  /** The highest version number ever handed out for `name`: the larger of `.highest` and the folders on disk. */
  private async highestVersion(name: string): Promise<number> {
    const existing = await this.listVersions(name);
    const recorded = Number((await readFile(join(this.location, name, HIGHEST_FILE), 'utf8').catch(() => '0')).trim()) || 0;
    return Math.max(recorded, existing[existing.length - 1] ?? 0);
  }
}

/** `.highest` only grows; a lost race with another writer is repaired by `highestVersion` reading the folders too. */
async function raiseHighest(base: string, version: number): Promise<void> {
  const recorded = Number((await readFile(join(base, HIGHEST_FILE), 'utf8').catch(() => '0')).trim()) || 0;
  if (version > recorded) await writeFileAtomic(join(base, HIGHEST_FILE), `${version}\n`);
}

/**
 * A failure while writing a version, as one sentence naming the file as the user will know it
 * (`models/m/<next version>/scores.parquet`, not the temporary folder). Only failures to write into
 * the registry are write errors: a missing input (copyFile's source) keeps its own message.
 */
function versionWriteError(e: unknown, base: string, tmp: string): unknown {
  const shown = (p: string) => (p.startsWith(`${tmp}/`) ? join(base, '<next version>', p.slice(tmp.length + 1)) : p);
  if (e instanceof CohortlabError) {
    if (e.code !== 'WRITE_FAILED' || !e.path?.startsWith(`${tmp}/`)) return e;
    return new CohortlabError('WRITE_FAILED', e.message.split(e.path).join(shown(e.path)), { path: shown(e.path), cause: e.cause });
  }
  const err = (e ?? {}) as NodeJS.ErrnoException & { dest?: string };
  const inRegistry = (p: unknown): p is string => typeof p === 'string' && (p === base || p.startsWith(`${base}/`));
  if (inRegistry(err.path)) return writeError(shown(err.path), e);
  if (inRegistry(err.dest)) return err.code === 'ENOENT' ? e : writeError(shown(err.dest), e);
  // a write through a file handle names no path (ENOSPC, EFBIG, EIO): the version folder is what failed
  if (err.path === undefined && err.dest === undefined) return writeError(join(base, '<next version>'), e);
  return e;
}
