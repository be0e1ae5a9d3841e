import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asReadTable, booleanColumn, concatTables, listItemJson, openTableWriter, readTable, readTableBlocks, sliceColumn, writeTable,
  type ListColumn, type WritableTable,
} from '../../src/shared/table-io.js';

const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** Column types and every cell of a Parquet file as DuckDB reads it (lists and structs as JS arrays and objects). */
async function described(path: string): Promise<{ types: Record<string, string>; cells: Record<string, unknown[]> }> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const d = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${lit(path)})`)).getColumnsObjectJS();
    const types = Object.fromEntries((d.column_name as string[]).map((n, i) => [n, (d.column_type as string[])[i]]));
    const cells = (await conn.runAndReadAll(`SELECT * FROM read_parquet(${lit(path)})`)).getColumnsObjectJS() as Record<string, unknown[]>;
    return { types, cells };
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** Reason-like lists of 0-3 items per row, with text needing JSON escapes and NaN values (null in JSON and in Parquet). */
function lists(rows: number, width: number): { col: ListColumn; plain: Record<string, unknown>[][] } {
  const texts = ['days_since_last_activity', 'say "hi"', 'Zoë – 東京', 'a,b\nc', ''];
  const plain: Record<string, unknown>[][] = [];
  const counts = new Uint8Array(rows);
  const slots = Array.from({ length: width }, () => [new Array<string>(rows).fill(''), new Float64Array(rows).fill(NaN)] as [string[], Float64Array]);
  for (let i = 0; i < rows; i++) {
    counts[i] = Math.min(width, i % 4);
    const items: Record<string, unknown>[] = [];
    for (let p = 0; p < counts[i]; p++) {
      const feature = texts[(i + p) % texts.length];
      const v = (i + p) % 7 === 0 ? NaN : (i - 50 * p) / 8;
      slots[p][0][i] = feature;
      slots[p][1][i] = v;
      items.push({ feature: feature === '' ? null : feature, value: Number.isNaN(v) ? null : v });
    }
    plain.push(items);
  }
  return { col: { kind: 'list', length: rows, fields: [{ name: 'feature', type: 'VARCHAR' }, { name: 'value', type: 'DOUBLE' }], counts, slots }, plain };
}

function typedTable(rows: number): { table: WritableTable; plain: Record<string, unknown>[][] } {
  const { col, plain } = lists(rows, 3);
  return {
    plain,
    table: {
      rows,
      names: ['user_id', 'p', 'cluster', 'already_churned', 'segment_x', 'reasons'],
      columns: {
        user_id: Array.from({ length: rows }, (_, i) => `u${String(i).padStart(5, '0')}`),
        p: Float64Array.from({ length: rows }, (_, i) => i / rows),
        cluster: Int32Array.from({ length: rows }, (_, i) => i % 5),
        already_churned: Uint8Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? 1 : 0)),
        segment_x: booleanColumn(rows, (i) => i % 2 === 1),
        reasons: col,
      },
    },
  };
}

describe('native Parquet types', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-types-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes INTEGER, UTINYINT, BOOLEAN and LIST<STRUCT> columns and reads them back as numbers and JSON text', async () => {
    const { table, plain } = typedTable(5000);
    const path = join(dir, 'typed.parquet');
    // chunks across vector boundaries, the middle one narrower (its lists at most 1 long: padded to the first chunk's 3 positions), in parts
    const w = await openTableWriter(path, table.names, { partRows: 1500 });
    const narrow = (from: number, to: number): WritableTable => {
      const c = sliceColumn(table.columns.reasons as ListColumn, from, to);
      const counts = c.counts.map((k) => Math.min(k, 1));
      const cols: WritableTable['columns'] = {};
      for (const n of table.names) cols[n] = n === 'reasons' ? { ...c, counts, slots: c.slots.slice(0, 1) } : sliceColumn(table.columns[n], from, to);
      return { rows: to - from, names: table.names, columns: cols };
    };
    const part = (from: number, to: number): WritableTable => ({ rows: to - from, names: table.names, columns: Object.fromEntries(table.names.map((n) => [n, sliceColumn(table.columns[n], from, to)])) });
    await w.append(part(0, 2100));
    await w.append(narrow(2100, 2300));
    await w.append(part(2300, 5000));
    await w.close();
    const { types, cells } = await described(path);
    expect(types).toEqual({
      user_id: 'VARCHAR', p: 'DOUBLE', cluster: 'INTEGER', already_churned: 'UTINYINT', segment_x: 'BOOLEAN',
      reasons: 'STRUCT(feature VARCHAR, "value" DOUBLE)[]',
    });
    expect(cells.cluster.slice(0, 6)).toEqual([0, 1, 2, 3, 4, 0]);
    expect(cells.segment_x.slice(0, 3)).toEqual([false, true, false]);
    expect(cells.already_churned.slice(0, 4)).toEqual([1, 0, 0, 1]);
    const expected = plain.map((items, i) => (i >= 2100 && i < 2300 ? items.slice(0, 1) : items));
    expect(cells.reasons).toEqual(expected);
    expect(cells.reasons[3]).toEqual([{ feature: 'a,b\nc', value: 3 / 8 }, { feature: null, value: -47 / 8 }, { feature: 'days_since_last_activity', value: -97 / 8 }]);

    // read back: every number as a double, the lists as JSON.stringify writes them (NaN as null)
    const back = await readTable(path);
    expect(Array.from(back.columns.cluster as Float64Array).slice(0, 6)).toEqual([0, 1, 2, 3, 4, 0]);
    expect(Array.from(back.columns.segment_x as Float64Array).slice(0, 3)).toEqual([0, 1, 0]);
    expect(back.columns.reasons).toEqual(expected.map((items) => JSON.stringify(items)));
    // in blocks too
    const blocks: string[] = [];
    for await (const b of readTableBlocks(path, 2048)) blocks.push(...(b.columns.reasons as string[]));
    expect(blocks).toEqual(back.columns.reasons);
  });

  it('writes the same cells to a CSV as text: 1/0 flags, whole numbers, JSON lists', async () => {
    const { table, plain } = typedTable(12);
    const path = join(dir, 'typed.csv');
    await writeTable(path, table);
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines[0]).toBe('user_id,p,cluster,already_churned,segment_x,reasons');
    expect(lines[1]).toBe('u00000,0,0,1,0,[]');
    expect(lines[4]).toBe(`u00003,0.25,3,1,1,"${JSON.stringify(plain[3]).replace(/"/g, '""')}"`);
    expect(lines[8]).toContain(',"[{""feature"":""Zoë – 東京"",""value"":null}');
  });

  it('gives a written table back in memory as readTable reads the file (asReadTable), and concatenates typed parts', async () => {
    const { table } = typedTable(300);
    const half = (from: number, to: number): WritableTable => ({ rows: to - from, names: table.names, columns: Object.fromEntries(table.names.map((n) => [n, sliceColumn(table.columns[n], from, to)])) });
    const joined = concatTables([half(0, 100), half(100, 300)]);
    expect(joined.columns.cluster).toBeInstanceOf(Int32Array);
    expect((joined.columns.segment_x as Uint8Array).constructor.name).toBe('BooleanColumn');
    expect(Array.from({ length: 300 }, (_, i) => listItemJson(joined.columns.reasons as ListColumn, i))).toEqual(Array.from({ length: 300 }, (_, i) => listItemJson(table.columns.reasons as ListColumn, i)));
    const path = join(dir, 'joined.parquet');
    await writeTable(path, joined);
    expect(asReadTable(joined)).toEqual(await readTable(path));
  });
});

describe('vectorItems', () => {
  it('reaches the typed array behind DOUBLE, INTEGER and UTINYINT vectors (the bulk path of readTable and the writer)', async () => {
    const { DuckDBDataChunk, DOUBLE, INTEGER, UTINYINT, VARCHAR } = await import('@duckdb/node-api');
    const { vectorItems } = await import('../../src/shared/duckdb.js');
    const chunk = DuckDBDataChunk.create([DOUBLE, INTEGER, UTINYINT, VARCHAR]);
    chunk.rowCount = 10;
    expect(vectorItems(chunk.getColumnVector(0), 10)?.items).toBeInstanceOf(Float64Array);
    expect(vectorItems(chunk.getColumnVector(1), 10)?.items).toBeInstanceOf(Int32Array);
    expect(vectorItems(chunk.getColumnVector(2), 10)?.items).toBeInstanceOf(Uint8Array);
    expect(vectorItems(chunk.getColumnVector(3), 10)).toBeNull();
    expect(vectorItems(chunk.getColumnVector(0), 11)).toBeNull();
  });
});
