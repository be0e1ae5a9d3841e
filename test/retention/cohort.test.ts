import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEvents, resolveConfig, SPARKIFY_PRESET } from '../../src/ingest/index.js';
import { computeRetention, type CohortCell } from '../../src/retention/index.js';

const fx = (f: string) => join(import.meta.dirname, '..', 'fixtures', f);

/**
 * Five users by hand (pm-config: weekly cadence, inactivity 21 days, churn event "cancelled"), as of 2026-03-31
 * (cutoff 2026-04-01 00:00 UTC). Expected durations, worked out in docs/retention.md's terms:
 * u1 first 03-02 10:00, last 03-30: live, censored at tenure floor(29.58) = 29.
 * u2 first 03-03 10:00, ends with "cancelled" 03-06 09:00: churned, 28 - 25 = 3.
 * u3 first 03-20, "cancelled" 03-25 (6 days before the cutoff, under 21): churned by the event, 11 - 6 = 5.
 * u4 one event 03-09 10:00 (22 days quiet): churned, 22 - 22 = 0. Its event on 04-05 is after the cutoff.
 * u5 "cancelled" 03-12 but back on 03-13 and 03-28: live, censored at 19.
 */
const EVENTS = `user,time,name,plan
u1,2026-03-02T10:00:00Z,added_task,free
u1,2026-03-10T10:00:00Z,added_task,free
u1,2026-03-30T10:00:00Z,added_task,free
u2,2026-03-03T10:00:00Z,added_task,free
u2,2026-03-05T12:00:00Z,added_task,free
u2,2026-03-06T09:00:00Z,cancelled,free
u3,2026-03-20T10:00:00Z,added_task,pro
u3,2026-03-25T10:00:00Z,cancelled,pro
u4,2026-03-09T10:00:00Z,added_task,pro
u4,2026-04-05T10:00:00Z,added_task,pro
u5,2026-03-12T10:00:00Z,cancelled,free
u5,2026-03-13T10:00:00Z,added_task,free
u5,2026-03-28T10:00:00Z,added_task,free
`;

async function store() {
  const dir = await mkdtemp(join(tmpdir(), 'retention-'));
  const path = join(dir, 'events.csv');
  await writeFile(path, EVENTS);
  return loadEvents([path], await resolveConfig({ config: fx('pm-config.json') }));
}

const cell = (cohort: string, cohortUsers: number, period: number, activeUsers: number, complete: boolean): CohortCell => ({ cohort, cohortUsers, period, activeUsers, share: activeUsers / cohortUsers, complete });

describe('computeRetention on a hand-made log', () => {
  it('durations follow the churn flag of the features (churn event or 21 quiet days), by plan', async () => {
    const s = await store();
    try {
      const r = await computeRetention(s, { asOf: '2026-03-31', by: { kind: 'column', column: 'plan' } });
      expect(r.userIds).toEqual(['u1', 'u2', 'u3', 'u4', 'u5']);
      expect(Array.from(r.durationDays)).toEqual([29, 3, 5, 0, 19]);
      expect(Array.from(r.churned)).toEqual([0, 1, 1, 1, 0]);
      expect(r.group).toEqual(['free', 'free', 'pro', 'pro', 'free']);
      // free: 3, 19+, 29+ -> S(3) = 2/3; pro: 0, 5 -> S(0) = 1/2, S(5) = 0
      const free = r.curves.find((c) => c.group === 'free')!.curve;
      expect(free.steps.map((x) => [x.tDays, x.atRisk, x.survival])).toEqual([[3, 3, 1 - 1 / 3]]);
      const pro = r.curves.find((c) => c.group === 'pro')!.curve;
      expect(pro.steps.map((x) => [x.tDays, x.atRisk, x.survival])).toEqual([[0, 2, 0.5], [5, 1, 0]]);
      expect(pro.medianDays).toBe(5);
      expect(r.warnings.map((w) => w.code)).toEqual(['SMALL_GROUP', 'SMALL_GROUP', 'MEDIAN_NOT_REACHED']);
      expect(r.logRank!.df).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('weekly cohort table: periods from each user\'s own first day, cells not over by the cutoff marked incomplete', async () => {
    const s = await store();
    try {
      const r = await computeRetention(s, { asOf: '2026-03-31', cohortPeriod: 'week' });
      expect(r.cohorts).toEqual([
        // cohort of Monday 03-02: u1 (days 0, 8, 28 after 03-02), u2 (days 0..3)
        cell('2026-03-02', 2, 0, 2, true), cell('2026-03-02', 2, 1, 1, true), cell('2026-03-02', 2, 2, 0, true), cell('2026-03-02', 2, 3, 0, false), cell('2026-03-02', 2, 4, 1, false),
        // 03-09: u4 (day 0), u5 (first 03-12; back on day 16 = period 2)
        cell('2026-03-09', 2, 0, 2, true), cell('2026-03-09', 2, 1, 0, true), cell('2026-03-09', 2, 2, 1, false), cell('2026-03-09', 2, 3, 0, false),
        // 03-16: u3 (first 03-20)
        cell('2026-03-16', 1, 0, 1, true), cell('2026-03-16', 1, 1, 0, false), cell('2026-03-16', 1, 2, 0, false),
      ]);
      const monthly = await computeRetention(s, { asOf: '2026-03-31', cohortPeriod: 'month' });
      expect(monthly.cohorts).toEqual([cell('2026-03', 5, 0, 5, true)]);
      expect(r.logRank).toBeNull();
    } finally {
      await s.close();
    }
  });

  it('--landmark: groups and time from the landmark, among users live then', async () => {
    const s = await store();
    try {
      const r = await computeRetention(s, { asOf: '2026-03-31', landmark: '2026-03-15', by: { kind: 'lifecycle' } });
      // u2 churned (its cancel) before 03-16; u3 first seen after it; u4 live at it (6 quiet days) but never back: churned at 0.
      expect(r.userIds).toEqual(['u1', 'u4', 'u5']);
      expect(Array.from(r.durationDays)).toEqual([16, 0, 16]);
      expect(Array.from(r.churned)).toEqual([0, 1, 0]);
      expect(r.warnings.map((w) => w.code)).not.toContain('GROUPS_FROM_OUTCOME');
      const plain = await computeRetention(s, { asOf: '2026-03-31', by: { kind: 'lifecycle' } });
      expect(plain.warnings.map((w) => w.code)).toContain('GROUPS_FROM_OUTCOME');
      await expect(computeRetention(s, { asOf: '2026-03-31', landmark: '2026-04-10' })).rejects.toThrow(/--landmark 2026-04-10 must be before --as-of 2026-03-31/);
    } finally {
      await s.close();
    }
  });

  it('signups older than the log (Sparkify registrations): SIGNUPS_BEFORE_LOG, and cohort cells before the log are not complete', async () => {
    // 7 real users over 3.2 hours of 2018-11-15, registered in October (test/fixtures/README.md)
    const s = await loadEvents([fx('sparkify-4h.json')], SPARKIFY_PRESET);
    try {
      const r = await computeRetention(s, { asOf: '2018-11-15' });
      expect(r.warnings.find((w) => w.code === 'SIGNUPS_BEFORE_LOG')?.message).toMatch(/^7 of 7 users signed up before the log's first event \(2018-11-15\)/);
      expect(r.cohorts.map((c) => c.cohort)).toContain('2018-10-22');
      expect(r.cohorts.every((c) => !c.complete)).toBe(true);
      // a landmark before every event has no user at all
      await expect(computeRetention(s, { asOf: '2018-11-15', landmark: '2018-11-14' })).rejects.toThrow(/no events before the cutoff 2018-11-14/);
    } finally {
      await s.close();
    }
  });
});
