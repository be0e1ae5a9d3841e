import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeDir, processAlive, removeStaleTemps, tempOwner, tempPathFor, writeError, writeFileAtomic } from '../../src/shared/atomic.js';
import { CohortlabError } from '../../src/shared/errors.js';

/** Real failures only: a folder in the way, a path through a file, a real ENOSPC from /dev/full, a real EFBIG under `ulimit -f`. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes the file and replaces an older one whole, leaving no temporary name', async () => {
    const p = join(dir, 'report.json');
    await writeFileAtomic(p, '{"a":1}\n');
    expect(await readFile(p, 'utf8')).toBe('{"a":1}\n');
    await writeFileAtomic(p, new Uint8Array([0x7b, 0x7d]));
    expect(await readFile(p, 'utf8')).toBe('{}');
    expect(await readdir(dir)).toEqual(['report.json']);
  });

  it('a rename that fails after the temporary file was written (a folder has the name): old content stays, temp removed', async () => {
    const p = join(dir, 'report.html');
    await mkdir(p);
    await writeFile(join(p, 'keep.txt'), 'old');
    const err = await writeFileAtomic(p, '<html>').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CohortlabError);
    expect((err as CohortlabError).code).toBe('WRITE_FAILED');
    expect((err as Error).message).toBe(`cannot write "${p}": it is a folder (EISDIR); nothing was left behind.`);
    expect(await readdir(dir)).toEqual(['report.html']);
    expect(await readFile(join(p, 'keep.txt'), 'utf8')).toBe('old');
  });

  it('a path through a regular file: ENOTDIR, one sentence', async () => {
    await writeFile(join(dir, 'plain'), 'x');
    await expect(writeFileAtomic(join(dir, 'plain', 'out.csv'), 'a')).rejects.toThrow(
      `cannot write "${join(dir, 'plain', 'out.csv')}": a part of the path is a file, not a folder (ENOTDIR); nothing was left behind.`,
    );
    await expect(makeDir(join(dir, 'plain', 'sub'))).rejects.toThrow(/^cannot write ".*plain\/sub": a part of the path is a file, not a folder \(ENOTDIR\)/);
    expect(await readdir(dir)).toEqual(['plain']);
  });

  it('a missing folder: ENOENT, one sentence', async () => {
    await expect(writeFileAtomic(join(dir, 'nope', 'x.json'), '{}')).rejects.toThrow(/cannot write ".*nope\/x\.json": its folder does not exist \(ENOENT\)/);
  });

  it('a file size limit hit mid-write (ulimit -f, a real EFBIG in a child): one sentence, no partial file', () => {
    const p = join(dir, 'big.json');
    const script = `process.on('SIGXFSZ', () => {});
const { writeFileAtomic } = await import(${JSON.stringify(join(ROOT, 'src', 'shared', 'atomic.ts'))});
try { await writeFileAtomic(${JSON.stringify(p)}, 'x'.repeat(200_000)); console.log('written'); } catch (e) { console.log(e.code + ': ' + e.message); }`;
    // ulimit -f counts 1024-byte blocks: 16 kB are allowed, the 200 kB file is not
    const r = spawnSync('bash', ['-c', `ulimit -f 16; exec "${process.execPath}" --import tsx --input-type=module -e "$0"`, script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`WRITE_FAILED: cannot write "${p}": the file would exceed the size limit (ulimit -f or the file system) (EFBIG); nothing was left behind.\n`);
    return readdir(dir).then((left) => expect(left).toEqual([]));
  }, 30_000);
});

describe('writeError', () => {
  it('names the file and the cause of a real ENOSPC (/dev/full)', async () => {
    const enospc = await writeFile('/dev/full', 'x').catch((e: unknown) => e);
    expect((enospc as NodeJS.ErrnoException).code).toBe('ENOSPC');
    const e = writeError('/out/report.json', enospc) as CohortlabError;
    expect(e.code).toBe('WRITE_FAILED');
    expect(e.message).toBe('cannot write "/out/report.json": the disk is full (ENOSPC); nothing was left behind.');
    expect(e.cause).toBe(enospc);
  });

  it('reads DuckDB messages (no errno code), and passes other errors and CohortlabErrors through', () => {
    const duck = new Error('IO Error: Could not write file "/x/.a.parquet.tmp-1-ab": No space left on device');
    // the same sentence as the errno code's, whichever layer failed
    expect((writeError('/x/a.parquet', duck) as Error).message).toBe('cannot write "/x/a.parquet": the disk is full (ENOSPC); nothing was left behind.');
    const ro = new Error('IO Error: Cannot open file "/x/.a.parquet.tmp-1-ab": Read-only file system');
    expect((writeError('/x/a.parquet', ro) as Error).message).toBe('cannot write "/x/a.parquet": the file system is read-only (EROFS); nothing was left behind.');
    const other = new Error('Binder Error: column "x" not found');
    expect(writeError('/x/a.parquet', other)).toBe(other);
    const own = new CohortlabError('BAD_ARGUMENT', 'give --out');
    expect(writeError('/x', own)).toBe(own);
  });
});

describe('temporary names and stale ones', () => {
  it('temp names sit beside the target, hidden, carrying the pid', () => {
    const t = tempPathFor('/a/b/report.json');
    expect(t).toMatch(new RegExp(`^/a/b/\\.report\\.json\\.tmp-${process.pid}-[0-9a-f]{8}$`));
    expect(tempOwner(t.slice('/a/b/'.length))).toBe(process.pid);
    expect(tempOwner('.tmp-123-abcd')).toBe(123);
    expect(tempOwner('.production.tmp-77-0f')).toBe(77);
    expect(tempOwner('production')).toBeUndefined();
    expect(tempOwner('12')).toBeUndefined();
    expect(tempOwner('.highest')).toBeUndefined();
  });

  it('removeStaleTemps removes the leftovers of dead processes only', async () => {
    // a process that has exited: its pid is free (reuse within this test is practically impossible)
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    expect(processAlive(deadPid)).toBe(false);
    expect(processAlive(process.pid)).toBe(true);
    await mkdir(join(dir, `.tmp-${deadPid}-aa`));
    await writeFile(join(dir, `.tmp-${deadPid}-aa`, 'weights.bin'), 'half');
    await writeFile(join(dir, `.production.tmp-${deadPid}-bb`), '');
    await mkdir(join(dir, `.tmp-${process.pid}-cc`));
    await mkdir(join(dir, '.tmp-rm-3-dd'));
    await mkdir(join(dir, '3'));
    await writeFile(join(dir, 'production'), '3\n');
    expect(await removeStaleTemps(dir)).toEqual([`.production.tmp-${deadPid}-bb`, `.tmp-${deadPid}-aa`, '.tmp-rm-3-dd']);
    expect((await readdir(dir)).sort()).toEqual([`.tmp-${process.pid}-cc`, '3', 'production']);
  });
});
