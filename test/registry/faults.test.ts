import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModelStore, productionPeriods, promote, removeVersion, verifyFiles } from '../../src/registry/index.js';
import { fixtureManifestFields } from './fixture-manifest.js';
import { writeFileAtomic } from '../../src/shared/atomic.js';
import { createRng } from '../../src/shared/rng.js';
import { writeSynthetic } from '../../src/synth/index.js';
import { runCli as cli } from '../cli/run.js';
import { loadScoringModel } from '../../src/pipeline/load.js';

/**
 * Faults mid-run, with the real CLI in child processes (bin/cohortlab.js over dist/; dist/ is rebuilt first
 * when any src/ file is newer, so the children run the source under test): SIGKILL at seeded random moments
 * of `train` and of a tight loop of promotes, two trains of one name at once, and writes that fail (disk full,
 * size limit, read-only, a path through a file). Afterwards the registry lists only whole versions, each loads
 * and matches its manifest, and `production` points at one of them.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'cohortlab.js');

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.ts')) t = Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return t;
}

/** `npm test` builds dist/ first (pretest); a working tree may hold newer sources: build them, so children run what is tested. */
function ensureBuilt(): void {
  const out = join(ROOT, 'dist', 'cli', 'index.js');
  if (existsSync(out) && statSync(out).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  // tsc emits even when a file elsewhere has a type error (that is the typecheck's job, not this test's)
  spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'ignore' });
  expect(statSync(join(ROOT, 'dist', 'registry', 'store.js')).mtimeMs, 'dist/ could not be rebuilt: run npm run build').toBeGreaterThanOrEqual(statSync(join(ROOT, 'src', 'registry', 'store.ts')).mtimeMs);
}

interface ChildOptions {
  /** SIGKILL this long after the start (or, with `afterReady`, after the child prints its first line). */
  killAfterMs?: number;
  afterReady?: boolean;
  shellPrefix?: string;
}

function runChild(args: string[], opts: ChildOptions = {}): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, TZ: 'UTC' };
    const child = opts.shellPrefix
      ? spawn('bash', ['-c', `${opts.shellPrefix}; exec "$@"`, 'bash', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
      : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | null = null;
    const arm = () => (timer ??= setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs));
    child.stdout.on('data', (d) => {
      stdout += String(d);
      if (opts.killAfterMs !== undefined && opts.afterReady && stdout.includes('\n')) arm();
    });
    child.stderr.on('data', (d) => (stderr += String(d)));
    if (opts.killAfterMs !== undefined && !opts.afterReady) arm();
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Every listed version is whole: its manifest parses, every file matches its sha256, and it loads. */
async function expectWholeRegistry(modelsDir: string, name: string, load = true): Promise<number[]> {
  const store = openModelStore(modelsDir);
  const versions = await store.listVersions(name);
  for (const v of versions) {
    const manifest = await store.readManifest({ name, version: v });
    await verifyFiles(store, { name, version: v }, manifest);
    expect(manifest.version).toBe(v);
    expect(Object.keys(manifest.files as object).length).toBeGreaterThan(0);
  }
  const prod = await store.productionVersion(name);
  if (prod !== undefined) expect(versions).toContain(prod);
  if (versions.length && load) {
    const m = await loadScoringModel(openModelStore(modelsDir), name);
    expect(versions).toContain(m.version);
    if (prod !== undefined) expect(m.version).toBe(prod);
  }
  return versions;
}

const tempsIn = async (d: string) => (await readdir(d)).filter((e) => e.includes('.tmp-') || e.startsWith('.tmp'));

describe('faults mid-run (child processes, SIGKILL)', () => {
  let dir: string;
  let events: string;
  let modelsDir: string;
  let trainSeconds = 0;
  const trainArgs = (name = 'm') => [BIN, 'train', '--events', events, '--preset', 'synthetic', '--seed', '3', '--name', name, '--model', 'logistic', '--k', '3', '--resamples', '20', '--models-dir', modelsDir];

  beforeAll(async () => {
    ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'cl-faults-'));
    await writeSynthetic(join(dir, 'data'), { users: 250, days: 90, seed: 9 });
    events = join(dir, 'data', 'events.parquet');
    modelsDir = join(dir, 'models');
    // two whole versions to start from (the promote loop switches between them); the second, warm run times the schedule
    const first = await runChild(trainArgs());
    expect(first.code, first.stderr).toBe(0);
    const t0 = performance.now();
    const second = await runChild(trainArgs());
    trainSeconds = (performance.now() - t0) / 1000;
    expect(second.code, second.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('kill -9 at seeded random moments of train: only whole versions, each loads', async () => {
    const rng = createRng(20261123);
    const outcomes: string[] = [];
    let runSeconds = trainSeconds;
    for (let k = 0; k < 8; k++) {
      // from start-up to just past the expected end of a run, so some kills hit the final hashing, rename and .highest
      const at = Math.round(1000 * runSeconds * (0.25 + 0.95 * rng.next()));
      const before = (await openModelStore(modelsDir).listVersions('m')).length;
      const started = performance.now();
      const r = await runChild(trainArgs(), { killAfterMs: at });
      // a run that ended before its kill is faster than the warm run timed in beforeAll (timed while the machine was
      // busier): later kills are timed from it, else most would come after the end and cut nothing short
      if (r.signal === null) runSeconds = Math.min(runSeconds, (performance.now() - started) / 1000);
      const versions = await expectWholeRegistry(modelsDir, 'm');
      if (r.signal === null) expect(r.code, r.stderr).toBe(0);
      // a killed run adds nothing, or its whole version when the kill came after the final rename
      const added = versions.length - before;
      expect(added).toBeLessThanOrEqual(1);
      if (r.signal === null) expect(added).toBe(1);
      outcomes.push(r.signal === null ? 'finished' : added ? 'killed-after-rename' : 'killed');
    }
    expect(outcomes.filter((o) => o === 'killed').length).toBeGreaterThanOrEqual(4); // most runs were really cut short
    const all = await expectWholeRegistry(modelsDir, 'm');
    expect(all).toEqual(all.map((_, i) => i + 1)); // numbers handed out in order, none skipped or reused
  }, 240_000);

  it('kill -9 in the middle of a tight loop of promotes: production always names a whole version', async () => {
    const versions = await openModelStore(modelsDir).listVersions('m');
    expect(versions.length).toBeGreaterThanOrEqual(2);
    const script = join(dir, 'promote-loop.mjs');
    // the child says "ready" once loaded, then promotes without pause (the function \`models promote\` calls: check the version,
    // write the pointer; store.js and disk-store.js alone start in 0.1 s where the whole CLI takes 1 s),
    // so kills timed from "ready" land before, during and between pointer writes
    await writeFile(
      script,
      `import { promote } from ${JSON.stringify(join(ROOT, 'dist', 'registry', 'store.js'))};\nimport { openModelStore } from ${JSON.stringify(join(ROOT, 'dist', 'registry', 'disk-store.js'))};\nconst store = openModelStore(${JSON.stringify(modelsDir)});\nconst v = ${JSON.stringify(versions)};\nprocess.stdout.write('ready\\n');\nfor (let i = 0; ; i++) await promote(store, 'm@' + v[i % v.length], { force: true });\n`,
    );
    const rng = createRng(7);
    // these small versions have too few test users for a verdict: promotion needs --force (the loop passes force too)
    expect((await cli(['models', 'promote', `m@${versions[0]}`, '--models-dir', modelsDir, '--force'])).code).toBe(0);
    const seen = new Set<number>();
    for (let k = 0; k < 10; k++) {
      const r = await runChild([script], { killAfterMs: 5 + Math.round(150 * rng.next()), afterReady: true });
      expect(r.signal, r.stderr).toBe('SIGKILL');
      expect(r.stdout).toBe('ready\n');
      const text = await readFile(join(modelsDir, 'm', 'production'), 'utf8');
      expect(text).toMatch(/^\d+\n$/); // never empty or torn
      const prod = await openModelStore(modelsDir).productionVersion('m');
      expect(versions).toContain(prod);
      seen.add(prod as number);
      await expectWholeRegistry(modelsDir, 'm');
    }
    expect(seen.size).toBeGreaterThan(1); // the loop really ran between kills
    // the audit trail: a kill mid-append leaves at most a torn line per kill, skipped and counted; every promotion it
    // records names a whole version, and its history ends with the version the pointer names
    const trail = await openModelStore(modelsDir).readAudit('m');
    expect(trail.skipped.length).toBeLessThanOrEqual(10);
    for (const s of trail.skipped) expect(s.reason).toMatch(/^(cut short|not valid JSON)/);
    const promotions = trail.records.filter((r) => r.action === 'promote');
    expect(promotions.length).toBeGreaterThan(10);
    for (const r of promotions) expect(versions).toContain(r.version);
    const pointer = { version: (await openModelStore(modelsDir).productionVersion('m'))!, since: (await openModelStore(modelsDir).productionSince('m')) ?? null };
    expect(productionPeriods('m', trail.records, pointer).periods.at(-1)).toMatchObject({ version: pointer.version, to: null });
    // the CLI's promote clears temporary pointer files of killed promotes
    expect((await cli(['models', 'promote', `m@${versions[1]}`, '--models-dir', modelsDir, '--force'])).code).toBe(0);
    expect(await tempsIn(join(modelsDir, 'm'))).toEqual([]);
    expect(await openModelStore(modelsDir).productionVersion('m')).toBe(versions[1]);
  }, 60_000);

  it('two trains of the same name at the same time both land whole, with distinct numbers', async () => {
    const before = await openModelStore(modelsDir).listVersions('m');
    const [a, b] = await Promise.all([runChild(trainArgs()), runChild(trainArgs())]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const after = await expectWholeRegistry(modelsDir, 'm');
    const last = before[before.length - 1];
    expect(after).toEqual([...before, last + 1, last + 2]);
    const landed = [a, b].map((r) => Number(/registered m@(\d+)/.exec(r.stderr)?.[1])).sort((x, y) => x - y);
    expect(landed).toEqual([last + 1, last + 2]);
    // the killed trains' temporary folders (and killed promotes' pointer files) were removed by these writes, never listed
    expect(await tempsIn(join(modelsDir, 'm'))).toEqual([]);
  }, 120_000);
});

describe('version allocation (in-process)', () => {
  let modelsDir: string;
  beforeAll(async () => {
    modelsDir = await mkdtemp(join(tmpdir(), 'cl-alloc-'));
  });
  afterAll(async () => {
    await rm(modelsDir, { recursive: true, force: true });
  });
  const artefact = (text: string, delayMs: number) => async (tmp: string) => {
    await writeFile(join(tmp, 'weights.bin'), text);
    await new Promise((r) => setTimeout(r, delayMs));
    await writeFile(join(tmp, 'model.json'), JSON.stringify({ text }));
    return fixtureManifestFields();
  };

  it('six writers of one name at once: six whole versions 1..6, each with its own files', async () => {
    const rng = createRng(11);
    const delays = Array.from({ length: 6 }, () => Math.round(40 * rng.next()));
    const written = await Promise.all(delays.map((d, i) => openModelStore(modelsDir).writeVersion('c', artefact(`writer ${i}`, d))));
    expect(written.map((w) => w.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const [i, w] of written.entries()) expect(await readFile(join(w.dir, 'weights.bin'), 'utf8')).toBe(`writer ${i}`);
    expect(await expectWholeRegistry(modelsDir, 'c', false)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await tempsIn(join(modelsDir, 'c'))).toEqual([]);
  });

  it('a folder already holding the next number (no manifest) is neither overwritten nor merged: the writer takes the one after', async () => {
    await openModelStore(modelsDir).writeVersion('b', artefact('one', 0));
    await mkdir(join(modelsDir, 'b', '2'));
    await writeFile(join(modelsDir, 'b', '2', 'someone-elses.bin'), 'keep');
    const w = await openModelStore(modelsDir).writeVersion('b', artefact('two', 0));
    expect(w.version).toBe(3);
    expect(await readdir(join(modelsDir, 'b', '2'))).toEqual(['someone-elses.bin']);
    expect(await readFile(join(modelsDir, 'b', '2', 'someone-elses.bin'), 'utf8')).toBe('keep');
    expect(await openModelStore(modelsDir).listVersions('b')).toEqual([1, 3]);
  });

  it('a writer killed between its rename and .highest, then rm of that version: the number is not handed out again', async () => {
    await openModelStore(modelsDir).writeVersion('h', artefact('one', 0));
    await openModelStore(modelsDir).writeVersion('h', artefact('two', 0));
    // the state a SIGKILL right after the rename of version 2 leaves: .highest still says 1
    await writeFile(join(modelsDir, 'h', '.highest'), '1\n');
    await promote(openModelStore(modelsDir), 'h@1', { force: true }); // the fixture's verdict is insufficient_evidence
    await removeVersion(openModelStore(modelsDir), 'h@2');
    expect((await openModelStore(modelsDir).writeVersion('h', artefact('three', 0))).version).toBe(3);
  });
});

describe('a write that fails leaves no partial file and says why in one sentence', () => {
  let tiny: string | null = null;
  let fx: string;
  let features: string;
  let rulesCsv: string;
  let modelsDir: string;
  const ev = () => join(fx, 'data', 'events.parquet');
  const featuresTo = (out: string) => ['features', '--events', ev(), '--preset', 'synthetic', '--as-of', '2026-02-20', '--out', out];
  /** Every entry under `d`, recursively (temporary names included). */
  async function tree(d: string): Promise<string[]> {
    return (await readdir(d, { recursive: true })).map(String).sort();
  }

  beforeAll(async () => {
    ensureBuilt();
    fx = await mkdtemp(join(tmpdir(), 'cl-full-'));
    await writeSynthetic(join(fx, 'data'), { users: 250, days: 100, seed: 2 });
    features = join(fx, 'features.parquet');
    rulesCsv = join(fx, 'rules.csv');
    modelsDir = join(fx, 'models');
    expect((await cli(featuresTo(features))).code).toBe(0);
    expect((await cli(['rules', '--features', features, '--preset', 'synthetic', '--out', rulesCsv])).code).toBe(0);
    const t = await cli(['train', '--events', ev(), '--preset', 'synthetic', '--seed', '3', '--name', 'w', '--model', 'logistic', '--k', '3', '--resamples', '10', '--models-dir', modelsDir]);
    expect(t.code, t.err).toBe(0);
    // a 16 kB file system (as root: tmpfs); without mount rights the disk-full cases are skipped, the size-limit ones still run
    const at = await mkdtemp(join(tmpdir(), 'cl-tinyfs-'));
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', at]).status === 0) tiny = at;
    else console.warn('skipping the disk-full cases: cannot mount a small tmpfs here');
  }, 120_000);
  afterAll(async () => {
    if (tiny) spawnSync('umount', [tiny]);
    await rm(fx, { recursive: true, force: true });
  });

  // Each report or output writer of the CLI, pointed under a path through a regular file (fails on any machine, root or not).
  const writers: [string, (out: string) => string[], string][] = [
    ['features --out', (o) => featuresTo(join(o, 'f.csv')), 'f.csv'],
    ['rules --out', (o) => ['rules', '--features', features, '--preset', 'synthetic', '--out', join(o, 'r.parquet')], 'r.parquet'],
    ['cluster --out (report.json, report.html)', (o) => ['cluster', '--features', features, '--k', '3', '--seed', '1', '--include-churned', '--out', o], ''],
    ['evaluate --out (report.json, report.html)', (o) => ['evaluate', '--model', 'w', '--events', ev(), '--as-of', '2026-03-01', '--models-dir', modelsDir, '--out', o], ''],
    ['score --out', (o) => ['score', '--model', 'w', '--events', ev(), '--preset', 'synthetic', '--as-of', '2026-02-20', '--models-dir', modelsDir, '--out', join(o, 's.csv')], 's.csv'],
    ['transitions --out', (o) => ['transitions', '--from', rulesCsv, '--to', rulesCsv, '--out', join(o, 't.csv')], 't.csv'],
  ];
  it.each(writers)('%s through a file: exit 2, one sentence naming the file, nothing written', async (_, argv, file) => {
    const base = await mkdtemp(join(tmpdir(), 'cl-enotdir-'));
    await writeFile(join(base, 'plain-file'), 'x');
    const target = join(base, 'plain-file', 'sub');
    const r = await cli(argv(target));
    expect(r.code).toBe(2);
    const named = file ? join(target, file) : target;
    expect(r.err).toMatch(new RegExp(`^cohortlab \\w+: cannot write "${named.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}": a part of the path is a file, not a folder \\(ENOTDIR\\); nothing was left behind\\.\\n$`));
    expect(await tree(base)).toEqual(['plain-file']);
    expect(await readFile(join(base, 'plain-file'), 'utf8')).toBe('x');
    await rm(base, { recursive: true, force: true });
  }, 60_000);

  it('a size limit hit mid-write (ulimit -f, the real CLI in a child): exit 2, one sentence, no partial file', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cl-efbig-'));
    // 4 kB allowed: the cluster's assignments.csv of 250 users (~15 kB) is cut off
    const r = await runChild([BIN, 'cluster', '--features', features, '--k', '3', '--seed', '1', '--include-churned', '--out', out], { shellPrefix: 'ulimit -f 4' });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`cohortlab cluster: cannot write "${join(out, 'assignments.csv')}": the file would exceed the size limit (ulimit -f or the file system) (EFBIG); nothing was left behind.\n`);
    expect(await tree(out)).toEqual([]);
    // score streams its output in blocks: the block that crosses the limit fails, and the whole temporary file goes
    const s = await runChild([BIN, 'score', '--model', 'w', '--events', ev(), '--preset', 'synthetic', '--as-of', '2026-02-20', '--models-dir', modelsDir, '--chunk', '100', '--out', join(out, 'scores.csv')], { shellPrefix: 'ulimit -f 4' });
    expect(s.code, s.stderr).toBe(2);
    expect(s.stderr).toContain(`cohortlab score: cannot write "${join(out, 'scores.csv')}": the file would exceed the size limit (ulimit -f or the file system) (EFBIG); nothing was left behind.\n`);
    expect(await tree(out)).toEqual([]);
    await rm(out, { recursive: true, force: true });
  }, 60_000);

  it('disk full: the library call and the CLI (exit 2), nothing left behind', async (ctx) => {
    if (!tiny) return ctx.skip();
    const big = 'x'.repeat(1024 * 1024);
    await expect(writeFileAtomic(join(tiny, 'report.json'), big)).rejects.toThrow(`cannot write "${join(tiny, 'report.json')}": the disk is full (ENOSPC); nothing was left behind.`);
    expect(await tree(tiny)).toEqual([]);
    const r = await cli(featuresTo(join(tiny, 'features.csv')));
    expect(r.code).toBe(2);
    expect(r.err).toBe(`cohortlab features: cannot write "${join(tiny, 'features.csv')}": the disk is full (ENOSPC); nothing was left behind.\n`);
    expect(await tree(tiny)).toEqual([]);
    // a cluster report: what fits lands whole, the file that does not fit is named and absent
    const c = await cli(['cluster', '--features', features, '--k', '3', '--seed', '1', '--include-churned', '--out', join(tiny, 'c')]);
    expect(c.code).toBe(2);
    const failed = /^cohortlab cluster: cannot write "(.+)": the disk is full \(ENOSPC\); nothing was left behind\.\n$/.exec(c.err)?.[1];
    expect(failed, c.err).toBeDefined();
    const left = await tree(join(tiny, 'c'));
    expect(left.filter((e) => e.includes('.tmp-'))).toEqual([]);
    expect(left).not.toContain(failed!.slice(join(tiny, 'c').length + 1));
    if (left.includes('assignments.csv')) expect((await readFile(join(tiny, 'c', 'assignments.csv'), 'utf8')).trim().split('\n').length).toBe(251);
    await rm(join(tiny, 'c'), { recursive: true, force: true });
    // train into a full registry: no version, no temporary folder, one sentence naming the version folder
    const full = join(tiny, 'models');
    const t = await cli(['train', '--events', ev(), '--preset', 'synthetic', '--seed', '3', '--name', 'w', '--model', 'logistic', '--k', '3', '--resamples', '10', '--models-dir', full]);
    expect(t.code).toBe(2);
    expect(t.err).toMatch(new RegExp(`^cohortlab train: cannot write "${join(full, 'w')}/<next version>(/[^"]+)?": the disk is full \\(ENOSPC\\); nothing was left behind\\.\\n$`));
    expect(await openModelStore(full).listVersions('w')).toEqual([]);
    expect(await tree(full)).toEqual(['w']);
    await rm(full, { recursive: true, force: true });
  }, 60_000);

  it('read-only file system', async (ctx) => {
    if (!tiny) return ctx.skip();
    await mkdir(join(tiny, 'ro'));
    expect(spawnSync('mount', ['-o', 'remount,ro', tiny]).status).toBe(0);
    try {
      await expect(writeFileAtomic(join(tiny, 'ro', 'report.html'), '<html>')).rejects.toThrow(`cannot write "${join(tiny, 'ro', 'report.html')}": the file system is read-only (EROFS); nothing was left behind.`);
      const r = await cli(featuresTo(join(tiny, 'ro', 'f.parquet')));
      expect(r.code).toBe(2);
      expect(r.err).toBe(`cohortlab features: cannot write "${join(tiny, 'ro', 'f.parquet')}": the file system is read-only (EROFS); nothing was left behind.\n`);
    } finally {
      spawnSync('mount', ['-o', 'remount,rw', tiny]);
    }
    expect(await tree(join(tiny, 'ro'))).toEqual([]);
    expect((await stat(join(tiny, 'ro'))).isDirectory()).toBe(true);
  });
});
