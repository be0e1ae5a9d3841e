import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CohortlabError } from './errors.js';

/**
 * Output files appear whole or not at all: written to a temporary name in the same folder, fsynced,
 * then renamed over the target. On any failure the temporary file is removed and the caller gets one
 * sentence naming the file and the cause (disk full, permission, read-only file system, ...).
 */
const CAUSES: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOENT: 'its folder does not exist',
  EISDIR: 'it is a folder',
  EMFILE: 'too many open files',
  EIO: 'an input/output error',
};

/** The one-sentence error for a failed write of `path`; other errors pass through. */
export function writeError(path: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && CAUSES[code]) return new CohortlabError('WRITE_FAILED', `cannot write "${path}": ${CAUSES[code]} (${code}); nothing was left behind.`, { path, cause: e });
  const m = /(No space left on device|Permission denied|Read-only file system|Not a directory)/i.exec(e instanceof Error ? e.message : '');
  if (m) return new CohortlabError('WRITE_FAILED', `cannot write "${path}": ${m[1].toLowerCase()}; nothing was left behind.`, { path, cause: e });
  return e;
}

/** A temporary name beside `path` (same folder, so the final rename is atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
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
}

/** mkdir -p with the same one-sentence error as the writes. */
export async function makeDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true }).catch((e: unknown) => {
    throw writeError(dir, e);
  });
}
