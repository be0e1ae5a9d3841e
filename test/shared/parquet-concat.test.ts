import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatParquet, decodeStruct, encodeStruct } from '../../src/shared/parquet-concat.js';
import { openDuckDB, queryRows, quoteLiteral } from '../../src/shared/duckdb.js';
import { openTableWriter, readTableMetadata } from '../../src/shared/table-io.js';

/**
 * Parquet files joined under one footer without decoding them (the Parquet writer's parts): every cell, type, row
 * order and the key-value metadata as DuckDB's own COPY of the same files gives them, and DuckDB's footers decoded and
 * encoded back byte for byte.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cohortlab-concat-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** DuckDB writes the rows [from, to) of a table with text, numbers, NULLs, booleans, lists of structs and a dictionary column. */
async function part(name: string, from: number, to: number, opts = ''): Promise<string> {
  const path = join(dir, name);
  const db = await openDuckDB();
  try {
    await db.conn.run(`COPY (SELECT 'u' || i AS user_id, CASE WHEN i % 7 = 0 THEN NULL ELSE i / 3 END AS p, i % 5 = 0 AS flag,
        CAST(i % 3 AS UTINYINT) AS tier_code, ['low', 'mid', 'high'][1 + i % 3] AS tier,
        [struct_pack(feature := 'f' || (i % 4), contribution := i * 0.5)][1:(i % 3)] AS reasons
      FROM range(${from}, ${to}) t(i) ORDER BY i) TO ${quoteLiteral(path)} (FORMAT parquet, COMPRESSION zstd${opts})`);
  } finally {
    db.close();
  }
  return path;
}

async function footer(path: string): Promise<Uint8Array> {
  const b = await readFile(path);
  const len = b.readUInt32LE(b.length - 8);
  return b.subarray(b.length - 8 - len, b.length - 8);
}

async function cells(sql: string): Promise<string> {
  const db = await openDuckDB();
  try {
    return JSON.stringify(await queryRows(db.conn, sql), (_, v) => (typeof v === 'bigint' ? String(v) : v));
  } finally {
    db.close();
  }
}

describe('concatParquet', () => {
  it("decodes DuckDB's footers into fields and encodes them back byte for byte", async () => {
    for (const path of [await part('a.parquet', 0, 5000, ', ROW_GROUP_SIZE 2048'), await part('kv.parquet', 0, 10, ", KV_METADATA {model: 'm', version: '3'}")]) {
      const f = await footer(path);
      expect(Buffer.from(encodeStruct(decodeStruct(f))).equals(Buffer.from(f))).toBe(true);
    }
    expect(() => decodeStruct(Uint8Array.of(0x15, 0x02, 0x00, 0x07))).toThrow(/1 bytes after its Thrift struct/);
    expect(() => decodeStruct(Uint8Array.of(0x18, 0x05, 0x61))).toThrow(/ends early/);
  });

  it('joins files into the rows, types and order a COPY of them gives, with the metadata, moving every offset', async () => {
    const parts = [await part('p0.parquet', 0, 3000), await part('p1.parquet', 3000, 3001), await part('p2.parquet', 3001, 9000)];
    const out = join(dir, 'joined.parquet');
    expect(await concatParquet(parts, out, { model: 'default', version: '7' })).toBeNull();
    const all = `[${parts.map(quoteLiteral).join(', ')}]`;
    expect(await cells(`SELECT * FROM read_parquet(${quoteLiteral(out)})`)).toBe(await cells(`SELECT * FROM read_parquet(${all})`));
    expect(await cells(`DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(out)})`)).toBe(await cells(`DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(parts[0])})`));
    expect(await readTableMetadata(out)).toEqual({ model: 'default', version: '7' });
    // the row groups of every file, in order, each with its own statistics; a filter on them reads the right rows
    const groupRows = async (f: string) =>
      (JSON.parse(await cells(`SELECT row_group_num_rows FROM parquet_metadata(${quoteLiteral(f)}) WHERE path_in_schema = 'user_id' ORDER BY row_group_id`)) as { row_group_num_rows: string }[]).map((g) => Number(g.row_group_num_rows));
    const each = (await Promise.all(parts.map(groupRows))).flat();
    expect(each.length).toBeGreaterThanOrEqual(3);
    expect(await groupRows(out)).toEqual(each);
    expect(await cells(`SELECT count(*)::INTEGER AS n, min(p) AS p FROM read_parquet(${quoteLiteral(out)}) WHERE user_id = 'u8999'`)).toBe('[{"n":1,"p":2999.6666666666665}]');
    // the bloom filters of the dictionary columns moved with their row groups: each still tells what its group holds
    for (const value of ['mid', 'absent']) {
      const probe = (f: string) => `SELECT bloom_filter_excludes AS x FROM parquet_bloom_probe(${quoteLiteral(f)}, 'tier', '${value}') ORDER BY row_group_id`;
      const want = (await Promise.all(parts.map(async (p) => JSON.parse(await cells(probe(p)))))).flat();
      // (a one-row group has no filter: it excludes nothing)
      expect(want.some((r: { x: boolean }) => r.x)).toBe(value === 'absent');
      expect(JSON.parse(await cells(probe(out)))).toEqual(want);
    }
    // the bytes are the files' own: the joined file is their data plus one footer
    const sizes = await Promise.all(parts.map(async (p) => (await stat(p)).size - (await footer(p)).length - 12));
    expect((await stat(out)).size - (await footer(out)).length - 12).toBe(sizes.reduce((a, b) => a + b, 0));
  });

  it('refuses files of other schemas, writing nothing', async () => {
    const other = join(dir, 'other.parquet');
    const db = await openDuckDB();
    await db.conn.run(`COPY (SELECT 'u1' AS user_id, 1.5 AS p) TO ${quoteLiteral(other)} (FORMAT parquet)`);
    db.close();
    const out = join(dir, 'never.parquet');
    expect(await concatParquet([await part('q.parquet', 0, 10), other], out, {})).toMatch(/other\.parquet has another schema than .*q\.parquet/);
    await expect(stat(out)).rejects.toThrow(/ENOENT/);
    await writeFile(join(dir, 'short.parquet'), 'PAR1');
    await expect(concatParquet([join(dir, 'short.parquet')], out, {})).rejects.toThrow(/is no Parquet file \(4 bytes\)/);
  });

  it("the table writer's parts are joined this way: one row group per part", async () => {
    const path = join(dir, 'written.parquet');
    const w = await openTableWriter(path, ['user_id', 'p'], { partRows: 1000, metadata: { model: 'x' } });
    for (let s = 0; s < 3500; s += 700) await w.append({ rows: 700, names: ['user_id', 'p'], columns: { user_id: Array.from({ length: 700 }, (_, i) => `u${s + i}`), p: Float64Array.from({ length: 700 }, (_, i) => (s + i) / 3) } });
    await w.close();
    const groups = JSON.parse(await cells(`SELECT row_group_num_rows FROM parquet_metadata(${quoteLiteral(path)}) WHERE path_in_schema = 'user_id' ORDER BY row_group_id`));
    // parts close past 1,000 staged rows at 2,048-row vectors: 1,400 + 1,400 + 700 (a COPY would have written one group)
    expect(groups.map((g: { row_group_num_rows: string }) => Number(g.row_group_num_rows))).toEqual([1400, 1400, 700]);
    const rows = JSON.parse(await cells(`SELECT user_id, p FROM read_parquet(${quoteLiteral(path)})`)) as { user_id: string; p: number }[];
    expect(rows).toEqual(Array.from({ length: 3500 }, (_, i) => ({ user_id: `u${i}`, p: i / 3 })));
    expect(await readTableMetadata(path)).toEqual({ model: 'x' });
  });
});
