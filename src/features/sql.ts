import { quoteLiteral } from '../shared/duckdb.js';
import type { EventConfig, Taxonomy } from '../ingest/types.js';

/**
 * Point-in-time feature SQL over the `events` table. Every window is counted in whole UTC days
 * before the cutoff: `di` = floor((cutoff - ts) / 1 day), so "last 7 days" is di < 7, the as-of
 * day included. Only rows with ts < cutoff are read (the leakage test adds future events and
 * checks nothing changes).
 */
export const FLAG_COLUMNS: Record<keyof Taxonomy, string> = {
  core_features: 'is_core',
  session_start: 'is_session_start',
  invite: 'is_invite',
  share: 'is_share',
  pricing_view: 'is_pricing',
  locked_feature_click: 'is_locked',
  support_ticket: 'is_ticket',
  negative_support: 'is_negative',
  failed_payment: 'is_failed_payment',
  downgrade: 'is_downgrade',
  cancel_page_view: 'is_cancel_view',
  churn: 'is_churn',
};

/** One row per event name of the taxonomy with a boolean per category (an event may be in several). */
export function flagsTableSql(config: EventConfig): string {
  const keys = Object.keys(FLAG_COLUMNS) as (keyof Taxonomy)[];
  const names = new Set<string>();
  for (const k of keys) for (const e of config.taxonomy[k]) names.add(e);
  const rows = [...names].sort().map((e) => `(${quoteLiteral(e)}, ${keys.map((k) => (config.taxonomy[k].includes(e) ? 'true' : 'false')).join(', ')})`);
  rows.push(`(NULL, ${keys.map(() => 'false').join(', ')})`);
  return `CREATE OR REPLACE TEMP TABLE event_flags AS SELECT * FROM (VALUES ${rows.join(', ')}) AS t(event, ${keys.map((k) => FLAG_COLUMNS[k]).join(', ')})`;
}

/**
 * The per-user aggregation. Parameters: $cutoff (TIMESTAMP), $t (cutoff epoch seconds).
 * `ev` is materialized once: three aggregations read it (measured ~15% faster than inlining it).
 */
export function featuresSql(config: EventConfig): string {
  const flags = Object.values(FLAG_COLUMNS).map((f) => `coalesce(f.${f}, false) AS ${f}`).join(', ');
  const paid = config.plans.paid.length ? `bool_or(plan IN (${config.plans.paid.map(quoteLiteral).join(', ')}))` : 'false';
  const limit = config.usage_limit
    ? `count(*) FILTER (WHERE event = ${quoteLiteral(config.usage_limit.event)} AND di < ${Math.floor(config.usage_limit.window_days)})`
    : '0';
  const milestones = config.activation.milestones.map((m, i) => `count(*) FILTER (WHERE event = ${quoteLiteral(m.event)}) > 0 AS m${i}`);
  return `
WITH ev AS MATERIALIZED (
  SELECT e.user_id, e.ts, e.event, e.session_id, e.plan, e.value, e.signup_ts,
         CAST(floor(($t - epoch(e.ts)) / 86400.0) AS INTEGER) AS di, ${flags}
  FROM events e LEFT JOIN event_flags f ON e.event = f.event
  WHERE e.ts < $cutoff
),
sess AS (
  SELECT user_id, session_id, min(ts) AS s_start, max(ts) AS s_end, count(*) AS n_events,
         CAST(floor(($t - epoch(min(ts))) / 86400.0) AS INTEGER) AS di
  FROM ev GROUP BY user_id, session_id
),
sess_agg AS (
  SELECT user_id,
    count(*) FILTER (WHERE di < 7) AS sessions_7d,
    count(*) FILTER (WHERE di >= 7 AND di < 14) AS sessions_prev_7d,
    count(*) FILTER (WHERE di < 28) / 4.0 AS avg_weekly_sessions_28d,
    count(*) AS total_sessions,
    coalesce(avg(epoch(s_end) - epoch(s_start)) FILTER (WHERE di < 30) / 60.0, 0) AS avg_session_minutes_30d,
    coalesce(avg(n_events) FILTER (WHERE di < 30), 0) AS actions_per_session_30d
  FROM sess GROUP BY user_id
),
gaps AS (
  SELECT user_id, median(gap) AS typical_gap
  FROM (SELECT user_id, di, (epoch(s_start) - epoch(lag(s_start) OVER (PARTITION BY user_id ORDER BY s_start))) / 86400.0 AS gap FROM sess)
  WHERE gap IS NOT NULL AND di < 90 GROUP BY user_id
),
weeks AS (
  SELECT user_id, max(nf) AS peak_week_features
  FROM (SELECT user_id, di // 7 AS wb, count(DISTINCT event) FILTER (WHERE is_core) AS nf FROM ev WHERE di < 84 GROUP BY user_id, wb)
  GROUP BY user_id
),
ev_agg AS (
  SELECT user_id,
    count(*) FILTER (WHERE di < 30) AS events_30d,
    count(DISTINCT di) FILTER (WHERE di < 7) AS active_days_7d,
    count(DISTINCT di) FILTER (WHERE di < 30) AS active_days_30d,
    count(DISTINCT di // 7) FILTER (WHERE di < 28) AS active_weeks_4,
    count(DISTINCT event) FILTER (WHERE is_core AND di < 30) AS features_used_30d,
    count(DISTINCT event) FILTER (WHERE is_core AND di < 7) AS features_used_7d,
    count(*) FILTER (WHERE is_invite AND di < 14) AS invites_14d,
    count(*) FILTER (WHERE is_invite) AS invites_total,
    count(*) FILTER (WHERE is_share AND di < 14) AS shares_14d,
    count(*) FILTER (WHERE is_pricing AND di < 14) AS pricing_views_14d,
    count(*) FILTER (WHERE is_pricing AND di < 7) AS pricing_views_7d,
    count(*) FILTER (WHERE is_locked AND di < 14) AS locked_clicks_14d,
    count(*) FILTER (WHERE is_ticket AND di < 7) AS support_tickets_7d,
    count(*) FILTER (WHERE is_ticket AND di < 30) AS support_tickets_30d,
    count(*) FILTER (WHERE is_negative AND di < 30) AS negative_support_30d,
    count(*) FILTER (WHERE is_failed_payment AND di < 30) AS failed_payments_30d,
    count(*) FILTER (WHERE is_downgrade AND di < 30) AS downgrades_30d,
    count(*) FILTER (WHERE is_cancel_view AND di < 30) AS cancel_page_views_30d,
    CAST(floor(($t - epoch(max(ts))) / 86400.0) AS DOUBLE) AS days_since_last_activity,
    CAST(floor(($t - epoch(least(min(ts), coalesce(min(signup_ts), min(ts))))) / 86400.0) AS DOUBLE) AS tenure_days,
    coalesce(arg_max(plan, ts) FILTER (WHERE plan IS NOT NULL), '') AS plan,
    coalesce(sum(value), 0) AS total_value,
    ${paid} AS ever_paid_plan,
    coalesce(max(ts) FILTER (WHERE is_churn) >= max(ts) FILTER (WHERE NOT is_churn), false) AS ended_by_churn_event,
    ${limit} AS limit_uses
    ${milestones.length ? `, ${milestones.join(', ')}` : ''}
  FROM ev GROUP BY user_id
)
SELECT a.user_id, a.plan,
  CAST(coalesce(s.sessions_7d, 0) AS DOUBLE) AS sessions_7d,
  CAST(coalesce(s.sessions_prev_7d, 0) AS DOUBLE) AS sessions_prev_7d,
  CAST(coalesce(s.avg_weekly_sessions_28d, 0) AS DOUBLE) AS avg_weekly_sessions_28d,
  CAST(coalesce(s.total_sessions, 0) AS DOUBLE) AS total_sessions,
  CAST(a.events_30d AS DOUBLE) AS events_30d,
  CAST(a.active_days_7d AS DOUBLE) AS active_days_7d,
  CAST(a.active_days_30d AS DOUBLE) AS active_days_30d,
  CAST(a.active_weeks_4 AS DOUBLE) AS active_weeks_4,
  CAST(a.features_used_30d AS DOUBLE) AS features_used_30d,
  CAST(a.features_used_7d AS DOUBLE) AS features_used_7d,
  CAST(coalesce(w.peak_week_features, 0) AS DOUBLE) AS peak_week_features,
  CAST(coalesce(s.avg_session_minutes_30d, 0) AS DOUBLE) AS avg_session_minutes_30d,
  CAST(coalesce(s.actions_per_session_30d, 0) AS DOUBLE) AS actions_per_session_30d,
  a.days_since_last_activity,
  CAST(g.typical_gap AS DOUBLE) AS typical_gap,
  a.tenure_days,
  CAST(a.invites_14d AS DOUBLE) AS invites_14d,
  CAST(a.invites_total AS DOUBLE) AS invites_total,
  CAST(a.shares_14d AS DOUBLE) AS shares_14d,
  CAST(a.pricing_views_14d AS DOUBLE) AS pricing_views_14d,
  CAST(a.pricing_views_7d AS DOUBLE) AS pricing_views_7d,
  CAST(a.locked_clicks_14d AS DOUBLE) AS locked_clicks_14d,
  CAST(a.support_tickets_7d AS DOUBLE) AS support_tickets_7d,
  CAST(a.support_tickets_30d AS DOUBLE) AS support_tickets_30d,
  CAST(a.negative_support_30d AS DOUBLE) AS negative_support_30d,
  CAST(a.failed_payments_30d AS DOUBLE) AS failed_payments_30d,
  CAST(a.downgrades_30d AS DOUBLE) AS downgrades_30d,
  CAST(a.cancel_page_views_30d AS DOUBLE) AS cancel_page_views_30d,
  CAST(a.total_value AS DOUBLE) AS total_value,
  a.ever_paid_plan, a.ended_by_churn_event,
  CAST(a.limit_uses AS DOUBLE) AS limit_uses
  ${config.activation.milestones.map((_, i) => `, a.m${i}`).join('')}
FROM ev_agg a LEFT JOIN sess_agg s USING (user_id) LEFT JOIN gaps g USING (user_id) LEFT JOIN weeks w USING (user_id)
ORDER BY a.user_id`;
}

/**
 * The label query: per user with activity before the cutoff, an explicit churn event in
 * [cutoff, end) and the count of events in the last `inactivity` days of the horizon.
 * Parameters: $cutoff, $end, $quiet_from (TIMESTAMPs).
 */
export const LABEL_SQL = `
SELECT u.user_id,
  coalesce(bool_or(f.is_churn) FILTER (WHERE e.ts >= $cutoff AND e.ts < $end), false) AS explicit_churn,
  CAST(count(e.ts) FILTER (WHERE e.ts >= $quiet_from AND e.ts < $end) AS DOUBLE) AS recent_events
FROM (SELECT DISTINCT user_id FROM events WHERE ts < $cutoff) u
LEFT JOIN events e ON e.user_id = u.user_id AND e.ts >= $cutoff AND e.ts < $end
LEFT JOIN event_flags f ON e.event = f.event
GROUP BY u.user_id ORDER BY u.user_id`;
