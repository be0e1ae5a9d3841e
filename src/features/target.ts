import type { Dialect } from '../engine/dialect.js';
import { asSource, type EventSource } from '../engine/source.js';
import type { EventStore } from '../ingest/index.js';
import { CohortlabError } from '../shared/errors.js';
import type { FeatureTable } from './types.js';

/**
 * Propensity targets (issue 20 part 5): what `train --target` predicts instead of churn.
 *
 *   churn          the default: the churn label of computeFeatures (explicit churn event or §3.4 inactivity)
 *   upgrade        the config taxonomy's `upgrade` events (synthetic `upgraded_plan`, Sparkify `Submit Upgrade`)
 *   event:NAME     any event name of the log (a purchase, an invite)
 *
 * Label of a propensity target at a cutoff: 1 when one of its events falls in [cutoff, cutoff + H days).
 * Eligible users: those who have NOT done it before the cutoff (`priorTarget`), and who are not already
 * churned at the cutoff (a propensity campaign addresses live users; churned ones would be easy negatives
 * that flatter every score). Both groups are left out of train, validation and test and counted.
 */
export type TargetKind = 'churn' | 'upgrade' | 'event';

export interface TargetSpec {
  kind: TargetKind;
  /** The event named by `event:NAME`, or the upgrade events joined by ", " (null for churn): report.json `target.event`. */
  event: string | null;
  /** Every event name that counts as the outcome (empty for churn). */
  events: string[];
}

export const CHURN_TARGET: TargetSpec = { kind: 'churn', event: null, events: [] };

/** The words of a target in reports: "churn", "upgrade", "event Add Friend". */
export function targetTitle(t: TargetSpec): string {
  return t.kind === 'churn' ? 'churn' : t.kind === 'upgrade' ? 'upgrade' : `"${t.event}"`;
}

/**
 * Per user with an event before the cutoff (ordered by user_id, the order of featureQuery): whether one of
 * `events` happened before the cutoff, and whether one happens in [cutoff, end).
 */
export function targetLabelQuery(d: Dialect, opts: { events: string[]; cutoffMs: number; endMs: number; source: string }): string {
  const isTarget = d.inList('event', opts.events);
  const cutoff = d.timestamp(opts.cutoffMs);
  return `SELECT user_id, ${d.double(d.anyIf(`${isTarget} AND ts < ${cutoff}`))} AS before_cutoff,
  ${d.double(d.anyIf(`${isTarget} AND ts >= ${cutoff}`))} AS in_horizon
FROM ${opts.source} AS src WHERE ts < ${d.timestamp(opts.endMs)}
GROUP BY user_id HAVING min(ts) < ${cutoff}
ORDER BY user_id`;
}

const DAY_MS = 86_400_000;

/** Users of a labelled feature table who did the target before its cutoff, and who do it within the horizon. */
export interface TargetLabels {
  /** 1 = did the target before the cutoff (left out). */
  prior: Uint8Array;
  /** 1 = does it in [cutoff, cutoff + H days). */
  label: Uint8Array;
}

export async function computeTargetLabels(events: EventStore | EventSource, table: FeatureTable, target: TargetSpec): Promise<TargetLabels> {
  if (target.kind === 'churn') throw new Error('computeTargetLabels: churn labels come from computeFeatures');
  if (table.horizonDays === undefined || !table.label) {
    throw new CohortlabError('HORIZON_NOT_COVERED', `the feature table as of ${table.asOf} has no horizon: a ${targetTitle(target)} label needs the days after the cutoff; pick an earlier --as-of or a shorter --horizon-days.`);
  }
  const src = asSource(events);
  const res = await src.query(targetLabelQuery(src.dialect, { events: target.events, cutoffMs: table.cutoffMs, endMs: table.cutoffMs + table.horizonDays * DAY_MS, source: src.relation }));
  const ids = res.columns[0] as string[];
  if (ids.length !== table.userIds.length || ids.some((u, i) => u !== table.userIds[i])) throw new Error('target label users do not line up with feature users');
  const flag = (c: Float64Array) => Uint8Array.from(c, (v) => (v > 0 ? 1 : 0));
  return { prior: flag(res.columns[1] as Float64Array), label: flag(res.columns[2] as Float64Array) };
}

/**
 * The feature table with the target as its label: same features and users, `label` = the target within the
 * horizon, `priorTarget` = done before the cutoff (left out with the already-churned users, counted apart).
 */
export function withTargetLabels(table: FeatureTable, labels: TargetLabels): FeatureTable {
  return { ...table, label: labels.label, priorTarget: labels.prior };
}
