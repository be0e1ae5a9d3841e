import type { FeatureTable } from '../features/index.js';
import { CohortlabError, internalError } from '../shared/errors.js';

/**
 * Time to churn per user, read off the point-in-time features so that "churned" is exactly the
 * `already_churned` flag the features, rules and labels use (src/features/compute.ts: an explicit churn
 * event that no other event followed, or no activity for the config's inactivity days, playbook §3.4):
 * - start: the user's first-seen day, the earlier of the first event and the signup (`tenure_days` counts back
 *   from the cutoff to it);
 * - churned (1): the lifetime ended on the day of the user's last event (for an explicit churn event, that
 *   event): duration_days = tenure_days - days_since_last_activity = last-event day - first-seen day;
 * - censored (0): still active at the as-of date: duration_days = tenure_days = as-of day - first-seen day.
 * All days are whole UTC calendar days (the cutoff is 00:00 UTC after the as-of day, features.md).
 * A user seen on one day only who then went quiet churned at 0 days.
 */
export interface UserDurations {
  userIds: string[];
  durationDays: Float64Array;
  /** 1 = churn observed, 0 = censored at the as-of date (or at the landmark's end). */
  churned: Uint8Array;
  /**
   * Delayed entry, for users first seen (signed up) before the log's first day: the log-start day counted from the
   * first-seen day, minus 1, so the user is at risk from the log's first day on (km.ts `entry`); NaN for the others.
   */
  entryDays: Float64Array;
}

export function durationsFromFeatures(table: FeatureTable, opts: { logStartMs?: number } = {}): UserDurations {
  const tenure = table.columns.tenure_days;
  const since = table.columns.days_since_last_activity;
  if (!tenure || !since) throw new CohortlabError('MISSING_COLUMN', 'the feature table lacks tenure_days or days_since_last_activity, which the retention durations are read from; recompute the features.');
  const n = table.userIds.length;
  const durationDays = new Float64Array(n);
  const churned = new Uint8Array(n);
  const entryDays = new Float64Array(n).fill(Number.NaN);
  // Whole days from the log's first day to the cutoff, floored as tenure_days is.
  const sinceLogStart = opts.logStartMs === undefined ? Infinity : Math.floor((table.cutoffMs - opts.logStartMs) / 86_400_000);
  for (let i = 0; i < n; i++) {
    churned[i] = table.alreadyChurned[i];
    durationDays[i] = churned[i] ? tenure[i] - since[i] : tenure[i];
    const logStartDay = tenure[i] - sinceLogStart;
    if (logStartDay > 0) entryDays[i] = logStartDay - 1;
  }
  return { userIds: table.userIds, durationDays, churned, entryDays };
}

/**
 * Landmark durations: only the users live (not already churned) at the landmark date enter, and time runs
 * from the landmark. Groups assigned at the landmark are then not read off the outcome (a user grouped at the
 * as-of date as "Dormant" is there because he churned). A user live at the landmark who never came back
 * churned on his last-event day, which can precede the landmark day: his duration is clipped to 0.
 */
export function landmarkDurations(atLandmark: FeatureTable, atAsOf: FeatureTable): UserDurations & { rowAtLandmark: Int32Array } {
  const end = durationsFromFeatures(atAsOf);
  const row = new Map(end.userIds.map((u, i) => [u, i]));
  const offsetDays = Math.round((atAsOf.cutoffMs - atLandmark.cutoffMs) / 86_400_000);
  if (offsetDays <= 0) throw new CohortlabError('BAD_ARGUMENT', `--landmark ${atLandmark.asOf} must be before --as-of ${atAsOf.asOf}.`);
  const ids: string[] = [];
  const d: number[] = [];
  const c: number[] = [];
  const rows: number[] = [];
  atLandmark.userIds.forEach((u, i) => {
    if (atLandmark.alreadyChurned[i]) return;
    const j = row.get(u);
    if (j === undefined) throw internalError(`user ${u} is live at the landmark but has no features at the as-of date`);
    // days from the landmark day: the user's duration since first seen minus his tenure at the landmark
    const sinceStart = end.durationDays[j] - atLandmark.columns.tenure_days[i];
    ids.push(u);
    d.push(Math.max(0, end.churned[j] ? sinceStart : offsetDays));
    c.push(end.churned[j]);
    rows.push(i);
  });
  return { userIds: ids, durationDays: Float64Array.from(d), churned: Uint8Array.from(c), entryDays: new Float64Array(ids.length).fill(Number.NaN), rowAtLandmark: Int32Array.from(rows) };
}
