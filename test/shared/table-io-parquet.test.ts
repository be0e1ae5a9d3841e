import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempOwner } from '../../src/shared/atomic.js';
import { createRng } from '../../src/shared/rng.js';
import { openTableWriter, readTable, readTableMetadata, writeTable, type Column, type ColumnTable } from '../../src/shared/table-io.js';

/**
 * The Parquet writer before the appender (kept here as the reference the new files must equal): every
 * chunk as RFC 4180 CSV text (NaN -> empty cell), then DuckDB's COPY with the first chunk's column types.
 */
const quoted = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const duckType = (c: Column): string => (Array.isArray(c) ? 'VARCHAR' : c instanceof Int32Array ? 'INTEGER' : c instanceof Uint8Array ? 'UTINYINT' : 'DOUBLE');

async function writeParquetViaCsv(path: string, t: ColumnTable): Promise<void> {
  const cols = t.names.map((n) => t.columns[n]);
  const lines = [t.names.map(quoted).join(',')];
  for (let i = 0; i < t.rows; i++) lines.push(cols.map((c) => (Array.isArray(c) ? quoted(c[i]) : Number.isNaN(c[i]) ? '' : String(c[i]))).join(','));
  const csv = `${path}.csv`;
  await writeFile(csv, `${lines.join('\n')}\n`);
  const types = t.names.map((n, i) => `${lit(n)}: ${lit(duckType(cols[i]))}`).join(', ');
  await withConn((conn) =>
    conn.run(`COPY (SELECT * FROM read_csv(${lit(csv)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = {${types}})) TO ${lit(path)} (FORMAT parquet, COMPRESSION zstd)`),
  );
  await rm(csv);
}

async function withConn<T>(fn: (conn: Awaited<ReturnType<DuckDBInstance['connect']>>) => Promise<T>): Promise<T> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** A Parquet file as DuckDB reads it: column types and every cell (numbers, text, null), in file order. */
async function rawParquet(path: string): Promise<{ types: string[]; names: string[]; cells: unknown[][] }> {
  return withConn(async (conn) => {
    const desc = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${lit(path)})`);
    const r = await conn.runAndReadAll(`SELECT * FROM read_parquet(${lit(path)})`);
    return { names: desc.getColumnsObjectJS().column_name as string[], types: desc.getColumnsObjectJS().column_type as string[], cells: r.getColumnsJS() };
  });
}

/** Seeded table with the hard cases: text needing quotes, unicode, empty vs "NULL", extreme and signed-zero doubles. */
function hardTable(rows: number, seed: number): ColumnTable {
  const rng = createRng(seed);
  const texts = ['', 'NULL', ' ', 'a,b', 'say "hi"', 'line1\nline2', 'cr\rlf\r\n', 'tab\there', 'Zoë – 東京 🚀', '=SUM(A1)', '"', ',', "it's", '\uFEFFbom', 'null', 'NaN'];
  const doubles = [NaN, -0, 0, Infinity, -Infinity, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, -1e-300, 123456789.123456789, 1 / 3];
  const pick = <T>(xs: T[]): T => xs[rng.int(xs.length)];
  return {
    rows,
    names: ['user_id', 'score', 'odd "name", ü', 'count', 'flag', 'label', 'empty_num', 'reasons'],
    columns: {
      user_id: Array.from({ length: rows }, (_, i) => String(i).padStart(6, '0')),
      score: Float64Array.from({ length: rows }, () => (rng.next() < 0.3 ? pick(doubles) : rng.normal() * 10 ** rng.int(12))),
      'odd "name", ü': Float64Array.from({ length: rows }, () => rng.next()),
      count: Int32Array.from({ length: rows }, () => pick([-2147483648, 2147483647, 0, -1, rng.int(1000)])),
      flag: Uint8Array.from({ length: rows }, () => pick([0, 1, 255])),
      label: Array.from({ length: rows }, () => pick(texts)),
      empty_num: new Float64Array(rows).fill(NaN),
      reasons: Array.from({ length: rows }, () => (rng.next() < 0.2 ? '' : JSON.stringify([{ feature: pick(texts), contribution: rng.normal() }]))),
    },
  };
}

function slice(t: ColumnTable, from: number, to: number): ColumnTable {
  const columns: Record<string, Column> = {};
  for (const n of t.names) columns[n] = t.columns[n].slice(from, to);
  return { rows: to - from, names: t.names, columns };
}

describe('Parquet through the appender', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-pq-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes every cell and type as the CSV conversion did, across chunk and vector boundaries', async () => {
    const t = hardTable(5000, 23);
    const before = join(dir, 'before.parquet');
    const after = join(dir, 'after.parquet');
    await writeParquetViaCsv(before, t);
    // uneven chunks: a partial vector (the label columns are coded from it), none, one row, several vectors, the rest
    const w = await openTableWriter(after, t.names);
    for (const [a, b] of [[0, 1500], [1500, 1500], [1500, 1501], [1501, 4500], [4500, 5000]]) await w.append(slice(t, a, b));
    await w.close();
    const [x, y] = [await rawParquet(before), await rawParquet(after)];
    expect(y.names).toEqual(t.names);
    expect(y.types).toEqual(['VARCHAR', 'DOUBLE', 'DOUBLE', 'INTEGER', 'UTINYINT', 'VARCHAR', 'DOUBLE', 'VARCHAR']);
    expect(y.types).toEqual(x.types);
    // toEqual tells -0 from 0 and null from '': every cell as today's file has it
    for (let c = 0; c < t.names.length; c++) expect(y.cells[c], t.names[c]).toEqual(x.cells[c]);
    // the hard cases are there: empty text and NaN as NULL, "NULL" as text, -0 written as 0
    const label = y.cells[5] as (string | null)[];
    const src = t.columns.label as string[];
    expect(label.filter((v, i) => v === null && src[i] === '').length).toBe(src.filter((s) => s === '').length);
    expect(label.some((v) => v === 'NULL')).toBe(true);
    const score = y.cells[1] as (number | null)[];
    const negZero = Array.from(t.columns.score as Float64Array).findIndex((v) => Object.is(v, -0));
    expect(negZero).toBeGreaterThanOrEqual(0);
    expect(Object.is(score[negZero], 0)).toBe(true);
    expect(score.filter((v) => v === Infinity).length).toBeGreaterThan(0);
    const [rx, ry] = [await readTable(before), await readTable(after)];
    expect(ry).toEqual(rx);
    // in parts of 1,000 staged rows (not a multiple of the chunks or of DuckDB's vectors), joined on close
    const inParts = join(dir, 'parts.parquet');
    const wp = await openTableWriter(inParts, t.names, { partRows: 1000 });
    for (const [a, b] of [[0, 1500], [1500, 1501], [1501, 4500], [4500, 5000]]) await wp.append(slice(t, a, b));
    await wp.close();
    expect(await rawParquet(inParts)).toEqual(x);
    expect((await readdir(dir)).sort()).toEqual(['after.parquet', 'before.parquet', 'parts.parquet']);
  });

  it('turns a label column back into text when a later chunk brings thousands of new values', async () => {
    const rows = 100 + 6000 + 50;
    const t: ColumnTable = {
      rows,
      names: ['user_id', 'tier', 'p'],
      columns: {
        user_id: Array.from({ length: rows }, (_, i) => `u${i}`),
        // 2 values (and empties) in the first chunk: coded; 6,000 new ones in the second; old and new in the third
        tier: Array.from({ length: rows }, (_, i) => (i < 100 ? ['low', 'high', ''][i % 3] : i < 6100 ? `tier ${i}, "q"` : ['low', `tier ${i - 5000}, "q"`, '', 'new'][i % 4])),
        p: Float64Array.from({ length: rows }, (_, i) => i / 7),
      },
    };
    const before = join(dir, 'grow-before.parquet');
    const after = join(dir, 'grow-after.parquet');
    await writeParquetViaCsv(before, t);
    const x = await rawParquet(before);
    // in one part, and in parts of 64 rows: the first parts written while the column is coded, the later ones as text
    for (const partRows of [undefined, 64]) {
      const w = await openTableWriter(after, t.names, { partRows });
      for (const [a, b] of [[0, 100], [100, 6100], [6100, rows]]) await w.append(slice(t, a, b));
      await w.close();
      const y = await rawParquet(after);
      expect(y.types).toEqual(['VARCHAR', 'VARCHAR', 'DOUBLE']);
      expect(y.cells).toEqual(x.cells);
      expect((y.cells[1] as unknown[]).slice(0, 3)).toEqual(['low', 'high', null]);
    }
  });

  it('writes a real table (the Online Retail fixture) as the CSV conversion did', async () => {
    const retail = await readTable(join(__dirname, '..', 'fixtures', 'retail-sample.csv'), { textColumns: ['InvoiceNo', 'StockCode', 'Description', 'InvoiceDate', 'CustomerID', 'Country'] });
    // counts as INTEGER, a flag as UTINYINT, as the pipeline's tables carry them
    const t: ColumnTable = {
      ...retail,
      names: [...retail.names, 'qty_int', 'cancelled'],
      columns: {
        ...retail.columns,
        qty_int: Int32Array.from(retail.columns.Quantity as Float64Array),
        cancelled: Uint8Array.from(retail.columns.InvoiceNo as string[], (s) => (s.startsWith('C') ? 1 : 0)),
      },
    };
    expect((t.columns.CustomerID as string[]).some((s) => s === '')).toBe(true);
    const before = join(dir, 'retail-before.parquet');
    const after = join(dir, 'retail-after.parquet');
    await writeParquetViaCsv(before, t);
    await writeTable(after, t);
    const [x, y] = [await rawParquet(before), await rawParquet(after)];
    expect(y.types).toEqual(x.types);
    expect(y.cells).toEqual(x.cells);
    expect(await readTable(after)).toEqual(await readTable(before));
  });

  it('stores key-value metadata inside the file', async () => {
    const path = join(dir, 'meta.parquet');
    const metadata = { model: 'default@3', version: '3', as_of: '2026-05-30', "it's \"quoted\"": 'ü, {"json": 1}' };
    await writeTable(path, hardTable(10, 1), { metadata });
    expect(await readTableMetadata(path)).toEqual(metadata);
    await writeTable(join(dir, 'none.parquet'), hardTable(10, 1));
    expect(await readTableMetadata(join(dir, 'none.parquet'))).toEqual({});
    await writeTable(join(dir, 'meta.csv'), hardTable(10, 1), { metadata });
    expect(await readTableMetadata(join(dir, 'meta.csv'))).toEqual({});
  });

  it('writes a header-only table from a writer that got no chunk, and an empty typed table', async () => {
    const path = join(dir, 'nothing.parquet');
    const w = await openTableWriter(path, ['user_id', 'p']);
    await w.close();
    expect(await rawParquet(path)).toEqual({ names: ['user_id', 'p'], types: ['VARCHAR', 'VARCHAR'], cells: [] });
    await writeTable(path, slice(hardTable(3, 2), 0, 0));
    expect((await rawParquet(path)).types).toEqual(['VARCHAR', 'DOUBLE', 'DOUBLE', 'INTEGER', 'UTINYINT', 'VARCHAR', 'DOUBLE', 'VARCHAR']);
  });

  it('reports a part its COPY could not write, by the file asked for', async () => {
    const sub = await mkdtemp(join(dir, 'gone-'));
    const t = hardTable(5000, 3);
    const w = await openTableWriter(join(sub, 'x.parquet'), t.names, { partRows: 2048 });
    await w.append(t);
    await rm(sub, { recursive: true, force: true });
    // the last part's COPY (into the folder removed) fails on the writer's other connection; close says so
    await expect(w.close()).rejects.toThrow(/cannot write ".*gone-.*x\.parquet": its folder does not exist/);
  });

  it('leaves nothing behind on abort or on a chunk whose column changes kind', async () => {
    const sub = await mkdtemp(join(dir, 'abort-'));
    const t = hardTable(5000, 3);
    const w = await openTableWriter(join(sub, 'x.parquet'), t.names, { partRows: 2048 });
    await w.append(t);
    // two parts of 2,048 rows (904 rows staged), under temporary names removeStaleTemps knows after a kill: the first
    // written, the second being written on the writer's other connection (its file may not be there yet)
    const owners = (await readdir(sub)).map(tempOwner);
    expect(owners.length === 1 || owners.length === 2).toBe(true);
    expect(new Set(owners)).toEqual(new Set([process.pid]));
    // abort waits for that COPY before it removes the parts
    await w.abort();
    expect(await readdir(sub)).toEqual([]);
    const w2 = await openTableWriter(join(sub, 'y.parquet'), t.names);
    await w2.append(t);
    await expect(w2.append({ ...t, columns: { ...t.columns, score: (t.columns.label as string[]).slice() } })).rejects.toThrow(/column "score" was DOUBLE in the first chunk, VARCHAR in a later one/);
    await w2.abort();
    expect(await readdir(sub)).toEqual([]);
  });
});
