import type { EventConfig, TimestampFormat } from './types.js';

/**
 * SQL of the normalisation step, from the `raw` staging table (text) to the typed `events` table.
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

/** `parsed`: every raw row with its reject reason (a view: the reason is cheap, the timestamps are already parsed). */
export function parsedSql(config: EventConfig): string {
  return `CREATE OR REPLACE VIEW parsed AS SELECT *, ${rejectReasonExpr(config)} AS reason FROM raw`;
}

/**
 * The typed `events` table. Sessions (identified by user_id + session_id): the mapped session id, or a new session after
 * `session_gap_minutes` of inactivity (default 30) when the log has none.
 */
export function eventsSql(config: EventConfig): string {
  const base = `SELECT trim(uid) AS user_id, ts, trim(event) AS event, session, NULLIF(trim(plan), '') AS plan,
                       TRY_CAST(value_text AS DOUBLE) AS value, signup_ts
                FROM parsed WHERE reason IS NULL`;
  if (config.columns.session_id) {
    return `CREATE OR REPLACE TABLE events AS
      SELECT user_id, ts, event, coalesce(session, '') AS session_id, plan, value, signup_ts FROM (${base})`;
  }
  const gapSeconds = Math.round(config.session_gap_minutes * 60);
  return `CREATE OR REPLACE TABLE events AS
    SELECT user_id, ts, event, CAST(sum(new_session) OVER (PARTITION BY user_id ORDER BY ts, event ROWS UNBOUNDED PRECEDING) AS VARCHAR) AS session_id,
           plan, value, signup_ts
    FROM (SELECT *, CASE WHEN prev_ts IS NULL OR epoch(ts) - epoch(prev_ts) > ${gapSeconds} THEN 1 ELSE 0 END AS new_session
          FROM (SELECT *, lag(ts) OVER (PARTITION BY user_id ORDER BY ts, event) AS prev_ts FROM (${base})))`;
}
