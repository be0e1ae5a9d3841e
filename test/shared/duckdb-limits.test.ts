import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/index.js';
import { computeFeatures } from '../../src/features/index.js';
import { loadEvents } from '../../src/ingest/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { checkMemoryLimit, duckdbLimits, openDuckDB, queryColumns } from '../../src/shared/duckdb.js';
import { collectingLogger } from '../../src/shared/log.js';
import { trainedFixture } from '../serve/helper.js';

describe('DuckDB memory limit and spill folder', () => {
  it('reads sizes, flags first, then the environment, and names the bad one', () => {
    expect(checkMemoryLimit(' 2GB ', '--memory-limit')).toBe('2GB');
    expect(duckdbLimits({}, { COHORTLAB_DUCKDB_MEMORY_LIMIT: '512MB', COHORTLAB_DUCKDB_TEMP_DIR: '/tmp/x' })).toEqual({ memoryLimit: '512MB', tempDir: '/tmp/x' });
    expect(duckdbLimits({ memoryLimit: '1GiB' }, { COHORTLAB_DUCKDB_MEMORY_LIMIT: '512MB' }).memoryLimit).toBe('1GiB');
    expect(() => duckdbLimits({ memoryLimit: 'lots' })).toThrow('--memory-limit must be a size such as 2GB or 512MB, got "lots".');
    expect(() => duckdbLimits({}, { COHORTLAB_DUCKDB_MEMORY_LIMIT: '2 gigs' })).toThrow(/COHORTLAB_DUCKDB_MEMORY_LIMIT must be a size/);
  });

  it('sets the limit and the spill folder on the engine', async () => {
    const db = await openDuckDB({ memoryLimit: '300MB', tempDir: '/tmp/cohortlab-spill-test' });
    try {
      const r = await queryColumns(db.conn, "SELECT current_setting('memory_limit') AS m, current_setting('temp_directory') AS t");
      expect((r.columns[0] as string[])[0]).toMatch(/^(286\.1 MiB|300\.0 MB)$/);
      expect((r.columns[1] as string[])[0]).toBe('/tmp/cohortlab-spill-test');
    } finally {
      db.close();
    }
  });

  it('features under a small memory limit equal the unlimited ones', async () => {
    const fx = await trainedFixture();
    const free = await loadEvents([fx.events], SYNTHETIC_PRESET);
    const tight = await loadEvents([fx.events], SYNTHETIC_PRESET, { limits: { memoryLimit: '64MB' } });
    try {
      const a = await computeFeatures(free, { asOf: '2026-05-01', horizonDays: 14 });
      const b = await computeFeatures(tight, { asOf: '2026-05-01', horizonDays: 14 });
      expect(b.userIds).toEqual(a.userIds);
      for (const k of Object.keys(a.columns)) expect(Array.from(b.columns[k]), k).toEqual(Array.from(a.columns[k]));
      expect(Array.from(b.label!)).toEqual(Array.from(a.label!));
    } finally {
      free.close();
      tight.close();
    }
  }, 120_000);

  it('a bad --memory-limit is exit 2 with one sentence naming the flag', async () => {
    const fx = await trainedFixture();
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await main(['features', '--events', fx.events, '--preset', 'synthetic', '--as-of', '2026-05-01', '--memory-limit', '2 gigs', '--out', '/tmp/never.csv'], { logger: collectingLogger(), out: () => {} });
      expect(code).toBe(2);
      expect(spy.mock.calls.map((c) => String(c[0])).join('')).toBe('cohortlab features: --memory-limit must be a size such as 2GB or 512MB, got "2 gigs".\n');
    } finally {
      spy.mockRestore();
    }
  }, 60_000);
});
