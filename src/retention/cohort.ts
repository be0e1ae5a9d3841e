import type { EventSource } from '../engine/index.js';
import { CohortlabError } from '../shared/errors.js';
import type { ColumnTable } from '../shared/table-io.js';

/**
 * The classic cohort table: users grouped by the week or calendar month they were first seen (the earlier
 * of their first event and their signup, as `tenure_days`), and the share of each cohort with at least one
 * event in each later period.
 * - week: cohorts are ISO weeks (Monday to Sunday) of the first-seen day; period N = days [7N, 7N + 7) after
 *   each user's own first-seen day (so period 0 is the user's first 7 days, whatever the weekday).
 * - month: cohorts are calendar months; period N = the N-th calendar month after the cohort's month.
 * A cell is `complete` when every member of the cohort had the whole period before the cutoff, and the cohort
 * did not begin before the log (the week or month holding the log's first event counts as observed); shares of
 * incomplete cells are kept in the file (with complete = 0) and left out of the heat map, since a period cut short
 * by the as-of date would read as churn, and a cohort older than the log (a signup column older than the log, as
 * Sparkify's registrations or the synthetic sample's pre-existing users) holds only its members still there.
 */
export type CohortPeriod = 'week' | 'month';

export interface CohortCell {
  cohort: string;
  cohortUsers: number;
  period: number;
  activeUsers: number;
  share: number;
  complete: boolean;
}

const DAY_S = 86_400;

function dayToIso(day: number): string {
  return new Date(day * DAY_S * 1000).toISOString().slice(0, 10);
}

function monthIndex(day: number): number {
  const d = new Date(day * DAY_S * 1000);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

function monthStartDay(index: number): number {
  return Date.UTC(Math.floor(index / 12), index % 12, 1) / 1000 / DAY_S;
}

/**
 * Per user: first-seen day and each distinct period with an event, counted in the engine; only (cohort start,
 * period, users) rows come back. Reads events strictly before `cutoffMs`.
 */
export async function cohortTable(store: EventSource, opts: { cutoffMs: number; period: CohortPeriod; logStartMs?: number }): Promise<CohortCell[]> {
  if (store.engine !== 'duckdb') throw new CohortlabError('BAD_ARGUMENT', `the cohort table reads event files through DuckDB; the ${store.engine} engine is not supported by retention.`);
  const cutoffS = opts.cutoffMs / 1000;
  const cutoffDay = Math.round(cutoffS / DAY_S);
  // The day of the log's first event: a cohort that began before it (a signup older than the log) was not observed whole.
  const logStartDay = opts.logStartMs === undefined ? -Infinity : Math.floor(opts.logStartMs / 1000 / DAY_S);
  const firstDay = `CAST(floor(least(min(epoch(ts)), coalesce(min(epoch(signup_ts)), min(epoch(ts)))) / ${DAY_S}) AS BIGINT)`;
  const day = `CAST(floor(epoch(ts) / ${DAY_S}) AS BIGINT)`;
  const monthOfDay = (d: string) => `(year(DATE '1970-01-01' + CAST(${d} AS INTEGER)) * 12 + month(DATE '1970-01-01' + CAST(${d} AS INTEGER)) - 1)`;
  // week: the Monday on or before d0 (1970-01-01, day 0, was a Thursday)
  const cohortExpr = opts.period === 'week' ? `(f.d0 - (((f.d0 + 3) % 7) + 7) % 7)` : monthOfDay('f.d0');
  const periodExpr = opts.period === 'week' ? `(a.d - f.d0) // 7` : `${monthOfDay('a.d')} - ${monthOfDay('f.d0')}`;
  const sql = `WITH ev AS (SELECT user_id, ts, signup_ts FROM ${store.relation} WHERE epoch(ts) < ${cutoffS}),
  f AS (SELECT user_id, ${firstDay} AS d0 FROM ev GROUP BY user_id),
  a AS (SELECT DISTINCT user_id, ${day} AS d FROM ev),
  cells AS (SELECT DISTINCT a.user_id, ${cohortExpr} AS cohort, ${periodExpr} AS period FROM a JOIN f ON a.user_id = f.user_id),
  sizes AS (SELECT ${cohortExpr} AS cohort, count(*) AS n FROM f GROUP BY 1)
SELECT CAST(c.cohort AS DOUBLE) AS cohort, CAST(c.period AS DOUBLE) AS period, CAST(count(*) AS DOUBLE) AS active, CAST(any_value(s.n) AS DOUBLE) AS size
FROM cells c JOIN sizes s ON c.cohort = s.cohort
GROUP BY c.cohort, c.period ORDER BY c.cohort, c.period`;
  const res = await store.query(sql);
  const [cohort, period, active, size] = res.columns as Float64Array[];
  const cells: CohortCell[] = [];
  // Every (cohort, period) up to the last period any cohort reached, so an empty period shows as 0, not as a gap.
  const byCohort = new Map<number, { size: number; active: Map<number, number> }>();
  for (let i = 0; i < res.rows; i++) {
    const e = byCohort.get(cohort[i]) ?? { size: size[i], active: new Map() };
    e.active.set(period[i], active[i]);
    byCohort.set(cohort[i], e);
  }
  for (const [key, e] of [...byCohort.entries()].sort((x, y) => x[0] - y[0])) {
    const label = opts.period === 'week' ? dayToIso(key) : dayToIso(monthStartDay(key)).slice(0, 7);
    // The last period the cohort could have reached at all: from its earliest possible member.
    const maxPeriod = opts.period === 'week' ? Math.floor((cutoffDay - 1 - key) / 7) : monthIndex(cutoffDay - 1) - key;
    for (let p = 0; p <= maxPeriod; p++) {
      const n = e.active.get(p) ?? 0;
      // Complete when the cohort's latest possible member (week: Sunday; month: all share the months) had the whole period.
      const over = opts.period === 'week' ? key + 6 + 7 * (p + 1) <= cutoffDay : monthStartDay(key + p + 1) <= cutoffDay;
      // A cohort that began before the log lacks its members who left before the log: none of its cells is a share
      // of the cohort (the cohort holding the log's first day counts as observed).
      const observed = opts.period === 'week' ? key + 7 > logStartDay : monthStartDay(key + 1) > logStartDay;
      const complete = over && observed;
      cells.push({ cohort: label, cohortUsers: e.size, period: p, activeUsers: n, share: n / e.size, complete });
    }
  }
  return cells;
}

export function cohortColumnTable(cells: CohortCell[], period: CohortPeriod): ColumnTable {
  return {
    rows: cells.length,
    names: ['cohort', 'cohort_users', `${period}s_later`, 'active_users', 'share', 'complete'],
    columns: {
      cohort: cells.map((c) => c.cohort),
      cohort_users: Float64Array.from(cells, (c) => c.cohortUsers),
      [`${period}s_later`]: Float64Array.from(cells, (c) => c.period),
      active_users: Float64Array.from(cells, (c) => c.activeUsers),
      share: Float64Array.from(cells, (c) => c.share),
      complete: Uint8Array.from(cells, (c) => (c.complete ? 1 : 0)),
    },
  };
}
