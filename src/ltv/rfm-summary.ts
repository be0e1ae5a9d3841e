/**
 * Frequency / recency / T per customer from purchase days, with the standard buy-till-you-die
 * definitions (Fader, Hardie & Lee 2005; lifetimes' summary_data_from_transaction_data):
 * - purchases are counted by UTC day: several on one day are one purchase (their values summed);
 * - frequency = purchase days - 1 (repeat purchases);
 * - recency = last purchase day - first purchase day;
 * - T = calibration end (the as-of day) - first purchase day;
 * - monetary = mean value of the repeat purchase days (the first day left out; 0 without a repeat);
 * recency and T in units of `timeUnitDays` (7 = weeks, as in the literature).
 */
import { CohortlabError } from '../shared/errors.js';

/** One row per (customer, purchase day), sorted by customer then day. */
export interface PurchaseDays {
  userIds: string[];
  /** Whole days since 1970-01-01 UTC. */
  day: ArrayLike<number>;
  /** Value bought that day; null when the log has no value column. */
  value: ArrayLike<number> | null;
}

export interface RfmSummary {
  userIds: string[];
  frequency: Float64Array;
  recency: Float64Array;
  T: Float64Array;
  /** Mean value of the repeat purchase days (0 without one); null without a value column. */
  monetary: Float64Array | null;
  /** First purchase day per customer (days since 1970-01-01 UTC). */
  firstDay: Float64Array;
  timeUnitDays: number;
  /** The calibration end, as a day number (the as-of day). */
  endDay: number;
}

export function summarizePurchaseDays(rows: PurchaseDays, endDay: number, timeUnitDays: number): RfmSummary {
  if (!(timeUnitDays > 0)) throw new CohortlabError('BAD_ARGUMENT', `time_unit_days must be > 0, got ${timeUnitDays}.`);
  const n = rows.userIds.length;
  const users: string[] = [];
  const freq: number[] = [];
  const rec: number[] = [];
  const tt: number[] = [];
  const mon: number[] = [];
  const first: number[] = [];
  let i = 0;
  while (i < n) {
    const u = rows.userIds[i];
    const d0 = rows.day[i];
    let last = d0;
    let days = 1;
    let repeatValue = 0;
    let j = i + 1;
    for (; j < n && rows.userIds[j] === u; j++) {
      const d = rows.day[j];
      if (d < last) throw new CohortlabError('BAD_ARGUMENT', `purchase days of customer "${u}" are not sorted (day ${d} after ${last}); sort by customer, then day.`);
      if (d === last) {
        if (rows.value) repeatValue += days > 1 ? rows.value[j] : 0;
        continue;
      }
      days++;
      last = d;
      if (rows.value) repeatValue += rows.value[j];
    }
    if (last > endDay) throw new CohortlabError('BAD_ARGUMENT', `customer "${u}" has a purchase on day ${last}, after the calibration end (day ${endDay}).`);
    users.push(u);
    freq.push(days - 1);
    rec.push((last - d0) / timeUnitDays);
    tt.push((endDay - d0) / timeUnitDays);
    mon.push(days > 1 ? repeatValue / (days - 1) : 0);
    first.push(d0);
    i = j;
  }
  return {
    userIds: users,
    frequency: Float64Array.from(freq),
    recency: Float64Array.from(rec),
    T: Float64Array.from(tt),
    monetary: rows.value ? Float64Array.from(mon) : null,
    firstDay: Float64Array.from(first),
    timeUnitDays,
    endDay,
  };
}
