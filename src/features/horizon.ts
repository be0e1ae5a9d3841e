/**
 * Is a label horizon observed? Its end instant (cutoff + H days) must not lie after the last event
 * (issue 17: checked to the last event's instant, not its day; a log ending at 02:17 leaves almost
 * all of that day unobserved). A log that runs to midnight still ends with its last event a little
 * before it, so the uncovered tail may be up to 1% of the label's quiet window, min(inactivity, H)
 * days (a 30-day horizon with a 21-day threshold: 5 hours; a 1-day horizon: 14 minutes). That share
 * of the window barely moves a label; more would turn "no data" into "churned".
 */
const DAY_MS = 86_400_000;

/** Share of the quiet window a horizon may end after the last event. */
export const HORIZON_TOLERANCE_SHARE = 0.01;

export function horizonToleranceMs(horizonDays: number, inactivityDays: number): number {
  return HORIZON_TOLERANCE_SHARE * Math.min(horizonDays, inactivityDays) * DAY_MS;
}

/** The cutoff instant of an inclusive as-of date: 00:00 UTC of the next day. */
function cutoffMsOf(asOf: string): number {
  return Date.parse(`${asOf}T00:00:00Z`) + DAY_MS;
}

/** Where a horizon after an as-of date ends, and whether the log reaches that instant (within the tolerance). */
export function horizonCoverage(asOf: string, horizonDays: number, lastEventMs: number, inactivityDays: number): { endMs: number; covered: boolean; uncoveredMs: number } {
  const endMs = cutoffMsOf(asOf) + horizonDays * DAY_MS;
  const uncoveredMs = Math.max(0, endMs - lastEventMs);
  return { endMs, covered: uncoveredMs <= horizonToleranceMs(horizonDays, inactivityDays), uncoveredMs };
}

/** The latest as-of date whose horizon the log covers (what `train` takes by default). */
export function latestCoveredAsOf(lastEventMs: number, horizonDays: number, inactivityDays: number): string {
  return new Date(lastEventMs + horizonToleranceMs(horizonDays, inactivityDays) - (horizonDays + 1) * DAY_MS).toISOString().slice(0, 10);
}
