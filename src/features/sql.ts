import { sqlNumber as num, type Dialect } from '../engine/index.js';
import { inactivityDays, type EventConfig, type Taxonomy } from '../ingest/index.js';
import { MILESTONE_PREFIX } from './dictionary.js';
import { internalError } from '../shared/errors.js';

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

/**
 * The columns `deriveFeatures` (compute.ts) reads, from the aggregates: `a(name)` is the aggregate `a_<name>`
 * (as it is, or with a fallback where a multi-cutoff join leaves it empty).
 */
function featureColumns(config: EventConfig, d: Dialect, a: (name: string) => string): string[] {
  const num = (c: string) => `${d.double(a(c))} AS ${c}`;
  return [
    'user_id', `${a('plan')} AS plan`,
    num('sessions_7d'), num('sessions_prev_7d'), `${d.double(a('sessions_28d'))} / 4 AS avg_weekly_sessions_28d`, num('total_sessions'),
    ...EVENT_AGGREGATES.slice(0, 6).map((x) => num(x.name)),
    `${d.double(`ifNull(${a('peak_week_features')}, 0)`)} AS peak_week_features`,
    `${d.double(a('session_seconds_30d'))} / 60 AS avg_session_minutes_30d`, num('actions_per_session_30d'),
    num('days_since_last_activity'), `${d.medianOfSorted(a('gaps'))} AS typical_gap`, num('tenure_days'),
    ...EVENT_AGGREGATES.slice(6).map((x) => num(x.name)),
    num('total_value'), num('ever_paid_plan'), num('ended_by_churn_event'), num('limit_uses'),
    ...config.activation.milestones.map((_, i) => num(`m${i}`)),
  ];
}

/**
 * The per-user aggregation: one row per user with an event before the cutoff, ordered by user_id,
 * with the columns `deriveFeatures` (compute.ts) reads. `source` is a relation of normalized events.
 */
export function featureQuery(config: EventConfig, d: Dialect, opts: { cutoffMs: number; source: string }): string {
  const t = String(opts.cutoffMs / 1000);
  const daysBefore = (ts: string) => d.int(`floor((${t} - ${d.epoch(ts)}) / 86400)`);
  const flags = flagColumns(config, d);
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
      const select = featureColumns(config, d, (c) => `a_${c}`);
      return `SELECT ${select.join(', ')}
FROM ${d.leftJoinAll(events, [sessions, weeks], 'user_id')}
ORDER BY user_id`;
    },
  );
}

/** The taxonomy flags of an event row (`is_core`, `is_invite`, ...). */
function flagColumns(config: EventConfig, d: Dialect): string[] {
  return (Object.keys(FLAG_COLUMNS) as (keyof typeof FLAG_COLUMNS)[]).map((k) => `${d.inList('event', config.taxonomy[k])} AS ${FLAG_COLUMNS[k]}`);
}

/** One cutoff of `multiFeatureQuery`, with its label window when it is labelled. */
export interface CutoffWindow {
  cutoffMs: number;
  /** Explicit churn events are read in [cutoff, endMs), events are counted in [quietFromMs, endMs) (labelQuery). */
  label?: { endMs: number; quietFromMs: number };
}

/** The days before a cutoff the windowed aggregates read (every one a `di < N` window). */
const EVENT_WINDOW_DAYS = 30;
const PEAK_WEEK_DAYS = 84;
const GAP_DAYS = 90;
const DAY_S = 86_400;

/**
 * featureQuery (and labelQuery) at several cutoffs in one statement: the rows of every cutoff, ordered by
 * `cut` (the cutoff in epoch seconds) then user_id, each cutoff's rows equal to featureQuery's at it, with
 * `explicit_churn` and `recent_events` after the features when any cutoff is labelled. Instead of reading every
 * event three times per cutoff (plus once for its labels), it reads:
 * - lifetime aggregates (counts, first and last event, latest plan, value, milestones, churn events) per user and
 *   bucket (the events between two consecutive cutoffs), combined over the buckets before each cutoff;
 * - sessions once, with the last event and the event count before each cutoff beside their first event, so a
 *   session cut by a cutoff keeps only its events before it, as in featureQuery;
 * - for the windows (7 to 30 days, the usage limit's, 12 weeks of peak breadth), each event joined to the cutoffs
 *   within the longest window after it, so only the recent events of each cutoff are read again;
 * - for the labels, each event joined to the cutoffs whose horizon holds it.
 * Counts, minima, maxima and distinct counts combine exactly; sums of values only up to their summation order.
 * Users come from the first pass (an event before the cutoff); the others are left-joined with their fallbacks.
 */
export function multiFeatureQuery(config: EventConfig, d: Dialect, opts: { cutoffs: CutoffWindow[]; source: string }): string {
  const cuts = [...opts.cutoffs].sort((a, b) => a.cutoffMs - b.cutoffMs);
  if (!cuts.length || cuts.some((c, i) => i > 0 && c.cutoffMs === cuts[i - 1].cutoffMs)) throw internalError('multiFeatureQuery needs distinct cutoffs');
  const seconds = cuts.map((c) => c.cutoffMs / 1000);
  const cutColumn = { cut: seconds.map(num) };
  const lastCut = d.timestamp(cuts[cuts.length - 1].cutoffMs);
  const epoch = d.epoch('ts');
  const flags = flagColumns(config, d);
  const milestones = config.activation.milestones;
  const limitDays = config.usage_limit ? Math.floor(config.usage_limit.window_days) : 0;
  const eventDays = Math.max(EVENT_WINDOW_DAYS, limitDays);
  const daysBefore = (x: string) => d.int(`floor((cut - ${x}) / ${DAY_S})`);
  const beforeCut = (mn: string) => (col: (n: string) => string) => `${d.epoch(mn)} < ${col('cut')}`;

  // lifetime aggregates per user and bucket (bucket b: the events between the b-th and (b+1)-th cutoff)
  const bucket = seconds.map((t) => d.int(`${epoch} >= ${num(t)}`)).join(' + ');
  const lifetime = `SELECT user_id, b,
    min(ts) AS q_mn, max(ts) AS q_mx, count(*) AS q_n, ${d.countIf('is_invite')} AS q_inv, min(signup_ts) AS q_msu,
    ${d.argMaxTextIf('plan', 'ts', 'plan IS NOT NULL')} AS q_pl, ${d.maxIf('ts', 'plan IS NOT NULL')} AS q_plts, ${d.countIf('plan IS NOT NULL')} AS q_npl,
    ${d.sumIf('value', 'value IS NOT NULL')} AS q_val, ${d.anyIf(d.inList('plan', config.plans.paid))} AS q_paid,
    ${d.countIf('is_churn')} AS q_nch, ${d.maxIf('ts', 'is_churn')} AS q_chts, ${d.maxIf('ts', 'NOT is_churn')} AS q_nchts${milestones.map((m, i) => `,
    ${d.anyIf(`event = ${d.quoteString(m.event)}`)} AS q_m${i}`).join('')}
    FROM (SELECT *, ${bucket} AS b, ${d.inList('event', config.taxonomy.churn)} AS is_churn, ${d.inList('event', config.taxonomy.invite)} AS is_invite
          FROM ${opts.source} AS src WHERE ts < ${lastCut}) AS e0
    GROUP BY user_id, b`;
  // the buckets before each cutoff, combined (prefix r: a ClickHouse alias equal to a column name would shadow it)
  const history = `SELECT cut, user_id,
    min(q_mn) AS r_mn, max(q_mx) AS r_mx, sum(q_n) AS r_n, sum(q_inv) AS r_inv, min(q_msu) AS r_msu,
    ${d.argMaxTextIf('q_pl', 'q_plts', 'q_npl > 0')} AS r_pl, sum(q_val) AS r_val, max(q_paid) AS r_paid, sum(q_nch) AS r_nch,
    ${d.maxIf('q_chts', 'q_nch > 0')} AS r_chts, ${d.maxIf('q_nchts', 'q_n - q_nch > 0')} AS r_nchts${milestones.map((_, i) => `, max(q_m${i}) AS r_m${i}`).join('')}
    FROM (${d.expandRows(`SELECT * FROM ${LIFETIME} AS l0`, cutColumn, beforeCut('q_mn'))}) AS q0 GROUP BY cut, user_id`;
  const base = `SELECT cut, user_id, r_pl AS a_plan, r_inv AS a_invites_total,
    ${d.double(`floor((cut - ${d.epoch('r_mx')}) / ${DAY_S})`)} AS a_days_since_last_activity,
    ${d.double(`floor((cut - least(${d.epoch('r_mn')}, coalesce(${d.epoch('r_msu')}, ${d.epoch('r_mn')}))) / ${DAY_S})`)} AS a_tenure_days,
    r_val AS a_total_value, r_paid AS a_ever_paid_plan,
    ${d.int(`r_nch > 0 AND r_n - r_nch > 0 AND r_chts >= r_nchts`)} AS a_ended_by_churn_event${milestones.map((_, i) => `, r_m${i} AS a_m${i}`).join('')}
    FROM (${history}) AS h0`;

  // sessions: the first event, and the last event and event count before each cutoff (a session exists at a
  // cutoff when its first event is before it; then its count there is at least 1 and its last event defined)
  const before = seconds.map((t) => `${epoch} < ${num(t)}`);
  const sessionWide = `SELECT user_id, session_id, min(ts) AS p_mn,
    ${before.map((c, k) => `${d.maxIf('ts', c)} AS p_mx${k}, ${d.countIf(c)} AS p_n${k}`).join(', ')}
    FROM ${opts.source} AS src WHERE ts < ${lastCut} GROUP BY user_id, session_id`;
  const sessionRows = d.expandRows(sessionWide, { ...cutColumn, p_mx: seconds.map((_, k) => `p_mx${k}`), p_n: seconds.map((_, k) => `p_n${k}`) }, beforeCut('p_mn'));
  const sess = `SELECT cut, user_id, s_epoch, s_seconds, n_events, ${daysBefore('s_epoch')} AS di
    FROM (SELECT cut, user_id, ${d.epoch('p_mn')} AS s_epoch, ${d.epoch('p_mx')} - ${d.epoch('p_mn')} AS s_seconds, p_n AS n_events FROM (${sessionRows}) AS s0) AS s1`;
  const sessAgg = `SELECT cut, user_id, ${SESSION_AGGREGATES.map((a) => aggregate(d, a)).join(', ')}, ${d.sortedList('s_epoch')} AS starts
    FROM (${sess}) AS s2 GROUP BY cut, user_id`;
  const sessions = `SELECT cut, user_id, ${SESSION_AGGREGATES.map((a) => `a_${a.name}`).join(', ')}, ${d.sortedGapDaysSince('starts', `(cut - ${GAP_DAYS * DAY_S})`)} AS a_gaps FROM (${sessAgg}) AS s3`;

  // the windows: events joined to the cutoffs within `days` days after them (the aggregates filter their own
  // `di < N`; one day more than the window keeps the boundary to their exact test)
  const recent = (where: string, days: number) => {
    const rows = d.expandRows(
      `SELECT user_id, event, ${epoch} AS e_s, ${flags.join(', ')} FROM ${opts.source} AS src WHERE ts < ${lastCut}${where}`,
      cutColumn,
      (col) => `e_s < ${col('cut')} AND e_s > ${col('cut')} - ${(days + 1) * DAY_S}`,
    );
    return `SELECT *, ${d.intDiv('di', '7')} AS wb FROM (SELECT *, ${daysBefore('e_s')} AS di FROM (${rows}) AS r0) AS r1 WHERE di < ${days}`;
  };
  // Distinct days, weeks and core events as bit sets (a day is bit di of 30, a core event its bit in the taxonomy's
  // list), counted after the aggregation: the same integers as count(DISTINCT ...), without a hash set per user.
  const core = config.taxonomy.core_features;
  const bitSets = core.length <= 62;
  const coreBit = core.length ? d.bit(`CASE ${core.map((e, i) => `WHEN event = ${d.quoteString(e)} THEN ${i}`).join(' ')} ELSE 0 END`) : '0';
  const setColumns = ['active_days_7d', 'active_days_30d', 'active_weeks_4', 'features_used_30d', 'features_used_7d'];
  const windowed = EVENT_AGGREGATES.filter((a) => a.name !== 'invites_total' && !(bitSets && setColumns.includes(a.name)));
  const sets = bitSets
    ? [
      `${d.bitOrIf(d.bit('di'), 'di < 30')} AS x_days`,
      `${d.bitOrIf(coreBit, 'is_core AND di < 30')} AS x_core30`,
      `${d.bitOrIf(coreBit, 'is_core AND di < 7')} AS x_core7`,
    ]
    : [];
  const fromSets = bitSets
    ? [
      `${d.bitCount(d.bitAnd('x_days', '127'), 7)} AS a_active_days_7d`,
      `${d.bitCount('x_days', 30)} AS a_active_days_30d`,
      `${[0, 1, 2, 3].map((w) => d.int(`${d.bitAnd('x_days', String(127 * 2 ** (7 * w)))} != 0`)).join(' + ')} AS a_active_weeks_4`,
      `${d.bitCount('x_core30', core.length)} AS a_features_used_30d`,
      `${d.bitCount('x_core7', core.length)} AS a_features_used_7d`,
    ]
    : [];
  const limit = config.usage_limit ? d.countIf(`event = ${d.quoteString(config.usage_limit.event)} AND di < ${limitDays}`) : '0';
  const events = `SELECT cut, user_id, ${[...windowed.map((a) => `a_${a.name}`), 'a_limit_uses', ...fromSets].join(', ')}
    FROM (SELECT cut, user_id, ${[...windowed.map((a) => aggregate(d, a)), `${limit} AS a_limit_uses`, ...sets].join(', ')}
          FROM (${recent('', eventDays)}) AS r2 GROUP BY cut, user_id) AS r4`;
  // the peak week counts core events only: a week without one counts 0, as a user without such a week
  const weeks = `SELECT cut, user_id, max(nf) AS a_peak_week_features
    FROM (SELECT cut, user_id, wb, count(DISTINCT event) AS nf FROM (${recent(` AND ${d.inList('event', config.taxonomy.core_features)}`, PEAK_WEEK_DAYS)}) AS r3 GROUP BY cut, user_id, wb) AS w0
    GROUP BY cut, user_id`;

  // the labels: events joined to the cutoffs whose horizon holds them
  const labelled = cuts.filter((c) => c.label);
  const horizonEvents = labelled.length
    ? d.expandRows(
      `SELECT user_id, ${epoch} AS e_s, ${d.inList('event', config.taxonomy.churn)} AS is_churn FROM ${opts.source} AS src WHERE ts < ${d.timestamp(Math.max(...labelled.map((c) => c.label!.endMs)))}`,
      { cut: labelled.map((c) => num(c.cutoffMs / 1000)), cut_end: labelled.map((c) => num(c.label!.endMs / 1000)), cut_quiet: labelled.map((c) => num(c.label!.quietFromMs / 1000)) },
      (col) => `e_s >= ${col('cut')} AND e_s < ${col('cut_end')}`,
    )
    : '';
  const labels = `SELECT cut, user_id, ${d.anyIf('is_churn')} AS l_explicit, ${d.countIf('e_s >= cut_quiet')} AS l_recent FROM (${horizonEvents}) AS l0 GROUP BY cut, user_id`;
  const a = (c: string) => (c === 'plan' || c === 'gaps' ? `a_${c}` : `ifNull(a_${c}, 0)`);
  const labelColumns = labelled.length ? `, ${d.double('ifNull(l_explicit, 0)')} AS explicit_churn, ${d.double('ifNull(l_recent, 0)')} AS recent_events` : '';
  // DuckDB reads an expansion by constants once per cutoff: the lifetime aggregates are computed once, as a named query
  return d.withQueries(
    [{ name: 'lifetime', sql: () => lifetime }],
    (ref) => `SELECT cut, ${featureColumns(config, d, a).join(', ')}${labelColumns}
FROM ${d.leftJoinAll(base.replaceAll(LIFETIME, ref('lifetime')), [events, sessions, weeks, ...(labelled.length ? [labels] : [])], 'cut, user_id')}
ORDER BY cut, user_id`,
  );
}

/** Placeholder of multiFeatureQuery's named query, replaced by its reference. */
const LIFETIME = '/*lifetime*/';

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

/**
 * The feature table as one relation, for the warehouse scoring statement (pipeline/score-sql.ts): featureQuery's
 * aggregates, then compute.ts `deriveFeatures` as SQL (same formulas, same fallbacks: no typical gap -> the tenure)
 * and the milestone columns; is_paid/ever_paid renamed after the pass so no alias shadows a column. Unordered.
 */
export function featureRelationSql(config: EventConfig, d: Dialect, opts: { cutoffMs: number; source: string }): string {
  const aggregates = featureQuery(config, d, opts).replace(/\nORDER BY user_id$/, '');
  const milestones = config.activation.milestones.map((m, i) => `m${i} AS ${d.quoteIdent(MILESTONE_PREFIX + m.name)}`);
  const derived = `SELECT *, ${derivedFeatures(config, d).join(',\n  ')}${milestones.length ? `, ${milestones.join(', ')}` : ''} FROM (${aggregates}) AS agg`;
  return `SELECT *, is_paid_flag AS is_paid, ever_paid_flag AS ever_paid FROM (${derived}) AS f0`;
}

/** compute.ts `deriveFeatures` as SQL over featureQuery's columns (same formulas, same fallbacks). */
function derivedFeatures(config: EventConfig, d: Dialect): string[] {
  const nCore = config.taxonomy.core_features.length;
  const planValue = (values: Record<string, number>, fallback: string, scale?: string) => {
    const entries = Object.entries(values).filter(([, v]) => Number.isFinite(v));
    if (!entries.length) return fallback;
    return `CASE ${entries.map(([p, v]) => `WHEN plan = ${d.quoteString(p)} THEN ${scale ? `${scale} / ${num(v)}` : num(v)}`).join(' ')} ELSE ${fallback} END`;
  };
  const sumValue = config.monetary === 'sum_value';
  const limits = Object.fromEntries(Object.entries(config.usage_limit?.limits ?? {}).filter(([, v]) => v > 0));
  return [
    'active_days_30d / 30 AS dau_mau',
    'active_days_7d / 7 AS dau_wau',
    'active_weeks_4 / 4 AS wau_mau',
    `${nCore > 0 ? `features_used_30d / ${num(nCore)}` : '0.0'} AS feature_breadth_30d`,
    `${d.double('coalesce(typical_gap, tenure_days)')} AS typical_gap_days`,
    `${sumValue ? 'total_value' : planValue(config.plans.values, '0.0')} AS monetary_value`,
    `${sumValue ? 'if_pos(total_value)' : d.double(d.inList('plan', config.plans.paid))} AS is_paid_flag`,
    `${sumValue ? 'if_pos(total_value)' : 'ever_paid_plan'} AS ever_paid_flag`,
    `(sessions_7d - sessions_prev_7d) / greatest(sessions_prev_7d, 1.0) AS wow_trend`,
    `CASE WHEN avg_weekly_sessions_28d > 0 THEN greatest(0.0, 1 - sessions_7d / avg_weekly_sessions_28d) ELSE 0.0 END AS usage_decline`,
    `1 + invites_total AS team_size`,
    `${planValue(limits, '0.0', 'limit_uses')} AS usage_pct_of_limit`,
    `CASE WHEN ended_by_churn_event > 0 OR days_since_last_activity >= ${num(inactivityDays(config))} THEN 1 ELSE 0 END AS already_churned`,
  ].map((e) => e.replace(/if_pos\((\w+)\)/g, (_, c: string) => `CASE WHEN ${c} > 0 THEN 1.0 ELSE 0.0 END`));
}
