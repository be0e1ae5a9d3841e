import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { removeStaleTemps, syncDir, syncPath, writeError, writeFileAtomic } from '../shared/atomic.js';
import { CohortlabError } from '../shared/errors.js';
import { formatRef, parseRef, validateName } from './names.js';

/**
 * The registry on disk: `<modelsDir>/<name>/<version>/` folders with a manifest, and
 * `<name>/production` holding the promoted version. Crash safety: a version is written into
 * `<name>/.tmp-*` and renamed into place only when complete (manifest last, with the sha256 of
 * every file); the production pointer is replaced by rename. A killed run leaves only a .tmp
 * folder (or `.production.tmp-*` file), which is never listed or loaded, and is cleaned up by the
 * next write once its process is gone. Two writers of one name never share a number: a rename onto
 * an existing folder fails (ENOTEMPTY) and the writer tries the next number.
 */
export const MANIFEST_FILE = 'manifest.json';
const PRODUCTION_FILE = 'production';
const HIGHEST_FILE = '.highest';

export function resolveModelsDir(cwd: string, env: NodeJS.ProcessEnv, flag?: string): string {
  return resolve(cwd, flag ?? env.COHORTLAB_MODELS_DIR ?? 'models');
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await new Promise<void>((res, rej) => {
    createReadStream(path).on('data', (d) => h.update(d)).on('end', () => res()).on('error', rej);
  });
  return h.digest('hex');
}

export async function listVersions(modelsDir: string, name: string): Promise<number[]> {
  validateName(name);
  const entries = await readdir(join(modelsDir, name)).catch(() => [] as string[]);
  const versions: number[] = [];
  for (const e of entries) {
    if (!/^[1-9]\d*$/.test(e)) continue;
    const ok = await stat(join(modelsDir, name, e, MANIFEST_FILE)).then(() => true, () => false);
    if (ok) versions.push(Number(e));
  }
  return versions.sort((a, b) => a - b);
}

export async function listNames(modelsDir: string): Promise<string[]> {
  const entries = await readdir(modelsDir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

export async function productionVersion(modelsDir: string, name: string): Promise<number | undefined> {
  const text = await readFile(join(modelsDir, validateName(name), PRODUCTION_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const v = Number(text.trim());
  return Number.isInteger(v) && v > 0 ? v : undefined;
}

/** Resolves a reference to an existing version, with a sentence naming what is missing. */
export async function resolveVersion(modelsDir: string, ref: string | undefined): Promise<{ name: string; version: number; dir: string }> {
  const r = parseRef(ref);
  const versions = await listVersions(modelsDir, r.name);
  if (versions.length === 0) {
    throw new CohortlabError('MODEL_NOT_FOUND', `no model "${r.name}" in ${modelsDir}: train one with "cohortlab train --name ${r.name} ..." or pass --models-dir.`);
  }
  const prod = await productionVersion(modelsDir, r.name);
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
    throw new CohortlabError('MODEL_NOT_FOUND', `model ${formatRef(r.name, version)} does not exist in ${modelsDir}; versions of "${r.name}": ${versions.join(', ')}.`);
  }
  return { name: r.name, version, dir: join(modelsDir, r.name, String(version)) };
}

export interface WrittenVersion {
  name: string;
  version: number;
  dir: string;
}

/**
 * Writes a new version: `write(tmpDir)` puts the artefacts in a temporary folder and returns the
 * manifest fields; the manifest (with the version, the file hashes) is written last, everything
 * is fsynced, then the folder is renamed to the next version number. Versions only ever grow,
 * also after `rm` (the highest number handed out is kept in `.highest`).
 */
export async function writeVersion(
  modelsDir: string,
  name: string,
  write: (tmpDir: string) => Promise<Record<string, unknown>>,
): Promise<WrittenVersion> {
  validateName(name);
  const base = join(modelsDir, name);
  await mkdir(base, { recursive: true });
  // Leftovers of killed writers go; a folder of a writer still running (another train at the same time) stays.
  await removeStaleTemps(base);
  const tmp = join(base, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    const fields = await write(tmp);
    const files: Record<string, { bytes: number; sha256: string }> = {};
    for (const f of (await readdir(tmp, { recursive: true, withFileTypes: true })).filter((d) => d.isFile())) {
      const rel = join(f.parentPath ?? (f as unknown as { path: string }).path, f.name).slice(tmp.length + 1);
      const p = join(tmp, rel);
      await syncPath(p);
      files[rel] = { bytes: (await stat(p)).size, sha256: await sha256File(p) };
    }
    let tried = 0;
    for (let attempt = 0; attempt < 100; attempt++) {
      // the next number after every version seen (on disk, in .highest, or taken under us on the last try)
      const version = Math.max(await highestVersion(modelsDir, name), tried) + 1;
      tried = version;
      const manifest = { ...fields, name, version, files };
      await writeFile(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
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

/** The highest version number ever handed out for `name`: the larger of `.highest` and the folders on disk. */
async function highestVersion(modelsDir: string, name: string): Promise<number> {
  const existing = await listVersions(modelsDir, name);
  const recorded = Number((await readFile(join(modelsDir, name, HIGHEST_FILE), 'utf8').catch(() => '0')).trim()) || 0;
  return Math.max(recorded, existing[existing.length - 1] ?? 0);
}

/** `.highest` only grows; a lost race with another writer is repaired by `highestVersion` reading the folders too. */
async function raiseHighest(base: string, version: number): Promise<void> {
  const recorded = Number((await readFile(join(base, HIGHEST_FILE), 'utf8').catch(() => '0')).trim()) || 0;
  if (version > recorded) await writeFileAtomic(join(base, HIGHEST_FILE), `${version}\n`);
}

export async function readManifest(dir: string, label: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    throw new CohortlabError('MODEL_CORRUPT', `model ${label} has no ${MANIFEST_FILE}; it was not written completely. Remove it with "cohortlab models rm ${label}".`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new CohortlabError('MODEL_CORRUPT', `model ${label}: ${MANIFEST_FILE} is not valid JSON (${(e as Error).message}).`);
  }
}

/** Checks every file against the sha256 in the manifest; names the first that differs. */
export async function verifyFiles(dir: string, manifest: Record<string, unknown>, label: string): Promise<void> {
  const files = (manifest.files ?? {}) as Record<string, { bytes: number; sha256: string }>;
  for (const [rel, want] of Object.entries(files)) {
    const p = join(dir, rel);
    const info = await stat(p).catch(() => null);
    if (!info) throw new CohortlabError('MODEL_CORRUPT', `model ${label}: file ${rel} listed in the manifest is missing.`);
    if (info.size !== want.bytes || (await sha256File(p)) !== want.sha256) {
      throw new CohortlabError('MODEL_CORRUPT', `model ${label}: file ${rel} does not match its sha256 in the manifest (changed or truncated after training).`);
    }
  }
}

/** Verdicts that are not evidence (docs/churn.md): promoting such a version needs `force`. */
const UNPROVEN_VERDICTS: Record<string, string> = {
  insufficient_evidence: 'its test set is too small for a verdict',
  in_sample: 'it was evaluated on outcomes it was fitted on',
};

export async function promote(modelsDir: string, ref: string, opts: { force?: boolean } = {}): Promise<{ name: string; version: number; previous: number | undefined }> {
  const r = parseRef(ref);
  if (r.version === undefined || r.version === 'production') {
    throw new CohortlabError('BAD_ARGUMENT', `promote needs an explicit version, e.g. "${r.name}@3".`);
  }
  const v = await resolveVersion(modelsDir, ref);
  const manifest = await readManifest(v.dir, formatRef(v.name, v.version));
  const kind = String(((manifest.metrics ?? {}) as Record<string, unknown>).verdictKind ?? '');
  if (UNPROVEN_VERDICTS[kind] && !opts.force) {
    throw new CohortlabError('NEEDS_FORCE', `${formatRef(v.name, v.version)} has the verdict ${kind} (${UNPROVEN_VERDICTS[kind]}), so nothing shows it works; pass --force to promote it anyway.`);
  }
  const previous = await productionVersion(modelsDir, v.name);
  await removeStaleTemps(join(modelsDir, v.name));
  // temp + fsync + rename: a reader (or a kill) sees the old pointer or the new one, never an empty file
  await writeFileAtomic(join(modelsDir, v.name, PRODUCTION_FILE), `${v.version}\n`);
  return { name: v.name, version: v.version, previous };
}

export async function removeVersion(modelsDir: string, ref: string): Promise<{ name: string; version: number }> {
  const r = parseRef(ref);
  if (r.version === undefined || r.version === 'production') throw new CohortlabError('BAD_ARGUMENT', `rm needs an explicit version, e.g. "${r.name}@2".`);
  const v = await resolveVersion(modelsDir, ref);
  const prod = await productionVersion(modelsDir, v.name);
  if (prod === v.version) {
    throw new CohortlabError('BAD_ARGUMENT', `${formatRef(v.name, v.version)} is the production version; promote another version first.`);
  }
  // The number stays taken (versions only grow), also when the writer of this version was killed before `.highest`.
  await raiseHighest(join(modelsDir, v.name), v.version);
  // Rename first so a half-deleted folder is never visible under a version number.
  const trash = join(modelsDir, v.name, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await rename(v.dir, trash);
  await rm(trash, { recursive: true, force: true });
  return { name: v.name, version: v.version };
}
