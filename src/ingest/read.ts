import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { CohortlabError } from '../shared/errors.js';
import { queryColumns, queryRows, quoteIdent, quoteLiteral } from '../shared/duckdb.js';
import { firstLine } from './csv-lines.js';
import { LEAN_NAMES, leanColumns, leanShape, leanSelect, STAGE_COLUMNS, stageSelect, timestampExpr } from './sql.js';
import type { EventConfig, EventFormat, TimestampFormat } from './types.js';

/**
 * Reading event files: CSV records are parsed by DuckDB straight into the typed `stage` table (sql.ts), one
 * parallel pass; NDJSON and whitespace lines go to the `raw_rows` text table with their line numbers, and Parquet
 * files are read in place through a view each; both reach `stage` through one INSERT once every file is read.
 * Malformed records never reach either; they are returned with their line numbers so the ingest report counts
 * and shows them.
 */
export interface InputFile {
  path: string;
  bytes: number;
  format: Exclude<EventFormat, 'auto'>;
}

export interface MalformedRecord {
  file: string;
  line: number;
  reason: string;
  text: string;
}

// ts / signup_ts are parsed once, while reading; timestamps that are already typed (Parquet TIMESTAMP
// columns) are kept as they are, never printed to text and parsed back. The text stays for the report.
const RAW_COLUMNS =
  'file_idx INTEGER, rn BIGINT, line BIGINT, uid VARCHAR, ts_text VARCHAR, event VARCHAR, session VARCHAR, plan VARCHAR, value_text VARCHAR, signup_text VARCHAR, excluded VARCHAR, ts TIMESTAMP, signup_ts TIMESTAMP';

/**
 * `raw` is a view: rows of line-oriented text files are copied into `raw_rows` (their parser reports malformed
 * lines while scanning), Parquet files are read in place through one view each (typed, columnar). `stage` is
 * where every record ends up, typed, with its reject reason.
 */
export async function createRawTable(conn: DuckDBConnection): Promise<void> {
  await conn.run(`CREATE OR REPLACE TABLE raw_rows (${RAW_COLUMNS})`);
  await conn.run('CREATE OR REPLACE VIEW raw AS SELECT * FROM raw_rows');
  await conn.run(`CREATE OR REPLACE TABLE stage (${STAGE_COLUMNS})`);
}

/** Redefines `raw` over the copied rows and the Parquet views once every file is read, and moves its records to `stage`. */
export async function finishRawView(conn: DuckDBConnection, parquetViews: string[], config: EventConfig): Promise<void> {
  await conn.run(`CREATE OR REPLACE VIEW raw AS SELECT * FROM raw_rows${parquetViews.map((v) => ` UNION ALL SELECT * FROM ${v}`).join('')}`);
  await unordered(conn, () => conn.run(`INSERT INTO stage ${stageSelect(config, 'SELECT * FROM raw')}`));
}

/**
 * Runs an INSERT whose rows carry what their order would tell (`stage` its file and row numbers; `lean` one file per
 * INSERT, whose rows take the next rowids together), with DuckDB free to append them in any order: on 10.4M CSV
 * events the lean INSERT takes 5.3-5.5 s instead of 6.1-7.2 s. The numbering reads (`row_number() OVER ()`) keep the order.
 */
async function unordered<T>(conn: DuckDBConnection, insert: () => Promise<T>): Promise<T> {
  await conn.run('SET preserve_insertion_order = false');
  try {
    return await insert();
  } finally {
    await conn.run('SET preserve_insertion_order = true');
  }
}

/** The `lean` table of the lean CSV pass (sql.ts); returns its check columns. */
export async function createLeanTable(conn: DuckDBConnection, config: EventConfig): Promise<string[]> {
  const { sql, extra } = leanColumns(leanShape(config));
  await conn.run(`CREATE OR REPLACE TABLE lean (${sql})`);
  return extra;
}

export async function dropRaw(conn: DuckDBConnection, parquetViews: string[]): Promise<void> {
  await conn.run('DROP VIEW raw');
  for (const v of parquetViews) await conn.run(`DROP VIEW ${v}`);
  await conn.run('DROP TABLE raw_rows');
}

function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`);
}

/** Expands `dir/*.json.gz`-style patterns (wildcards in the file name only) and checks every file exists and is not empty. */
export async function resolveInputFiles(patterns: string[], config: EventConfig): Promise<InputFile[]> {
  if (patterns.length === 0) throw new CohortlabError('BAD_ARGUMENT', 'no event files given: pass --events FILE... (a glob such as "logs/*.json.gz" works when quoted).');
  const paths: string[] = [];
  for (const p of patterns) {
    if (/[*?]/.test(basename(p))) {
      const dir = dirname(p);
      const entries = await readdir(dir).catch(() => {
        throw new CohortlabError('FILE_NOT_FOUND', `folder "${dir}" of the pattern "${p}" does not exist.`, { path: p });
      });
      const re = globToRegExp(basename(p));
      const hits = entries.filter((e) => re.test(e)).sort();
      if (hits.length === 0) throw new CohortlabError('FILE_NOT_FOUND', `no file matches "${p}".`, { path: p });
      paths.push(...hits.map((h) => join(dir, h)));
    } else paths.push(p);
  }
  const files: InputFile[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (!info || !info.isFile()) throw new CohortlabError('FILE_NOT_FOUND', `event file "${path}" does not exist.`, { path });
    if (info.size === 0) throw new CohortlabError('EMPTY_INPUT', `event file "${path}" is empty (0 bytes).`, { path });
    files.push({ path: resolve(path), bytes: info.size, format: detectFormat(path, config) });
  }
  return files;
}

export function detectFormat(path: string, config: EventConfig): InputFile['format'] {
  if (config.format !== 'auto') return config.format;
  const ext = extname(path.replace(/\.(gz|gzip|zst)$/i, '')).toLowerCase();
  if (ext === '.csv' || ext === '.tsv') return 'csv';
  if (ext === '.json' || ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  if (ext === '.parquet') return 'parquet';
  throw new CohortlabError(
    'UNKNOWN_FORMAT',
    `cannot tell the format of "${path}" from its extension "${ext || '(none)'}": use .csv, .json/.ndjson/.jsonl, .parquet (optionally .gz), or set "format" in the config (csv, ndjson, parquet, whitespace).`,
    { path },
  );
}

/** Mapped source columns by their config key (the key names appear in error messages). */
interface Mapped {
  user_id: string;
  timestamp: string;
  event: string | null;
  session_id: string | null;
  plan: string | null;
  value: string | null;
  signup: string | null;
}

function mappedColumns(config: EventConfig): Mapped {
  const c = config.columns;
  return { user_id: c.user_id, timestamp: c.timestamp, event: c.event ?? null, session_id: c.session_id ?? null, plan: c.plan ?? null, value: c.value ?? null, signup: c.signup ?? null };
}

/**
 * Header names made unique (a repeated unmapped column becomes name_2, name_3: DuckDB needs distinct names);
 * a repeated mapped column is an error, since which one holds the data is unclear.
 */
function uniqueNames(file: string, names: string[], config: EventConfig): string[] {
  const mapped = new Set([...Object.values(mappedColumns(config)), ...(config.exclude ?? []).map((e) => e.column)]);
  const taken = new Set<string>();
  return names.map((n, i) => {
    if (!taken.has(n)) {
      taken.add(n);
      return n;
    }
    if (mapped.has(n)) {
      throw new CohortlabError(
        'MISSING_COLUMN',
        `column "${n}" appears more than once in the header of "${file}" (columns ${names.indexOf(n) + 1} and ${i + 1}), and the config maps it; rename or drop one of them.`,
        { path: file },
      );
    }
    let k = 2;
    while (taken.has(`${n}_${k}`) || names.includes(`${n}_${k}`)) k++;
    taken.add(`${n}_${k}`);
    return `${n}_${k}`;
  });
}

export function requireColumns(file: string, available: string[], config: EventConfig): void {
  const m = mappedColumns(config);
  const wanted = [...Object.entries(m).map(([k, v]) => [`columns.${k}`, v] as const), ...(config.exclude ?? []).map((e) => ['exclude', e.column] as const)].filter(([, v]) => v !== null) as [string, string][];
  const have = new Set(available);
  for (const [role, col] of wanted) {
    if (!have.has(col)) {
      throw new CohortlabError(
        'MISSING_COLUMN',
        `column "${col}" (mapped as ${role}) is not in "${file}"; its columns are: ${available.join(', ') || '(none)'}. Fix the mapping in the config's "columns".`,
        { path: file },
      );
    }
  }
}

/** SQL for one text expression per mapped role, given a function that turns a source column name into an expression. */
export function selectList(config: EventConfig, expr: (col: string) => string, nativeTime: Set<string> = new Set()): string {
  const m = mappedColumns(config);
  const text = (c: string | null) => (c === null ? 'NULL' : nativeTime.has(c) ? 'NULL' : expr(c));
  const time = (c: string | null, format: TimestampFormat) =>
    c === null ? 'NULL' : nativeTime.has(c) ? `CAST(${quoteIdent(c)} AS TIMESTAMP)` : timestampExpr(expr(c), format);
  const opt = (c: string | null) => (c === null ? 'NULL' : expr(c));
  const event = m.event === null ? quoteLiteral(config.default_event ?? 'event') : expr(m.event);
  const excl = (config.exclude ?? []).map((e) => `CASE WHEN ${expr(e.column)} IN (${e.values.map(quoteLiteral).join(', ')}) THEN ${quoteLiteral(`${e.column} in excluded values`)} END`);
  const excluded = excl.length ? `coalesce(${excl.join(', ')})` : 'NULL';
  return `${expr(m.user_id)}, ${text(m.timestamp)}, ${event}, ${opt(m.session_id)}, ${opt(m.plan)}, ${opt(m.value)}, ${text(m.signup)}, ${excluded}, ${time(m.timestamp, config.timestamp_format)}, ${time(m.signup, config.timestamp_format === 'yyyymmdd' ? 'yyyymmdd' : 'auto')}`;
}

/**
 * Reads one file into `stage` (CSV) or `raw`; returns its malformed records and the number of records seen.
 * CSV rows are numbered only when `numbered` is set: numbering forces DuckDB to read the file in
 * one thread, so the first pass reads in parallel and a file with rejected rows is read again,
 * numbered, to show their line numbers.
 */
export async function readFileIntoRaw(
  conn: DuckDBConnection, file: InputFile, idx: number, config: EventConfig, numbered = false,
): Promise<{ records: number; malformed: MalformedRecord[]; view?: string; delim?: string }> {
  const path = quoteLiteral(file.path);
  switch (file.format) {
    case 'csv': {
      const { delim, opts } = await csvHead(conn, file, config);
      const rej = `rejects_${idx}${numbered ? '_numbered' : ''}`;
      // One DuckDB pass: parsed, typed and given its reject reason on the way into `stage`; DuckDB keeps the malformed lines.
      await conn.run(
        `INSERT INTO stage ${stageSelect(
          config,
          `SELECT ${idx}, ${numbered ? 'row_number() OVER ()' : 'NULL'}, NULL, ${selectList(config, (c) => `CAST(${quoteIdent(c)} AS VARCHAR)`)}
           FROM read_csv(${path}, ${opts}, ignore_errors = true, store_rejects = true, rejects_table = '${rej}', rejects_scan = '${rej}_scan')`,
        )}`,
      );
      const malformed = await csvRejects(conn, file, rej);
      const n = await queryColumns(conn, `SELECT CAST(count(*) AS DOUBLE) FROM stage WHERE file_idx = ${idx}`);
      return { records: (n.columns[0] as Float64Array)[0] + malformed.length, malformed, delim };
    }
    case 'parquet': {
      const view = `raw_file_${idx}`;
      await conn.run(`CREATE OR REPLACE VIEW ${view} AS ${await parquetRawSelect(conn, file, idx, config)}`);
      const n = await queryColumns(conn, `SELECT CAST(count(*) AS DOUBLE) FROM read_parquet(${path})`);
      return { records: (n.columns[0] as Float64Array)[0], malformed: [], view };
    }
    case 'ndjson':
    case 'whitespace': {
      // Line-oriented formats are read as text lines so that every record keeps its line number
      // (and files without a final newline, like Sparkify's, are read one by one, never glued).
      // A line DuckDB cannot read (over its 2 MB line limit, not UTF-8) is a malformed row at its line.
      await firstLine(file.path);
      const rej = `line_rejects_${idx}`;
      await conn.run(
        `CREATE OR REPLACE TEMP TABLE lines AS SELECT row_number() OVER () AS line, l AS text FROM read_csv(${path}, columns = {'l': 'VARCHAR'}, header = false, delim = E'\\x01', quote = '', escape = '', auto_detect = false, strict_mode = false, ignore_errors = true, store_rejects = true, rejects_table = '${rej}', rejects_scan = '${rej}_scan')`,
      );
      const unreadable = await queryRows(conn, `SELECT CAST(line AS DOUBLE) AS line, min(error_type) AS error_type FROM ${rej} GROUP BY line ORDER BY line`);
      if (unreadable.length) {
        // Skipped lines shift the numbers of the lines after them: the j-th skipped line b_j (1-based) comes before read line k when b_j - j < k.
        await conn.run(
          `CREATE OR REPLACE TEMP TABLE lines AS SELECT l.line + (SELECT count(*) FROM (SELECT line - row_number() OVER (ORDER BY line) AS k FROM (SELECT DISTINCT line FROM ${rej})) s WHERE s.k < l.line) AS line, l.text FROM lines l`,
        );
      }
      const r = file.format === 'ndjson' ? await readNdjsonLines(conn, file, idx, config) : await readWhitespaceLines(conn, file, idx, config);
      const skipped = unreadable.map((u) => ({ file: file.path, line: Number(u.line), reason: 'malformed row', text: describeCsvError(String(u.error_type)) }));
      return { records: r.records + skipped.length, malformed: [...skipped, ...r.malformed].sort((a, b) => a.line - b.line) };
    }
  }
}

/** A Parquet file's records as RAW_NAMES (sql.ts), read in place; its TIMESTAMP and DATE columns are kept typed. */
async function parquetRawSelect(conn: DuckDBConnection, file: InputFile, idx: number, config: EventConfig): Promise<string> {
  return parquetSelect(config, [file], idx, await parquetColumns(conn, file, config));
}

/** A Parquet file's columns (checked against the mapping), and its typed time columns (TIMESTAMP or DATE). */
async function parquetColumns(conn: DuckDBConnection, file: InputFile, config: EventConfig): Promise<{ names: string[]; types: string[]; nativeTime: Set<string> }> {
  const desc = await queryColumns(conn, `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(file.path)}))`);
  const names = desc.columns[0] as string[];
  requireColumns(file.path, names, config);
  const types = desc.columns[1] as string[];
  return { names, types, nativeTime: new Set(names.filter((_, i) => /^(TIMESTAMP|DATE)/i.test(types[i]))) };
}

/** The column DuckDB names each row's file in when one read covers several Parquet files. */
const FILE_COLUMN = '__cohortlab_file';

/**
 * The records of Parquet files of one schema as RAW_NAMES, read in place by one `read_parquet` (the files' order and
 * their rows' order kept); the file index is `first` plus the file's position in `files`.
 */
function parquetSelect(config: EventConfig, files: InputFile[], first: number, cols: { nativeTime: Set<string> }): string {
  const paths = files.map((f) => quoteLiteral(f.path));
  const idx = files.length === 1 ? String(first) : `${first} + list_position([${paths.join(', ')}], ${FILE_COLUMN}) - 1`;
  const from = files.length === 1 ? `read_parquet(${paths[0]}, file_row_number = true)` : `read_parquet([${paths.join(', ')}], file_row_number = true, filename = '${FILE_COLUMN}')`;
  return `SELECT CAST(${idx} AS INTEGER), CAST(file_row_number + 1 AS BIGINT), CAST(NULL AS BIGINT), ${selectList(config, (c) => `CAST(${quoteIdent(c)} AS VARCHAR)`, cols.nativeTime)} FROM ${from}`;
}

/** The delimiter, header names and read_csv options of a CSV file; checks the mapped columns are there. */
async function csvHead(conn: DuckDBConnection, file: InputFile, config: EventConfig): Promise<{ delim: string; opts: string }> {
  const path = quoteLiteral(file.path);
  // The delimiter comes from the header line (the sniffer can be thrown off by the very malformed rows we must count).
  const headerLine =
    (await firstLine(file.path)) ??
    String((await queryRows(conn, `SELECT l FROM read_csv(${path}, columns = {'l': 'VARCHAR'}, header = false, delim = E'\\x01', quote = '', escape = '', auto_detect = false, strict_mode = false, ignore_errors = true) LIMIT 1`))[0]?.l ?? '');
  const delim = [',', ';', '\t', '|'].map((d) => [d, headerLine.split(d).length] as const).sort((a, b) => b[1] - a[1])[0][0];
  const names = uniqueNames(file.path, headerLine.split(delim).map((h) => h.trim().replace(/^"(.*)"$/, '$1').replace(/""/g, '"')), config);
  requireColumns(file.path, names, config);
  const columns = names.map((n) => `${quoteLiteral(n)}: 'VARCHAR'`).join(', ');
  return { delim, opts: `header = true, auto_detect = false, columns = {${columns}}, delim = ${quoteLiteral(delim)}, quote = '"', escape = '"'` };
}

/** The malformed records DuckDB kept in the rejects table `rej` (one per line, however many errors it had). */
async function csvRejects(conn: DuckDBConnection, file: InputFile, rej: string): Promise<MalformedRecord[]> {
  const rows = await queryRows(conn, `SELECT CAST(line AS DOUBLE) AS line, min(error_type) AS error_type FROM ${rej} GROUP BY line ORDER BY line`);
  return rows.map((r) => ({ file: file.path, line: Number(r.line), reason: 'malformed row', text: describeCsvError(String(r.error_type)) }));
}

/**
 * The lean pass over a CSV file (sql.ts `leanSelect`): its records go into `lean` as read, in parallel, with no
 * reject reasons; malformed records are kept by DuckDB as in the full pass. The caller checks `lean` afterwards
 * and reads the files again through `stage` when anything in them would be rejected or changed.
 */
export async function readCsvLean(conn: DuckDBConnection, file: InputFile, idx: number, config: EventConfig): Promise<{ records: number; malformed: MalformedRecord[]; delim: string }> {
  const { delim, opts } = await csvHead(conn, file, config);
  const rej = `rejects_${idx}_lean`;
  const inserted = await unordered(conn, () => conn.run(
    `INSERT INTO lean ${leanSelect(
      config,
      `SELECT ${idx}, NULL, NULL, ${selectList(config, (c) => `CAST(${quoteIdent(c)} AS VARCHAR)`)}
       FROM read_csv(${quoteLiteral(file.path)}, ${opts}, ignore_errors = true, store_rejects = true, rejects_table = '${rej}', rejects_scan = '${rej}_scan')`,
    )}`,
  ));
  const malformed = await csvRejects(conn, file, rej);
  return { records: inserted.rowsChanged + malformed.length, malformed, delim };
}

/**
 * The lean pass over Parquet files read in place: `lean` becomes a view over them, its rows the ones
 * `readParquetLean` would insert (and a missing session id already the '' `stage` gives it), plus the file's index
 * as `file_idx`; nothing is copied. `null` when a file's event time is text (then it is parsed once, into the
 * table, rather than at every read). Returns the SELECT of `events` over the same files, and each file's records
 * (from the Parquet metadata).
 */
export async function viewParquetLean(
  conn: DuckDBConnection, files: InputFile[], config: EventConfig,
): Promise<{ events: string; records: number[]; files: { path: string; size: number; mtimeMs: number }[] } | null> {
  // each file as it is before its rows are read (EventStore.unchanged compares)
  const seen = await Promise.all(
    files.map(async (f) => {
      const { size, mtimeMs } = await stat(f.path);
      return { path: f.path, size, mtimeMs };
    }),
  );
  // the columns typed as the table's (an unmapped signup time or value is an untyped NULL in the SELECT)
  const { columns } = leanColumns(leanShape(config));
  const names = columns.map(([n]) => n);
  const described: Awaited<ReturnType<typeof parquetColumns>>[] = [];
  const records: number[] = [];
  for (const f of files) {
    const d = await parquetColumns(conn, f, config);
    if (!d.nativeTime.has(config.columns.timestamp)) return null;
    described.push(d);
    const n = await queryColumns(conn, `SELECT CAST(count(*) AS DOUBLE) FROM read_parquet(${quoteLiteral(f.path)})`);
    records.push((n.columns[0] as Float64Array)[0]);
  }
  // Files of one schema (names and types) are one read; otherwise one read per file, in a UNION ALL (the demo log
  // as 100 files: the feature pass 2.7-2.9 s as one read, 5.3-5.8 s as 100, 2.5-2.9 s from the copied table).
  const schema = (k: number) => JSON.stringify([described[k].names, described[k].types]);
  const groups = described.every((_, k) => schema(k) === schema(0)) ? [{ first: 0, files }] : files.map((f, k) => ({ first: k, files: [f] }));
  const cols = columns.map(([n, t]) => `CAST(${n === 'session_id' ? "coalesce(session_id, '')" : n} AS ${t}) AS ${n}`);
  const union = groups
    .map((g) => `SELECT CAST(file_idx AS INTEGER) AS file_idx, ${cols.join(', ')} FROM (${leanSelect(config, parquetSelect(config, g.files, g.first, described[g.first]), ['file_idx'])}) AS l(file_idx, ${names.join(', ')})`)
    .join(' UNION ALL ');
  await conn.run(`CREATE OR REPLACE VIEW lean AS ${union}`);
  return { events: `SELECT ${LEAN_NAMES.join(', ')} FROM (${union})`, records, files: seen };
}

/** The lean pass over one Parquet file: its records straight into `lean` (no file row numbers, nothing malformed). */
export async function readParquetLean(conn: DuckDBConnection, file: InputFile, idx: number, config: EventConfig): Promise<{ records: number; malformed: MalformedRecord[] }> {
  const select = leanSelect(config, await parquetRawSelect(conn, file, idx, config));
  const inserted = await unordered(conn, () => conn.run(`INSERT INTO lean ${select}`));
  return { records: inserted.rowsChanged, malformed: [] };
}

async function readNdjsonLines(conn: DuckDBConnection, file: InputFile, idx: number, config: EventConfig) {
  // A line of valid JSON that is not an object (an array, a number, null) is no event record: malformed, like invalid JSON.
  const isRecord = `CASE WHEN json_valid(text) THEN json_type(text) = 'OBJECT' ELSE false END`;
  const keys = await queryRows(conn, `SELECT json_keys(text) AS k FROM lines WHERE ${isRecord} LIMIT 1`);
  if (keys.length === 0) throw new CohortlabError('EMPTY_INPUT', `event file "${file.path}" has no valid JSON record.`, { path: file.path });
  const seen = await queryRows(conn, `SELECT DISTINCT unnest(json_keys(text)) AS k FROM (SELECT text FROM lines WHERE ${isRecord} LIMIT 1000)`);
  requireColumns(file.path, seen.map((r) => String(r.k)), config);
  const expr = (c: string) => `json_extract_string(text, ${quoteLiteral(`$."${c.replace(/"/g, '\\"')}"`)})`;
  await conn.run(`INSERT INTO raw_rows SELECT ${idx}, line, line, ${selectList(config, expr)} FROM lines WHERE trim(text) <> '' AND ${isRecord}`);
  const bad = await queryRows(
    conn,
    `SELECT CAST(line AS DOUBLE) AS line, text, CASE WHEN json_valid(text) THEN CASE json_type(text) WHEN 'ARRAY' THEN 'an array' WHEN 'VARCHAR' THEN 'a string' WHEN 'NULL' THEN 'null' WHEN 'BOOLEAN' THEN 'a boolean' ELSE 'a number' END END AS type FROM lines WHERE trim(text) <> '' AND NOT (${isRecord}) ORDER BY line`,
  );
  const n = await queryColumns(conn, `SELECT CAST(count(*) AS DOUBLE) FROM lines WHERE trim(text) <> ''`);
  return {
    records: (n.columns[0] as Float64Array)[0],
    malformed: bad.map((r) => ({
      file: file.path,
      line: Number(r.line),
      reason: 'malformed row',
      text: r.type ? `${String(r.type)}, not a JSON object` : `invalid JSON (${String(r.text).length} characters)`,
    })),
  };
}

async function readWhitespaceLines(conn: DuckDBConnection, file: InputFile, idx: number, config: EventConfig) {
  const head = await queryRows(conn, `SELECT regexp_split_to_array(trim(text), '\\s+') AS h FROM lines WHERE line = 1`);
  if (head.length === 0) throw new CohortlabError('EMPTY_INPUT', `event file "${file.path}" has no header line.`, { path: file.path });
  const names = (head[0].h as string[]).map(String);
  requireColumns(file.path, names, config);
  const pos = new Map(names.map((n, i) => [n, i + 1]));
  const expr = (c: string) => `f[${pos.get(c)}]`;
  await conn.run(
    `INSERT INTO raw_rows SELECT ${idx}, line - 1, line, ${selectList(config, expr)}
     FROM (SELECT line, regexp_split_to_array(trim(text), '\\s+') AS f FROM lines WHERE line > 1 AND trim(text) <> '') WHERE len(f) = ${names.length}`,
  );
  const bad = await queryRows(
    conn,
    `SELECT CAST(line AS DOUBLE) AS line, text FROM lines WHERE line > 1 AND trim(text) <> '' AND len(regexp_split_to_array(trim(text), '\\s+')) <> ${names.length} ORDER BY line`,
  );
  const n = await queryColumns(conn, `SELECT CAST(count(*) AS DOUBLE) FROM lines WHERE line > 1 AND trim(text) <> ''`);
  return {
    records: (n.columns[0] as Float64Array)[0],
    malformed: bad.map((r) => ({ file: file.path, line: Number(r.line), reason: 'malformed row', text: `expected ${names.length} fields, found ${String(r.text).trim().split(/\s+/).length}` })),
  };
}

/**
 * What is wrong with a malformed CSV line, without its content: rejected-row examples go to logs and
 * model reports, and a line's content would carry a user id there (file:line says where to look).
 */
function describeCsvError(errorType: string): string {
  return errorType.toLowerCase().replace(/_/g, ' ');
}

/** The CSV line of the k-th parsed row (1-based), given the sorted malformed lines of that file: rows skipped by the parser shift line numbers. */
export function csvLineOfRow(k: number, malformedLines: number[]): number {
  let line = k + 1;
  for (const bad of malformedLines) {
    if (bad <= line) line++;
    else break;
  }
  return line;
}
