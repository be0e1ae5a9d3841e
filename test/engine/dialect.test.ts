import { describe, expect, it } from 'vitest';
import { CLICKHOUSE, DUCKDB } from '../../src/engine/dialect.js';
import { featureQuery, labelQuery } from '../../src/features/sql.js';
import { sourceRelation } from '../../src/engine/relation.js';
import { SYNTHETIC_PRESET, SPARKIFY_PRESET } from '../../src/ingest/presets.js';
import { queryColumns, withDuckDB } from '../../src/shared/duckdb.js';

const CUTOFF = Date.parse('2026-05-31T00:00:00Z');

describe('dialects', () => {
  it('quote strings so hostile text round-trips through DuckDB', async () => {
    const hostile = ["it's", "a\\'; DROP TABLE events; --", 'tab\tnew\nline', 'ünï©ødé 🚀', "''", '\\'];
    await withDuckDB(async (conn) => {
      const r = await queryColumns(conn, `SELECT ${hostile.map((h, i) => `${DUCKDB.quoteString(h)} AS c${i}`).join(', ')}`);
      expect(r.columns.map((c) => (c as string[])[0])).toEqual(hostile);
    });
  });

  it('ClickHouse literals escape backslashes before quotes (its string syntax takes backslash escapes)', () => {
    expect(CLICKHOUSE.quoteString("a\\'b")).toBe("'a\\\\''b'");
    expect(CLICKHOUSE.quoteIdent('we`ird')).toBe('`we\\`ird`');
    expect(CLICKHOUSE.timestamp(CUTOFF)).toBe("toDateTime('2026-05-31 00:00:00', 'UTC')");
  });

  it('an empty event list is false, not an invalid IN ()', () => {
    expect(DUCKDB.inList('event', [])).toBe('false');
    expect(CLICKHOUSE.inList('event', [])).toBe('0');
  });

  it('the ClickHouse feature and label SQL stay inside what 18.16 parses', () => {
    const source = sourceRelation({ ...SPARKIFY_PRESET, exclude: [{ column: 'auth', values: ['Logged Out'] }] }, CLICKHOUSE, 'db.events');
    for (const sql of [
      featureQuery(SYNTHETIC_PRESET, CLICKHOUSE, { cutoffMs: CUTOFF, source }),
      labelQuery(SYNTHETIC_PRESET, CLICKHOUSE, { cutoffMs: CUTOFF, endMs: CUTOFF + 30 * 864e5, quietFromMs: CUTOFF + 9 * 864e5, source }),
    ]) {
      expect(sql).not.toMatch(/FILTER \(WHERE|\bWITH\b|\bOVER\b|MATERIALIZED|\blag\(|\$\w+/);
      // one JOIN per SELECT: every JOIN is the only one between a SELECT and the next
      for (const select of sql.split(/\bSELECT\b/)) expect((select.match(/\bJOIN\b/g) ?? []).length).toBeLessThanOrEqual(1);
    }
    // the config's exclusions (Sparkify logged-out rows) and column mapping are applied in the warehouse
    expect(source).toContain("WHERE NOT (toString(`auth`) IN ('Logged Out'))");
    expect(source).toContain('toString(`userId`) AS user_id');
  });

  it('medians of sorted lists interpolate like DuckDB median, and gaps count only starts inside the window', async () => {
    await withDuckDB(async (conn) => {
      const starts = '[0.0, 86400.0, 259200.0, 604800.0]';
      const r = await queryColumns(conn, `SELECT ${DUCKDB.medianOfSorted(DUCKDB.sortedGapDaysSince(starts, '0'))} AS all_gaps,
        ${DUCKDB.medianOfSorted(DUCKDB.sortedGapDaysSince(starts, '100000'))} AS late_gaps,
        ${DUCKDB.medianOfSorted(DUCKDB.sortedGapDaysSince('[5.0]', '0'))} AS none`);
      expect((r.columns[0] as Float64Array)[0]).toBe(2); // gaps 1, 2, 4 days
      expect((r.columns[1] as Float64Array)[0]).toBe(3); // gaps 2, 4 days
      expect(Number.isNaN((r.columns[2] as Float64Array)[0])).toBe(true);
    });
  });
});
