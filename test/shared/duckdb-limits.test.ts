import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { computeFeatures, type FeatureTable } from '../../src/features/index.js';
import { loadEvents } from '../../src/ingest/index.js';
import { validateConfig } from '../../src/ingest/config.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { checkMemoryLimit, duckdbLimits, openDuckDB, queryColumns } from '../../src/shared/duckdb.js';
import { writeSynthetic } from '../../src/synth/index.js';
import { runCli } from '../cli/run.js';

// 1,500 synthetic users, 150 days, copied into the events table (`inPlace: false`). Under 64 MB with 2 threads the
// feature query cannot run without spilling (checked below with the spill folder switched off), and does with one
// (measured: it spills from 56 to 80 MB and runs without spilling from 96 MB). Read in place (the default for a
// Parquet log) the events take no memory of DuckDB's: the same query runs in 48 MB without spilling, and fails in
// 32 MB with or without a spill folder.
const LIMIT = '64MB';
const THREADS = 2;
let dir: string;
let events: string;
let asOf: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cl-limits-'));
  asOf = (await writeSynthetic(join(dir, 'data'), { users: 1500, days: 150, seed: 4 })).asOf;
  events = join(dir, 'data', 'events.parquet');
}, 60_000);

afterAll(() => {
  vi.restoreAllMocks();
});

const cli = (argv: string[]) => runCli(argv, { env: {} });

function expectSameFeatures(b: FeatureTable, a: FeatureTable): void {
  expect(b.userIds).toEqual(a.userIds);
  expect(Object.keys(b.columns)).toEqual(Object.keys(a.columns));
  for (const k of Object.keys(a.columns)) expect(Array.from(b.columns[k]), k).toEqual(Array.from(a.columns[k]));
  expect(Array.from(b.label!)).toEqual(Array.from(a.label!));
}

describe('DuckDB memory limit, spill folder and threads', () => {
  it('reads sizes: flags first, then the environment, then the config, and names the bad one', () => {
    expect(checkMemoryLimit(' 2GB ', '--memory-limit')).toBe('2GB');
    expect(duckdbLimits({}, { COHORTLAB_DUCKDB_MEMORY_LIMIT: '512MB', COHORTLAB_DUCKDB_TEMP_DIR: '/tmp/x', COHORTLAB_DUCKDB_THREADS: '3' })).toEqual({ memoryLimit: '512MB', tempDir: '/tmp/x', threads: 3 });
    expect(duckdbLimits({ memoryLimit: '1GiB' }, { COHORTLAB_DUCKDB_MEMORY_LIMIT: '512MB' }).memoryLimit).toBe('1GiB');
    expect(duckdbLimits({}, { COHORTLAB_DUCKDB_MEMORY_LIMIT: '512MB' }, { memory_limit: '4GB', temp_dir: '/c', threads: 1 })).toEqual({ memoryLimit: '512MB', tempDir: '/c', threads: 1 });
    expect(duckdbLimits({}, {}, { memory_limit: '4GB' })).toEqual({ memoryLimit: '4GB', tempDir: undefined });
    expect(() => duckdbLimits({ memoryLimit: 'lots' })).toThrow('--memory-limit must be a size such as 2GB or 512MB, got "lots".');
    expect(() => duckdbLimits({ memoryLimit: '0GB' })).toThrow('--memory-limit must be a size such as 2GB or 512MB, got "0GB".');
    expect(() => duckdbLimits({}, { COHORTLAB_DUCKDB_MEMORY_LIMIT: '2 gigs' })).toThrow(/^COHORTLAB_DUCKDB_MEMORY_LIMIT must be a size/);
    expect(() => duckdbLimits({}, { COHORTLAB_DUCKDB_THREADS: 'many' })).toThrow('COHORTLAB_DUCKDB_THREADS must be a whole number of threads from 1 to 1024, got "many".');
    expect(() => duckdbLimits({}, {}, { memory_limit: '80%' })).toThrow(/^the config's engine.memory_limit must be a size/);
  });

  it('validates engine.memory_limit, temp_dir and threads in the config file, and keeps the engine section', () => {
    const base = { columns: { user_id: 'u', timestamp: 't', event: 'e' } };
    expect(validateConfig({ ...base, engine: { name: 'duckdb', memory_limit: '2GB', temp_dir: '/spill', threads: 2 } }, 'c.json').engine).toEqual({ name: 'duckdb', memory_limit: '2GB', temp_dir: '/spill', threads: 2 });
    expect(() => validateConfig({ ...base, engine: { name: 'duckdb', memory_limit: 'half' } }, 'c.json')).toThrow('config c.json: engine.memory_limit must be a size such as 2GB or 512MB, got "half".');
    expect(() => validateConfig({ ...base, engine: { name: 'duckdb', memory_limit: 2 } }, 'c.json')).toThrow('$.engine.memory_limit must be string, got integer 2');
    expect(() => validateConfig({ ...base, engine: { name: 'duckdb', threads: 0 } }, 'c.json')).toThrow('$.engine.threads must be >= 1, got 0');
    expect(() => validateConfig({ ...base, engine: { name: 'duckdb', temp_dir: ' ' } }, 'c.json')).toThrow('config c.json: engine.temp_dir must name a folder, got an empty string.');
  });

  it('sets the limit, the threads and a spill subfolder of its own, which DuckDB removes on close', async () => {
    const base = join(dir, 'spill-settings');
    const a = await openDuckDB({ memoryLimit: '300MB', tempDir: base, threads: 1 });
    const b = await openDuckDB({ memoryLimit: '300MB', tempDir: base });
    try {
      const r = await queryColumns(a.conn, "SELECT current_setting('memory_limit') AS m, current_setting('temp_directory') AS t, CAST(current_setting('threads') AS DOUBLE) AS n");
      expect((r.columns[0] as string[])[0]).toMatch(/^(286\.1 MiB|300\.0 MB)$/);
      const ta = (r.columns[1] as string[])[0];
      expect(ta).toMatch(new RegExp(`^${base}/cohortlab-spill-${process.pid}-[0-9a-f]{8}$`));
      expect((r.columns[2] as Float64Array)[0]).toBe(1);
      const tb = ((await queryColumns(b.conn, "SELECT current_setting('temp_directory')")).columns[0] as string[])[0];
      expect(tb).not.toBe(ta);
    } finally {
      a.close();
      b.close();
    }
    expect(readdirSync(base)).toEqual([]);
  });

  it('a process that exits without closing its database leaves no spill folder behind', () => {
    // the built module (npm test builds dist/ first), in a child that spills and then exits with the database open
    const base = join(dir, 'spill-exit');
    const mod = new URL('../../dist/shared/duckdb.js', import.meta.url).href;
    const code = `const { openDuckDB, queryColumns } = await import(${JSON.stringify(mod)});
      const db = await openDuckDB({ memoryLimit: '32MB', tempDir: ${JSON.stringify(base)}, threads: 1 });
      await db.conn.run("CREATE TABLE t AS SELECT range AS x, md5(range::VARCHAR) || md5((range + 1)::VARCHAR) AS s FROM range(1500000)");
      const fs = await import('node:fs');
      const folders = fs.readdirSync(${JSON.stringify(base)});
      const files = folders.flatMap((f) => fs.readdirSync(${JSON.stringify(base)} + '/' + f));
      console.log(JSON.stringify({ folders: folders.length, files: files.length }));
      process.exit(3);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(3);
    // it did spill (one folder with files in it), and the folder is gone after the exit
    const seen = JSON.parse(r.stdout.trim()) as { folders: number; files: number };
    expect(seen.folders).toBe(1);
    expect(seen.files).toBeGreaterThan(0);
    expect(readdirSync(base)).toEqual([]);
  }, 60_000);

  it(`ingest and features under ${LIMIT} spill to the folder and equal the unlimited result`, async () => {
    const free = await loadEvents([events], SYNTHETIC_PRESET);
    const base = join(dir, 'spill-run');
    const tight = await loadEvents([events], SYNTHETIC_PRESET, { inPlace: false, limits: { memoryLimit: LIMIT, tempDir: base, threads: THREADS } });
    try {
      expect(tight.report.rowsUsed).toBe(free.report.rowsUsed);
      const a = await computeFeatures(free, { asOf, horizonDays: 14 });
      const b = await computeFeatures(tight, { asOf, horizonDays: 14 });
      // DuckDB created this run's spill subfolder: it did spill.
      expect(readdirSync(base)).toEqual([expect.stringMatching(/^cohortlab-spill-\d+-[0-9a-f]{8}$/)]);
      expectSameFeatures(b, a);
    } finally {
      free.close();
      tight.close();
    }
    expect(readdirSync(base)).toEqual([]);
  }, 60_000);

  it(`the same feature query under ${LIMIT} without a spill folder runs out of memory (so the run above had to spill)`, async () => {
    const store = await loadEvents([events], SYNTHETIC_PRESET, { inPlace: false, limits: { threads: THREADS } });
    try {
      await store.conn.run(`SET memory_limit = '${LIMIT}'`);
      await store.conn.run("SET temp_directory = ''");
      await expect(computeFeatures(store, { asOf, horizonDays: 14 })).rejects.toThrow(/Out of Memory/);
    } finally {
      store.close();
    }
  }, 60_000);

  it(`read in place, the same log needs no spill under ${LIMIT}, and gives the same features`, async () => {
    const free = await loadEvents([events], SYNTHETIC_PRESET, { inPlace: false });
    const base = join(dir, 'in-place-run');
    const tight = await loadEvents([events], SYNTHETIC_PRESET, { limits: { memoryLimit: LIMIT, tempDir: base, threads: THREADS } });
    try {
      const kind = await queryColumns(tight.conn, `SELECT table_type FROM information_schema.tables WHERE table_name = 'events'`);
      expect((kind.columns[0] as string[])[0]).toBe('VIEW');
      expectSameFeatures(await computeFeatures(tight, { asOf, horizonDays: 14 }), await computeFeatures(free, { asOf, horizonDays: 14 }));
      expect(readdirSync(base)).toEqual([]);
    } finally {
      free.close();
      tight.close();
    }
  }, 60_000);

  it('the CLI takes --memory-limit, --temp-dir and --threads, and the features file equals the unlimited one', async () => {
    const free = join(dir, 'free.csv');
    const tight = join(dir, 'tight.csv');
    const spill = join(dir, 'spill-cli');
    const common = ['features', '--events', events, '--preset', 'synthetic', '--as-of', asOf, '--horizon-days', '14'];
    expect((await cli([...common, '--out', free])).code).toBe(0);
    expect((await cli([...common, '--memory-limit', LIMIT, '--temp-dir', spill, '--threads', String(THREADS), '--out', tight])).code).toBe(0);
    expect(readFileSync(tight, 'utf8')).toBe(readFileSync(free, 'utf8'));
    expect(readdirSync(spill)).toEqual([]);
  }, 60_000);

  it('a bad --memory-limit, --threads, --temp-dir or config engine.memory_limit is exit 2 with one sentence naming it', async () => {
    const common = ['features', '--events', events, '--preset', 'synthetic', '--as-of', asOf, '--out', join(dir, 'never.csv')];
    expect(await cli([...common, '--memory-limit', '2 gigs'])).toEqual({ code: 2, err: 'cohortlab features: --memory-limit must be a size such as 2GB or 512MB, got "2 gigs".\n' });
    expect(await cli([...common, '--threads', '0'])).toEqual({ code: 2, err: 'cohortlab features: --threads must be a whole number of threads from 1 to 1024, got "0".\n' });
    const through = join(events, 'spill');
    expect(await cli([...common, '--temp-dir', through])).toEqual({
      code: 2,
      err: `cohortlab features: the DuckDB spill folder "${through}" cannot be created (ENOTDIR); pass --temp-dir (or COHORTLAB_DUCKDB_TEMP_DIR) naming a writable folder.\n`,
    });
    const config = join(dir, 'bad.config.json');
    writeFileSync(config, JSON.stringify({ ...SYNTHETIC_PRESET, name: undefined, engine: { name: 'duckdb', memory_limit: '2 gigs' } }));
    const r = await cli(['features', '--events', events, '--config', config, '--as-of', asOf, '--out', join(dir, 'never.csv')]);
    expect(r).toEqual({ code: 2, err: `cohortlab features: config "${config}": engine.memory_limit must be a size such as 2GB or 512MB, got "2 gigs".\n` });
  }, 60_000);
});
