import type { EventConfig, TimestampFormat } from './types.js';

/**
 * SQL of the normalisation step, from raw records (text) through the `stage` table to the typed `events` table.
 * Kept apart from the I/O so the server's per-request events go through exactly the same text.
 */
export function timestampExpr(col: string, format: TimestampFormat): string {
  const num = `TRY_CAST(${col} AS DOUBLE)`;
  // Text without a UTC offset (or with "Z") takes the fast TIMESTAMP cast; an offset such as +02:00
  // needs TIMESTAMPTZ, which converts to UTC (a TIMESTAMP cast would silently drop the offset).
  const iso = `CASE WHEN suffix(${col}, 'Z') OR length(${col}) <= 19 THEN TRY_CAST(${col} AS TIMESTAMP) ELSE TRY_CAST(TRY_CAST(${col} AS TIMESTAMPTZ) AS TIMESTAMP) END`;
  const ms = `CASE WHEN ${num} BETWEEN -1e13 AND 1e14 THEN epoch_ms(CAST(${num} AS BIGINT)) END`;
  const s = `CASE WHEN ${num} BETWEEN -1e10 AND 1e11 THEN epoch_ms(CAST(${num} * 1000 AS BIGINT)) END`;
  switch (format) {
    case 'iso':
      return iso;
    case 'epoch_ms':
      return ms;
    case 'epoch_s':
      return s;
    case 'yyyymmdd':
      return `TRY_STRPTIME(${col}, '%Y%m%d')`;
    case 'auto':
      // Numbers above 1e11 are epoch milliseconds (1e11 s is the year 5138), smaller numbers epoch seconds; text is ISO 8601.
      // Text with a ":" is no number: an ISO time skips the DOUBLE cast, which costs more than the TIMESTAMP cast when it fails.
      return `CASE WHEN contains(${col}, ':') OR ${num} IS NULL THEN ${iso} WHEN abs(${num}) >= 1e11 THEN ${ms} ELSE ${s} END`;
  }
}

/**
 * Why a record is rejected, or NULL when it is used. The first matching reason wins. It reads the record's
 * `user_id` and `event_name` already trimmed and `value` already cast (computed once per record, in `stageSelect`),
 * the raw `excluded`, `ts` and `value_text`.
 */
export function rejectReasonExpr(config: EventConfig): string {
  const checks = [
    `WHEN excluded IS NOT NULL THEN 'excluded by config (' || excluded || ')'`,
    `WHEN user_id IS NULL OR user_id = '' THEN 'empty user id'`,
    `WHEN ts IS NULL THEN 'unparsable timestamp'`,
    `WHEN event_name IS NULL OR event_name = '' THEN 'empty event name'`,
  ];
  if (config.columns.value) checks.push(`WHEN value_text IS NOT NULL AND trim(value_text) <> '' AND value IS NULL THEN 'non-numeric value'`);
  if (config.columns.value) checks.push(`WHEN value IS NOT NULL AND NOT isfinite(value) THEN 'non-finite value (NaN or infinity)'`);
  return `CASE ${checks.join(' ')} END`;
}

/**
 * `trim(col)`, skipped when it would change nothing: DuckDB's trim strips Unicode space separators (category Zs) and
 * decodes every character of the string to find them, and in ASCII text the only one is " ". Text that is all ASCII
 * (as many bytes as characters) and neither starts nor ends with " " is returned as it is (10.4M events, user id,
 * event and plan: 2.9 -> 1.1 CPU s).
 */
export function trimmed(col: string): string {
  return `CASE WHEN strlen(${col}) = length(${col}) AND NOT prefix(${col}, ' ') AND NOT suffix(${col}, ' ') THEN ${col} ELSE trim(${col}) END`;
}

/** The text columns of a raw record, in the order `selectList` (read.ts) produces them after file_idx, rn, line. */
export const RAW_NAMES = ['file_idx', 'rn', 'line', 'uid', 'ts_text', 'event', 'session', 'plan', 'value_text', 'signup_text', 'excluded', 'ts', 'signup_ts'] as const;

/**
 * `stage`: every record read, typed once, with its reject reason. Its last seven columns are the `events` table,
 * so when the events keep their mapped session ids the table becomes `events` by dropping the other columns
 * (no copy); CSV files are parsed straight into it (one pass, no text staging table). The raw texts of a record
 * (id, time, event, value) are kept only when it is rejected: they are the report's examples.
 */
export const STAGE_COLUMNS =
  'file_idx INTEGER, rn BIGINT, line BIGINT, reason VARCHAR, signup_bad BOOLEAN, uid VARCHAR, ts_text VARCHAR, raw_event VARCHAR, value_text VARCHAR, ' +
  'user_id VARCHAR, ts TIMESTAMP, event VARCHAR, session_id VARCHAR, plan VARCHAR, value DOUBLE, signup_ts TIMESTAMP';
const STAGE_ONLY = ['file_idx', 'rn', 'line', 'reason', 'signup_bad', 'uid', 'ts_text', 'raw_event', 'value_text'];

/** SELECT of `stage` rows from `rawSelect`, a SELECT whose columns are RAW_NAMES in that order (names not needed). */
export function stageSelect(config: EventConfig, rawSelect: string): string {
  const kept = (c: string) => `CASE WHEN reason IS NOT NULL THEN ${c} END`;
  return `SELECT file_idx, rn, line, reason,
            signup_text IS NOT NULL AND signup_ts IS NULL AND trim(signup_text) <> '' AS signup_bad,
            ${kept('uid')}, ${kept('ts_text')}, ${kept('event')}, ${kept('value_text')},
            user_id, ts, event_name, coalesce(session, ''), NULLIF(${trimmed('plan')}, ''), value, signup_ts
          FROM (SELECT *, ${rejectReasonExpr(config)} AS reason
                FROM (SELECT *, ${trimmed('uid')} AS user_id, ${trimmed('event')} AS event_name, TRY_CAST(value_text AS DOUBLE) AS value
                      FROM (${rawSelect}) AS r(${RAW_NAMES.join(', ')})))`;
}

/**
 * The lean CSV pass (issue 23 part 3): a clean CSV file, the common case, is parsed straight into `lean`, the
 * `events` columns as read plus the few texts needed to count what the full `stage` pass would reject: the signup
 * text where it did not parse (kept rows, counted), the value text where it did not cast, the config exclusion.
 * No per-row trim, reject reason or report columns: on 10.4M events those cost as much as the parse itself.
 * Whether the file was clean is decided afterwards, by `leanCheckSql` over the rows and `leanTrimCheckSql` over the
 * distinct ids, events and plans (a few thousand values, not 10M rows); if it was not, the lean rows are dropped and
 * the files read again through `stage`, so a file with anything to reject is accounted exactly as before.
 */
export interface LeanShape {
  signup: boolean;
  value: boolean;
  excluded: boolean;
}

export function leanShape(config: EventConfig): LeanShape {
  return { signup: Boolean(config.columns.signup), value: Boolean(config.columns.value), excluded: (config.exclude ?? []).length > 0 };
}

/** Columns of `lean`: those of `events`, then the texts the checks read (dropped once the rows are known clean). */
export function leanColumns(shape: LeanShape): { sql: string; columns: [string, string][]; extra: string[] } {
  const extra = [...(shape.signup ? ['signup_text'] : []), ...(shape.value ? ['value_text'] : []), ...(shape.excluded ? ['excluded'] : [])];
  const columns: [string, string][] = [...EVENTS_COLUMNS, ...extra.map((c): [string, string] => [c, 'VARCHAR'])];
  return { sql: columns.map(([n, t]) => `${n} ${t}`).join(', '), columns, extra };
}

/**
 * SELECT of `lean` rows from `rawSelect` (columns RAW_NAMES, as for `stageSelect`): values as read, nothing trimmed;
 * `keep`: RAW_NAMES columns put first (the view of Parquet files read in place keeps `file_idx`).
 */
export function leanSelect(config: EventConfig, rawSelect: string, keep: readonly (typeof RAW_NAMES)[number][] = []): string {
  const shape = leanShape(config);
  const extra = [
    ...(shape.signup ? ['CASE WHEN signup_ts IS NULL THEN signup_text END'] : []),
    ...(shape.value ? ['CASE WHEN value IS NULL OR NOT isfinite(value) THEN value_text END'] : []),
    ...(shape.excluded ? ['excluded'] : []),
  ];
  return `SELECT ${keep.map((k) => `${k}, `).join('')}uid, ts, event, session, plan, value, signup_ts${extra.map((e) => `, ${e}`).join('')}
          FROM (SELECT *, ${shape.value ? 'TRY_CAST(value_text AS DOUBLE)' : 'CAST(NULL AS DOUBLE)'} AS value
                FROM (${rawSelect}) AS r(${RAW_NAMES.join(', ')}))`;
}

/**
 * One row per file over `lean` (`ends`: the row count after each file, whose rows take the next rowids together; null
 * when `lean` is the view of Parquet files read in place, which has their index as `file_idx`):
 * `unclean` counts the rows `stageSelect` would give a reject reason that the distinct-value check cannot see: a
 * missing id, event or time, an excluded value, a value text that is not a finite number. `null_sessions` rows need
 * the '' that `stageSelect` puts for a missing session id; `signups_unparsable` is the count `stage` keeps in `signup_bad`.
 */
export function leanCheckSql(config: EventConfig, ends: number[] | null): string {
  const shape = leanShape(config);
  const unclean = [
    'user_id IS NULL',
    'ts IS NULL',
    'event IS NULL',
    ...(shape.excluded ? ['excluded IS NOT NULL'] : []),
    ...(shape.value ? ["(value_text IS NOT NULL AND trim(value_text) <> '')"] : []),
  ];
  const file = ends === null ? 'file_idx' : ends.length <= 1 ? '0' : `CASE ${ends.slice(0, -1).map((e, i) => `WHEN rowid < ${e} THEN ${i}`).join(' ')} ELSE ${ends.length - 1} END`;
  return `SELECT CAST(${file} AS DOUBLE) AS file,
                 CAST(count(*) FILTER (WHERE ${unclean.join(' OR ')}) AS DOUBLE) AS unclean,
                 CAST(count(*) FILTER (WHERE session_id IS NULL) AS DOUBLE) AS null_sessions,
                 CAST(${shape.signup ? "count(*) FILTER (WHERE signup_text IS NOT NULL AND trim(signup_text) <> '')" : '0'} AS DOUBLE) AS signups_unparsable
          FROM lean GROUP BY ALL`;
}

/**
 * Per-user counts of a table of events (`lean` or `events`): rows, first and last time. One small hash table of
 * users; the ingest report sums it, and the lean pass checks the user ids on it.
 */
export function userStatsSql(table: string): string {
  return `SELECT user_id, count(*) AS n, min(ts) AS first_ts, max(ts) AS last_ts FROM ${table} GROUP BY user_id`;
}

/** The report's totals over `userStatsSql` rows: events, users, first and last time (epoch ms); and the sessions of `events`. */
export function statsTotalsSql(userStats: string): string {
  return `SELECT CAST(coalesce(sum(n), 0) AS DOUBLE), CAST(count(*) AS DOUBLE), epoch_ms(min(first_ts))::DOUBLE, epoch_ms(max(last_ts))::DOUBLE,
                 (SELECT CAST(count(*) AS DOUBLE) FROM (SELECT DISTINCT user_id, session_id FROM events))
          FROM (${userStats})`;
}

/**
 * Queries counting the user ids (of the per-user table `users`), events and plans (distinct values of `lean`) that
 * `stageSelect` would change or reject: text `trim` changes (so `trimmed()` would), or empty text (an empty id or
 * event is rejected, an empty plan becomes NULL). All empty: every row's trimmed value is the value read, so `lean`
 * holds exactly the rows and values `stage` would.
 */
export function leanTrimCheckSql(users: string): string[] {
  // The distinct values are filtered as a list: a WHERE on them is pushed below the DISTINCT by DuckDB, which then
  // trims all 10M rows (0.95 against 0.24 CPU s for the events of the bench).
  const dirty = (col: string, from: string) =>
    `SELECT CAST(coalesce(len(list_filter(l, v -> v = '' OR v <> trim(v))), 0) AS DOUBLE) AS n FROM (SELECT list(v) AS l FROM (SELECT DISTINCT ${col} AS v FROM ${from}))`;
  return [dirty('user_id', users), dirty('event', 'lean'), dirty('plan', 'lean')];
}

/** The `events` columns and their types, in order (the first columns of `lean` and `stage`'s last ones). */
const EVENTS_COLUMNS: [string, string][] = [
  ['user_id', 'VARCHAR'], ['ts', 'TIMESTAMP'], ['event', 'VARCHAR'], ['session_id', 'VARCHAR'], ['plan', 'VARCHAR'], ['value', 'DOUBLE'], ['signup_ts', 'TIMESTAMP'],
];

export const LEAN_NAMES = EVENTS_COLUMNS.map(([n]) => n);

/**
 * Turns `stage` into the typed `events` table, without the rejected rows (SQL statements, in order). Sessions
 * (identified by user_id + session_id): the mapped session id, or a new session after `session_gap_minutes` of
 * inactivity (default 30) when the log has none. `anyRejected`: some stage row has a reason (they are deleted first).
 */
export function eventsFromStageSql(config: EventConfig, anyRejected: boolean): string[] {
  return eventsFromTableSql(config, { table: 'stage', extra: STAGE_ONLY, used: 'reason IS NULL', deleteRejected: anyRejected ? 'DELETE FROM stage WHERE reason IS NOT NULL' : null });
}

/**
 * The same from `lean` (whose rows are all used), dropping its check columns `extra`. `inPlace`: `lean` is the view of
 * Parquet files read in place (read.ts `viewParquetLean`) and this is the SELECT of their events: with mapped session
 * ids `events` becomes a view too, else the gap rule writes its table from them.
 */
export function eventsFromLeanSql(config: EventConfig, extra: string[], inPlace: string | null = null): string[] {
  if (inPlace !== null && config.columns.session_id) return ['DROP VIEW lean', `CREATE VIEW events AS ${inPlace}`];
  return eventsFromTableSql(config, { table: 'lean', extra, used: 'true', deleteRejected: null, view: inPlace !== null });
}

function eventsFromTableSql(config: EventConfig, t: { table: string; extra: string[]; used: string; deleteRejected: string | null; view?: boolean }): string[] {
  if (config.columns.session_id) {
    return [
      'DROP TABLE IF EXISTS events',
      ...(t.deleteRejected ? [t.deleteRejected] : []),
      ...t.extra.map((c) => `ALTER TABLE ${t.table} DROP COLUMN ${c}`),
      `ALTER TABLE ${t.table} RENAME TO events`,
    ];
  }
  const gapSeconds = Math.round(config.session_gap_minutes * 60);
  // Rows at the same instant (CDNOW's same-day purchases) are peers: only the first of them, whichever it is, can
  // start a session (the others are 0 seconds after it), and the running sum counts every peer's flag (RANGE frame,
  // the default with ORDER BY), so all of them get the same session whatever order they are in. The rows' order in
  // the table is not used: the ingest INSERTs do not keep it.
  return [
    `CREATE OR REPLACE TABLE events AS
    SELECT user_id, ts, event, CAST(sum(new_session) OVER (PARTITION BY user_id ORDER BY ts RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS VARCHAR) AS session_id,
           plan, value, signup_ts
    FROM (SELECT *, CASE WHEN prev_ts IS NULL OR epoch(ts) - epoch(prev_ts) > ${gapSeconds} THEN 1 ELSE 0 END AS new_session
          FROM (SELECT *, lag(ts) OVER (PARTITION BY user_id ORDER BY ts) AS prev_ts
                FROM (SELECT user_id, ts, event, plan, value, signup_ts FROM ${t.table} WHERE ${t.used})))`,
    `DROP ${t.view ? 'VIEW' : 'TABLE'} ${t.table}`,
  ];
}
