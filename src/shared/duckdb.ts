import { DuckDBArrayValue, DuckDBInstance, DuckDBListValue, DuckDBStructValue, DuckDBTypeId, type DuckDBConnection, type DuckDBDataChunk, type DuckDBResult, type DuckDBValue, type DuckDBVector } from '@duckdb/node-api';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CohortlabError, internalError } from './errors.js';

/**
 * DuckDB access shared by ingest, features and table I/O. Every database is a fresh in-memory
 * instance pinned to UTC; numbers leave DuckDB column-wise into typed arrays (5-10x faster than
 * row objects), and BIGINTs are cast to DOUBLE in SQL so no `bigint` reaches the numeric code.
 */
export interface DuckDB {
  conn: DuckDBConnection;
  /** Another connection to the same database, for a statement that runs while `conn` does other work; closed with it. */
  connect(): Promise<DuckDBConnection>;
  close(): void;
}

/** Limits of the embedded engine: past `memoryLimit` DuckDB spills to `tempDir` instead of failing. */
export interface DuckDBLimits {
  /** e.g. "2GB", "512MB" (DuckDB's default: 80% of RAM). */
  memoryLimit?: string;
  /**
   * Folder for spill files (default: the system temp folder, never DuckDB's `.tmp` in the working folder).
   * Each database spills into its own subfolder there, created on the first spill and removed when it closes, so
   * two processes sharing a folder never delete each other's files (DuckDB removes every `duckdb_temp_*`
   * file of a folder it did not create).
   */
  tempDir?: string;
  /** Worker threads (DuckDB's default: one per core). Each thread needs its own buffers, so a small limit on many cores may need fewer threads. */
  threads?: number;
}

/** The same settings in the config file's `engine` section. */
export interface DuckDBConfigLimits {
  memory_limit?: string;
  temp_dir?: string;
  threads?: number;
}

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i;

/** Whether `value` is a positive size DuckDB takes as a memory limit, such as "2GB" or "512 MiB". */
export function isMemorySize(value: string): boolean {
  const m = SIZE_RE.exec(value.trim());
  return m !== null && Number(m[1]) > 0;
}

/** Checks a size such as "2GB"; `what` names the flag, variable or config key in the message. */
export function checkMemoryLimit(value: string, what: string): string {
  if (!isMemorySize(value)) throw new CohortlabError('BAD_ARGUMENT', `${what} must be a size such as 2GB or 512MB, got "${value}".`);
  return value.trim();
}

/**
 * The limits in force: flags first, then the environment (COHORTLAB_DUCKDB_MEMORY_LIMIT,
 * COHORTLAB_DUCKDB_TEMP_DIR), then the config's `engine` section. A bad size names where it came from.
 */
export function duckdbLimits(explicit: DuckDBLimits = {}, env: NodeJS.ProcessEnv = process.env, config: DuckDBConfigLimits = {}): DuckDBLimits {
  const [memoryLimit, from] =
    explicit.memoryLimit !== undefined ? [explicit.memoryLimit, '--memory-limit'] :
    env.COHORTLAB_DUCKDB_MEMORY_LIMIT ? [env.COHORTLAB_DUCKDB_MEMORY_LIMIT, 'COHORTLAB_DUCKDB_MEMORY_LIMIT'] :
    [config.memory_limit, 'the config\'s engine.memory_limit'];
  const tempDir = explicit.tempDir ?? (env.COHORTLAB_DUCKDB_TEMP_DIR || undefined) ?? config.temp_dir;
  if (tempDir !== undefined && tempDir.trim() === '') throw new CohortlabError('BAD_ARGUMENT', '--temp-dir must name a folder, got an empty string.');
  const threads = explicit.threads ?? (env.COHORTLAB_DUCKDB_THREADS ? checkThreads(env.COHORTLAB_DUCKDB_THREADS, 'COHORTLAB_DUCKDB_THREADS') : config.threads);
  return { memoryLimit: memoryLimit === undefined ? undefined : checkMemoryLimit(memoryLimit, from), tempDir, ...(threads === undefined ? {} : { threads }) };
}

/** Checks a thread count such as "2"; `what` names the flag or variable in the message. */
export function checkThreads(value: string, what: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n < 1 || n > 1024) throw new CohortlabError('BAD_ARGUMENT', `${what} must be a whole number of threads from 1 to 1024, got "${value}".`);
  return n;
}

/** A fresh spill subfolder name under `base` (created if missing; DuckDB creates the subfolder when it first spills and removes it on close). */
function spillFolder(base: string): string {
  try {
    mkdirSync(base, { recursive: true });
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new CohortlabError('BAD_ARGUMENT', `the DuckDB spill folder "${base}" cannot be created (${reason}); pass --temp-dir (or COHORTLAB_DUCKDB_TEMP_DIR) naming a writable folder.`, { path: base });
  }
  return join(base, `cohortlab-spill-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Spill folders of the databases still open. DuckDB removes a folder when its database closes; a process that exits
 * without closing one (an error that ends the command) would leave it behind, gigabytes after a large run, so they are
 * removed at exit.
 */
const openSpills = new Set<string>();
let removeAtExit = false;

function trackSpill(folder: string): void {
  openSpills.add(folder);
  if (removeAtExit) return;
  removeAtExit = true;
  process.once('exit', () => {
    for (const f of openSpills) rmSync(f, { recursive: true, force: true });
  });
}

export async function openDuckDB(limits: DuckDBLimits = duckdbLimits()): Promise<DuckDB> {
  const spill = spillFolder(limits.tempDir ?? tmpdir());
  trackSpill(spill);
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run("SET TimeZone = 'UTC'");
  if (limits.memoryLimit) await conn.run(`SET memory_limit = ${quoteLiteral(limits.memoryLimit)}`);
  await conn.run(`SET temp_directory = ${quoteLiteral(spill)}`);
  if (limits.threads !== undefined) await conn.run(`SET threads = ${Math.trunc(limits.threads)}`);
  const others: DuckDBConnection[] = [];
  return {
    conn,
    connect: async () => {
      const c = await instance.connect();
      others.push(c);
      return c;
    },
    close: () => {
      for (const c of others) c.closeSync();
      conn.closeSync();
      instance.closeSync();
      openSpills.delete(spill);
    },
  };
}

export async function withDuckDB<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const db = await openDuckDB();
  try {
    return await fn(db.conn);
  } finally {
    db.close();
  }
}

export type SqlParams = Record<string, DuckDBValue>;

export interface ColumnResult {
  names: string[];
  /**
   * DOUBLE/FLOAT/INTEGER/BOOLEAN columns as Float64Array (NULL -> NaN); LIST/ARRAY/STRUCT columns as JSON text
   * (jsonText); everything else as string[] (NULL -> '').
   */
  columns: (Float64Array | string[])[];
  rows: number;
}

const NUMERIC_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.DOUBLE, DuckDBTypeId.FLOAT, DuckDBTypeId.INTEGER, DuckDBTypeId.SMALLINT, DuckDBTypeId.TINYINT,
  DuckDBTypeId.UINTEGER, DuckDBTypeId.USMALLINT, DuckDBTypeId.UTINYINT, DuckDBTypeId.BOOLEAN,
]);

/** A fixed-width numeric vector's values and validity mask, as the vector classes hold them (not public API). */
export interface VectorItems {
  items: Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array;
  /** null when every value is valid (no mask). */
  validity: { itemValid(i: number): boolean } | null;
}

/**
 * The typed array behind a numeric DuckDB vector of `n` rows, read or written in one go instead of an item call
 * per value (millions of values per score run); null when the vector does not hold one as expected (another
 * version of @duckdb/node-api), so callers fall back to getItem/setItem.
 */
export function vectorItems(vec: DuckDBVector, n: number): VectorItems | null {
  const v = vec as unknown as { items?: unknown; validity?: { data?: unknown; itemValid?: unknown } };
  const items = v.items;
  const typed = items instanceof Float64Array || items instanceof Float32Array || items instanceof Int32Array || items instanceof Int16Array || items instanceof Int8Array || items instanceof Uint32Array || items instanceof Uint16Array || items instanceof Uint8Array;
  if (!typed || items.length !== n || !v.validity || typeof v.validity.itemValid !== 'function') return null;
  return { items, validity: v.validity.data ? (v.validity as VectorItems['validity']) : null };
}

const NESTED_TYPES = new Set<DuckDBTypeId>([DuckDBTypeId.LIST, DuckDBTypeId.ARRAY, DuckDBTypeId.STRUCT]);

/** A nested value as plain JSON data: lists as arrays, structs as objects (fields in order), NaN and infinities as null, BIGINTs as numbers. */
function plainValue(v: DuckDBValue): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof DuckDBListValue || v instanceof DuckDBArrayValue) return v.items.map(plainValue);
  if (v instanceof DuckDBStructValue) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v.entries)) o[k] = plainValue(x);
    return o;
  }
  return String(v);
}

/**
 * A LIST/STRUCT cell as JSON text, as JSON.stringify writes it (`[{"feature":"x","value":546}]`: the text a CSV and
 * an older Parquet file hold in the same column, e.g. the score table's `reasons`); NULL as ''.
 */
function jsonText(v: DuckDBValue): string {
  return v === null ? '' : JSON.stringify(plainValue(v));
}

/**
 * Text cells repeat (tiers, segments, labels): each column keeps one string per distinct value, up to INTERN_LIMIT
 * values (past it, e.g. ids, cells are kept as read). A 990,516-row score table held 12 million label strings otherwise.
 */
const INTERN_LIMIT = 4096;
type Interners = (Map<string, string> | null)[];

function interned(pool: Interners, c: number, v: string): string {
  const m = pool[c];
  if (!m) return v;
  const e = m.get(v);
  if (e !== undefined) return e;
  if (m.size >= INTERN_LIMIT) pool[c] = null;
  else m.set(v, v);
  return v;
}

function toColumns(names: string[], types: DuckDBTypeId[], chunks: DuckDBDataChunk[], rows: number, pool: Interners = names.map(() => new Map())): ColumnResult {
  const columns = names.map((_, c) => {
    const numeric = NUMERIC_TYPES.has(types[c]);
    const isBool = types[c] === DuckDBTypeId.BOOLEAN;
    const out: Float64Array | string[] = numeric ? new Float64Array(rows) : new Array<string>(rows);
    let at = 0;
    for (const chunk of chunks) {
      const vec = chunk.getColumnVector(c);
      const n = chunk.rowCount;
      const raw = numeric && !isBool ? vectorItems(vec, n) : null;
      if (raw) {
        // a whole vector at once, NULLs (NaN) only where its validity mask says so
        const arr = out as Float64Array;
        arr.set(raw.items, at);
        if (raw.validity) for (let i = 0; i < n; i++) if (!raw.validity.itemValid(i)) arr[at + i] = NaN;
      } else if (numeric) {
        const arr = out as Float64Array;
        for (let i = 0; i < n; i++) {
          const v = vec.getItem(i) as number | boolean | null;
          arr[at + i] = v === null ? NaN : isBool ? (v ? 1 : 0) : (v as number);
        }
      } else {
        const arr = out as string[];
        if (NESTED_TYPES.has(types[c])) for (let i = 0; i < n; i++) arr[at + i] = jsonText(vec.getItem(i));
        else {
          for (let i = 0; i < n; i++) {
            const v = vec.getItem(i);
            arr[at + i] = v === null ? '' : interned(pool, c, String(v));
          }
        }
      }
      at += n;
    }
    return out;
  });
  return { names, columns, rows };
}

/** Blocks of at least `blockRows` rows (whole DuckDB vectors) from a result. */
async function* blocksOf(result: DuckDBResult, blockRows: number): AsyncGenerator<ColumnResult> {
  const names = result.columnNames();
  const types = result.columnTypes().map((t) => t.typeId);
  let chunks: DuckDBDataChunk[] = [];
  let rows = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    chunks.push(chunk);
    rows += chunk.rowCount;
    if (rows >= blockRows) {
      yield toColumns(names, types, chunks, rows);
      chunks = [];
      rows = 0;
    }
  }
  if (rows > 0) yield toColumns(names, types, chunks, rows);
}

/**
 * A whole result, each DuckDB chunk made JavaScript columns as it comes (no chunk is held past its turn), joined at the
 * end; text cells interned per column.
 */
async function wholeResult(result: DuckDBResult, names: string[], types: DuckDBTypeId[]): Promise<ColumnResult> {
  const pool: Interners = names.map(() => new Map());
  const parts: ColumnResult[] = [];
  let rows = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    parts.push(toColumns(names, types, [chunk], chunk.rowCount, pool));
    rows += chunk.rowCount;
  }
  if (parts.length === 0) return toColumns(names, types, [], 0);
  if (parts.length === 1) return parts[0];
  const columns = names.map((_, c) => {
    if (parts[0].columns[c] instanceof Float64Array) {
      const out = new Float64Array(rows);
      let at = 0;
      for (const p of parts) {
        out.set(p.columns[c] as Float64Array, at);
        at += p.rows;
      }
      return out;
    }
    const out = new Array<string>(rows);
    let at = 0;
    for (const p of parts) {
      const col = p.columns[c] as string[];
      for (let i = 0; i < col.length; i++) out[at + i] = col[i];
      at += p.rows;
    }
    return out;
  });
  return { names, columns, rows };
}

/**
 * Runs a query and returns its columns; cast BIGINT/DECIMAL/TIMESTAMP to DOUBLE or VARCHAR in the SQL.
 * `stream`: the rows are taken as DuckDB makes them, so it never holds the whole result (a 990,516-row score table:
 * 1.3 GB peak RSS against 2.1 GB); only on a connection that runs nothing else meanwhile, as the next query on a
 * connection cuts a streamed result short (readTable's own connection, not an event store's shared one).
 */
export async function queryColumns(conn: DuckDBConnection, sql: string, params?: SqlParams, opts: { stream?: boolean } = {}): Promise<ColumnResult> {
  const result = opts.stream ? await conn.stream(sql, params) : await conn.run(sql, params);
  return wholeResult(result, result.columnNames(), result.columnTypes().map((t) => t.typeId));
}

/**
 * Streams a query's result in blocks of about `blockRows` rows (whole DuckDB vectors), so a caller
 * can process millions of rows with bounded memory.
 */
export function streamColumns(conn: DuckDBConnection, sql: string, params: SqlParams | undefined, blockRows: number): AsyncGenerator<ColumnResult> {
  return (async function* () {
    yield* blocksOf(await conn.stream(sql, params), blockRows);
  })();
}

/** Rows as plain objects, for small results only (reports, examples). */
export async function queryRows(conn: DuckDBConnection, sql: string, params?: SqlParams): Promise<Record<string, unknown>[]> {
  const reader = await conn.runAndReadAll(sql, params);
  return reader.getRowObjectsJson() as Record<string, unknown>[];
}

/** Quotes an identifier that cannot be bound (a mapped column name). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a string literal for the few places DuckDB takes no parameter (table-function file paths in COPY). */
export function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
