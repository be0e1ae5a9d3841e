import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CohortlabError } from './errors.js';

/**
 * Output files appear whole or not at all: written to a temporary name in the same folder, fsynced,
 * then renamed over the target (and the folder fsynced, so the new name survives a power cut). On any
 * failure the temporary file is removed and the caller gets one sentence naming the file and the cause
 * (disk full, permission, read-only file system, ...). A process killed mid-write leaves only a
 * `.NAME.tmp-PID-HEX` file, never a half-written NAME; `removeStaleTemps` clears those of dead processes.
 */
const CAUSES: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
  EFBIG: 'the file would exceed the size limit (ulimit -f or the file system)',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOENT: 'its folder does not exist',
  EISDIR: 'it is a folder',
  EMFILE: 'too many open files',
  EIO: 'an input/output error',
};

/** The OS's words for the causes above, as DuckDB quotes them in its messages. */
const OS_MESSAGES: Record<string, string> = {
  'No space left on device': 'ENOSPC',
  'Disk quota exceeded': 'EDQUOT',
  'Permission denied': 'EACCES',
  'Read-only file system': 'EROFS',
  'Not a directory': 'ENOTDIR',
  'File too large': 'EFBIG',
  'No such file or directory': 'ENOENT',
};

/** The one-sentence error for a failed write of `path`; other errors pass through unchanged. */
export function writeError(path: string, e: unknown): unknown {
  if (e instanceof CohortlabError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && CAUSES[code]) return new CohortlabError('WRITE_FAILED', `cannot write "${path}": ${CAUSES[code]} (${code}); nothing was left behind.`, { path, cause: e });
  // DuckDB (a Parquet COPY) reports the OS error in its message, without a code: the same sentence as the code's.
  const message = e instanceof Error ? e.message : '';
  const found = Object.entries(OS_MESSAGES).find(([text]) => message.toLowerCase().includes(text.toLowerCase()));
  if (found) return new CohortlabError('WRITE_FAILED', `cannot write "${path}": ${CAUSES[found[1]]} (${found[1]}); nothing was left behind.`, { path, cause: e });
  return e;
}

const TEMP_MARK = '.tmp-';

/** A temporary name beside `path` (same folder, so the final rename is atomic): `.NAME.tmp-PID-HEX`. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** fsync of a file (or, with `r`, a folder: makes a rename or a new entry in it durable). */
export async function syncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A folder's fsync is best effort: some file systems refuse it (EINVAL), and the data itself is already synced. */
export async function syncDir(dir: string): Promise<void> {
  await syncPath(dir).catch(() => {});
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw writeError(path, e);
  }
  await syncDir(dirname(path));
}

/** mkdir -p with the same one-sentence error as the writes. */
export async function makeDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true }).catch((e: unknown) => {
    throw writeError(dir, e);
  });
}

/** The process id in a temporary name (`.NAME.tmp-PID-HEX` or `.tmp-PID-HEX`), if any. */
export function tempOwner(entry: string): number | undefined {
  const m = /^(?:\.tmp-|\..+\.tmp-)(\d+)-[0-9a-f]+$/.exec(entry);
  const pid = m ? Number(m[1]) : NaN;
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Alive means it may still be writing its temporary file: leave it. EPERM: alive, someone else's. */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the temporary files and folders in `dir` left by killed writers; returns their names. */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const e of await readdir(dir).catch(() => [] as string[])) {
    // `.tmp-rm-*`: a version already renamed away by `models rm` (older builds); deleting it twice is harmless
    const pid = tempOwner(e);
    if (!e.startsWith('.tmp-rm-') && (pid === undefined || processAlive(pid))) continue;
    await rm(join(dir, e), { recursive: true, force: true }).then(() => removed.push(e), () => {});
  }
  return removed.sort();
}
