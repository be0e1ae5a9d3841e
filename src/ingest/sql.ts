import type { EventConfig, TimestampFormat } from './types.js';

/**
 * SQL of the normalisation step, from the `raw` staging table (text) to the typed `events` table.
 * Kept apart from the I/O so the server's per-request events go through exactly the same text.
 */
export function timestampExpr(col: string, format: TimestampFormat): string {
  const num = `TRY_CAST(${col} AS DOUBLE)`;
  const iso = `TRY_CAST(TRY_CAST(${col} AS TIMESTAMPTZ) AS TIMESTAMP)`;
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
      return `CASE WHEN ${num} IS NULL THEN ${iso} WHEN abs(${num}) >= 1e11 THEN ${ms} ELSE ${s} END`;
  }
}

/** Why a raw row is rejected, or NULL when it is used. The first matching reason wins. */
export function rejectReasonExpr(config: EventConfig): string {
  const checks = [
    `WHEN excluded IS NOT NULL THEN 'excluded by config (' || excluded || ')'`,
    `WHEN uid IS NULL OR trim(uid) = '' THEN 'empty user id'`,
    `WHEN ts IS NULL THEN 'unparsable timestamp'`,
    `WHEN event IS NULL OR trim(event) = '' THEN 'empty event name'`,
  ];
  if (config.columns.value) checks.push(`WHEN value_text IS NOT NULL AND trim(value_text) <> '' AND TRY_CAST(value_text AS DOUBLE) IS NULL THEN 'non-numeric value'`);
  if (config.columns.value) checks.push(`WHEN TRY_CAST(value_text AS DOUBLE) IS NOT NULL AND NOT isfinite(TRY_CAST(value_text AS DOUBLE)) THEN 'non-finite value (NaN or infinity)'`);
  return `CASE ${checks.join(' ')} END`;
}

/** Builds `parsed` (every raw row with its typed fields and reject reason) from `raw`. */
export function parsedSql(config: EventConfig): string {
  return `CREATE OR REPLACE TABLE parsed AS
    SELECT *, ${rejectReasonExpr(config)} AS reason FROM (
      SELECT file_idx, rn, line, uid, ts_text, event, session, plan, value_text, signup_text, excluded,
             coalesce(ts_native, ${timestampExpr('ts_text', config.timestamp_format)}) AS ts,
             coalesce(signup_native, ${timestampExpr('signup_text', config.timestamp_format === 'yyyymmdd' ? 'yyyymmdd' : 'auto')}) AS signup_ts
      FROM raw)`;
}

/**
 * The typed `events` table. Sessions: the mapped session id (scoped by user), or a new session after
 * `session_gap_minutes` of inactivity (default 30) when the log has none.
 */
export function eventsSql(config: EventConfig): string {
  const base = `SELECT trim(uid) AS user_id, ts, trim(event) AS event, session, NULLIF(trim(plan), '') AS plan,
                       TRY_CAST(value_text AS DOUBLE) AS value, signup_ts
                FROM parsed WHERE reason IS NULL`;
  if (config.columns.session_id) {
    return `CREATE OR REPLACE TABLE events AS
      SELECT user_id, ts, event, user_id || '#' || coalesce(session, '') AS session_id, plan, value, signup_ts FROM (${base})`;
  }
  const gapSeconds = Math.round(config.session_gap_minutes * 60);
  return `CREATE OR REPLACE TABLE events AS
    SELECT user_id, ts, event, user_id || '#' || CAST(sum(new_session) OVER (PARTITION BY user_id ORDER BY ts, event ROWS UNBOUNDED PRECEDING) AS VARCHAR) AS session_id,
           plan, value, signup_ts
    FROM (SELECT *, CASE WHEN prev_ts IS NULL OR epoch(ts) - epoch(prev_ts) > ${gapSeconds} THEN 1 ELSE 0 END AS new_session
          FROM (SELECT *, lag(ts) OVER (PARTITION BY user_id ORDER BY ts, event) AS prev_ts FROM (${base})))`;
}
