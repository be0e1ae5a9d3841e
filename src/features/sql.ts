import type { Dialect } from '../engine/dialect.js';
import type { EventConfig, Taxonomy } from '../ingest/types.js';

/**
 * Point-in-time feature SQL, defined once and compiled to each engine's dialect (src/engine/dialect.ts).
 * It reads a relation of normalized events (`user_id, ts, event, session_id, plan, value, signup_ts`):
 * DuckDB's `events` table, or a warehouse table mapped by `sourceRelation`.
 * Every window is counted in whole UTC days before the cutoff: `di` = floor((cutoff - ts) / 1 day),
 * so "last 7 days" is di < 7, the as-of day included. Only rows with ts < cutoff are read (the
 * leakage test adds future events and checks nothing changes).
 */
/** Every taxonomy role a feature reads (`upgrade` is an outcome of `train --target upgrade`, not a feature input). */
export const FLAG_COLUMNS: Record<Exclude<keyof Taxonomy, 'upgrade'>, string> = {
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

/** A per-user aggregate: a count (or distinct count, mean, sum) over the rows where `where` holds. */
interface Aggregate {
  name: string;
  fn: 'count' | 'countDistinct' | 'avg';
  /** The counted expression (countDistinct, avg). */
  of?: string;
  /** A condition in the portable subset both engines read (columns, comparisons, AND, flags). */
  where: string;
}

/** Over sessions (`di` of the session's first event): the session aggregates of the dictionary. */
const SESSION_AGGREGATES: Aggregate[] = [
  { name: 'sessions_7d', fn: 'count', where: 'di < 7' },
  { name: 'sessions_prev_7d', fn: 'count', where: 'di >= 7 AND di < 14' },
  { name: 'sessions_28d', fn: 'count', where: 'di < 28' },
  { name: 'total_sessions', fn: 'count', where: 'di >= 0' },
  { name: 'session_seconds_30d', fn: 'avg', of: 's_seconds', where: 'di < 30' },
  { name: 'actions_per_session_30d', fn: 'avg', of: 'n_events', where: 'di < 30' },
];

/** Over events. */
const EVENT_AGGREGATES: Aggregate[] = [
  { name: 'events_30d', fn: 'count', where: 'di < 30' },
  { name: 'active_days_7d', fn: 'countDistinct', of: 'di', where: 'di < 7' },
  { name: 'active_days_30d', fn: 'countDistinct', of: 'di', where: 'di < 30' },
  { name: 'active_weeks_4', fn: 'countDistinct', of: 'wb', where: 'di < 28' },
  { name: 'features_used_30d', fn: 'countDistinct', of: 'event', where: 'is_core AND di < 30' },
  { name: 'features_used_7d', fn: 'countDistinct', of: 'event', where: 'is_core AND di < 7' },
  { name: 'invites_14d', fn: 'count', where: 'is_invite AND di < 14' },
  { name: 'invites_total', fn: 'count', where: 'is_invite' },
  { name: 'shares_14d', fn: 'count', where: 'is_share AND di < 14' },
  { name: 'pricing_views_14d', fn: 'count', where: 'is_pricing AND di < 14' },
  { name: 'pricing_views_7d', fn: 'count', where: 'is_pricing AND di < 7' },
  { name: 'locked_clicks_14d', fn: 'count', where: 'is_locked AND di < 14' },
  { name: 'support_tickets_7d', fn: 'count', where: 'is_ticket AND di < 7' },
  { name: 'support_tickets_30d', fn: 'count', where: 'is_ticket AND di < 30' },
  { name: 'negative_support_30d', fn: 'count', where: 'is_negative AND di < 30' },
  { name: 'failed_payments_30d', fn: 'count', where: 'is_failed_payment AND di < 30' },
  { name: 'downgrades_30d', fn: 'count', where: 'is_downgrade AND di < 30' },
  { name: 'cancel_page_views_30d', fn: 'count', where: 'is_cancel_view AND di < 30' },
];

/** Aggregates are named `a_<name>` inside the subqueries: ClickHouse aliases are visible in the whole SELECT, so an alias equal to a column name would shadow it. */
function aggregate(d: Dialect, a: Aggregate): string {
  switch (a.fn) {
    case 'count':
      return `${d.countIf(a.where)} AS a_${a.name}`;
    case 'countDistinct':
      return `${d.countDistinctIf(a.of!, a.where)} AS a_${a.name}`;
    case 'avg':
      return `${d.avgIfOrZero(a.of!, a.where)} AS a_${a.name}`;
  }
}

const SOURCE_COLUMNS = ['user_id', 'ts', 'event', 'session_id', 'plan', 'value', 'signup_ts'] as const;

/**
 * A warehouse table as the normalized events relation, through the config's column mapping and
 * exclusions. The timestamp and signup columns must be DateTime (UTC). Without a session column, sessions
 * are cut after `session_gap_minutes` of inactivity as in ingest (ordered by time, then event name): per
 * user, the sorted events and a running count of gaps (differences of the sorted times: a lambda that indexed the
 * array itself would copy it per element), unrolled with ARRAY JOIN (18.16 has no window functions).
 */
export function sourceRelation(config: EventConfig, d: Dialect, table: string): string {
  return sourceRelationFrom(config, d, table.split('.').map((p) => d.quoteIdent(p)).join('.'));
}

/** The same over any FROM item: a quoted table, or a parenthesized subquery with an alias (a config's SQL source). */
export function sourceRelationFrom(config: EventConfig, d: Dialect, from: string): string {
  const m = config.columns;
  const col = (c: string) => d.quoteIdent(c);
  const exprs: Record<(typeof SOURCE_COLUMNS)[number], string> = {
    user_id: `toString(${col(m.user_id)})`,
    ts: col(m.timestamp),
    event: m.event ? `toString(${col(m.event)})` : d.quoteString(config.default_event ?? 'event'),
    session_id: m.session_id ? `toString(${col(m.session_id)})` : "''",
    plan: m.plan ? `nullIf(toString(${col(m.plan)}), '')` : 'NULL',
    value: m.value ? d.double(col(m.value)) : d.double('0'),
    signup_ts: m.signup ? col(m.signup) : col(m.timestamp),
  };
  const where = (config.exclude ?? []).map((e) => `NOT ${d.inList(`toString(${col(e.column)})`, e.values)}`);
  const mapped = `(SELECT ${SOURCE_COLUMNS.map((c) => `${exprs[c]} AS ${c}`).join(', ')} FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''})`;
  if (m.session_id) return mapped;
  const gap = Math.round(config.session_gap_minutes * 60);
  return `(SELECT user_id, e.1 AS ts, e.2 AS event, toString(sid) AS session_id, e.3 AS plan, e.4 AS value, e.5 AS signup_ts
    FROM (SELECT user_id, evs, arrayCumSum(arrayMap((g, i) -> if(i = 1 OR g > ${gap}, 1, 0), arrayDifference(arrayMap(x -> toInt64(toUInt32(x.1)), evs)), arrayEnumerate(evs))) AS sids
          FROM (SELECT user_id, arraySort(x -> (x.1, x.2), groupArray((ts, event, plan, value, signup_ts))) AS evs FROM ${mapped} AS m0 GROUP BY user_id) AS g0) AS g
    ARRAY JOIN evs AS e, sids AS sid)`;
}

/**
 * The per-user aggregation: one row per user with an event before the cutoff, ordered by user_id,
 * with the columns `deriveFeatures` (compute.ts) reads. `source` is a relation of normalized events.
 */
export function featureQuery(config: EventConfig, d: Dialect, opts: { cutoffMs: number; source: string }): string {
  const t = String(opts.cutoffMs / 1000);
  const daysBefore = (ts: string) => d.int(`floor((${t} - ${d.epoch(ts)}) / 86400)`);
  const flags = (Object.keys(FLAG_COLUMNS) as (keyof typeof FLAG_COLUMNS)[]).map((k) => `${d.inList('event', config.taxonomy[k])} AS ${FLAG_COLUMNS[k]}`);
  const paid = d.anyIf(d.inList('plan', config.plans.paid));
  const limit = config.usage_limit
    ? d.countIf(`event = ${d.quoteString(config.usage_limit.event)} AND di < ${Math.floor(config.usage_limit.window_days)}`)
    : '0';
  const milestones = config.activation.milestones.map((m, i) => `${d.anyIf(`event = ${d.quoteString(m.event)}`)} AS a_m${i}`);
  const since90 = String(opts.cutoffMs / 1000 - 90 * 86400);
  return d.withQueries(
    [
      {
        name: 'ev',
        // Recomputed by each of its three readers rather than stored: a stored copy of every event with its
        // flags spills under a memory limit and reading it back cost more than rescanning the events
        // (50M events under 2 GB, same features: 36.8 s stored vs 21.4 s recomputed; 10M unlimited: 3.2 vs 2.6 s).
        materialize: false,
        sql: () => `SELECT user_id, ts, event, session_id, plan, value, signup_ts, di, ${d.intDiv('di', '7')} AS wb, ${flags.join(', ')}
          FROM (SELECT *, ${daysBefore('ts')} AS di FROM ${opts.source} AS src WHERE ts < ${d.timestamp(opts.cutoffMs)}) AS e`,
      },
      {
        name: 'sess',
        sql: (ref) => `SELECT user_id, s_epoch, s_seconds, n_events, ${d.int(`floor((${t} - s_epoch) / 86400)`)} AS di
          FROM (SELECT user_id, session_id, ${d.epoch('min(ts)')} AS s_epoch, ${d.epoch('max(ts)')} - ${d.epoch('min(ts)')} AS s_seconds, count(*) AS n_events
                FROM ${ref('ev')} AS e1 GROUP BY user_id, session_id) AS s0`,
      },
    ],
    (ref) => {
      const sessAgg = `SELECT user_id, ${SESSION_AGGREGATES.map((a) => aggregate(d, a)).join(', ')}, ${d.sortedList('s_epoch')} AS starts
        FROM ${ref('sess')} AS s1 GROUP BY user_id`;
      const sessions = `SELECT user_id, ${SESSION_AGGREGATES.map((a) => `a_${a.name}`).join(', ')}, ${d.sortedGapDaysSince('starts', since90)} AS a_gaps FROM (${sessAgg}) AS s2`;
      const weeks = `SELECT user_id, max(nf) AS a_peak_week_features
        FROM (SELECT user_id, wb, ${d.countDistinctIf('event', 'is_core')} AS nf FROM ${ref('ev')} AS e2 WHERE di < 84 GROUP BY user_id, wb) AS w0
        GROUP BY user_id`;
      const events = `SELECT user_id,
        ${EVENT_AGGREGATES.map((a) => aggregate(d, a)).join(',\n        ')},
        ${d.double(`floor((${t} - ${d.epoch('max(ts)')}) / 86400)`)} AS a_days_since_last_activity,
        ${d.double(`floor((${t} - least(${d.epoch('min(ts)')}, coalesce(${d.epoch('min(signup_ts)')}, ${d.epoch('min(ts)')}))) / 86400)`)} AS a_tenure_days,
        ${d.argMaxTextIf('plan', 'ts', 'plan IS NOT NULL')} AS a_plan,
        ${d.sumIf('value', 'value IS NOT NULL')} AS a_total_value,
        ${paid} AS a_ever_paid_plan,
        ${d.latestOfFirstSetNotBefore('ts', 'is_churn', 'NOT is_churn')} AS a_ended_by_churn_event,
        ${limit} AS a_limit_uses${milestones.map((m) => `,\n        ${m}`).join('')}
        FROM ${ref('ev')} AS e3 GROUP BY user_id`;
      const num = (c: string) => `${d.double(`a_${c}`)} AS ${c}`;
      const select = [
        'user_id', 'a_plan AS plan',
        num('sessions_7d'), num('sessions_prev_7d'), `${d.double('a_sessions_28d')} / 4 AS avg_weekly_sessions_28d`, num('total_sessions'),
        ...EVENT_AGGREGATES.slice(0, 6).map((a) => num(a.name)),
        `${d.double('ifNull(a_peak_week_features, 0)')} AS peak_week_features`,
        `${d.double('a_session_seconds_30d')} / 60 AS avg_session_minutes_30d`, num('actions_per_session_30d'),
        num('days_since_last_activity'), `${d.medianOfSorted('a_gaps')} AS typical_gap`, num('tenure_days'),
        ...EVENT_AGGREGATES.slice(6).map((a) => num(a.name)),
        num('total_value'), num('ever_paid_plan'), num('ended_by_churn_event'), num('limit_uses'),
        ...config.activation.milestones.map((_, i) => num(`m${i}`)),
      ];
      return `SELECT ${select.join(', ')}
FROM ${d.leftJoinAll(events, [sessions, weeks], 'user_id')}
ORDER BY user_id`;
    },
  );
}

/**
 * The label query: per user with an event before the cutoff, whether an explicit churn event falls in
 * [cutoff, end) and the count of events in [quietFrom, end), ordered by user_id.
 */
export function labelQuery(config: EventConfig, d: Dialect, opts: { cutoffMs: number; endMs: number; quietFromMs: number; source: string }): string {
  const isChurn = d.inList('event', config.taxonomy.churn);
  const cutoff = d.timestamp(opts.cutoffMs);
  const end = d.timestamp(opts.endMs);
  return `SELECT user_id, ${d.double(d.anyIf(`${isChurn} AND ts >= ${cutoff}`))} AS explicit_churn,
  ${d.double(d.countIf(`ts >= ${d.timestamp(opts.quietFromMs)}`))} AS recent_events
FROM ${opts.source} AS src WHERE ts < ${end}
GROUP BY user_id HAVING min(ts) < ${cutoff}
ORDER BY user_id`;
}
