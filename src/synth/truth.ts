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
 * Cancellation hazards h_d and daily activity probabilities a_d are constant within each UTC day and
 * fixed by the user's hidden parameters (they do not depend on what was realized), every event belongs
 * to a session, and days are drawn independently, so:
 *   P = 1 - exp(-sum_{d in [T, T+H)} h_d) * P(some session in the last window | alive)
 *   P(some session | alive) = 1 - prod_{d in last window} (1 - a_d), or 1 when the window contains the
 *   signup day (the signup day always has its onboarding session and no cancellation).
 * Users who cancelled before T are not handled here: their truth is 1 (see generate.ts).
 */
export function churnProbability(u: UserSpec, w: TruthWindow): number {
  const s = newDayState();
  let cumHazard = 0;
  for (let d = w.cutDay; d < w.endDay; d++) cumHazard += dayState(u, d, s).hazard;
  const from = Math.max(w.cutDay, w.endDay - w.inactivityDays);
  let pSilent = 1;
  for (let d = from; d < w.endDay; d++) {
    if (d === u.signupDay) pSilent = 0;
    else pSilent *= 1 - dayState(u, d, s).activeP;
  }
  const pActive = 1 - pSilent;
  return 1 - Math.exp(-cumHazard) * pActive;
}
