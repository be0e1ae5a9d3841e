import { basename } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { CohortlabError } from '../shared/errors.js';
import { queryColumns, queryRows, quoteIdent, quoteLiteral } from '../shared/duckdb.js';
import { detectFormat, requireColumns, selectList, type InputFile } from './read.js';
import type { EventConfig, SqlSource } from './types.js';

/**
 * An event source defined as one SELECT over named files (config `source`), for logs that need a
 * join or a computed column (OULAD's day offsets, UCI Online Retail's Quantity * UnitPrice). Each
 * `{name}` placeholder is a file given on the command line; the files are loaded into tables and the
 * SELECT runs over them only: it is parsed first and must be exactly one read-only SELECT that reads
 * no file or table function of its own. Its rows then go through the same checks as a file's rows
 * (empty user ids, unparsable timestamps... counted and shown by row number).
 */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** An `--events` argument: `name=PATH` binds a placeholder explicitly, a plain path binds by its file name. */
export function splitBinding(arg: string): { name?: string; path: string } {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(arg);
  return m ? { name: m[1], path: m[2] } : { path: arg };
}

function globRe(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/**
 * Which file each placeholder reads: `name=PATH` arguments, else the file whose name matches
 * `source.files[name]` (a file name or glob such as "studentRegistration.csv*"), else the only file
 * when there is one placeholder. Every placeholder needs exactly one file and every file a placeholder.
 */
export function bindSourceFiles(args: string[], files: InputFile[], source: SqlSource): Map<string, InputFile> {
  const names = Object.keys(source.files);
  const bound = new Map<string, InputFile>();
  const byPath = new Map(files.map((f) => [f.path, f]));
  const pending: InputFile[] = [];
  args.forEach((a, i) => {
    const { name } = splitBinding(a);
    const f = byPath.get(files[i]?.path) ?? files[i];
    if (name) {
      if (!names.includes(name)) throw new CohortlabError('BAD_ARGUMENT', `--events ${a}: "${name}" is not a placeholder of the config's source.sql (placeholders: ${names.join(', ')}).`);
      bound.set(name, f);
    } else pending.push(f);
  });
  for (const f of pending) {
    const hits = names.filter((n) => !bound.has(n) && globRe(source.files[n]).test(basename(f.path)));
    const name = hits[0] ?? (names.length === 1 && !bound.has(names[0]) ? names[0] : undefined);
    if (!name) {
      throw new CohortlabError('BAD_ARGUMENT', `--events ${f.path} matches no placeholder of the config's source (${names.map((n) => `{${n}}: ${source.files[n]}`).join(', ')}); name it, e.g. --events ${names[0]}=${f.path}.`);
    }
    if (bound.has(name)) throw new CohortlabError('BAD_ARGUMENT', `two files for the placeholder {${name}} of the config's source: ${bound.get(name)?.path} and ${f.path}.`);
    bound.set(name, f);
  }
  const missing = names.filter((n) => !bound.has(n));
  if (missing.length) {
    throw new CohortlabError('BAD_ARGUMENT', `the config's source.sql reads ${missing.map((n) => `{${n}} (${source.files[n]})`).join(', ')}, but no --events file was given for ${missing.length === 1 ? 'it' : 'them'}; add --events ${missing.map((n) => `${n}=PATH`).join(' ')}.`);
  }
  return bound;
}

/** The SELECT with each `{name}` replaced by its table; unknown placeholders are config errors. */
export function substitutePlaceholders(source: SqlSource, where: string): string {
  return source.sql.replace(PLACEHOLDER, (_, name: string) => {
    if (!(name in source.files)) throw new CohortlabError('BAD_CONFIG', `config ${where}: source.sql uses the placeholder {${name}}, which source.files does not declare (declared: ${Object.keys(source.files).join(', ') || 'none'}).`);
    return quoteIdent(`source_${name}`);
  });
}

function findTableFunctions(node: unknown, out: string[]): void {
  if (Array.isArray(node)) for (const n of node) findTableFunctions(n, out);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.type === 'TABLE_FUNCTION') out.push(String((o.function as { function_name?: string } | undefined)?.function_name ?? 'a table function'));
    for (const v of Object.values(o)) findTableFunctions(v, out);
  }
}

/** Parses the SELECT (DuckDB's own parser): exactly one statement, a SELECT, reading no table function. */
export async function validateSourceSql(conn: DuckDBConnection, sql: string, where: string): Promise<void> {
  const rows = await queryRows(conn, 'SELECT json_serialize_sql(CAST($sql AS VARCHAR)) AS j', { sql });
  const parsed = JSON.parse(String(rows[0].j)) as { error: boolean; error_message?: string; statements?: unknown[] };
  if (parsed.error) {
    const why = /Only SELECT/.test(parsed.error_message ?? '') ? 'it must be a read-only SELECT (no INSERT, COPY, ATTACH, PRAGMA...)' : parsed.error_message;
    throw new CohortlabError('BAD_CONFIG', `config ${where}: source.sql is not a valid statement: ${why}.`);
  }
  if ((parsed.statements ?? []).length !== 1) throw new CohortlabError('BAD_CONFIG', `config ${where}: source.sql must be one SELECT statement, found ${(parsed.statements ?? []).length}.`);
  const fns: string[] = [];
  findTableFunctions(parsed.statements, fns);
  if (fns.length) throw new CohortlabError('BAD_CONFIG', `config ${where}: source.sql calls ${[...new Set(fns)].join(', ')}; it may read only its {placeholders} (declare each file in source.files).`);
}

function readerOf(file: InputFile): string {
  const path = quoteLiteral(file.path);
  switch (file.format) {
    case 'csv':
      return `read_csv(${path}, header = true)`;
    case 'ndjson':
      return `read_json_auto(${path}, format = 'newline_delimited')`;
    case 'parquet':
      return `read_parquet(${path})`;
    case 'whitespace':
      return `read_csv(${path}, header = true, delim = ' ')`;
  }
}

/**
 * Loads the bound files into tables `source_<name>`, runs the SELECT into `raw_rows` (file_idx 0,
 * rows numbered in the SELECT's order) and returns the rows it produced and each file's records.
 */
export async function readSqlSourceIntoRaw(
  conn: DuckDBConnection, args: string[], files: InputFile[], config: EventConfig, where: string,
): Promise<{ records: number; fileRecords: Map<string, number> }> {
  const source = config.source as SqlSource;
  const sql = substitutePlaceholders(source, where);
  await validateSourceSql(conn, sql, where);
  const typed = files.map((f) => ({ ...f, format: detectFormat(f.path, { ...config, format: 'auto' }) }));
  const bound = bindSourceFiles(args, typed, source);
  const fileRecords = new Map<string, number>();
  for (const [name, f] of bound) {
    try {
      await conn.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(`source_${name}`)} AS SELECT * FROM ${readerOf(f)}`);
    } catch (e) {
      throw new CohortlabError('BAD_ROWS', `file "${f.path}" (source placeholder {${name}}) cannot be read as ${f.format}: ${(e as Error).message.split('\n')[0]}`, { path: f.path, cause: e });
    }
    const n = await queryColumns(conn, `SELECT CAST(count(*) AS DOUBLE) FROM ${quoteIdent(`source_${name}`)}`);
    fileRecords.set(f.path, (n.columns[0] as Float64Array)[0]);
  }
  let desc;
  try {
    desc = await queryColumns(conn, `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM (${sql}) AS q)`);
  } catch (e) {
    throw new CohortlabError('BAD_CONFIG', `config ${where}: source.sql fails on the given files: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  const names = desc.columns[0] as string[];
  const types = desc.columns[1] as string[];
  requireColumns('the source SELECT', names, config);
  const nativeTime = new Set(names.filter((_, i) => /^(TIMESTAMP|DATE)/i.test(types[i])));
  await conn.run(
    `INSERT INTO raw_rows SELECT 0, row_number() OVER (), NULL, ${selectList(config, (c) => `CAST(${quoteIdent(c)} AS VARCHAR)`, nativeTime)} FROM (${sql}) AS q`,
  );
  const n = await queryColumns(conn, 'SELECT CAST(count(*) AS DOUBLE) FROM raw_rows');
  for (const name of Object.keys(source.files)) await conn.run(`DROP TABLE ${quoteIdent(`source_${name}`)}`);
  return { records: (n.columns[0] as Float64Array)[0], fileRecords };
}
