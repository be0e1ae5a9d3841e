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

/** Over events: a count (or distinct count) of the events of a taxonomy flag (all events without one) in the last `days` days (all before the cutoff without). */
interface EventAggregate {
  name: string;
  fn: 'count' | 'countDistinct';
  of?: string;
  flag?: string;
  days?: number;
}

const EVENT_AGGREGATES: EventAggregate[] = [
  { name: 'events_30d', fn: 'count', days: 30 },
  { name: 'active_days_7d', fn: 'countDistinct', of: 'di', days: 7 },
  { name: 'active_days_30d', fn: 'countDistinct', of: 'di', days: 30 },
  { name: 'active_weeks_4', fn: 'countDistinct', of: 'wb', days: 28 },
  { name: 'features_used_30d', fn: 'countDistinct', of: 'event', flag: 'is_core', days: 30 },
  { name: 'features_used_7d', fn: 'countDistinct', of: 'event', flag: 'is_core', days: 7 },
  { name: 'invites_14d', fn: 'count', flag: 'is_invite', days: 14 },
  { name: 'invites_total', fn: 'count', flag: 'is_invite' },
  { name: 'shares_14d', fn: 'count', flag: 'is_share', days: 14 },
  { name: 'pricing_views_14d', fn: 'count', flag: 'is_pricing', days: 14 },
  { name: 'pricing_views_7d', fn: 'count', flag: 'is_pricing', days: 7 },
  { name: 'locked_clicks_14d', fn: 'count', flag: 'is_locked', days: 14 },
  { name: 'support_tickets_7d', fn: 'count', flag: 'is_ticket', days: 7 },
  { name: 'support_tickets_30d', fn: 'count', flag: 'is_ticket', days: 30 },
  { name: 'negative_support_30d', fn: 'count', flag: 'is_negative', days: 30 },
  { name: 'failed_payments_30d', fn: 'count', flag: 'is_failed_payment', days: 30 },
  { name: 'downgrades_30d', fn: 'count', flag: 'is_downgrade', days: 30 },
  { name: 'cancel_page_views_30d', fn: 'count', flag: 'is_cancel_view', days: 30 },
];

/** An event aggregate as the portable Aggregate over event rows (`di` the days before the cutoff). */
function overEvents(d: Dialect, a: EventAggregate): Aggregate {
  const where = [a.flag, a.days === undefined ? undefined : `di < ${a.days}`].filter((x) => x !== undefined).join(' AND ');
  return { name: a.name, fn: a.fn, of: a.of, where: where || d.true };
}

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
        ${EVENT_AGGREGATES.map((a) => aggregate(d, overEvents(d, a))).join(',\n        ')},
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
 * event three times per cutoff (plus once for its labels), it reads the events twice:
 * - lifetime aggregates (counts, first and last event, latest plan, value, milestones, churn events) per user and
 *   bucket (the events between two consecutive cutoffs), combined over the buckets before each cutoff;
 * - sessions once, with the last event and the event count before each cutoff beside their first event, so a
 *   session cut by a cutoff keeps only its events before it, as in featureQuery;
 * and the windows (7 to 30 days, the usage limit's, 12 weeks of peak breadth) and labels from one table of the
 * events per user and day (`daily`: counts per taxonomy flag, core events as bit sets), 6x fewer rows than events on
 * the synthetic log, each day joined to the cutoffs whose window or horizon holds it. Every window is whole days
 * before its cutoff, so the cutoffs (and horizons) must be whole days apart (cutoffOf's are).
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
  const history = (ref: (name: string) => string) => `SELECT cut, user_id,
    min(q_mn) AS r_mn, max(q_mx) AS r_mx, sum(q_n) AS r_n, sum(q_inv) AS r_inv, min(q_msu) AS r_msu,
    ${d.argMaxTextIf('q_pl', 'q_plts', 'q_npl > 0')} AS r_pl, sum(q_val) AS r_val, max(q_paid) AS r_paid, sum(q_nch) AS r_nch,
    ${d.maxIf('q_chts', 'q_nch > 0')} AS r_chts, ${d.maxIf('q_nchts', 'q_n - q_nch > 0')} AS r_nchts${milestones.map((_, i) => `, max(q_m${i}) AS r_m${i}`).join('')}
    FROM (${d.expandRows(`SELECT * FROM ${ref('lifetime')} AS l0`, cutColumn, beforeCut('q_mn'))}) AS q0 GROUP BY cut, user_id`;
  const base = (ref: (name: string) => string) => `SELECT cut, user_id, r_pl AS a_plan, r_inv AS a_invites_total,
    ${d.double(`floor((cut - ${d.epoch('r_mx')}) / ${DAY_S})`)} AS a_days_since_last_activity,
    ${d.double(`floor((cut - least(${d.epoch('r_mn')}, coalesce(${d.epoch('r_msu')}, ${d.epoch('r_mn')}))) / ${DAY_S})`)} AS a_tenure_days,
    r_val AS a_total_value, r_paid AS a_ever_paid_plan,
    ${d.int(`r_nch > 0 AND r_n - r_nch > 0 AND r_chts >= r_nchts`)} AS a_ended_by_churn_event${milestones.map((_, i) => `, r_m${i} AS a_m${i}`).join('')}
    FROM (${history(ref)}) AS h0`;

  // sessions: the first event, and the last event and event count before each cutoff (a session exists at a
  // cutoff when its first event is before it; then its count there is at least 1 and its last event defined).
  // Per session the first and last event and the count, plain aggregates (a count and a maximum per cutoff filtered
  // in the same pass cost 2.5x as much); a session that a cutoff cuts (first event before it, last at or after it;
  // none on the synthetic log, whose sessions end before midnight) takes its last event and count before each cutoff
  // from a second read of its own events only.
  const before = seconds.map((t) => `${epoch} < ${num(t)}`);
  const sessionAll = `SELECT user_id, session_id, min(ts) AS p_mn, max(ts) AS p_mx, count(*) AS p_n
    FROM ${opts.source} AS src WHERE ts < ${lastCut} GROUP BY user_id, session_id`;
  const cutSessions = (ref: (name: string) => string) => `SELECT user_id, session_id, 1 AS x_cut FROM ${ref('session_all')} AS sa
    WHERE ${seconds.map((t) => `(${d.epoch('p_mn')} < ${num(t)} AND ${d.epoch('p_mx')} >= ${num(t)})`).join(' OR ')}`;
  const cutParts = (ref: (name: string) => string) => `SELECT user_id, session_id, ${before.map((c, k) => `${d.maxIf('ts', c)} AS q_mx${k}, ${d.countIf(c)} AS q_n${k}`).join(', ')}
    FROM ${d.leftJoinAll(`SELECT user_id, session_id, ts FROM ${opts.source} AS src WHERE ts < ${lastCut}`, [cutSessions(ref)], 'user_id, session_id')}
    WHERE x_cut = 1 GROUP BY user_id, session_id`;
  const sessionWide = (ref: (name: string) => string) => `SELECT user_id, session_id, p_mn, ${seconds
    .map((t, k) => `CASE WHEN ${d.epoch('p_mx')} < ${num(t)} THEN p_mx ELSE q_mx${k} END AS p_mx${k}, CASE WHEN ${d.epoch('p_mx')} < ${num(t)} THEN p_n ELSE q_n${k} END AS p_n${k}`)
    .join(', ')}
    FROM ${d.leftJoinAll(`SELECT * FROM ${ref('session_all')} AS sa`, [cutParts(ref)], 'user_id, session_id')}`;
  const sessionRows = (ref: (name: string) => string) =>
    d.expandRows(sessionWide(ref), { ...cutColumn, p_mx: seconds.map((_, k) => `p_mx${k}`), p_n: seconds.map((_, k) => `p_n${k}`) }, beforeCut('p_mn'));
  const sess = (ref: (name: string) => string) => `SELECT cut, user_id, s_epoch, s_seconds, n_events, ${daysBefore('s_epoch')} AS di
    FROM (SELECT cut, user_id, ${d.epoch('p_mn')} AS s_epoch, ${d.epoch('p_mx')} - ${d.epoch('p_mn')} AS s_seconds, p_n AS n_events FROM (${sessionRows(ref)}) AS s0) AS s1`;
  const sessAgg = (ref: (name: string) => string) => `SELECT cut, user_id, ${SESSION_AGGREGATES.map((a) => aggregate(d, a)).join(', ')}, ${d.sortedList('s_epoch')} AS starts
    FROM (${sess(ref)}) AS s2 GROUP BY cut, user_id`;
  const sessions = (ref: (name: string) => string) => `SELECT cut, user_id, ${SESSION_AGGREGATES.map((a) => `a_${a.name}`).join(', ')}, ${d.sortedGapDaysSince('starts', `(cut - ${GAP_DAYS * DAY_S})`)} AS a_gaps FROM (${sessAgg(ref)}) AS s3`;

  // The windows and labels read `daily`: the events per user and day, a day counted from the first cutoff. For an
  // event at e, k = floor((e - cut0) / 1 day) and m = floor((cut0 - e) / 1 day): at the cutoff D whole days after
  // cut0 it is before the cutoff when k < D and its `di` (featureQuery's days before the cutoff) is D + m. (m is
  // -k or -k - 1, -k only for an event at exactly a day's start, as every CDNOW purchase: it is grouped apart.)
  const cut0 = seconds[0];
  const dayOf = (ms: number, what: string) => {
    const days = (ms / 1000 - cut0) / DAY_S;
    if (!Number.isInteger(days)) throw internalError(`multiFeatureQuery needs cutoffs and horizons whole days apart, got ${what} ${new Date(ms).toISOString()} after ${new Date(cut0 * 1000).toISOString()}`);
    return days;
  };
  const cutDays = cuts.map((c) => String(dayOf(c.cutoffMs, 'the cutoff')));
  const labelled = cuts.filter((c) => c.label);
  const readDays = Math.max(eventDays, PEAK_WEEK_DAYS) + 1;
  const dailyEnd = Math.max(cuts[cuts.length - 1].cutoffMs, ...labelled.map((c) => c.label!.endMs));
  // the counted flags of the windowed aggregates (each a sum of its daily counts), and the core events as bit sets
  // of at most 62 events each (a distinct count of core events is the count of bits set in their union)
  const counted = [...new Set(EVENT_AGGREGATES.filter((a) => a.fn === 'count' && a.days !== undefined && a.flag).map((a) => a.flag!))];
  const core = config.taxonomy.core_features;
  const coreWords = Array.from({ length: Math.ceil(core.length / CORE_BITS) }, (_, w) => core.slice(w * CORE_BITS, (w + 1) * CORE_BITS));
  const coreSet = (w: number) => `x_core${w}`;
  const limitEvent = config.usage_limit ? `event = ${d.quoteString(config.usage_limit.event)}` : d.false;
  // k and m are read through an aggregate of the grouping keys: DuckDB pushes its readers' filters on a grouping key
  // of a materialized query down into its scan, as an OR of them all that recomputes k per reader (4 CPU s of 23M events)
  // (counts stored as 32-bit integers: the table is kept for its three readers, 3.6M rows on the 100k log)
  const daily = `SELECT user_id, min(kd) AS k, min(md) AS m, ${d.int('count(*)')} AS n, ${counted.map((f) => `${d.int(d.countIf(f))} AS c_${f}`).join(', ')},
    ${d.int(d.countIf('is_churn'))} AS c_is_churn, ${d.int(d.countIf(limitEvent))} AS c_limit${coreWords.map((word, w) => `,
    ${d.bitOrIf(d.bit(`CASE ${word.map((e, i) => `WHEN event = ${d.quoteString(e)} THEN ${i}`).join(' ')} ELSE 0 END`), d.inList('event', word))} AS ${coreSet(w)}`).join('')}
    FROM (SELECT user_id, event, ${d.int(`floor((e_s - ${num(cut0)}) / ${DAY_S})`)} AS kd, ${d.int(`floor((${num(cut0)} - e_s) / ${DAY_S})`)} AS md, ${flagColumns(config, d).join(', ')}
          FROM (SELECT user_id, event, ${epoch} AS e_s FROM ${opts.source} AS src
                WHERE ts >= ${d.timestamp((cut0 - readDays * DAY_S) * 1000)} AND ts < ${d.timestamp(dailyEnd)}) AS e1) AS e2
    GROUP BY user_id, kd, md`;
  // each day joined to the cutoffs within `days` days after it
  const recentDays = (ref: (name: string) => string, where: string, days: number) => {
    const rows = d.expandRows(`SELECT * FROM ${ref('daily')} AS dl${where}`, { ...cutColumn, dcut: cutDays }, (col) => `k < ${col('dcut')} AND m < ${days} - ${col('dcut')}`);
    return `SELECT *, ${d.intDiv('di', '7')} AS wb FROM (SELECT *, dcut + m AS di FROM (${rows}) AS r0) AS r1`;
  };
  const bitCountAll = (x: (w: number) => string, width: (w: number) => number) => coreWords.length ? coreWords.map((_, w) => d.bitCount(x(w), width(w))).join(' + ') : '0';
  const windowed = EVENT_AGGREGATES.filter((a) => a.fn === 'count' && a.days !== undefined).map((a) => `${d.sumIf(a.flag ? `c_${a.flag}` : 'n', `di < ${a.days}`)} AS a_${a.name}`);
  const sets = [
    `${d.bitOrIf(d.bit('di'), 'di < 30')} AS x_days`,
    ...coreWords.flatMap((_, w) => [`${d.bitOrIf(coreSet(w), 'di < 30')} AS x_core30_${w}`, `${d.bitOrIf(coreSet(w), 'di < 7')} AS x_core7_${w}`]),
  ];
  const fromSets = [
    `${d.bitCount(d.bitAnd('x_days', '127'), 7)} AS a_active_days_7d`,
    `${d.bitCount('x_days', 30)} AS a_active_days_30d`,
    `${[0, 1, 2, 3].map((w) => d.int(`${d.bitAnd('x_days', String(127 * 2 ** (7 * w)))} != 0`)).join(' + ')} AS a_active_weeks_4`,
    `${bitCountAll((w) => `x_core30_${w}`, (w) => coreWords[w].length)} AS a_features_used_30d`,
    `${bitCountAll((w) => `x_core7_${w}`, (w) => coreWords[w].length)} AS a_features_used_7d`,
  ];
  const windowNames = [...EVENT_AGGREGATES.filter((a) => a.fn === 'count' && a.days !== undefined).map((a) => `a_${a.name}`), 'a_limit_uses'];
  const events = (ref: (name: string) => string) => `SELECT cut, user_id, ${[...windowNames, ...fromSets].join(', ')}
    FROM (SELECT cut, user_id, ${[...windowed, `${d.sumIf('c_limit', `di < ${limitDays}`)} AS a_limit_uses`, ...sets].join(', ')}
          FROM (${recentDays(ref, '', eventDays)}) AS r2 GROUP BY cut, user_id) AS r4`;
  // the peak week counts core events only: a week without one counts 0, as a user without such a week
  const anyCore = coreWords.length ? ` WHERE ${coreWords.map((_, w) => `${coreSet(w)} != 0`).join(' OR ')}` : ` WHERE ${d.false}`;
  const weeks = (ref: (name: string) => string) => `SELECT cut, user_id, max(nf) AS a_peak_week_features
    FROM (SELECT cut, user_id, wb, ${bitCountAll((w) => d.bitOrIf(coreSet(w), d.true), (w) => coreWords[w].length)} AS nf
          FROM (${recentDays(ref, anyCore, PEAK_WEEK_DAYS)}) AS r3 GROUP BY cut, user_id, wb) AS w0
    GROUP BY cut, user_id`;

  // the labels: the days in each cutoff's horizon [cut, end), the recent ones from its quiet start
  const labels = (ref: (name: string) => string) => {
    const rows = d.expandRows(
      `SELECT user_id, k, n, c_is_churn FROM ${ref('daily')} AS dl`,
      {
        cut: labelled.map((c) => num(c.cutoffMs / 1000)),
        dcut: labelled.map((c) => String(dayOf(c.cutoffMs, 'the cutoff'))),
        dend: labelled.map((c) => String(dayOf(c.label!.endMs, 'the horizon end'))),
        dquiet: labelled.map((c) => String(dayOf(c.label!.quietFromMs, 'the quiet start'))),
      },
      (col) => `k >= ${col('dcut')} AND k < ${col('dend')}`,
    );
    return `SELECT cut, user_id, ${d.anyIf('c_is_churn > 0')} AS l_explicit, ${d.sumIf('n', 'k >= dquiet')} AS l_recent FROM (${rows}) AS l0 GROUP BY cut, user_id`;
  };
  const a = (c: string) => (c === 'plan' || c === 'gaps' ? `a_${c}` : `ifNull(a_${c}, 0)`);
  const labelColumns = labelled.length ? `, ${d.double('ifNull(l_explicit, 0)')} AS explicit_churn, ${d.double('ifNull(l_recent, 0)')} AS recent_events` : '';
  // DuckDB reads an expansion by constants once per cutoff: the lifetime aggregates and the days are computed once, as named queries
  return d.withQueries(
    [{ name: 'lifetime', sql: () => lifetime }, { name: 'daily', sql: () => daily, materialize: true }, { name: 'session_all', sql: () => sessionAll, materialize: true }],
    (ref) => `SELECT cut, ${featureColumns(config, d, a).join(', ')}${labelColumns}
FROM ${d.leftJoinAll(base(ref), [events(ref), sessions(ref), weeks(ref), ...(labelled.length ? [labels(ref)] : [])], 'cut, user_id')}
ORDER BY cut, user_id`,
  );
}

/** Core events per bit set of `daily` (a 64-bit integer; the dialects' bitCount reads at most 63 bits). */
const CORE_BITS = 62;

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
