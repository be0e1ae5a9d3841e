import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDB, queryColumns, streamColumns, type DuckDB } from '../../src/shared/duckdb.js';

/**
 * queryColumns reads a whole result chunk by chunk (DuckDB vectors of 2,048 rows) and keeps one string per distinct
 * text value of a column up to a limit: the cells must be the same as read one by one, past the limit, across chunks,
 * with NULLs, numbers and nested values beside them, and for an empty result.
 */
describe('queryColumns', () => {
  let db: DuckDB;
  beforeAll(async () => {
    db = await openDuckDB();
  });
  afterAll(() => db.close());

  const sql = `SELECT i::DOUBLE AS x, ['low', 'mid', 'high'][i % 3 + 1] AS tier, 'u' || i AS id,
      CASE WHEN i % 7 = 0 THEN NULL ELSE 'v' || (i % 5000) END AS many,
      CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 4)::INTEGER END AS small, [i % 2, i % 3] AS pair
    FROM range(10000) t(i) ORDER BY i`;

  it('gives every cell of a 10,000-row result (5 chunks), text columns below and past the interning limit', async () => {
    const r = await queryColumns(db.conn, sql);
    expect(r.rows).toBe(10000);
    expect(r.names).toEqual(['x', 'tier', 'id', 'many', 'small', 'pair']);
    const [x, tier, id, many, small, pair] = r.columns as [Float64Array, string[], string[], string[], Float64Array, string[]];
    for (let i = 0; i < 10000; i++) {
      expect(x[i]).toBe(i);
      expect(tier[i]).toBe(['low', 'mid', 'high'][i % 3]);
      expect(id[i]).toBe(`u${i}`);
      expect(many[i]).toBe(i % 7 === 0 ? '' : `v${i % 5000}`);
      if (i % 11 === 0) expect(small[i]).toBeNaN();
      else expect(small[i]).toBe(i % 4);
      expect(pair[i]).toBe(JSON.stringify([i % 2, i % 3]));
    }
  });

  it('equals the same query streamed in blocks', async () => {
    const whole = await queryColumns(db.conn, sql);
    const cols: (Float64Array | string[])[][] = whole.names.map(() => []);
    for await (const b of streamColumns(db.conn, sql, undefined, 3000)) b.columns.forEach((c, k) => cols[k].push(c));
    whole.columns.forEach((c, k) => {
      const joined = cols[k].flatMap((p) => Array.from(p as ArrayLike<number | string>));
      expect(Array.from(c as ArrayLike<number | string>)).toEqual(joined);
    });
  });

  it('streamed (a connection of its own) gives the same columns', async () => {
    const run = await queryColumns(db.conn, sql);
    const streamed = await queryColumns(db.conn, sql, undefined, { stream: true });
    expect(streamed.rows).toBe(run.rows);
    streamed.columns.forEach((c, k) => expect(Array.from(c as ArrayLike<number | string>)).toEqual(Array.from(run.columns[k] as ArrayLike<number | string>)));
  });

  it('several queries at once on one connection each get their whole result (computeFeatures of several cutoffs does this)', async () => {
    const rs = await Promise.all([1000, 5000, 9000].map((n) => queryColumns(db.conn, `SELECT i::DOUBLE AS x FROM range(${n}) t(i) ORDER BY i`)));
    expect(rs.map((r) => r.rows)).toEqual([1000, 5000, 9000]);
    for (const r of rs) expect((r.columns[0] as Float64Array)[r.rows - 1]).toBe(r.rows - 1);
  });

  it('an empty result has its columns, typed, with no rows', async () => {
    const r = await queryColumns(db.conn, `${sql} LIMIT 0`);
    expect(r.rows).toBe(0);
    expect(r.columns[0]).toBeInstanceOf(Float64Array);
    expect(r.columns[1]).toEqual([]);
  });
});
