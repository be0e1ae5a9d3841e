import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/index.js';
import { listVersions, loadModel, productionVersion, readManifest, verifyFiles } from '../../src/registry/index.js';
import { writeFileAtomic } from '../../src/shared/atomic.js';
import { collectingLogger } from '../../src/shared/log.js';
import { createRng } from '../../src/shared/rng.js';
import { writeSynthetic } from '../../src/synth/index.js';

/**
 * Faults mid-run, with the real CLI in child processes (bin/cohortlab.js over dist/, which `npm ci` builds):
 * SIGKILL at seeded random moments of `train` and `models promote`, two trains of one name at once, and
 * writes that fail (disk full, read-only, a path through a file). Afterwards the registry lists only whole
 * versions, each loads and matches its manifest, and `production` points at one of them.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'cohortlab.js');
const built = existsSync(join(ROOT, 'dist', 'cli', 'index.js'));
let dir: string;
let events: string;
let modelsDir: string;
let trainSeconds = 0;

const trainArgs = (name = 'm') => [BIN, 'train', '--events', events, '--preset', 'synthetic', '--seed', '3', '--name', name, '--model', 'logistic', '--k', '3', '--resamples', '20', '--models-dir', modelsDir];

function runChild(args: string[], killAfterMs?: number): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TZ: 'UTC' } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

/** Every listed version is whole: its manifest parses, every file matches its sha256, and it loads. */
async function expectWholeRegistry(name: string): Promise<number[]> {
  const versions = await listVersions(modelsDir, name);
  for (const v of versions) {
    const d = join(modelsDir, name, String(v));
    const manifest = await readManifest(d, `${name}@${v}`);
    await verifyFiles(d, manifest, `${name}@${v}`);
    expect(manifest.version).toBe(v);
  }
  const prod = await productionVersion(modelsDir, name);
  if (prod !== undefined) expect(versions).toContain(prod);
  if (versions.length) {
    const m = await loadModel(name, { modelsDir });
    expect(versions).toContain(m.version);
  }
  return versions;
}

describe.skipIf(!built)('faults mid-run', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-faults-'));
    await writeSynthetic(join(dir, 'data'), { users: 300, days: 120, seed: 9 });
    events = join(dir, 'data', 'events.parquet');
    modelsDir = join(dir, 'models');
    const t0 = performance.now();
    const first = await runChild(trainArgs());
    trainSeconds = (performance.now() - t0) / 1000;
    expect(first.code, first.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('kill -9 at seeded random moments of train: only whole versions, each loads', async () => {
    const rng = createRng(20261123);
    let landed = 0;
    for (let k = 0; k < 8; k++) {
      // anywhere from process start to just past the expected end (so some kills hit the final writes)
      const at = Math.round(1000 * trainSeconds * (0.3 + 0.85 * rng.next()));
      const before = (await listVersions(modelsDir, 'm')).length;
      const r = await runChild(trainArgs(), at);
      const versions = await expectWholeRegistry('m');
      if (r.signal === null) {
        expect(r.code, r.stderr).toBe(0);
        landed++;
      }
      // a killed run adds nothing, or its whole version when the kill came after the final rename
      expect(versions.length - before).toBeLessThanOrEqual(1);
      if (r.signal === null) expect(versions.length - before).toBe(1);
    }
    // a killed run's leftovers are cleaned up by the next write, never listed
    const ok = await runChild(trainArgs());
    expect(ok.code, ok.stderr).toBe(0);
    expect((await readdir(join(modelsDir, 'm'))).filter((e) => e.startsWith('.tmp-'))).toEqual([]);
    expect(landed).toBeLessThan(8); // most runs were really killed
    await expectWholeRegistry('m');
  }, 240_000);

  it('kill -9 in the middle of promotes: production always names a whole version', async () => {
    const versions = await listVersions(modelsDir, 'm');
    expect(versions.length).toBeGreaterThanOrEqual(2);
    const script = join(dir, 'promote-loop.mjs');
    // the child promotes in a tight loop (after its ~0.3 s start-up); kills land before, during and between the pointer writes
    await writeFile(script, `import { promote } from ${JSON.stringify(join(ROOT, 'dist', 'registry', 'index.js'))};\nconst v = ${JSON.stringify(versions)};\nfor (let i = 0; ; i++) await promote(${JSON.stringify(modelsDir)}, 'm@' + v[i % v.length]);\n`);
    const rng = createRng(7);
    expect(await main(['models', 'promote', `m@${versions[0]}`, '--models-dir', modelsDir], { logger: collectingLogger(), out: () => {} })).toBe(0);
    for (let k = 0; k < 10; k++) {
      const r = await runChild([script], 300 + Math.round(500 * rng.next()));
      expect(r.signal).toBe('SIGKILL');
      const prod = await productionVersion(modelsDir, 'm');
      expect(versions).toContain(prod);
      await expectWholeRegistry('m');
    }
  }, 60_000);

  it('two trains of the same name at the same time both land whole, with distinct numbers', async () => {
    const before = await listVersions(modelsDir, 'm');
    const [a, b] = await Promise.all([runChild(trainArgs()), runChild(trainArgs())]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const after = await expectWholeRegistry('m');
    expect(after.length).toBe(before.length + 2);
    expect(new Set(after).size).toBe(after.length);
  }, 120_000);
});

describe('a write that fails leaves no partial file and says why in one sentence', () => {
  let tiny: string | null = null;
  let fx: string;
  const featuresTo = (out: string) => ['features', '--events', join(fx, 'data', 'events.parquet'), '--preset', 'synthetic', '--as-of', '2026-02-20', '--out', out];
  async function cliError(argv: string[]): Promise<{ code: number; err: string }> {
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await main(argv, { logger: collectingLogger(), out: () => {} });
      return { code, err: spy.mock.calls.map((c) => String(c[0])).join('') };
    } finally {
      spy.mockRestore();
    }
  }

  beforeAll(async () => {
    fx = await mkdtemp(join(tmpdir(), 'cl-full-'));
    await writeSynthetic(join(fx, 'data'), { users: 300, days: 60, seed: 2 });
    // a 16 kB file system (as root: tmpfs); without mount rights the disk-full case is skipped, the others still run
    const at = await mkdtemp(join(tmpdir(), 'cl-tinyfs-'));
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', at]).status === 0) tiny = at;
    else console.warn('skipping the disk-full case: cannot mount a small tmpfs here');
  });
  afterAll(async () => {
    if (tiny) spawnSync('umount', [tiny]);
    await rm(fx, { recursive: true, force: true });
  });

  it('disk full: the library call and the CLI (exit 2), nothing left behind', async (ctx) => {
    if (!tiny) return ctx.skip();
    const big = 'x'.repeat(1024 * 1024);
    await expect(writeFileAtomic(join(tiny, 'report.json'), big)).rejects.toThrow(`cannot write "${join(tiny, 'report.json')}": the disk is full (ENOSPC); nothing was left behind.`);
    expect(await readdir(tiny)).toEqual([]);
    const r = await cliError(featuresTo(join(tiny, 'features.csv')));
    expect(r.code).toBe(2);
    expect(r.err).toBe(`cohortlab features: cannot write "${join(tiny, 'features.csv')}": the disk is full (ENOSPC); nothing was left behind.\n`);
    expect(await readdir(tiny)).toEqual([]);
  }, 60_000);

  it('read-only file system and a path through a file', async () => {
    const base = await mkdtemp(join(tmpdir(), 'cl-rofs-'));
    await writeFile(join(base, 'plain-file'), 'x');
    await expect(writeFileAtomic(join(base, 'plain-file', 'report.json'), '{}')).rejects.toThrow(/a part of the path is a file, not a folder \(ENOTDIR\)/);
    const through = await cliError(featuresTo(join(base, 'plain-file', 'sub', 'f.csv')));
    expect(through.code).toBe(2);
    expect(through.err).toMatch(/cannot write ".*plain-file\/sub\/f\.csv": a part of the path is a file, not a folder \(ENOTDIR\)/);
    if (tiny) {
      await mkdir(join(tiny, 'ro'));
      expect(spawnSync('mount', ['-o', 'remount,ro', tiny]).status).toBe(0);
      try {
        await expect(writeFileAtomic(join(tiny, 'ro', 'report.html'), '<html>')).rejects.toThrow(/the file system is read-only \(EROFS\)/);
        const r = await cliError(featuresTo(join(tiny, 'ro', 'f.parquet')));
        expect(r.code).toBe(2);
        expect(r.err).toMatch(/^cohortlab features: cannot write ".*f\.parquet": the file system is read-only \(EROFS\); nothing was left behind\.\n$/);
      } finally {
        spawnSync('mount', ['-o', 'remount,rw', tiny]);
      }
      expect(await readdir(join(tiny, 'ro'))).toEqual([]);
    }
    expect(await readdir(base)).toEqual(['plain-file']);
    await rm(base, { recursive: true, force: true });
  });
});
