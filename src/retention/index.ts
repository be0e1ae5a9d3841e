import { computeFeatures, cutoffOf, type FeatureTable } from '../features/index.js';
import { asSource, type EventSource } from '../engine/index.js';
import { inactivityDays, type EventStore } from '../ingest/index.js';
import { applyRules } from '../rules/index.js';
import { CohortlabError, internalError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import type { ColumnTable } from '../shared/table-io.js';
import { cohortTable, type CohortCell, type CohortPeriod } from './cohort.js';
import { durationsFromFeatures, landmarkDurations } from './durations.js';
import { kaplanMeier, logRank, type LogRankResult, type SurvivalCurve } from './km.js';

export { kaplanMeier, logRank, Z_95, type SurvivalCurve, type SurvivalStep, type LogRankResult } from './km.js';
export { chiSquareSurvival, gammaQ, logGamma } from './chi2.js';
export { durationsFromFeatures, landmarkDurations, type UserDurations } from './durations.js';
export { cohortTable, cohortColumnTable, type CohortCell, type CohortPeriod } from './cohort.js';
export { retentionHtml, survivalChart, survivalChartOf, cohortHeatmap } from './charts.js';

/**
 * retention: time to churn per user from the events (durations.ts), Kaplan-Meier curves per group with
 * Greenwood bands and median lifetimes (km.ts), the log-rank test between the groups, and the cohort table
 * (cohort.ts). Groups come from a feature column, the rules (§2.1 behavioral_segment, §2.3 lifecycle_stage)
 * or labels a caller computes (a model's clusters, assigned by the CLI through the registry).
 */
export type RetentionBy =
  | { kind: 'all' }
  | { kind: 'column'; column: string }
  | { kind: 'segment' }
  | { kind: 'lifecycle' }
  | { kind: 'labels'; name: string; labels: (table: FeatureTable) => Promise<string[]> };

export interface RetentionWarning {
  code: 'GROUPS_FROM_OUTCOME' | 'SMALL_GROUP' | 'MEDIAN_NOT_REACHED' | 'SIGNUPS_BEFORE_LOG';
  message: string;
}

export interface RetentionOptions {
  asOf: string;
  by?: RetentionBy;
  /** Groups assigned at this earlier date, and time counted from it, among users live then (durations.ts). */
  landmark?: string;
  cohortPeriod?: CohortPeriod;
  /** The cohort table (DuckDB only); default true. */
  withCohorts?: boolean;
  /** Feature tables already computed at the as-of date or the landmark (train's), used instead of computing them again. */
  features?: FeatureTable[];
  logger?: Logger;
}

export interface GroupCurve {
  group: string;
  curve: SurvivalCurve;
}

export interface RetentionResult {
  asOf: string;
  landmark: string | null;
  by: string;
  inactivityRule: string;
  userIds: string[];
  group: string[];
  durationDays: Float64Array;
  churned: Uint8Array;
  /** Delayed entry in days (NaN = from 0), for users first seen before the log (durations.ts). */
  entryDays: Float64Array;
  curves: GroupCurve[];
  logRank: LogRankResult | null;
  cohortPeriod: CohortPeriod;
  cohorts: CohortCell[];
  warnings: RetentionWarning[];
}

/** A group needs this many users, and this many observed churns, before its curve is read without a warning. */
export const MIN_GROUP_USERS = 30;
export const MIN_GROUP_CHURNS = 10;
/** More distinct values than this in a --by column is a continuous column, not a grouping. */
export const MAX_GROUPS = 20;

export function byName(by: RetentionBy): string {
  switch (by.kind) {
    case 'all':
      return 'all';
    case 'column':
      return by.column;
    case 'segment':
      return 'behavioral_segment';
    case 'lifecycle':
      return 'lifecycle_stage';
    case 'labels':
      return by.name;
  }
}

/** The group of each user of `table`, by a feature column (`plan` included), or by the rules. */
export async function groupLabels(table: FeatureTable, by: RetentionBy): Promise<string[]> {
  const n = table.userIds.length;
  switch (by.kind) {
    case 'all':
      return new Array<string>(n).fill('all');
    case 'segment':
    case 'lifecycle': {
      if (!table.config) throw internalError('the feature table carries no config for the rules');
      // playbook §2.1 behavioral segments, §2.3 lifecycle stages, with reference thresholds fitted on this table
      const rules = applyRules(table, table.config);
      return rules.columns[by.kind === 'segment' ? 'behavioral_segment' : 'lifecycle_stage'] as string[];
    }
    case 'labels':
      return by.labels(table);
    case 'column': {
      if (by.column === 'plan') return table.plan.map((p) => p || '(none)');
      const col = table.columns[by.column];
      if (!col) {
        const names = ['plan', ...Object.keys(table.columns)];
        throw new CohortlabError('BAD_ARGUMENT', `--by ${by.column}: the features have no such column; use segment, lifecycle, cluster or one of: ${names.join(', ')}.`);
      }
      const labels = Array.from(col, (v) => String(v));
      const distinct = new Set(labels).size;
      if (distinct > MAX_GROUPS) throw new CohortlabError('BAD_ARGUMENT', `--by ${by.column}: the column has ${distinct} distinct values (more than ${MAX_GROUPS}), a continuous measure rather than groups; pick a column with few values (plan, is_paid) or segment/lifecycle/cluster.`);
      return labels;
    }
  }
}

export async function computeRetention(events: EventStore | EventSource, opts: RetentionOptions): Promise<RetentionResult> {
  return (await computeRetentionViews(events, { ...opts, bys: [opts.by ?? { kind: 'all' }] }))[0];
}

/** Several groupings of the same users: the features (at the as-of date and the landmark) and the cohort table are computed once. */
export async function computeRetentionViews(events: EventStore | EventSource, opts: Omit<RetentionOptions, 'by'> & { bys: RetentionBy[] }): Promise<RetentionResult[]> {
  const logger = opts.logger ?? silentLogger;
  const store = asSource(events);
  const at = async (asOf: string) => opts.features?.find((t) => t.asOf === asOf) ?? (await computeFeatures(store, { asOf, logger }));
  const atAsOf = await at(opts.asOf);
  const atLandmark = opts.landmark ? await at(opts.landmark) : null;
  const base = atLandmark ? landmarkDurations(atLandmark, atAsOf) : { ...durationsFromFeatures(atAsOf, { logStartMs: store.report.firstEventMs }), rowAtLandmark: null };
  if (base.userIds.length === 0) throw new CohortlabError('EMPTY_INPUT', `no user is live (not already churned) at the landmark ${opts.landmark}; pick a later --landmark.`);
  const { userIds, durationDays, churned, entryDays } = base;
  const truncated = entryDays.reduce((s, e) => s + (Number.isFinite(e) ? 1 : 0), 0);
  const cohortPeriod = opts.cohortPeriod ?? (store.config.cadence === 'monthly' ? 'month' : 'week');
  const cohorts = opts.withCohorts === false ? [] : await cohortTable(store, { cutoffMs: cutoffOf(opts.asOf), period: cohortPeriod, logStartMs: store.report.firstEventMs });
  const inactivityRule = `churned = an explicit churn event (${store.config.taxonomy.churn.join(', ') || 'none in the config'}) not followed by other events, or no event in the last ${inactivityDays(store.config)} days before the cutoff (playbook §3.4)`;
  const results: RetentionResult[] = [];
  for (const by of opts.bys) {
    const labels = await groupLabels(atLandmark ?? atAsOf, by);
    const group = base.rowAtLandmark ? Array.from(base.rowAtLandmark, (r) => labels[r]) : labels;
    const name = byName(by);
    const warnings: RetentionWarning[] = [];
    if (!opts.landmark && by.kind !== 'all' && (by.kind !== 'column' || by.column !== 'plan')) {
      warnings.push({
        code: 'GROUPS_FROM_OUTCOME',
        message: `groups by ${name} are assigned at the as-of date ${opts.asOf}, from the same recent behaviour that marks churn (a user quiet for the inactivity days is in the dormant/churned groups because he churned): the curves then compare outcomes, not causes. Assign groups earlier with --landmark DATE.`,
      });
    }
    const names = [...new Set(group)].sort();
    const curves: GroupCurve[] = names.map((g) => {
      const idx: number[] = [];
      group.forEach((x, i) => x === g && idx.push(i));
      return { group: g, curve: kaplanMeier(Float64Array.from(idx, (i) => durationDays[i]), Uint8Array.from(idx, (i) => churned[i]), { entry: Float64Array.from(idx, (i) => entryDays[i]) }) };
    });
    for (const { group: g, curve } of curves) {
      if (curve.users < MIN_GROUP_USERS || curve.churned < MIN_GROUP_CHURNS) {
        warnings.push({ code: 'SMALL_GROUP', message: `group "${g}" of ${name} has ${curve.users} users and ${curve.churned} observed churns (fewer than ${MIN_GROUP_USERS} users or ${MIN_GROUP_CHURNS} churns): its curve and median are too noisy to read.` });
      }
    }
    if (truncated > 0) {
      warnings.push({
        code: 'SIGNUPS_BEFORE_LOG',
        message: `${truncated.toLocaleString('en-US')} of ${userIds.length.toLocaleString('en-US')} users signed up before the log's first event (${new Date(store.report.firstEventMs).toISOString().slice(0, 10)}): they enter the risk sets on the log's first day (delayed entry), since whoever signed up then and churned before the log began is missing (left truncation); the early part of the curves rests on the users first seen inside the log. --landmark DATE counts time from a date everyone is observed instead.`,
      });
    }
    const noMedian = curves.filter((c) => c.curve.medianDays === null).map((c) => c.group);
    if (noMedian.length) {
      warnings.push({ code: 'MEDIAN_NOT_REACHED', message: `survival never falls below 0.5 in ${noMedian.map((g) => `"${g}"`).join(', ')}: the median lifetime is longer than the observed time, so it is left empty (not the last time).` });
    }
    const test = names.length >= 2 ? logRank(durationDays, churned, group, { entry: entryDays }) : null;
    logger.info(`retention: ${userIds.length.toLocaleString('en-US')} users${opts.landmark ? ` live at the landmark ${opts.landmark}` : ''}, ${churned.reduce((s, v) => s + v, 0).toLocaleString('en-US')} churns observed by ${opts.asOf}, ${names.length} group(s) by ${name}`);
    results.push({ asOf: opts.asOf, landmark: opts.landmark ?? null, by: name, inactivityRule, userIds, group, durationDays, churned, entryDays, curves, logRank: test, cohortPeriod, cohorts, warnings });
  }
  return results;
}

/** The CONTRACT `--out` table: group, t_days, at_risk, churned, survival, lower, upper (one row per churn time per group). */
export function survivalColumnTable(curves: GroupCurve[]): ColumnTable {
  const rows = curves.flatMap((c) => c.curve.steps.map((s) => ({ group: c.group, s })));
  return {
    rows: rows.length,
    names: ['group', 't_days', 'at_risk', 'churned', 'survival', 'lower', 'upper'],
    columns: {
      group: rows.map((r) => r.group),
      t_days: Float64Array.from(rows, (r) => r.s.tDays),
      at_risk: Float64Array.from(rows, (r) => r.s.atRisk),
      churned: Float64Array.from(rows, (r) => r.s.churned),
      survival: Float64Array.from(rows, (r) => r.s.survival),
      lower: Float64Array.from(rows, (r) => r.s.lower),
      upper: Float64Array.from(rows, (r) => r.s.upper),
    },
  };
}

/**
 * The CONTRACT `--durations` table: user_id, group, duration_days, churned (1 observed, 0 censored), plus
 * `entry_days` (empty = from day 0) when some user was first seen before the log (delayed entry).
 */
export function durationsColumnTable(r: Pick<RetentionResult, 'userIds' | 'group' | 'durationDays' | 'churned'> & { entryDays?: Float64Array }): ColumnTable {
  const withEntry = r.entryDays?.some((e) => Number.isFinite(e)) ?? false;
  return {
    rows: r.userIds.length,
    names: ['user_id', 'group', 'duration_days', 'churned', ...(withEntry ? ['entry_days'] : [])],
    columns: { user_id: r.userIds, group: r.group, duration_days: r.durationDays, churned: r.churned, ...(withEntry ? { entry_days: r.entryDays as Float64Array } : {}) },
  };
}

/** The JSON summary: per group counts and the median with its interval, the log-rank test, the warnings. */
export function retentionSummary(r: RetentionResult): Record<string, unknown> {
  return {
    as_of: r.asOf,
    landmark: r.landmark,
    by: r.by,
    churn_definition: r.inactivityRule,
    users: r.userIds.length,
    groups: r.curves.map(({ group, curve }) => ({
      group,
      users: curve.users,
      churned: curve.churned,
      censored: curve.censored,
      median_days: curve.medianDays,
      median_lower: curve.medianLower,
      median_upper: curve.medianUpper,
    })),
    log_rank: r.logRank ? { chi_square: r.logRank.chiSquare, df: r.logRank.df, p_value: r.logRank.pValue, groups: r.logRank.groups, observed: r.logRank.observed, expected: r.logRank.expected } : null,
    cohort_period: r.cohortPeriod,
    warnings: r.warnings,
  };
}

export { storedRetention, RETENTION_FILE, RETENTION_VIEWS, type StoredRetention, type RetentionView, type StoredCurveStep } from './stored.js';
