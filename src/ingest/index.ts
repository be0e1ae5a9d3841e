import { statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { CohortlabError } from '../shared/errors.js';
import { duckdbLimits, openDuckDB, queryColumns, queryRows, type DuckDBLimits } from '../shared/duckdb.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { csvPhysicalLines } from './csv-lines.js';
import { csvLineOfRow, createLeanTable, createRawTable, detectFormat, dropRaw, finishRawView, readCsvLean, readFileIntoRaw, readParquetLean, resolveInputFiles, viewParquetLean, type InputFile, type MalformedRecord } from './read.js';
import { eventsFromLeanSql, eventsFromStageSql, leanCheckSql, leanColumns, leanShape, leanTrimCheckSql, statsTotalsSql, userStatsSql } from './sql.js';
import { readSqlSourceIntoRaw, splitBinding } from './sql-source.js';
import type { EventConfig } from './types.js';

export type {
  ActivationMilestone, Cadence, ColumnMapping, EventConfig, EventFormat, PlanConfig, RefreshConfig, SqlSource, Taxonomy, TimestampFormat, UsageLimit, WebhookConfig,
} from './types.js';
export { resolveConfig, resolveConfigFor, validateConfig, inactivityDays, EVENT_CONFIG_SCHEMA, INACTIVITY_DAYS_BY_CADENCE } from './config.js';
export { PRESETS, SYNTHETIC_PRESET, SPARKIFY_PRESET, CDNOW_PRESET, SYNTHETIC_CORE_FEATURES } from './presets.js';

/**
 * ingest: event files (CSV, NDJSON, Parquet, whitespace text; gzip; globs) -> the typed DuckDB
 * table `events(user_id, ts, event, session_id, plan, value, signup_ts)`, with a report that
 * accounts for every record read: used, or rejected with a reason and examples.
 */
export interface RejectExample {
  file: string;
  /** "line 12" for text formats, "row 12" for Parquet. */
  where: string;
  value: string;
}

export interface IngestReport {
  files: { path: string; bytes: number; format: string; records: number }[];
  rowsRead: number;
  rowsUsed: number;
  rejected: Record<string, number>;
  examples: Record<string, RejectExample[]>;
  users: number;
  /** Epoch ms of the first and last used event (NaN when none). */
  firstEventMs: number;
  lastEventMs: number;
  sessions: number;
  sessionsInferred: boolean;
  signupsUnparsable: number;
  seconds: number;
}

export interface EventStore {
  conn: DuckDBConnection;
  config: EventConfig;
  report: IngestReport;
  /**
   * Throws INPUT_CHANGED when a file the events are read from in place (LoadOptions.inPlace) no longer has the size
   * and modification time it had when it was checked; nothing to check for a copied log. The event source calls it
   * after every query (engine/source.ts).
   */
  unchanged(): void;
  close(): void;
}

export interface LoadOptions {
  /** Any rejected record (other than config exclusions) is fatal. */
  strict?: boolean;
  logger?: Logger;
  /** Examples shown per reason (default 3). */
  examples?: number;
  /** DuckDB memory limit and spill folder (default: COHORTLAB_DUCKDB_MEMORY_LIMIT / COHORTLAB_DUCKDB_TEMP_DIR, else DuckDB's). */
  limits?: DuckDBLimits;
  /**
   * CSV and Parquet logs are first read by the lean pass (sql.ts `leanSelect`), and again through `stage` only when
   * something would be rejected or trimmed. false: straight through `stage` (tests compare the two; same events,
   * same report).
   */
  lean?: boolean;
  /**
   * Parquet logs whose event time is a typed column are read in place when the lean pass finds them clean: `events`
   * is a view over the files, not a copy (the rows and values are the same). false: copied into the table as CSV
   * logs are. The files must not change while the store is open.
   */
  inPlace?: boolean;
}

export async function loadEvents(patterns: string[], config: EventConfig, opts: LoadOptions = {}): Promise<EventStore> {
  const logger = opts.logger ?? silentLogger;
  // A SQL source binds its {placeholders} to the files: `name=PATH`, or a plain path (a glob expands to its files).
  const bindings: string[] = [];
  const files: InputFile[] = [];
  if (config.source) {
    if (patterns.length === 0) await resolveInputFiles(patterns, config);
    for (const arg of patterns) {
      const { name, path } = splitBinding(arg);
      const found = await resolveInputFiles([path], { ...config, format: 'parquet' });
      if (name && found.length > 1) throw new CohortlabError('BAD_ARGUMENT', `--events ${arg}: the placeholder {${name}} reads one file, but "${path}" matches ${found.length}.`);
      for (const f of found) {
        files.push({ ...f, format: detectFormat(f.path, { ...config, format: 'auto' }) });
        bindings.push(name ? `${name}=${f.path}` : f.path);
      }
    }
  } else files.push(...(await resolveInputFiles(patterns, config)));
  const db = await openDuckDB(duckdbLimits(opts.limits));
  try {
    const { report, inPlace } = await ingestFiles(db.conn, files, config, opts, logger, bindings);
    return { conn: db.conn, config, report, unchanged: () => checkUnchanged(inPlace), close: db.close };
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * Events given as JSON records (the server's `POST /v1/predict` with raw events, notebooks): they
 * are written as NDJSON and read by exactly the same path as files, so features are identical.
 */
export async function loadEventRecords(records: Record<string, unknown>[], config: EventConfig, opts: LoadOptions = {}): Promise<EventStore> {
  const dir = await mkdtemp(join(tmpdir(), 'cohortlab-events-'));
  try {
    const path = join(dir, 'events.ndjson');
    await writeFile(path, records.map((r) => JSON.stringify(r)).join('\n'));
    // Records are events in the config's column names: a SQL source's SELECT has already been applied to them.
    return await loadEvents([path], { ...config, source: undefined, format: 'ndjson' }, opts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A file read in place, as it was when its rows were checked. */
interface InPlaceFile {
  path: string;
  size: number;
  mtimeMs: number;
}

function checkUnchanged(files: InPlaceFile[]): void {
  for (const f of files) {
    const now = statSync(f.path, { throwIfNoEntry: false });
    if (!now || now.size !== f.size || now.mtimeMs !== f.mtimeMs) {
      throw new CohortlabError(
        'INPUT_CHANGED',
        `event file "${f.path}" ${now ? `changed (${f.size} -> ${now.size} bytes, modified ${new Date(now.mtimeMs).toISOString()})` : 'was removed'} while it was read in place; rerun once it is written, or copy it first.`,
        { path: f.path },
      );
    }
  }
}

async function ingestFiles(conn: DuckDBConnection, files: InputFile[], config: EventConfig, opts: LoadOptions, logger: Logger, bindings: string[] = []): Promise<{ report: IngestReport; inPlace: InPlaceFile[] }> {
  const started = performance.now();
  await createRawTable(conn);
  const malformed: MalformedRecord[] = [];
  const parquetViews: string[] = [];
  const csvDelims = new Map<number, string>();
  const fileReports: IngestReport['files'] = [];
  const totalBytes = files.reduce((s, f) => s + f.bytes, 0);
  let doneBytes = 0;
  let sqlRows: number | null = null;
  const leanPass = !config.source && opts.lean !== false && files.every((f) => f.format === 'csv' || f.format === 'parquet') ? await readFilesLean(conn, files, config, logger, opts.inPlace !== false) : null;
  const lean = leanPass?.clean ? leanPass : null;
  if (lean) {
    malformed.push(...lean.malformed);
    for (const [i, d] of lean.delims) csvDelims.set(i, d);
    fileReports.push(...lean.fileReports);
    await conn.run('DROP TABLE stage');
  } else if (config.source) {
    const r = await readSqlSourceIntoRaw(conn, bindings, files, config, `"${config.name}"`);
    sqlRows = r.records;
    for (const f of files) fileReports.push({ path: f.path, bytes: f.bytes, format: f.format, records: r.fileRecords.get(f.path) ?? 0 });
  } else {
    for (let i = 0; i < files.length; i++) {
      const f = files[i];
      const r = await readFileIntoRaw(conn, f, i, config, leanPass?.clean === false && leanPass.rejecting.has(i));
      malformed.push(...r.malformed);
      if (r.delim) csvDelims.set(i, r.delim);
      if (r.view) parquetViews.push(r.view);
      fileReports.push({ path: f.path, bytes: f.bytes, format: f.format, records: r.records });
      doneBytes += f.bytes;
      logger.progress('reading events', doneBytes, totalBytes);
    }
  }
  // Records of NDJSON, whitespace, Parquet files and SQL sources go to `stage` in one INSERT (CSV records are there already).
  if (!lean) await finishRawView(conn, parquetViews, config);
  await dropRaw(conn, parquetViews);
  // A SQL source's records are the rows its SELECT produced (each file's own count is in `files`).
  const rowsRead = sqlRows ?? fileReports.reduce((s, f) => s + f.records, 0);
  if (rowsRead === 0) throw new CohortlabError('EMPTY_INPUT', `no records in ${config.source ? 'the rows of the config\'s source.sql over ' : ''}${files.map((f) => `"${f.path}"`).join(', ')}.`);

  const reasons = lean ? [] : await queryRows(conn, `SELECT reason, CAST(count(*) AS DOUBLE) AS n FROM stage WHERE reason IS NOT NULL GROUP BY reason ORDER BY reason`);
  const rejected: Record<string, number> = {};
  for (const r of reasons) rejected[String(r.reason)] = Number(r.n);
  if (malformed.length) rejected['malformed row'] = malformed.length;

  // CSV rows were read without numbers (in parallel); only files with rejected rows are read again, numbered.
  const filesWithRejects = reasons.length ? await queryRows(conn, `SELECT DISTINCT file_idx FROM stage WHERE reason IS NOT NULL AND rn IS NULL`) : [];
  for (const r of filesWithRejects) {
    const idx = Number(r.file_idx);
    await conn.run(`DELETE FROM stage WHERE file_idx = ${idx}`);
    await readFileIntoRaw(conn, files[idx], idx, config, true);
  }

  const nExamples = opts.examples ?? 3;
  const examples: Record<string, RejectExample[]> = {};
  const badLinesByFile = new Map<number, number[]>();
  const shownMalformed: (MalformedRecord & { idx: number })[] = [];
  for (const m of malformed) {
    const idx = files.findIndex((f) => f.path === m.file);
    if (shownMalformed.filter((s) => s.reason === m.reason).length < nExamples) shownMalformed.push({ ...m, idx });
    if (!badLinesByFile.has(idx)) badLinesByFile.set(idx, []);
    badLinesByFile.get(idx)!.push(m.line);
  }
  const exRows = reasons.length === 0 ? [] : await queryRows(
    conn,
    `SELECT reason, file_idx, CAST(rn AS DOUBLE) AS rn, CAST(line AS DOUBLE) AS line, uid, ts_text, raw_event AS event, value_text FROM (
       SELECT *, row_number() OVER (PARTITION BY reason ORDER BY file_idx, rn) AS k FROM stage WHERE reason IS NOT NULL) WHERE k <= ${nExamples} ORDER BY reason, file_idx, rn`,
  );
  // CSV records may span lines (quoted line breaks) and blank lines are skipped: find the line each shown one starts on.
  const csvLines = new Map<number, Awaited<ReturnType<typeof csvPhysicalLines>>>();
  const csvIdx = new Set([...shownMalformed.map((m) => m.idx), ...exRows.filter((r) => r.line === null).map((r) => Number(r.file_idx))]);
  for (const idx of csvIdx) {
    if (config.source || files[idx].format !== 'csv') continue;
    csvLines.set(
      idx,
      await csvPhysicalLines(files[idx].path, csvDelims.get(idx) ?? ',', {
        logical: shownMalformed.filter((m) => m.idx === idx).map((m) => m.line),
        ranks: exRows.filter((r) => Number(r.file_idx) === idx).map((r) => Number(r.rn)),
        rejected: badLinesByFile.get(idx) ?? [],
      }),
    );
  }
  for (const m of shownMalformed) {
    const line = files[m.idx].format === 'csv' ? (csvLines.get(m.idx)?.byLogical.get(m.line) ?? m.line) : m.line;
    (examples[m.reason] ??= []).push({ file: m.file, where: `line ${line}`, value: m.text });
  }
  for (const r of exRows) {
    const idx = Number(r.file_idx);
    const f = config.source ? { path: 'the source SELECT', format: 'sql' } : files[idx];
    const reason = String(r.reason);
    const rn = Number(r.rn);
    const where =
      config.source ? `row ${rn}` : r.line !== null ? `line ${r.line}` : f.format === 'csv' ? `line ${csvLines.get(idx)?.byRank.get(rn) ?? csvLineOfRow(rn, badLinesByFile.get(idx) ?? [])}` : `row ${r.rn}`;
    const value =
      reason === 'unparsable timestamp' ? `timestamp ${JSON.stringify(r.ts_text)}` :
      reason === 'non-numeric value' || reason.startsWith('non-finite') ? `value ${JSON.stringify(r.value_text)}` :
      reason === 'empty user id' ? `user id ${JSON.stringify(r.uid ?? '')}` :
      reason === 'empty event name' ? `event ${JSON.stringify(r.event ?? '')}` : '';
    (examples[reason] ??= []).push({ file: f.path, where, value });
  }

  const fatal = Object.entries(rejected).filter(([k]) => !k.startsWith('excluded by config'));
  if (opts.strict && fatal.length) {
    const [reason, n] = fatal[0];
    const ex = examples[reason]?.[0];
    throw new CohortlabError(
      'BAD_ROWS',
      `--strict: ${fatal.map(([k, v]) => `${v} ${k}`).join(', ')}; first: ${ex ? `${ex.file} ${ex.where}${ex.value ? ` (${ex.value})` : ''}` : reason} (${n} rows). Fix the rows or run without --strict to skip and count them.`,
      ex ? { path: `${ex.file}:${ex.where}` } : {},
    );
  }

  const signupsUnparsable = lean ? lean.signupsUnparsable : (await queryColumns(conn, `SELECT CAST(count(*) AS DOUBLE) FROM stage WHERE reason IS NULL AND signup_bad`)).columns[0][0] as number;
  for (const sql of lean ? eventsFromLeanSql(config, lean.extra, lean.inPlace) : eventsFromStageSql(config, reasons.length > 0)) await conn.run(sql);
  // The lean pass counted the users on its way.
  const stats = await queryColumns(conn, statsTotalsSql(lean ? 'SELECT * FROM lean_users' : userStatsSql('events')));
  if (lean) await conn.run('DROP TABLE lean_users');
  const [used, users, first, last, sessions] = stats.columns.map((c) => (c as Float64Array)[0]);
  if (used === 0) {
    throw new CohortlabError('EMPTY_INPUT', `none of the ${rowsRead} records could be used: ${Object.entries(rejected).map(([k, v]) => `${v} ${k}`).join(', ')}.`);
  }
  const report: IngestReport = {
    files: fileReports,
    rowsRead,
    rowsUsed: used,
    rejected,
    examples,
    users,
    firstEventMs: first,
    lastEventMs: last,
    sessions,
    sessionsInferred: !config.columns.session_id,
    signupsUnparsable,
    seconds: (performance.now() - started) / 1000,
  };
  for (const line of formatIngestReport(report)) logger.info(line);
  return { report, inPlace: lean?.inPlace ? lean.files : [] };
}

/**
 * The lean pass over CSV and Parquet files (sql.ts): every file read once into `lean`; then one scan of its rows and
 * one of its distinct ids, events and plans decide whether the full `stage` pass would have rejected or changed
 * anything. Clean: `lean` is the events (returned with its check columns and the counts the report needs). Not clean:
 * `lean` and its rejects tables are dropped and the files are read through `stage` as before (the log says why), those
 * with rows to reject (`rejecting`) numbered at once: before the lean pass they were read twice too, unnumbered, then
 * numbered.
 */
async function readFilesLean(conn: DuckDBConnection, files: InputFile[], config: EventConfig, logger: Logger, inPlace: boolean) {
  const view = inPlace && files.every((f) => f.format === 'parquet') ? await viewParquetLean(conn, files, config) : null;
  const extra = view ? leanColumns(leanShape(config)).extra : await createLeanTable(conn, config);
  const malformed: MalformedRecord[] = [];
  const delims = new Map<number, string>();
  const fileReports: IngestReport['files'] = [];
  const ends: number[] = [];
  const totalBytes = files.reduce((s, f) => s + f.bytes, 0);
  let doneBytes = 0;
  if (view) fileReports.push(...files.map((f, i) => ({ path: f.path, bytes: f.bytes, format: f.format, records: view.records[i] })));
  for (let i = 0; i < files.length && !view; i++) {
    const f = files[i];
    const r = f.format === 'csv' ? await readCsvLean(conn, f, i, config) : { ...(await readParquetLean(conn, f, i, config)), delim: null };
    malformed.push(...r.malformed);
    if (r.delim !== null) delims.set(i, r.delim);
    fileReports.push({ path: f.path, bytes: f.bytes, format: f.format, records: r.records });
    ends.push((ends.at(-1) ?? 0) + r.records - r.malformed.length);
    doneBytes += f.bytes;
    logger.progress('reading events', doneBytes, totalBytes);
  }
  const check = await queryRows(conn, leanCheckSql(config, view ? null : ends));
  const sum = (k: string) => check.reduce((t, r) => t + Number(r[k]), 0);
  // Files with rows to reject are read again numbered straight away (numbering is what shows their lines).
  const rejecting = new Set(check.filter((r) => Number(r.unclean) > 0).map((r) => Number(r.file)));
  const again = (why: string) => logger.info(`ingest: ${why}; reading again with every row checked, to report each at its line`);
  if (rejecting.size > 0) again(`rows to reject or exclude in ${[...rejecting].map((i) => files[i].path).join(', ')}`);
  else {
    // `stage` writes '' for a missing session id (without a mapped one, the gap rule numbers the sessions anyway).
    if (config.columns.session_id && sum('null_sessions') > 0) await conn.run(`UPDATE lean SET session_id = '' WHERE session_id IS NULL`);
    // The per-user counts are the report's, and the user ids to check, one per user.
    await conn.run(`CREATE OR REPLACE TEMP TABLE lean_users AS ${userStatsSql('lean')}`);
    let clean = true;
    for (const sql of leanTrimCheckSql('lean_users')) if (clean) clean = Number((await queryRows(conn, sql))[0].n) === 0;
    if (clean && view) {
      const how = config.columns.session_id ? 'a view, not a copy' : 'not copied: the gap rule numbers their sessions into the events table';
      logger.info(`ingest: ${files.length === 1 ? 'the Parquet file is' : `the ${files.length} Parquet files are`} read in place (${how}); ${files.length === 1 ? 'it' : 'they'} must not change while this runs`);
    }
    if (clean) return { clean: true as const, malformed, delims, fileReports, extra, signupsUnparsable: sum('signups_unparsable'), inPlace: view?.events ?? null, files: view?.files ?? [] };
    again('user ids, events or plans with spaces to trim or empty');
    await conn.run('DROP TABLE lean_users');
  }
  await conn.run(`DROP ${view ? 'VIEW' : 'TABLE'} lean`);
  for (let i = 0; i < files.length; i++) await conn.run(`DROP TABLE IF EXISTS rejects_${i}_lean`);
  return { clean: false as const, rejecting };
}

const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : '-');

/** The lines every run prints: rows read, used, rejected by reason (with examples), users, time span. */
export function formatIngestReport(r: IngestReport): string[] {
  const lines = [
    `ingest: ${r.files.length} file(s), ${r.rowsRead.toLocaleString('en-US')} rows read, ${r.rowsUsed.toLocaleString('en-US')} used, ${(r.rowsRead - r.rowsUsed).toLocaleString('en-US')} rejected; ${r.users.toLocaleString('en-US')} users, ${r.sessions.toLocaleString('en-US')} sessions${r.sessionsInferred ? ' (30-minute gap rule)' : ''}; events ${iso(r.firstEventMs)} .. ${iso(r.lastEventMs)}; ${r.seconds.toFixed(2)} s`,
  ];
  for (const [reason, n] of Object.entries(r.rejected)) {
    lines.push(`  rejected ${n.toLocaleString('en-US')} rows: ${reason}`);
    for (const ex of r.examples[reason] ?? []) lines.push(`    e.g. ${ex.file} ${ex.where}${ex.value ? `: ${ex.value}` : ''}`);
  }
  if (r.signupsUnparsable > 0) lines.push(`  ${r.signupsUnparsable} rows had an unparsable signup time (kept; tenure falls back to the first event)`);
  return lines;
}
