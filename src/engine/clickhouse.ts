import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { Readable } from 'node:stream';
import type { ColumnResult } from '../shared/duckdb.js';
import { CohortlabError, internalError } from '../shared/errors.js';
import { CLICKHOUSE } from './dialect.js';

/**
 * A small ClickHouse client over HTTP (@clickhouse/client), for the warehouse engine. Checked against
 * ClickHouse 18.16 (Debian's): results come back as TabSeparatedWithNamesAndTypes (the JSON*EachRow
 * formats with names and types are newer), numbers column-wise into Float64Array (NULL and nan -> NaN),
 * text into string[] (NULL -> ''). Query parameters cannot be bound on 18.16: queries inline their
 * literals through the dialect's quoting (src/engine/dialect.ts; `quoteString`/`quoteIdentifier` below).
 *
 * Verified on 18.16.1 with @clickhouse/client 1.23 (docs/clickhouse.md): the client sends no settings of
 * its own (query_id, Basic auth, user agent; no compression unless asked); `query_params` fail ("Unknown
 * setting param_x"); JSONCompactEachRow* and JSONStringsEachRow are unknown formats, JSONEachRow,
 * JSONCompact and TabSeparated[WithNamesAndTypes] work; an error after the first rows were sent arrives
 * as a `Code: N, e.displayText() = DB::Exception: ...` line inside an HTTP 200 body, which is detected
 * here (otherwise a one-column result would silently end early with the message as its last value).
 */
export interface ClickHouseOptions {
  /** HTTP endpoint, e.g. http://127.0.0.1:8123 */
  url: string;
  username?: string;
  password?: string;
  database?: string;
}

export interface ClickHouse {
  /** `settings` apply to this query only (e.g. readonly: 1 for a config's SQL source). */
  query(sql: string, settings?: QuerySettings): Promise<ColumnResult>;
  /** The result in blocks of about `blockRows` rows, read from the HTTP stream as it arrives. */
  stream(sql: string, blockRows: number, settings?: QuerySettings): AsyncGenerator<ColumnResult>;
  command(sql: string): Promise<void>;
  /** Inserts TabSeparated text (a stream of lines) into a table; settings such as insert_distributed_sync apply to this insert. */
  insertTsv(table: string, data: Readable, settings?: Record<string, string | number>): Promise<void>;
  /**
   * Inserts columns (all of one length) into `table` (`name` or `db.name`), streamed as TabSeparated:
   * numbers as written by JS (NaN -> nan, +-Infinity -> +-inf), strings escaped, null -> NULL.
   */
  insertRows(table: string, columns: Record<string, InsertColumn>, settings?: Record<string, string | number>): Promise<number>;
  /** The server's version, e.g. "18.16.1". */
  version(): Promise<string>;
  close(): Promise<void>;
}

export type QuerySettings = Record<string, string | number>;

export type InsertColumn = Float64Array | readonly number[] | readonly (string | null)[];

/** A ClickHouse string literal (backslashes and quotes escaped): safe to inline any text. */
export const quoteString = (s: string): string => CLICKHOUSE.quoteString(s);
/** A ClickHouse identifier in backquotes (backslashes and backquotes escaped); `db.table` is quoted per part. */
export const quoteIdentifier = (s: string): string => CLICKHOUSE.quoteIdent(s);
const quoteTable = (t: string) => t.split('.').map(quoteIdentifier).join('.');

/** A line ClickHouse writes into an already started (HTTP 200) body when the query fails mid-way; 18.16 and newer spellings. */
const MIDSTREAM_ERROR = /^Code: \d+(, e\.displayText\(\) = |\. )DB::Exception/;

/** TabSeparated escaping of one text field. */
function escapeTsv(s: string): string {
  return s.replace(/[\\\t\n\r\0]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' })[c]!);
}

function tsvNumber(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  return String(x);
}

const NUMERIC = /^(Nullable\()?(U?Int(8|16|32|64)|Float(32|64)|Decimal.*)\)?$/;

/** Unescapes a TabSeparated field (backslash escapes). */
function unescapeTsv(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(.)/g, (_, c: string) => ({ t: '\t', n: '\n', r: '\r', b: '\b', f: '\f', '0': '\0', "'": "'", '\\': '\\' })[c] ?? c);
}

function parseNumber(s: string): number {
  if (s === '\\N' || s === 'nan' || s === '-nan') return NaN;
  if (s === 'inf' || s === '+inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(s);
}

class Block {
  readonly names: string[];
  readonly numeric: boolean[];
  private cols: (number[] | string[])[];
  constructor(names: string[], types: string[]) {
    this.names = names;
    this.numeric = types.map((t) => NUMERIC.test(t));
    this.cols = names.map(() => []);
  }
  get rows(): number {
    return this.cols[0]?.length ?? 0;
  }
  add(line: string): void {
    const fields = line.split('\t');
    if (fields.length !== this.names.length) throw new CohortlabError('ENGINE_FAILED', `ClickHouse returned a row of ${fields.length} fields for ${this.names.length} columns`, { detail: `row: ${line.slice(0, 300)}` });
    for (let c = 0; c < fields.length; c++) {
      if (this.numeric[c]) (this.cols[c] as number[]).push(parseNumber(fields[c]));
      else (this.cols[c] as string[]).push(fields[c] === '\\N' ? '' : unescapeTsv(fields[c]));
    }
  }
  take(): ColumnResult {
    const out: ColumnResult = { names: this.names, columns: this.cols.map((c, i) => (this.numeric[i] ? Float64Array.from(c as number[]) : (c as string[]))), rows: this.rows };
    this.cols = this.names.map(() => []);
    return out;
  }
}

function wrapError(e: unknown, url: string, sql: string, when = ''): never {
  const msg = e instanceof Error ? e.message : String(e);
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|socket hang up|Timeout/i.test(msg)) {
    throw new CohortlabError('BAD_ARGUMENT', `cannot reach ClickHouse at ${url} (${msg.split('\n')[0]}); check --clickhouse-url and that the server is running.`, { cause: e });
  }
  const first = msg.split('\n')[0].replace(/, e\.what\(\) = DB::Exception$/, '');
  if (/Code: (60|81)\b/.test(msg)) throw new CohortlabError('TABLE_NOT_FOUND', `ClickHouse at ${url}: ${first}`, { cause: e });
  if (/Code: (516|192|193|194|195|497)\b|Authentication|password/i.test(msg)) throw new CohortlabError('BAD_ARGUMENT', `ClickHouse at ${url} refused the credentials: ${first}; check --clickhouse-user and $COHORTLAB_CLICKHOUSE_PASSWORD.`, { cause: e });
  // The query goes to `detail` (the log, COHORTLAB_DEBUG=1), never into the message a client or a terminal shows.
  throw new CohortlabError('ENGINE_FAILED', `ClickHouse at ${url} failed${when ? ` ${when}` : ''}: ${first}`, { cause: e, detail: `query: ${sql.slice(0, 2000)}` });
}

/**
 * ClickHouse parses at most max_query_size bytes of a statement (256 KiB by default); a scoring statement with many
 * trees (score-sql.ts, about 2 KB per tree) can be longer, so a long statement raises the limit for itself only.
 */
export const CLICKHOUSE_DEFAULT_MAX_QUERY_SIZE = 262_144;

function bigQuerySettings(sql: string): { clickhouse_settings?: never } {
  const bytes = Buffer.byteLength(sql);
  return bytes > CLICKHOUSE_DEFAULT_MAX_QUERY_SIZE / 2 ? { clickhouse_settings: { max_query_size: String(Math.max(CLICKHOUSE_DEFAULT_MAX_QUERY_SIZE, 2 * bytes)) } as never } : {};
}

/** A long statement's max_query_size together with the caller's own settings (e.g. readonly for a SQL source). */
function querySettings(sql: string, settings?: QuerySettings): { clickhouse_settings?: never } {
  const big = bigQuerySettings(sql).clickhouse_settings as Record<string, unknown> | undefined;
  return big || settings ? { clickhouse_settings: { ...(big ?? {}), ...(settings ?? {}) } as never } : {};
}

export async function openClickHouse(opts: ClickHouseOptions): Promise<ClickHouse> {
  let parsed: URL;
  try {
    parsed = new URL(opts.url);
  } catch {
    throw new CohortlabError('BAD_ARGUMENT', `--clickhouse-url "${opts.url}" is not a URL; give e.g. http://127.0.0.1:8123.`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CohortlabError('BAD_ARGUMENT', `--clickhouse-url must be http:// or https://, got "${opts.url}".`);
  const client: ClickHouseClient = createClient({
    url: opts.url,
    username: opts.username ?? 'default',
    password: opts.password ?? '',
    database: opts.database,
    request_timeout: 600_000,
    // Errors are turned into one sentence here; the client's own logger would print them again.
    log: { level: ClickHouseLogLevel.OFF },
  });
  const url = `${parsed.protocol}//${parsed.host}`;

  /** Blocks of the result; with `always`, one (empty) block even when there are no rows, so the columns are known. */
  async function* read(sql: string, blockRows: number, always: boolean, settings?: QuerySettings): AsyncGenerator<ColumnResult> {
    let rs;
    try {
      rs = await client.query({ query: sql, format: 'TabSeparatedWithNamesAndTypes', ...querySettings(sql, settings) });
    } catch (e) {
      wrapError(e, url, sql);
    }
    let names: string[] | null = null;
    let block: Block | null = null;
    let yielded = false;
    for await (const rows of rs.stream() as AsyncIterable<{ text: string }[]>) {
      for (const row of rows) {
        const line = row.text;
        if (names === null) names = line.split('\t').map(unescapeTsv);
        else if (block === null) block = new Block(names, line.split('\t'));
        else {
          if (MIDSTREAM_ERROR.test(line) || (line.includes('DB::Exception') && line.split('\t').length !== names.length)) {
            wrapError(line, url, sql, 'while sending the result');
          }
          block.add(line);
          if (block.rows >= blockRows) {
            yielded = true;
            yield block.take();
          }
        }
      }
    }
    if (!block) throw new CohortlabError('ENGINE_FAILED', `ClickHouse at ${url} answered without column names and types`);
    if (block.rows > 0 || (always && !yielded)) yield block.take();
  }

  return {
    stream: (sql, blockRows, settings) => read(sql, blockRows, false, settings),
    async query(sql, settings) {
      for await (const b of read(sql, Number.MAX_SAFE_INTEGER, true, settings)) return b;
      throw internalError('unreachable: read() yields one block');
    },
    async command(sql) {
      try {
        await client.command({ query: sql, ...bigQuerySettings(sql) });
      } catch (e) {
        wrapError(e, url, sql);
      }
    },
    async insertTsv(table, data, settings = {}) {
      try {
        await client.insert({ table, values: data, format: 'TabSeparated', clickhouse_settings: settings as never });
      } catch (e) {
        wrapError(e, url, `INSERT INTO ${table}`);
      }
    },
    async insertRows(table, columns, settings = {}) {
      const names = Object.keys(columns);
      if (names.length === 0) throw internalError(`insertRows into ${table}: no columns`);
      const rows = columns[names[0]].length;
      for (const n of names) if (columns[n].length !== rows) throw internalError(`insertRows into ${table}: column ${n} has ${columns[n].length} values, ${names[0]} has ${rows}`);
      const cols = names.map((n) => columns[n]);
      function* lines(): Generator<Buffer> {
        const batch = 4096;
        for (let start = 0; start < rows; start += batch) {
          let text = '';
          for (let r = start; r < Math.min(rows, start + batch); r++) {
            for (let c = 0; c < cols.length; c++) {
              const v = cols[c][r];
              text += (c ? '\t' : '') + (v === null ? '\\N' : typeof v === 'number' ? tsvNumber(v) : escapeTsv(v));
            }
            text += '\n';
          }
          yield Buffer.from(text, 'utf8');
        }
      }
      const target = `${quoteTable(table)} (${names.map(quoteIdentifier).join(', ')})`;
      try {
        await client.insert({ table: target, values: Readable.from(lines(), { objectMode: false }), format: 'TabSeparated', clickhouse_settings: settings as never });
      } catch (e) {
        wrapError(e, url, `INSERT INTO ${target}`);
      }
      return rows;
    },
    async version() {
      for await (const b of read('SELECT version() AS v', 1, true)) return (b.columns[0] as string[])[0];
      throw internalError('unreachable: read() yields one block');
    },
    close: () => client.close(),
  };
}
