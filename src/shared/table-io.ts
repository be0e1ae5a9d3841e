import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { syncDir, syncPath, tempPathFor, writeError } from './atomic.js';
import { csvTextCell } from './csv.js';
import { CohortlabError, internalError } from './errors.js';
import { BOOLEAN, DOUBLE, DuckDBDataChunk, INTEGER, UTINYINT, VARCHAR, type DuckDBAppender, type DuckDBConnection, type DuckDBVector } from '@duckdb/node-api';
import { openDuckDB, queryColumns, quoteIdent, quoteLiteral, streamColumns, vectorItems, withDuckDB, type ColumnResult } from './duckdb.js';
import { concatParquet } from './parquet-concat.js';

/**
 * Column tables on disk: `.csv` (header row, RFC 4180 quoting, text cells starting with = + - @ tab or CR
 * prefixed with an apostrophe against formula injection: csv.ts) or `.parquet`, by the extension.
 * Parquet is written by DuckDB from typed columns with native types, chosen by the JS array (parquetType):
 * text stays VARCHAR (ids keep their zeros), Float64Array is DOUBLE, Int32Array INTEGER, Uint8Array UTINYINT
 * (a 1/0 flag), BooleanColumn BOOLEAN and a ListColumn a LIST of STRUCTs; a CSV writes the same cells as text
 * (1/0 for booleans, JSON for lists). A Parquet file can carry key-value metadata (model, version, as-of).
 */
export type Column = Float64Array | Int32Array | Uint8Array | string[];
/** What a table to write may hold: the columns readTable gives, and list columns (read back as JSON text). */
export type WritableColumn = Column | ListColumn;

/**
 * A true/false column: a Uint8Array of 1/0 (so code reading numbers sees 1/0, and a CSV cell is "1"/"0"), stored
 * in Parquet as BOOLEAN. Build it with `booleanColumn`.
 */
export class BooleanColumn extends Uint8Array {}

/** 1 where `keep(i)` holds, else 0, for rows 0..n-1. */
export function booleanColumn(n: number, keep: (i: number) => boolean): BooleanColumn {
  const out = new BooleanColumn(n);
  for (let i = 0; i < n; i++) out[i] = keep(i) ? 1 : 0;
  return out;
}

/** One field of the records a ListColumn holds: text (VARCHAR) or a number (DOUBLE; NaN is null). */
export interface ListField {
  name: string;
  type: 'VARCHAR' | 'DOUBLE';
}

/**
 * Per row, a list of up to `slots.length` records with the same fields (e.g. a user's reason codes), held field by
 * field and position by position, with no object per row: `slots[p][f][i]` is field f of row i's item at position
 * p, for p < `counts[i]` (past it the value is ignored). Parquet: `LIST<STRUCT(field TYPE, ...)>`; CSV and
 * `readTable`: JSON text, `[{"field":value,...},...]` with the fields in order (JSON.stringify's numbers; NaN and
 * empty text are NULL in the file and null in the JSON).
 */
export interface ListColumn {
  readonly kind: 'list';
  /** Rows. */
  readonly length: number;
  readonly fields: readonly ListField[];
  /** Items of each row (at most slots.length, at most 255). */
  readonly counts: Uint8Array;
  readonly slots: readonly (readonly (string[] | Float64Array)[])[];
}

export function isListColumn(c: WritableColumn): c is ListColumn {
  return !Array.isArray(c) && !ArrayBuffer.isView(c);
}

/** Row i of a list column as JSON text (what the CSV cell and readTable hold). */
export function listItemJson(c: ListColumn, i: number): string {
  return listJsonWriter(c)(i);
}

/**
 * A function giving row i of a list column as JSON text: JSON.stringify's text of each value (a finite number as
 * String(v), -0 as 0; NaN and infinities as null; empty text as null, the file's NULL as in a flat column), the
 * fields in order. Text values repeat (a reason's feature and direction): their JSON is kept per distinct value.
 */
export function listJsonWriter(c: ListColumn): (i: number) => string {
  const keys = c.fields.map((f, k) => `${k === 0 ? '{' : ','}${JSON.stringify(f.name)}:`);
  const text = c.fields.map((f) => f.type === 'VARCHAR');
  const quoted = new Map<string, string>([['', 'null']]);
  const quote = (v: string): string => {
    let q = quoted.get(v);
    if (q === undefined) {
      q = JSON.stringify(v);
      if (quoted.size < 10_000) quoted.set(v, q);
    }
    return q;
  };
  return (i) => {
    const n = c.counts[i];
    if (n === 0) return '[]';
    let s = '[';
    for (let p = 0; p < n; p++) {
      if (p > 0) s += ',';
      const slot = c.slots[p];
      for (let f = 0; f < keys.length; f++) {
        s += keys[f];
        if (text[f]) s += quote((slot[f] as string[])[i]);
        else {
          const v = (slot[f] as Float64Array)[i];
          s += Number.isFinite(v) ? String(v) : 'null';
        }
      }
      s += '}';
    }
    return s + ']';
  };
}

/** Rows [from, to) of a column (a copy). */
export function sliceColumn<C extends WritableColumn>(c: C, from: number, to: number): C {
  if (!isListColumn(c)) return c.slice(from, to) as C;
  return { kind: 'list', length: to - from, fields: c.fields, counts: c.counts.slice(from, to), slots: c.slots.map((s) => s.map((v) => v.slice(from, to))) } as ListColumn as C;
}

/** The tables' rows one after the other (same names and column kinds: a ListColumn's width is the widest part's). */
export function concatTables<T extends WritableTable>(parts: T[]): T {
  if (parts.length === 1) return parts[0];
  if (parts.length === 0) throw internalError('concatTables needs at least one table');
  const names = parts[0].names;
  const rows = parts.reduce((s, p) => s + p.rows, 0);
  const columns: Record<string, WritableColumn> = {};
  for (const n of names) {
    const cols = parts.map((p) => p.columns[n]);
    const first = cols[0];
    if (Array.isArray(first)) columns[n] = cols.flatMap((c) => c as string[]);
    else if (isListColumn(first)) {
      const lists = cols as ListColumn[];
      const width = Math.max(...lists.map((l) => l.slots.length));
      const counts = new Uint8Array(rows);
      const slots = Array.from({ length: width }, () => first.fields.map((f) => (f.type === 'VARCHAR' ? new Array<string>(rows).fill('') : new Float64Array(rows).fill(NaN))));
      let at = 0;
      for (const l of lists) {
        counts.set(l.counts, at);
        l.slots.forEach((slot, p) =>
          slot.forEach((v, f) => {
            const out = slots[p][f];
            if (Array.isArray(out)) for (let i = 0; i < l.length; i++) out[at + i] = (v as string[])[i];
            else out.set(v as Float64Array, at);
          }),
        );
        at += l.length;
      }
      columns[n] = { kind: 'list', length: rows, fields: first.fields, counts, slots };
    } else {
      // the same typed array kind as the parts' (Int32Array stays INTEGER, a BooleanColumn BOOLEAN)
      const out = new (first.constructor as new (n: number) => Float64Array | Int32Array | Uint8Array)(rows);
      let at = 0;
      for (const c of cols) {
        out.set(c as ArrayLike<number>, at);
        at += c.length;
      }
      columns[n] = out;
    }
  }
  return { rows, names, columns } as T;
}

/**
 * A table to write as readTable gives it back from the file: numbers (integers and flags too) as Float64Array, list
 * columns as their JSON text. What a caller holding a freshly written table serves, so it answers as after a reload.
 */
export function asReadTable(t: WritableTable): ColumnTable {
  const columns: Record<string, Column> = {};
  for (const n of t.names) {
    const c = t.columns[n];
    if (Array.isArray(c) || c instanceof Float64Array) columns[n] = c;
    else if (isListColumn(c)) {
      const json = listJsonWriter(c);
      columns[n] = Array.from({ length: c.length }, (_, i) => json(i));
    }
    else columns[n] = Float64Array.from(c);
  }
  return { rows: t.rows, names: t.names, columns };
}

/** A table as read (readTable): numbers and text. */
export interface ColumnTable {
  rows: number;
  names: string[];
  columns: Record<string, Column>;
}

/** A table to write: a ColumnTable, or one with list columns too (the score table's reasons). */
export interface WritableTable {
  rows: number;
  names: string[];
  columns: Record<string, WritableColumn>;
}

export type TableFormat = 'csv' | 'parquet';

export function tableFormat(path: string): TableFormat {
  const ext = extname(path.replace(/\.gz$/, '')).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.parquet') return 'parquet';
  throw new CohortlabError('UNKNOWN_FORMAT', `cannot tell the format of "${path}" from its extension "${ext || '(none)'}"; use .csv or .parquet.`, { path });
}

/** Writes atomically: a temporary file is renamed into place, so readers never see half a table. */
export async function writeTable(path: string, table: WritableTable, opts: TableWriteOptions = {}): Promise<void> {
  for (const n of table.names) {
    const c = table.columns[n];
    if (!c) throw internalError(`table has no column "${n}"`);
    if (c.length !== table.rows) throw internalError(`column "${n}" has ${c.length} values, the table ${table.rows} rows`);
  }
  const writer = await openTableWriter(path, table.names, opts);
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
      // lists and structs (the score table's reasons) leave DuckDB as they are and become JSON text (duckdb.ts
      // jsonText): the text an older file or a CSV holds in the same column
      if (/\[\d*\]$|^STRUCT\(/.test(t)) return quoteIdent(n);
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
 * Reads a table; numeric columns (BOOLEAN and integers included) come back as Float64Array (empty -> NaN), text as
 * string[], lists and structs as their JSON text, so a file of any version reads the same (a score table's `cluster`
 * INTEGER or DOUBLE, `reasons` a list or JSON text).
 * `textColumns` (default: user_id and any *_id column) are always text, so ids such as "00001" keep their zeros.
 */
export async function readTable(path: string, opts: { textColumns?: string[] } = {}): Promise<ColumnTable> {
  return withDuckDB(async (conn) => toTable(await queryColumns(conn, await selectSql(conn, path, opts), undefined, { stream: true })));
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
 * Appends tables chunk by chunk (batch scoring of millions of users with bounded memory in Node). CSV is
 * streamed to a temporary file; Parquet rows go through DuckDB's appender into an in-memory table, copied to
 * a temporary Parquet file on close; either is fsynced and renamed into place.
 */
export interface TableWriter {
  append(chunk: WritableTable): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

/** Options of `writeTable` and `openTableWriter`. */
export interface TableWriteOptions {
  /**
   * Key-value pairs stored inside a Parquet file (its footer's key-value metadata, read back by
   * `readTableMetadata`), e.g. `{ model: 'default@3', as_of: '2026-05-30' }`. A CSV has no place for them:
   * ignored there.
   */
  metadata?: Record<string, string>;
  /**
   * Parquet: rows held in DuckDB's memory (checked every 2,048 rows) before they are written out as one part of the file (default 245,760,
   * two row groups: with native types and reasons by position, `score` of 910k users (3 reasons) peaked at 860-970 MB
   * RSS against 1,080 MB with four, before the writer ran on one thread). Bigger outputs are written in parts, joined on
   * close, so memory stays bounded at some extra time (about a third more at 1M rows).
   */
  partRows?: number;
}

export async function openTableWriter(path: string, names: string[], opts: TableWriteOptions = {}): Promise<TableWriter> {
  const format = tableFormat(path);
  await mkdir(dirname(path) || '.', { recursive: true }).catch((e: unknown) => {
    throw writeError(path, e);
  });
  return format === 'csv' ? openCsvWriter(path, names) : openParquetWriter(path, names, opts.metadata ?? {}, opts.partRows ?? PART_ROWS);
}

function chunkColumns(chunk: WritableTable, names: string[]): WritableColumn[] {
  return names.map((n) => {
    const c = chunk.columns[n];
    if (!c) throw internalError(`chunk has no column "${n}"`);
    if (c.length !== chunk.rows) throw internalError(`column "${n}" has ${c.length} values, the chunk ${chunk.rows} rows`);
    return c;
  });
}

/** The temporary name is fsynced and renamed over `path`: after a crash the name holds the whole table or the old file, never a torn one. */
async function publish(tmp: string, path: string): Promise<void> {
  try {
    await syncPath(tmp);
    await rename(tmp, path);
  } catch (e) {
    throw writeError(path, e);
  }
  await syncDir(dirname(path) || '.');
}

function openCsvWriter(path: string, names: string[]): TableWriter {
  const tmp = tempPathFor(path);
  const out = createWriteStream(tmp);
  const failed = new Promise<never>((_, reject) => out.on('error', (e) => reject(writeError(path, e))));
  failed.catch(() => {});
  // A .csv output is for people and spreadsheets: its text cells are neutralized against formula injection.
  out.write(`${names.map(csvTextCell).join(',')}\n`);
  /** A column's cells: text neutralized and quoted, NaN empty, a list as its JSON text. */
  const cellsOf = (col: WritableColumn): ((i: number) => string) => {
    if (Array.isArray(col)) return (i) => csvTextCell(col[i]);
    if (isListColumn(col)) {
      const json = listJsonWriter(col);
      return (i) => csvTextCell(json(i));
    }
    return (i) => {
      const v = col[i];
      return Number.isNaN(v) ? '' : String(v);
    };
  };
  return {
    async append(chunk) {
      const cols = chunkColumns(chunk, names).map(cellsOf);
      const cell = (f: (i: number) => string, i: number): string => f(i);
      let buf = '';
      // Lines are batched into ~1 MB writes; the stream's back-pressure is honoured.
      for (let i = 0; i < chunk.rows; i++) {
        let line = cell(cols[0], i);
        for (let c = 1; c < cols.length; c++) line += `,${cell(cols[c], i)}`;
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
      await publish(tmp, path);
    },
    async abort() {
      out.destroy();
      await rm(tmp, { force: true }).catch(() => {});
    },
  };
}

/** DuckDB's standard vector size: a data chunk holds at most this many rows. */
const VECTOR_SIZE = 2048;

const PARQUET_TYPES = { VARCHAR, DOUBLE, INTEGER, UTINYINT, BOOLEAN } as const;
type ParquetType = keyof typeof PARQUET_TYPES;
/** A table column's kind: one of the flat types, or a list of records. */
type ColumnKind = ParquetType | 'LIST';

/** Parquet column types by the JS array: ids and labels stay text, flags UTINYINT or BOOLEAN, counts INTEGER, measures DOUBLE. */
function columnKind(col: WritableColumn): ColumnKind {
  if (Array.isArray(col)) return 'VARCHAR';
  if (isListColumn(col)) return 'LIST';
  if (col instanceof Int32Array) return 'INTEGER';
  if (col instanceof BooleanColumn) return 'BOOLEAN';
  if (col instanceof Uint8Array) return 'UTINYINT';
  return 'DOUBLE';
}

/**
 * Label columns (tiers, segments, cluster names: a few distinct values) travel as integer codes into a list of
 * their values, turned back into text by the COPY: one string per distinct value crosses into DuckDB instead of one
 * per row (a third of the time of a score table). A column is coded when the first chunk holds at most
 * `DICT_MAX` distinct values and each repeats 4 times on average; past `DICT_MAX` it is turned back into text.
 */
const DICT_MAX = 4096;

/** One column of the staging table: a flat table column, or a list column's item counts or one field at one position. */
interface ColumnPlan {
  type: ParquetType;
  /** value -> code (1-based list index) while the column is coded; null for a plain column. */
  dict: Map<string, number> | null;
  values: string[];
}

function planColumn(col: Column, type: ParquetType): ColumnPlan {
  if (!Array.isArray(col)) return { type, dict: null, values: [] };
  const seen = new Set<string>();
  for (const s of col) {
    seen.add(s);
    if (seen.size > DICT_MAX) break;
  }
  const coded = seen.size <= DICT_MAX && seen.size * 4 <= col.length;
  return { type, dict: coded ? new Map() : null, values: [] };
}

/**
 * How a table column is staged: a flat column is one staging column; a list column is its counts (UTINYINT) and
 * one staging column per position and field (text fields coded like labels: a reason's feature and direction are
 * a few dozen values), put back together by the COPY as `[struct_pack(...), ...][1:count]`.
 */
type ColumnLayout =
  | { kind: 'flat'; at: number }
  | { kind: 'list'; fields: readonly ListField[]; counts: number; slots: number[][] };

/** The staging columns of a chunk's columns under a layout, in staging order; a list narrower than the layout is padded with empty positions. */
function stagingColumns(layouts: ColumnLayout[], cols: WritableColumn[], names: string[], rows: number): Column[] {
  const out: Column[] = [];
  layouts.forEach((l, i) => {
    const c = cols[i];
    if (l.kind === 'flat') {
      out.push(c as Column);
      return;
    }
    const list = c as ListColumn;
    if (list.slots.length > l.slots.length) throw internalError(`list column "${names[i]}" has ${list.slots.length} positions, more than the ${l.slots.length} of the first chunk`);
    if (list.fields.length !== l.fields.length || list.fields.some((f, k) => f.name !== l.fields[k].name || f.type !== l.fields[k].type)) {
      throw internalError(`list column "${names[i]}" has fields ${JSON.stringify(list.fields)}, the first chunk ${JSON.stringify(l.fields)}`);
    }
    out.push(list.counts);
    for (let p = 0; p < l.slots.length; p++) {
      for (let f = 0; f < l.fields.length; f++) out.push(list.slots[p]?.[f] ?? (l.fields[f].type === 'VARCHAR' ? new Array<string>(rows).fill('') : new Float64Array(rows).fill(NaN)));
    }
  });
  return out;
}

/**
 * The codes of a chunk of a coded column (0 for '', NULL), growing its dictionary; null when the chunk would take
 * it past DICT_MAX values (the dictionary is then left as it was, holding only the codes already stored).
 */
function codesOf(plan: ColumnPlan, col: string[]): Int32Array | null {
  const dict = plan.dict as Map<string, number>;
  const before = plan.values.length;
  const codes = new Int32Array(col.length);
  for (let i = 0; i < col.length; i++) {
    const s = col[i];
    if (s === '') continue;
    let code = dict.get(s);
    if (code === undefined) {
      if (plan.values.length === DICT_MAX) {
        for (const v of plan.values.splice(before)) dict.delete(v);
        return null;
      }
      plan.values.push(s);
      code = plan.values.length;
      dict.set(s, code);
    }
    codes[i] = code;
  }
  return codes;
}

/**
 * Copies rows [from, from + n) of `col` into a fresh chunk vector. NULL where the files converted from CSV had
 * an empty cell: NaN and the empty string (so readTable gives NaN and '' back, as before), and code 0 of a coded
 * column; -0 is written as 0 (String(-0) is "0"). Valid values are set before the NULLs: a fresh vector has no
 * validity mask, and setting a value valid is free until the first NULL creates one. A BOOLEAN takes true for
 * anything but 0.
 */
function fillVector(vec: DuckDBVector, col: Column, from: number, n: number, nullCode: boolean, boolean: boolean): void {
  const nulls: number[] = [];
  if (Array.isArray(col)) {
    for (let i = 0; i < n; i++) {
      const s = col[from + i];
      if (s === '') nulls.push(i);
      else vec.setItem(i, s);
    }
  } else if (boolean) {
    const b = col as Uint8Array;
    for (let i = 0; i < n; i++) vec.setItem(i, b[from + i] !== 0);
  } else {
    const x = col as Float64Array | Int32Array | Uint8Array;
    // straight into the vector's typed array when it has one (a fresh vector: no mask, every value valid until a NULL)
    const raw = vectorItems(vec, n);
    if (raw) {
      const items = raw.items;
      for (let i = 0; i < n; i++) {
        const v = x[from + i];
        if (Number.isNaN(v) || (nullCode && v === 0)) nulls.push(i);
        else items[i] = v === 0 ? 0 : v;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const v = x[from + i];
        if (Number.isNaN(v) || (nullCode && v === 0)) nulls.push(i);
        else vec.setItem(i, v === 0 ? 0 : v);
      }
    }
  }
  for (const i of nulls) vec.setItem(i, null);
  vec.flush();
}

const PART_ROWS = 122_880;

/** `CAST(['a', 'b'] AS VARCHAR[])`: a coded column's values, indexed by its codes. */
function valuesListSql(values: string[]): string {
  return `CAST([${values.map(quoteLiteral).join(', ')}] AS VARCHAR[])`;
}

/** `{"key": 'value', ...}` for COPY's KV_METADATA. */
function kvMetadataSql(metadata: Record<string, string>): string {
  return `{${Object.entries(metadata).map(([k, v]) => `${quoteIdent(k)}: ${quoteLiteral(v)}`).join(', ')}}`;
}

async function openParquetWriter(path: string, names: string[], metadata: Record<string, string>, partRows: number): Promise<TableWriter> {
  for (const [k, v] of Object.entries(metadata)) {
    if (k === '' || typeof v !== 'string') throw internalError(`Parquet metadata needs non-empty keys and text values, got ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  }
  if (!Number.isInteger(partRows) || partRows < 1) throw internalError(`partRows must be a positive whole number, got ${partRows}`);
  const tmp = tempPathFor(path);
  const db = await openDuckDB();
  // One thread: every thread of a COPY holds row groups of its own in memory. With two, joining the parts was the
  // peak of a 910k-user score run (1.14 GB RSS); with one the run peaks at 763 MB, in the same wall time (12.6 s at
  // load 3: Node's thread is the busy one, and the file reader has its own DuckDB).
  await db.conn.run('SET threads = 1');
  // Staging columns are c0, c1, ... in the table (no quoting of odd names there); the COPY names them.
  const stored = (i: number): string => `c${i}`;
  let layouts: ColumnLayout[] | null = null;
  let kinds: ColumnKind[] = [];
  let plans: ColumnPlan[] | null = null;
  let appender: DuckDBAppender | null = null;
  let data: DuckDBDataChunk | null = null;
  let dataKinds = '';
  let open = true;
  let staged = 0;
  const parts: string[] = [];
  // The COPY of the last full part, running on its own connection while this one stages the next rows.
  let copier: DuckDBConnection | null = null;
  let copying: Promise<void> = Promise.resolve();
  const storedType = (p: ColumnPlan): ParquetType => (p.dict ? 'INTEGER' : p.type);
  const createTable = async (ps: ColumnPlan[]): Promise<DuckDBAppender> => {
    await db.conn.run(`CREATE TABLE out_rows (${ps.map((p, i) => `${stored(i)} ${storedType(p)}`).join(', ')})`);
    return db.conn.createAppender('out_rows');
  };
  /** The first chunk fixes the layout and the staging columns' types (as the first chunk's arrays fixed the CSV's column types before). */
  const plan = (cols: WritableColumn[], rows: number): void => {
    kinds = cols.map(columnKind);
    let at = 0;
    layouts = cols.map((c): ColumnLayout => {
      if (!isListColumn(c)) return { kind: 'flat', at: at++ };
      const counts = at++;
      return { kind: 'list', fields: c.fields, counts, slots: c.slots.map(() => c.fields.map(() => at++)) };
    });
    const types: ParquetType[] = [];
    layouts.forEach((l, i) => {
      if (l.kind === 'flat') types.push(kinds[i] as ParquetType);
      else types.push('UTINYINT', ...l.slots.flatMap(() => l.fields.map((f) => f.type)));
    });
    plans = stagingColumns(layouts, cols, names, rows).map((c, i) => planColumn(c, types[i]));
  };
  /** A coded column past DICT_MAX values becomes text: the rows so far are decoded in place, then the appender reopens on the new type. */
  const uncode = async (i: number): Promise<void> => {
    const p = (plans as ColumnPlan[])[i];
    (appender as DuckDBAppender).closeSync();
    await db.conn.run(`ALTER TABLE out_rows ALTER ${stored(i)} SET DATA TYPE VARCHAR USING ${valuesListSql(p.values)}[${stored(i)}]`);
    p.dict = null;
    p.values = [];
    appender = await db.conn.createAppender('out_rows');
  };
  /** A staging column as its text or numbers (a coded column decoded). */
  const valueSql = (ps: ColumnPlan[], i: number): string => (ps[i].dict ? `${valuesListSql(ps[i].values)}[${stored(i)}]` : stored(i));
  /** A table column from its staging columns: itself, or a list column's records, cut to each row's count. */
  const columnSql = (ps: ColumnPlan[], l: ColumnLayout): string => {
    if (l.kind === 'flat') return valueSql(ps, l.at);
    if (l.slots.length === 0) return `CAST([] AS STRUCT(${l.fields.map((f) => `${quoteIdent(f.name)} ${f.type}`).join(', ')})[])`;
    const items = l.slots.map((slot) => `struct_pack(${l.fields.map((f, k) => `${quoteIdent(f.name)} := ${valueSql(ps, slot[k])}`).join(', ')})`);
    return `[${items.join(', ')}][1:${stored(l.counts)}]`;
  };
  /** The staged rows of `table` as the file's columns: coded columns decoded, lists assembled, stored names replaced by the table's. */
  const selectSql = (ps: ColumnPlan[], table = 'out_rows'): string =>
    `SELECT ${(layouts as ColumnLayout[]).map((l, i) => `${columnSql(ps, l)} AS ${quoteIdent(names[i])}`).join(', ')} FROM ${table}`;
  /**
   * Writes the staged rows out as the next part and starts an empty table. The part's COPY runs on a second
   * connection while this one stages the next rows (on 876,769 users, four COPYs of 1.0-1.6 s each had the scoring
   * wait); the one before is awaited first, so at most two parts are in memory. Dropping a part's table frees it.
   */
  const flushPart = async (ps: ColumnPlan[]): Promise<void> => {
    (appender as DuckDBAppender).closeSync();
    await copying;
    // a temporary name of its own, so removeStaleTemps clears the parts of a killed writer too
    const part = tempPathFor(path);
    const table = `out_part_${parts.length}`;
    parts.push(part);
    await db.conn.run(`ALTER TABLE out_rows RENAME TO ${table}`);
    const c = (copier ??= await db.connect());
    const sql = `COPY (${selectSql(ps, table)}) TO ${quoteLiteral(part)} (FORMAT parquet, COMPRESSION zstd)`;
    copying = c.run(sql).then(async () => {
      await c.run(`DROP TABLE ${table}`);
    });
    // awaited at the next part or at close; a failure meanwhile must not go unhandled
    copying.catch(() => {});
    appender = await createTable(ps);
    staged = 0;
  };
  const removeParts = async (): Promise<void> => {
    await Promise.all(parts.map((p) => rm(p, { force: true }).catch(() => {})));
  };
  const release = (): void => {
    if (!open) return;
    open = false;
    // an appender still open (abort, or a failed close) drops its buffered rows before its connection closes
    try {
      appender?.clear();
      appender?.closeSync();
    } catch {
      // closing is all that is left to do; the database closes next either way
    }
    db.close();
  };
  return {
    async append(chunk) {
      const cols = chunkColumns(chunk, names);
      if (!plans) {
        plan(cols, chunk.rows);
        appender = await createTable(plans as unknown as ColumnPlan[]);
      }
      const ps = plans as unknown as ColumnPlan[];
      cols.forEach((c, i) => {
        const k = columnKind(c);
        if ((k === 'VARCHAR') !== (kinds[i] === 'VARCHAR') || (k === 'LIST') !== (kinds[i] === 'LIST')) throw internalError(`column "${names[i]}" was ${kinds[i]} in the first chunk, ${k} in a later one`);
      });
      try {
        const flat = stagingColumns(layouts as ColumnLayout[], cols, names, chunk.rows);
        const values: Column[] = [];
        for (let i = 0; i < flat.length; i++) {
          if (ps[i].dict) {
            const codes = codesOf(ps[i], flat[i] as string[]);
            if (codes) {
              values.push(codes);
              continue;
            }
            await uncode(i);
          }
          values.push(flat[i]);
        }
        // One data chunk is reused (reset clears its validity masks and strings): a chunk per 2,048 rows would hold
        // its native memory until the garbage collector finalizes it, hundreds of MB for 300k rows.
        const types = ps.map(storedType).join();
        if (!data || dataKinds !== types) {
          data = DuckDBDataChunk.create(ps.map((p) => PARQUET_TYPES[storedType(p)]));
          dataKinds = types;
        }
        for (let from = 0; from < chunk.rows; from += VECTOR_SIZE) {
          const n = Math.min(VECTOR_SIZE, chunk.rows - from);
          data.reset();
          data.rowCount = n;
          for (let c = 0; c < values.length; c++) fillVector(data.getColumnVector(c), values[c], from, n, ps[c].dict !== null, storedType(ps[c]) === 'BOOLEAN');
          (appender as DuckDBAppender).appendDataChunk(data);
          staged += n;
          if (staged >= partRows) await flushPart(ps);
        }
      } catch (e) {
        throw writeError(path, e);
      }
    },
    async close() {
      try {
        // No chunk at all: a header-only table of text columns, as the CSV conversion made it.
        if (!plans) {
          kinds = names.map(() => 'VARCHAR');
          layouts = names.map((_, i) => ({ kind: 'flat', at: i }));
          plans = names.map(() => ({ type: 'VARCHAR' as const, dict: null, values: [] }));
          appender = await createTable(plans);
        }
        const ps = plans as unknown as ColumnPlan[];
        const kv = Object.keys(metadata).length ? `, KV_METADATA ${kvMetadataSql(metadata)}` : '';
        let source: string | null;
        if (parts.length === 0) {
          (appender as DuckDBAppender).closeSync();
          appender = null;
          source = selectSql(ps);
        } else {
          if (staged > 0) await flushPart(ps);
          await copying;
          (appender as DuckDBAppender).closeSync();
          appender = null;
          // The parts' row groups, copied as they are under one footer (1M scored users: 0.05 s, where a COPY that
          // decoded and encoded them again took 1.6 s on two threads). Footers it cannot join are joined by a COPY
          // that reads the parts in order (DuckDB keeps the files' order and their rows' order).
          source = (await concatParquet(parts, tmp, metadata)) === null ? null : `SELECT * FROM read_parquet([${parts.map(quoteLiteral).join(', ')}])`;
        }
        if (source !== null) {
          // two threads for the last COPY: nothing else runs by then (joining a 1M-user score's parts: 2.4 s with one, 1.6 s with two)
          await db.conn.run('SET threads = 2');
          await db.conn.run(`COPY (${source}) TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION zstd${kv})`);
        }
      } catch (e) {
        await rm(tmp, { force: true }).catch(() => {});
        throw writeError(path, e);
      } finally {
        await copying.catch(() => {});
        release();
        await removeParts();
      }
      await publish(tmp, path).catch(async (e: unknown) => {
        await rm(tmp, { force: true }).catch(() => {});
        throw e;
      });
    },
    async abort() {
      // a part's COPY still running finishes (or fails) before its database closes
      await copying.catch(() => {});
      release();
      await removeParts();
      await rm(tmp, { force: true }).catch(() => {});
    },
  };
}

/** The key-value metadata inside a Parquet file (`TableWriteOptions.metadata`); a CSV has none: {}. */
export async function readTableMetadata(path: string): Promise<Record<string, string>> {
  if (tableFormat(path) === 'csv') return {};
  const info = await stat(path).catch(() => null);
  if (!info) throw new CohortlabError('FILE_NOT_FOUND', `file "${path}" does not exist.`, { path });
  return withDuckDB(async (conn) => {
    const kv = await queryColumns(conn, `SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata(${quoteLiteral(path)})`);
    const out: Record<string, string> = {};
    (kv.columns[0] as string[]).forEach((k, i) => (out[k] = (kv.columns[1] as string[])[i]));
    return out;
  });
}
