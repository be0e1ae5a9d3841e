import { dayState, newDayState, type UserSpec } from './user.js';

/** The truth window in day indexes from the first day of data. */
export interface TruthWindow {
  /** Day index of the cutoff T (first day of the horizon). */
  cutDay: number;
  /** Day index one past the horizon (T + H). */
  endDay: number;
  /** Playbook §3.4 inactivity threshold (21 days for a weekly-use product). */
  inactivityDays: number;
}

/**
 * The true probability of the cohortlab label for a user alive at the cutoff:
 *   churned = cancellation in [T, T+H)  OR  no event at all in the last `inactivityDays` of the horizon.
 * Cancellation hazards h_d and session rates r_d are constant within each UTC day and fixed by the
 * user's hidden parameters (they do not depend on what was realized), and every event belongs to a
 * session, so with Poisson sessions and the cancellation drawn day by day:
 *   P = 1 - exp(-sum_{d in [T, T+H)} h_d) * P(some session in the last window | alive)
 *   P(some session | alive) = 1 - exp(-sum_{d in last window} r_d), or 1 when the window contains the
 *   signup day (the signup day always has its onboarding session and no cancellation).
 * Users who cancelled before T are not handled here: their truth is 1 (see generate.ts).
 */
export function churnProbability(u: UserSpec, w: TruthWindow): number {
  const s = newDayState();
  let cumHazard = 0;
  for (let d = w.cutDay; d < w.endDay; d++) cumHazard += dayState(u, d, s).hazard;
  const from = Math.max(w.cutDay, w.endDay - w.inactivityDays);
  let sessions = 0;
  let certain = false;
  for (let d = from; d < w.endDay; d++) {
    if (d === u.signupDay) certain = true;
    sessions += dayState(u, d, s).rate;
  }
  const pActive = certain ? 1 : -Math.expm1(-sessions);
  return 1 - Math.exp(-cumHazard) * pActive;
}
