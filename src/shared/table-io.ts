import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { syncDir, syncPath, tempPathFor, writeError } from './atomic.js';
import { csvTextCell } from './csv.js';
import { CohortlabError, internalError } from './errors.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openDuckDB, queryColumns, quoteIdent, quoteLiteral, streamColumns, withDuckDB, type ColumnResult } from './duckdb.js';

/**
 * Column tables on disk: `.csv` (header row, RFC 4180 quoting, text cells starting with = + - @ tab or CR
 * prefixed with an apostrophe against formula injection: csv.ts) or `.parquet`, by the extension.
 * Parquet goes through a temporary CSV and DuckDB's COPY with explicit types, so ids stay text.
 */
export type Column = Float64Array | Int32Array | Uint8Array | string[];
export interface ColumnTable {
  rows: number;
  names: string[];
  columns: Record<string, Column>;
}

export type TableFormat = 'csv' | 'parquet';

export function tableFormat(path: string): TableFormat {
  const ext = extname(path.replace(/\.gz$/, '')).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.parquet') return 'parquet';
  throw new CohortlabError('UNKNOWN_FORMAT', `cannot tell the format of "${path}" from its extension "${ext || '(none)'}"; use .csv or .parquet.`, { path });
}

/** RFC 4180 quoting only: the temporary CSV a Parquet file is converted from keeps its text as it is. */
function quotedCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function cell(col: Column, i: number, text: (s: string) => string): string {
  if (Array.isArray(col)) return text(col[i]);
  const v = col[i];
  return Number.isNaN(v) ? '' : String(v);
}

function duckType(col: Column): string {
  if (Array.isArray(col)) return 'VARCHAR';
  if (col instanceof Int32Array) return 'INTEGER';
  if (col instanceof Uint8Array) return 'UTINYINT';
  return 'DOUBLE';
}

/** Writes atomically: a temporary file is renamed into place, so readers never see half a table. */
export async function writeTable(path: string, table: ColumnTable): Promise<void> {
  for (const n of table.names) {
    const c = table.columns[n];
    if (!c) throw internalError(`table has no column "${n}"`);
    if (c.length !== table.rows) throw internalError(`column "${n}" has ${c.length} values, the table ${table.rows} rows`);
  }
  const writer = await openTableWriter(path, table.names);
  try {
    await writer.append(table);
    await writer.close();
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

/** The SELECT that reads a table file with numeric columns as DOUBLE and everything else as text (ids stay text). */
async function selectSql(conn: DuckDBConnection, path: string, opts: { textColumns?: string[] }): Promise<string> {
  const format = tableFormat(path);
  const info = await stat(path).catch(() => null);
  if (!info) throw new CohortlabError('FILE_NOT_FOUND', `file "${path}" does not exist.`, { path });
  if (info.size === 0) throw new CohortlabError('EMPTY_INPUT', `file "${path}" is empty.`, { path });
  let source: string;
  if (format === 'csv') {
    const head = await queryColumns(conn, `SELECT * FROM read_csv(${quoteLiteral(path)}, header = true, all_varchar = true) LIMIT 0`);
    const text = new Set(opts.textColumns ?? head.names.filter((n) => n === 'user_id' || /(^|_)id$/i.test(n)));
    const types = head.names.filter((n) => text.has(n)).map((n) => `${quoteLiteral(n)}: 'VARCHAR'`);
    source = `read_csv(${quoteLiteral(path)}, header = true${types.length ? `, types = {${types.join(', ')}}` : ''})`;
  } else {
    source = `read_parquet(${quoteLiteral(path)})`;
  }
  const desc = await queryColumns(conn, `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${source})`);
  const names = desc.columns[0] as string[];
  const kinds = desc.columns[1] as string[];
  const select = names
    .map((n, i) => {
      const t = kinds[i].toUpperCase();
      const numeric = /^(DOUBLE|FLOAT|REAL|INTEGER|BIGINT|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT|DECIMAL.*|BOOLEAN)$/.test(t);
      return numeric ? `CAST(${quoteIdent(n)} AS DOUBLE) AS ${quoteIdent(n)}` : `CAST(${quoteIdent(n)} AS VARCHAR) AS ${quoteIdent(n)}`;
    })
    .join(', ');
  return `SELECT ${select} FROM ${source}`;
}

function toTable(res: ColumnResult): ColumnTable {
  const columns: Record<string, Column> = {};
  res.names.forEach((n, i) => (columns[n] = res.columns[i]));
  return { rows: res.rows, names: res.names, columns };
}

/**
 * Reads a table; numeric columns come back as Float64Array (empty -> NaN), text as string[].
 * `textColumns` (default: user_id and any *_id column) are always text, so ids such as "00001" keep their zeros.
 */
export async function readTable(path: string, opts: { textColumns?: string[] } = {}): Promise<ColumnTable> {
  return withDuckDB(async (conn) => toTable(await queryColumns(conn, await selectSql(conn, path, opts))));
}

/** Reads a table in blocks of about `blockRows` rows, in file order (bounded memory for millions of rows). */
export async function* readTableBlocks(path: string, blockRows: number, opts: { textColumns?: string[] } = {}): AsyncGenerator<ColumnTable> {
  const db = await openDuckDB();
  try {
    for await (const block of streamColumns(db.conn, await selectSql(db.conn, path, opts), undefined, blockRows)) yield toTable(block);
  } finally {
    db.close();
  }
}

/**
 * Appends tables chunk by chunk (batch scoring of millions of users with bounded memory). CSV is
 * streamed to a temporary file; Parquet is converted from it on close; the result is renamed into place.
 */
export interface TableWriter {
  append(chunk: ColumnTable): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

export async function openTableWriter(path: string, names: string[]): Promise<TableWriter> {
  const format = tableFormat(path);
  await mkdir(dirname(path) || '.', { recursive: true }).catch((e: unknown) => {
    throw writeError(path, e);
  });
  const tmp = tempPathFor(path);
  const csv = format === 'csv' ? tmp : `${tmp}.csv`;
  const out = createWriteStream(csv);
  const failed = new Promise<never>((_, reject) => out.on('error', (e) => reject(writeError(path, e))));
  failed.catch(() => {});
  // A .csv output is for people and spreadsheets: its text cells are neutralized against formula injection.
  const text = format === 'csv' ? csvTextCell : quotedCell;
  out.write(`${names.map(text).join(',')}\n`);
  let types: string[] | null = null;
  return {
    async append(chunk) {
      const cols = names.map((n) => {
        const c = chunk.columns[n];
        if (!c) throw internalError(`chunk has no column "${n}"`);
        return c;
      });
      types ??= cols.map(duckType);
      let buf = '';
      // Lines are batched into ~1 MB writes; the stream's back-pressure is honoured.
      for (let i = 0; i < chunk.rows; i++) {
        let line = cell(cols[0], i, text);
        for (let c = 1; c < cols.length; c++) line += `,${cell(cols[c], i, text)}`;
        buf += `${line}\n`;
        if (buf.length > 1 << 20) {
          if (!out.write(buf)) await Promise.race([new Promise<void>((r) => out.once('drain', () => r())), failed]);
          buf = '';
        }
      }
      if (buf && !out.write(buf)) await Promise.race([new Promise<void>((r) => out.once('drain', () => r())), failed]);
    },
    async close() {
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(writeError(path, err)) : resolve())));
      if (format === 'parquet') {
        const t = names.map((n, i) => `${quoteLiteral(n)}: ${quoteLiteral(types?.[i] ?? 'VARCHAR')}`).join(', ');
        try {
          await withDuckDB(async (conn) => {
            await conn.run(
              `COPY (SELECT * FROM read_csv(${quoteLiteral(csv)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = {${t}})) TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
            );
          });
        } catch (e) {
          throw writeError(path, e);
        } finally {
          await rm(csv, { force: true });
        }
      }
      // fsync before the rename: after a crash the name holds the whole table or the old file, never a torn one
      try {
        await syncPath(tmp);
        await rename(tmp, path);
      } catch (e) {
        throw writeError(path, e);
      }
      await syncDir(dirname(path) || '.');
    },
    async abort() {
      out.destroy();
      await rm(tmp, { force: true }).catch(() => {});
      await rm(csv, { force: true }).catch(() => {});
    },
  };
}
