import { inactivityDays } from '../ingest/index.js';
import type { EventConfig, Taxonomy } from '../ingest/types.js';
import { asSource, type EventSource } from '../engine/source.js';
import type { EventStore } from '../ingest/index.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { featureDictionary } from './dictionary.js';
import { computeFeatures, cutoffOf, isoDate } from './index.js';
import { horizonCoverage, latestCoveredAsOf } from './horizon.js';
import { quantileSorted as quantile } from '../shared/preprocess.js';

/**
 * Data checks a user runs first (`cohortlab profile`), and that `features`, `train` and `score` run
 * too: does this log support what the later stages will compute from it? Each finding that makes
 * an output misleading becomes a warning `{ code, message }` (codes stable, listed in docs/errors.md,
 * section "Warnings"); the figures behind them are kept in the profile for `--json`.
 *
 *   events ──> span, timestamp sanity, events per user, event names vs taxonomy and milestones
 *          ──> users at the cutoff (already churned vs live: one feature pass, or counts given)
 *          ──> horizon end vs the last event's instant ──> warnings
 */
export interface DataWarning {
  code: DataWarningCode;
  message: string;
}

export type DataWarningCode =
  | 'LOG_SHORTER_THAN_WINDOWS'
  | 'TIMESTAMPS_BEFORE_2000'
  | 'TIMESTAMPS_IN_FUTURE'
  | 'MOST_USERS_ALREADY_CHURNED'
  | 'FEW_LIVE_USERS'
  | 'FEW_EVENTS_PER_USER'
  | 'TAXONOMY_EVENTS_ABSENT'
  | 'NO_ACTIVATION_MILESTONES'
  | 'MILESTONE_EVENTS_ABSENT'
  | 'ROWS_REJECTED'
  | 'HORIZON_NOT_COVERED';

/** Thresholds of the checks, as data (a finding past them becomes a warning). */
export const PROFILE_LIMITS = {
  /** Earliest plausible event: before it a timestamp is almost surely misread. */
  earliestPlausibleMs: Date.UTC(2000, 0, 1),
  /** Share of users already churned at the cutoff above which the snapshot is mostly history. */
  maxChurnedShare: 0.5,
  /** Fewer live users than this: models, clusters and segment shares rest on a handful of people. */
  minLiveUsers: 50,
  /** Median events per user at or below this: most per-user features are zeros. */
  minMedianEvents: 2,
  /** Share of rows rejected (beyond config exclusions) worth a warning. */
  maxRejectedShare: 0.01,
} as const;

export interface DataProfile {
  location: string;
  events: number;
  users: number;
  /** ISO instants of the first and last used event. */
  firstEvent: string;
  lastEvent: string;
  spanDays: number;
  asOf: string;
  /** The cutoff instant (00:00 UTC after the as-of date). */
  cutoff: string;
  /** Days of events before the cutoff (first event .. min(cutoff, last event)). */
  historyDays: number;
  horizon: { days: number; end: string; covered: boolean } | null;
  rows: { read: number; used: number; rejected: Record<string, number> };
  timestamps: { before2000: number; inFuture: number; now: string };
  atCutoff: { users: number; alreadyChurned: number; live: number; churnedShare: number; inactivityDays: number };
  eventsPerUser: { min: number; p25: number; median: number; p75: number; p90: number; p99: number; max: number; mean: number; withOneEvent: number };
  eventNames: { distinct: number; top: { event: string; events: number }[] };
  /** Taxonomy names (by role) and milestone events that never occur in the log. */
  absent: { taxonomy: Partial<Record<keyof Taxonomy, string[]>>; milestones: { name: string; event: string }[] };
  milestonesConfigured: number;
  /** Feature windows (days) longer than the history before the cutoff. */
  windowsBeyondHistory: number[];
  warnings: DataWarning[];
}

export interface ProfileOptions {
  /** Cutoff date; default the day of the last event (the snapshot `train` scores), or with a horizon the latest cutoff it covers. */
  asOf?: string;
  horizonDays?: number;
  /** Users and already-churned users at the cutoff when the caller computed features already (no second pass). */
  atCutoff?: { users: number; alreadyChurned: number };
  /** "Today" for the future-timestamp check (default: the clock; tests pin it). */
  nowMs?: number;
  logger?: Logger;
}

const DAY_MS = 86_400_000;

/** "4 hours", "1.5 days", "212 days": a span a person reads at a glance. */
export function describeSpan(ms: number): string {
  if (ms < 2 * 3_600_000) return `${Math.max(0, Math.round(ms / 60_000))} minutes`;
  if (ms < 2 * DAY_MS) return `${Math.round(ms / 3_600_000)} hours`;
  if (ms < 14 * DAY_MS) return `${(ms / DAY_MS).toFixed(1)} days`;
  return `${Math.round(ms / DAY_MS).toLocaleString('en-US')} days`;
}

const isoInstant = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : '-');

/** Day lengths of the feature dictionary's windows ("7d", "7d (days 8-14)", "90d"), distinct and sorted. */
export function featureWindowDays(config: EventConfig): number[] {
  const days = new Set<number>();
  for (const f of featureDictionary(config)) {
    const m = /^(\d+)d\b/.exec(f.window);
    if (m) days.add(Number(m[1]) + (/days 8-14/.test(f.window) ? 7 : 0));
  }
  return [...days].sort((a, b) => a - b);
}

function listDays(days: number[]): string {
  const parts = days.map((d) => `${d}`);
  if (parts.length === 1) return `${parts[0]}-day`;
  return `${parts.slice(0, -1).join('-, ')}- and ${parts[parts.length - 1]}-day`;
}

/** The likely cause of timestamps before 2000, from the range seen and the config's timestamp format. */
function earlyCause(minMs: number, config: EventConfig): string {
  const year = new Date(minMs).getUTCFullYear();
  if (year >= 1969 && year <= 1971) {
    return config.timestamp_format === 'epoch_ms'
      ? 'epoch seconds read as milliseconds? (timestamp_format is "epoch_ms"; try "epoch_s")'
      : 'epoch seconds read as milliseconds, or zeros/small numbers in the timestamp column?';
  }
  if (year < 1900) return 'a placeholder date (0001-01-01) or a day offset read as a date?';
  if (year >= 1990) return 'fine if the log really dates from the 1990s; otherwise two-digit years or a default date for missing values?';
  return 'a default date for missing values, or two-digit years?';
}

function futureCause(maxMs: number, config: EventConfig): string {
  const year = new Date(maxMs).getUTCFullYear();
  if (year > 3000) return config.timestamp_format === 'epoch_s' ? 'epoch milliseconds read as seconds? (timestamp_format is "epoch_s"; try "epoch_ms")' : 'epoch milliseconds read as seconds?';
  return 'scheduled or test events, a wrong time zone, or a clock ahead?';
}

/**
 * Profiles the events of a source at a cutoff. Reads per-user event counts, event names and the
 * out-of-range timestamps with three small queries; the users at the cutoff come from `atCutoff`
 * or from one feature pass.
 */
export async function profileEvents(events: EventStore | EventSource, opts: ProfileOptions = {}): Promise<DataProfile> {
  const logger = opts.logger ?? silentLogger;
  const src = asSource(events);
  const { config, report } = src;
  const d = src.dialect;
  const nowMs = opts.nowMs ?? Date.now();
  const first = report.firstEventMs;
  const last = report.lastEventMs;
  const inactivity = inactivityDays(config);
  const asOf = opts.asOf ?? (opts.horizonDays !== undefined ? latestCoveredAsOf(last, opts.horizonDays, inactivity) : isoDate(last));
  const cutoffMs = cutoffOf(asOf);

  const perUser = await src.query(`SELECT ${d.double('count(*)')} AS n FROM ${src.relation} AS src GROUP BY user_id`);
  const counts = Float64Array.from(perUser.columns[0] as Float64Array).sort();
  const names = await src.query(`SELECT event, ${d.double('count(*)')} AS n FROM ${src.relation} AS src GROUP BY event ORDER BY n DESC, event`);
  const eventNames = names.columns[0] as string[];
  const eventCounts = names.columns[1] as Float64Array;
  const odd = await src.query(
    `SELECT ${d.double(d.countIf(`ts < ${d.timestamp(PROFILE_LIMITS.earliestPlausibleMs)}`))} AS early, ${d.double(d.countIf(`ts > ${d.timestamp(nowMs)}`))} AS late FROM ${src.relation} AS src`,
  );
  const before2000 = (odd.columns[0] as Float64Array)[0];
  const inFuture = (odd.columns[1] as Float64Array)[0];

  let atCutoff = opts.atCutoff;
  if (!atCutoff) {
    if (first < cutoffMs) {
      const table = await computeFeatures(src, { asOf, logger });
      atCutoff = { users: table.userIds.length, alreadyChurned: table.alreadyChurned.reduce((s, v) => s + v, 0) };
    } else atCutoff = { users: 0, alreadyChurned: 0 };
  }
  const live = atCutoff.users - atCutoff.alreadyChurned;
  const churnedShare = atCutoff.users > 0 ? atCutoff.alreadyChurned / atCutoff.users : 0;

  const seen = new Set(eventNames);
  const absentTaxonomy: DataProfile['absent']['taxonomy'] = {};
  for (const [role, list] of Object.entries(config.taxonomy) as [keyof Taxonomy, string[]][]) {
    const missing = [...new Set(list)].filter((e) => !seen.has(e));
    if (missing.length) absentTaxonomy[role] = missing;
  }
  const absentMilestones = config.activation.milestones.filter((m) => !seen.has(m.event)).map((m) => ({ name: m.name, event: m.event }));

  const historyMs = Math.max(0, Math.min(cutoffMs, last) - first);
  const windows = featureWindowDays(config);
  const beyond = windows.filter((w) => w * DAY_MS > historyMs);
  const horizon = opts.horizonDays !== undefined ? (() => {
    const h = horizonCoverage(asOf, opts.horizonDays as number, last, inactivity);
    return { days: opts.horizonDays as number, end: isoInstant(h.endMs), covered: h.covered };
  })() : null;
  const rejectedNotExcluded = Object.entries(report.rejected).filter(([k]) => !k.startsWith('excluded by config'));
  const nRejected = rejectedNotExcluded.reduce((s, [, v]) => s + v, 0);

  const profile: DataProfile = {
    location: src.location,
    events: report.rowsUsed,
    users: report.users,
    firstEvent: isoInstant(first),
    lastEvent: isoInstant(last),
    spanDays: (last - first) / DAY_MS,
    asOf,
    cutoff: isoInstant(cutoffMs),
    historyDays: historyMs / DAY_MS,
    horizon,
    rows: { read: report.rowsRead, used: report.rowsUsed, rejected: report.rejected },
    timestamps: { before2000, inFuture, now: isoInstant(nowMs) },
    atCutoff: { users: atCutoff.users, alreadyChurned: atCutoff.alreadyChurned, live, churnedShare, inactivityDays: inactivity },
    eventsPerUser: {
      min: counts[0] ?? 0, p25: quantile(counts, 0.25), median: quantile(counts, 0.5), p75: quantile(counts, 0.75), p90: quantile(counts, 0.9),
      p99: quantile(counts, 0.99), max: counts[counts.length - 1] ?? 0, mean: counts.length ? counts.reduce((s, v) => s + v, 0) / counts.length : 0,
      withOneEvent: counts.filter((c) => c === 1).length,
    },
    eventNames: { distinct: eventNames.length, top: eventNames.slice(0, 10).map((e, i) => ({ event: e, events: eventCounts[i] })) },
    absent: { taxonomy: absentTaxonomy, milestones: absentMilestones },
    milestonesConfigured: config.activation.milestones.length,
    windowsBeyondHistory: beyond,
    warnings: [],
  };
  profile.warnings = profileWarnings(profile, config, { firstMs: first, lastMs: last, historyMs, nRejected, rejectedNotExcluded });
  return profile;
}

function profileWarnings(
  p: DataProfile, config: EventConfig,
  x: { firstMs: number; lastMs: number; historyMs: number; nRejected: number; rejectedNotExcluded: [string, number][] },
): DataWarning[] {
  const w: DataWarning[] = [];
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  if (p.timestamps.before2000 > 0) {
    w.push({
      code: 'TIMESTAMPS_BEFORE_2000',
      message: `${p.timestamps.before2000.toLocaleString('en-US')} of ${p.events.toLocaleString('en-US')} events are dated before 2000 (events range ${p.firstEvent} .. ${p.lastEvent}): ${earlyCause(x.firstMs, config)}`,
    });
  }
  if (p.timestamps.inFuture > 0) {
    w.push({
      code: 'TIMESTAMPS_IN_FUTURE',
      message: `${p.timestamps.inFuture.toLocaleString('en-US')} of ${p.events.toLocaleString('en-US')} events are dated after today (${p.timestamps.now.slice(0, 10)}; events range ${p.firstEvent} .. ${p.lastEvent}): ${futureCause(x.lastMs, config)}`,
    });
  }
  const inactivityBeyond = p.atCutoff.inactivityDays * DAY_MS > x.historyMs;
  if (p.windowsBeyondHistory.length || inactivityBeyond) {
    const span = describeSpan(x.historyMs);
    const what = x.historyMs < DAY_MS ? 'carry no information' : 'reach past the first event, so they only repeat all-history counts';
    const parts = [];
    if (p.windowsBeyondHistory.length) parts.push(`the ${listDays(p.windowsBeyondHistory)} features ${what}`);
    if (inactivityBeyond) parts.push(`nobody can be inactive for the ${p.atCutoff.inactivityDays}-day threshold of playbook §3.4, so no one is dormant or already churned by inactivity`);
    w.push({ code: 'LOG_SHORTER_THAN_WINDOWS', message: `the log spans ${span} before the cutoff ${p.cutoff}: ${parts.join('; ')}.` });
  }
  if (p.horizon && !p.horizon.covered) {
    w.push({
      code: 'HORIZON_NOT_COVERED',
      message: `a ${p.horizon.days}-day horizon after ${p.asOf} ends at ${p.horizon.end}, after the last event (${p.lastEvent}): users quiet in the uncovered part would be labelled churned; pick an as-of of ${latestCoveredAsOf(x.lastMs, p.horizon.days, p.atCutoff.inactivityDays)} or earlier, or a shorter horizon.`,
    });
  }
  if (p.atCutoff.users > 0 && p.atCutoff.churnedShare > PROFILE_LIMITS.maxChurnedShare) {
    w.push({
      code: 'MOST_USERS_ALREADY_CHURNED',
      message: `${p.atCutoff.alreadyChurned.toLocaleString('en-US')} of ${p.atCutoff.users.toLocaleString('en-US')} users (${pct(p.atCutoff.churnedShare)}) are already churned at the cutoff ${p.asOf} (churn event, or ${p.atCutoff.inactivityDays}+ days without activity); only ${p.atCutoff.live.toLocaleString('en-US')} are live.`,
    });
  }
  if (p.atCutoff.users > 0 && p.atCutoff.live < PROFILE_LIMITS.minLiveUsers) {
    w.push({
      code: 'FEW_LIVE_USERS',
      message: `only ${p.atCutoff.live.toLocaleString('en-US')} users are live at the cutoff ${p.asOf} (under ${PROFILE_LIMITS.minLiveUsers}): model metrics, clusters and segment shares rest on a handful of people.`,
    });
  }
  if (p.eventsPerUser.median <= PROFILE_LIMITS.minMedianEvents) {
    w.push({
      code: 'FEW_EVENTS_PER_USER',
      message: `half of the ${p.users.toLocaleString('en-US')} users have ${p.eventsPerUser.median} or fewer events (${p.eventsPerUser.withOneEvent.toLocaleString('en-US')} have one): most per-user features are zeros and trends cannot be measured.`,
    });
  }
  const absent = Object.entries(p.absent.taxonomy);
  if (absent.length) {
    w.push({
      code: 'TAXONOMY_EVENTS_ABSENT',
      message: `taxonomy event names never seen in the log (their features are always 0): ${absent.map(([role, names]) => `${role}: ${(names as string[]).map((n) => JSON.stringify(n)).join(', ')}`).join('; ')}.`,
    });
  }
  if (p.milestonesConfigured === 0) {
    w.push({ code: 'NO_ACTIVATION_MILESTONES', message: 'no activation milestones configured: every user will be Not activated (playbook §4.2); add activation.milestones to the config.' });
  } else if (p.absent.milestones.length) {
    w.push({
      code: 'MILESTONE_EVENTS_ABSENT',
      message: `activation milestones whose event never occurs in the log (no user can reach them, capping the §4.2 score): ${p.absent.milestones.map((m) => `${m.name} (${JSON.stringify(m.event)})`).join(', ')}.`,
    });
  }
  if (p.rows.read > 0 && x.nRejected / p.rows.read > PROFILE_LIMITS.maxRejectedShare) {
    w.push({
      code: 'ROWS_REJECTED',
      message: `${x.nRejected.toLocaleString('en-US')} of ${p.rows.read.toLocaleString('en-US')} rows (${pct(x.nRejected / p.rows.read)}) were rejected: ${x.rejectedNotExcluded.map(([k, v]) => `${v.toLocaleString('en-US')} ${k}`).join(', ')}.`,
    });
  }
  return w;
}

/** "30 files: a.json.gz .. z.json.gz" instead of thirty paths. */
function shortLocation(location: string): string {
  const parts = location.split(', ');
  return parts.length > 2 ? `${parts.length} files: ${parts[0]} .. ${parts[parts.length - 1]}` : location;
}

/** The one-screen summary `cohortlab profile` prints. */
export function formatProfile(p: DataProfile): string[] {
  const n = (v: number) => v.toLocaleString('en-US');
  const r = (v: number) => (Number.isInteger(v) ? n(v) : v.toFixed(1));
  const e = p.eventsPerUser;
  const rejected = Object.entries(p.rows.rejected).map(([k, v]) => `${n(v)} ${k}`).join(', ');
  const lines = [
    `profile of ${shortLocation(p.location)}`,
    `  events    ${n(p.events)} used of ${n(p.rows.read)} rows read${rejected ? ` (rejected: ${rejected})` : ''}`,
    `  span      ${p.firstEvent} .. ${p.lastEvent} (${describeSpan(p.spanDays * DAY_MS)})`,
    `  cutoff    as of ${p.asOf} (events before ${p.cutoff}; ${describeSpan(p.historyDays * DAY_MS)} of history)${p.horizon ? `; ${p.horizon.days}-day horizon ends ${p.horizon.end}: ${p.horizon.covered ? 'covered' : 'NOT covered by the log'}` : ''}`,
    `  users     ${n(p.users)} in the log; at the cutoff ${n(p.atCutoff.users)}: ${n(p.atCutoff.alreadyChurned)} already churned (${(100 * p.atCutoff.churnedShare).toFixed(1)}%), ${n(p.atCutoff.live)} live (inactivity threshold ${p.atCutoff.inactivityDays} days)`,
    `  per user  events min ${r(e.min)}, p25 ${r(e.p25)}, median ${r(e.median)}, p75 ${r(e.p75)}, p90 ${r(e.p90)}, p99 ${r(e.p99)}, max ${r(e.max)}; mean ${e.mean.toFixed(1)}; ${n(e.withOneEvent)} ${e.withOneEvent === 1 ? 'user' : 'users'} with one event`,
    `  events    ${n(p.eventNames.distinct)} distinct names; top: ${p.eventNames.top.slice(0, 6).map((t) => `${t.event} ${n(t.events)}`).join(', ')}`,
    `  taxonomy  ${Object.keys(p.absent.taxonomy).length ? `absent: ${Object.entries(p.absent.taxonomy).map(([k, v]) => `${k} (${(v as string[]).length})`).join(', ')}` : 'every named event occurs'}; activation milestones: ${p.milestonesConfigured}${p.absent.milestones.length ? ` (${p.absent.milestones.length} never reached)` : ''}`,
  ];
  if (p.timestamps.before2000 || p.timestamps.inFuture) lines.push(`  dates     ${n(p.timestamps.before2000)} before 2000, ${n(p.timestamps.inFuture)} after today`);
  lines.push(p.warnings.length ? `warnings (${p.warnings.length}):` : 'warnings: none');
  for (const w of p.warnings) lines.push(`  ${w.code}: ${w.message}`);
  return lines;
}
