import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CDNOW_PRESET, SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { loadEvents } from '../../src/ingest/index.js';
import { computeFeatures } from '../../src/features/index.js';
import {
  RFM_SEGMENTS, antiPatternWarnings, applyRules, fitRuleReference, parseRuleReference, rfmSegmentTables, segmentDashboard,
  type RuleOutput,
} from '../../src/rules/index.js';
import { createRng } from '../../src/shared/rng.js';
import { makeTable, type UserRow } from './fixture.js';

const fx = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;

/** Every rule column of user `i`, as plain values (one user's answer). */
function rowOf(out: RuleOutput, i: number): Record<string, number | string> {
  return Object.fromEntries(Object.entries(out.columns).map(([k, v]) => [k, v[i]]));
}

/** 1,000 users of a seeded product: a spread of usage, breadth, tenure and idle days (a tenth already gone). */
function population(seed: number): UserRow[] {
  const g = createRng(seed);
  const rng = () => g.next();
  return Array.from({ length: 1000 }, () => {
    const weekly = Math.round(rng() * rng() * 120) / 10;
    return {
      avg_weekly_sessions_28d: weekly,
      sessions_7d: Math.round(weekly * (0.5 + rng())),
      feature_breadth_30d: Math.round(rng() * 100) / 100,
      tenure_days: Math.floor(rng() * 200),
      days_since_last_activity: rng() < 0.1 ? 21 + Math.floor(rng() * 100) : Math.floor(rng() * 10),
      typical_gap_days: 1 + Math.floor(rng() * 5),
      monetary_value: rng() < 0.3 ? 0 : Math.round(rng() * 20000) / 100,
      is_paid: rng() < 0.4 ? 1 : 0,
      plan: rng() < 0.4 ? 'pro' : 'free',
    };
  });
}

describe('reference thresholds (§2.3 top 10%, §6.3 spend quintiles): one user, one answer', () => {
  // issue 17: a light user (0.25 sessions/week, wide breadth, 60 days old) was "Power User" when scored alone
  const light: UserRow = { avg_weekly_sessions_28d: 0.25, sessions_7d: 0, feature_breadth_30d: 0.8, tenure_days: 60, days_since_last_activity: 2, typical_gap_days: 4, monetary_value: 12, is_paid: 1, plan: 'pro' };
  const rows = [...population(17), light];
  const batch = makeTable(rows);
  const reference = fitRuleReference(batch, SYNTHETIC_PRESET, 'the 1,001-user test table');

  it('alone, in a batch of 1,000 or in any slice, a user gets the same rule columns against a fitted reference', () => {
    const all = applyRules(batch, SYNTHETIC_PRESET, { reference });
    const alone = applyRules(makeTable([light]), SYNTHETIC_PRESET, { reference });
    expect(rowOf(alone, 0)).toEqual(rowOf(all, 1000));
    expect(rowOf(alone, 0).lifecycle_stage).toBe('New User');
    // every user of the batch, scored in slices of 7: identical columns
    for (let s = 0; s < 1001; s += 7) {
      const part = applyRules(makeTable(rows.slice(s, s + 7)), SYNTHETIC_PRESET, { reference });
      for (let i = 0; i < part.userIds.length; i++) expect(rowOf(part, i), `user ${s + i}`).toEqual(rowOf(all, s + i));
    }
    // the batch holds Power Users, so the bar is not trivially out of reach
    expect((all.columns.lifecycle_stage as string[]).filter((x) => x === 'Power User').length).toBeGreaterThan(10);
  });

  it('without a reference the thresholds are fitted on the table given (rules --features F): the skew the reference removes', () => {
    const alone = applyRules(makeTable([light]), SYNTHETIC_PRESET);
    expect(alone.columns.lifecycle_stage).toEqual(['Power User']); // the top 10% of one user is that user
    expect(alone.reference?.powerUserMinWeeklySessions).toBe(0.25);
    expect(alone.reference?.fittedOn).toMatchObject({ table: 'the scored table itself', users: 1, liveUsers: 1 });
  });

  it('fits the top 10% over live users only (users long gone would lower the bar) and records where', () => {
    const live = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((w) => ({ avg_weekly_sessions_28d: w }));
    const gone = Array.from({ length: 90 }, () => ({ avg_weekly_sessions_28d: 0, days_since_last_activity: 30 }));
    const r = fitRuleReference(makeTable([...live, ...gone]), SYNTHETIC_PRESET, 'a table');
    expect(r.powerUserMinWeeklySessions).toBe(10); // top ceil(0.1 * 10) = 1 of the 10 live users; over all 100 it would be 1
    expect(r.fittedOn).toEqual({ table: 'a table', asOf: '2024-03-31', users: 100, liveUsers: 10, spenders: 0 });
    expect(r.rfmMonetaryCuts).toBeNull(); // the synthetic config is valued by plan, not by spend
    expect(fitRuleReference(makeTable(gone), SYNTHETIC_PRESET, 'x').powerUserMinWeeklySessions).toBeNull();
    // no live user in the reference: nobody is a Power User
    const none = fitRuleReference(makeTable(gone), SYNTHETIC_PRESET, 'x');
    expect(applyRules(makeTable([{ avg_weekly_sessions_28d: 50, feature_breadth_30d: 1, tenure_days: 90 }]), SYNTHETIC_PRESET, { reference: none }).columns.lifecycle_stage).toEqual(['Engaged']);
  });

  it('§6.3 spend quintiles come from the reference, and a reference without them refuses a spend-valued config', () => {
    const spend = [10, 20, 30, 40, 50, 0].map((v) => ({ monetary_value: v, is_paid: v > 0 ? 1 : 0, plan: '' }));
    const r = fitRuleReference(makeTable(spend, CDNOW_PRESET), CDNOW_PRESET, 'six spenders');
    expect(r.rfmMonetaryCuts).toEqual([20, 30, 40, 50]);
    const one = makeTable([{ monetary_value: 35, is_paid: 1, plan: '' }], CDNOW_PRESET);
    expect(Array.from(applyRules(one, CDNOW_PRESET, { reference: r }).columns.rfm_monetary as Float64Array)).toEqual([3]);
    expect(Array.from(applyRules(one, CDNOW_PRESET).columns.rfm_monetary as Float64Array)).toEqual([5]); // alone, it is its own top quintile
    const plain = fitRuleReference(makeTable(spend), SYNTHETIC_PRESET, 'a plan-valued table');
    expect(() => applyRules(one, CDNOW_PRESET, { reference: plain })).toThrow(/values users by spend \(monetary: sum_value\), but the rule reference thresholds \(fitted on a plan-valued table, as of 2024-03-31\) were fitted for a config that does not/);
  });

  it('round-trips through JSON and refuses a hand-edited file with a sentence naming it', () => {
    expect(parseRuleReference(JSON.parse(JSON.stringify(reference)), 'x.json')).toEqual(reference);
    expect(() => parseRuleReference({ ...reference, powerUserMinWeeklySessions: 'high' }, 'models/m/1/rules-reference.json')).toThrow(/models\/m\/1\/rules-reference\.json: powerUserMinWeeklySessions is "high", not a finite number or null/);
    expect(() => parseRuleReference({ ...reference, rfmMonetaryCuts: [3, 2, 1, 0] }, 'r.json')).toThrow(/r\.json: rfmMonetaryCuts \[3,2,1,0\] are not ascending/);
    expect(() => parseRuleReference({ ...reference, kind: 'other' }, 'r.json')).toThrow(/is not a cohortlab-rule-reference version 1/);
  });
});

describe('users already churned tell one story (§2.3 stage 6, §4.4)', () => {
  const base = { avg_weekly_sessions_28d: 0, sessions_7d: 0, tenure_days: 300, typical_gap_days: 7 };
  const t = makeTable([
    { ...base, days_since_last_activity: 400, churned: 1 }, // gone for a year
    { ...base, days_since_last_activity: 2, churned: 1 }, // an explicit churn event 2 days ago
    { ...base, days_since_last_activity: 30 }, // idle past the weekly threshold (21) without the features' flag: a request of features
    { ...base, days_since_last_activity: 2 }, // live
  ]);
  const out = applyRules(t, SYNTHETIC_PRESET);

  it('already_churned, lifecycle "Churned" and churn-risk tier "Churned" (never "Healthy"), the score still computed', () => {
    expect(Array.from(out.columns.already_churned as Float64Array)).toEqual([1, 1, 1, 0]);
    expect(out.columns.lifecycle_stage).toEqual(['Churned', 'Churned', 'Churned', 'New User']);
    expect(out.columns.churn_risk_tier).toEqual(['Churned', 'Churned', 'Churned', 'Healthy']);
    // §4.4 points of the features, unchanged by the flag: idle 400 / 7 and 30 / 7 typical gaps (2x+) = 25 (recency gap), 2 / 7 = 0
    expect(Array.from(out.columns.churn_risk_score as Float64Array)).toEqual([25, 0, 25, 0]);
    expect(out.columns.campaign).toEqual(['win_back', 'win_back', 'win_back', 'onboarding_drip']);
  });

  it('the §9.1 dashboard and the §10 small-segment warning count them apart', () => {
    const d = segmentDashboard(t, out, { by: 'lifecycle_stage' });
    expect(d.alreadyChurned).toBe(3);
    expect(d.rows.map((r) => [r.segment, r.users, r.alreadyChurned])).toEqual([['Churned', 3, 3], ['New User', 1, 0]]);
    const mixed = makeTable([...Array.from({ length: 150 }, () => ({ ...base, days_since_last_activity: 40 })), ...Array.from({ length: 50 }, () => ({ ...base, days_since_last_activity: 1 }))]);
    const o = applyRules(mixed, SYNTHETIC_PRESET);
    const w = antiPatternWarnings(segmentDashboard(mixed, o, { by: 'churn_risk_tier' }));
    // 200 users: 150 already churned (tier Churned, a win-back list judged by its size), 50 live Healthy ones (under 100)
    expect(w.map((x) => x.message)).toEqual(['segment "Healthy" (churn_risk_tier) has 50 users, under the 100 minimum of playbook §10; treat its figures as noise or merge it.']);
    const byBehavior = antiPatternWarnings(segmentDashboard(mixed, o));
    // the 150 idle users are behavioral At-Risk (under 3 sessions: not Dormant), all gone: judged by their 150, no warning
    expect((o.columns.behavioral_segment as string[]).filter((x) => x === 'At-Risk')).toHaveLength(150);
    expect(byBehavior.filter((x) => x.segment === 'At-Risk')).toEqual([]);
  });
});

describe('rfm_segment_nearest respects recency (§6.3)', () => {
  const t = rfmSegmentTables();

  it('every code 111..555 as test/fixtures/rfm-nearest.py computes it', async () => {
    const expected = JSON.parse(await readFile(fx('rfm-nearest.json'), 'utf8')) as Record<string, string>;
    expect(t.codes).toHaveLength(125);
    expect(Object.fromEntries(t.codes.map((c, i) => [c, t.nearest[i]]))).toEqual(expected);
  });

  it('R = 4 or 5 is never "Lost", R = 1 never "Champions" or "Loyal", and a listed code is its own segment', () => {
    t.codes.forEach((c, i) => {
      if (c[0] >= '4') expect(t.nearest[i], c).not.toBe('Lost');
      if (c[0] === '1') expect(['Champions', 'Loyal'], c).not.toContain(t.nearest[i]);
    });
    for (const s of RFM_SEGMENTS) for (const c of s.codes) expect(t.nearest[t.codes.indexOf(c)], c).toBe(s.name);
    // the worked examples of docs/rules.md
    const at = (c: string) => t.nearest[t.codes.indexOf(c)];
    expect([at('511'), at('411'), at('155'), at('331'), at('241'), at('111')]).toEqual(['Champions', 'Loyal', 'Need attention', 'Promising', 'Need attention', 'Lost']);
  });
});

describe('on a CDNOW log as of its last day (test/fixtures/cdnow-r17.txt: 24 customers, 8 long gone)', () => {
  it('no already-churned user is "Healthy", every one is lifecycle "Churned", and no recent buyer is "Lost"', async () => {
    const store = await loadEvents([fx('cdnow-r17.txt')], CDNOW_PRESET);
    try {
      const table = await computeFeatures(store, { asOf: '1998-06-30' });
      const out = applyRules(table, CDNOW_PRESET);
      const gone = out.columns.already_churned as Float64Array;
      const tier = out.columns.churn_risk_tier as string[];
      const stage = out.columns.lifecycle_stage as string[];
      const recency = out.columns.rfm_recency as Float64Array;
      const nearest = out.columns.rfm_segment_nearest as string[];
      expect(Array.from(gone).filter((g) => g === 1)).toHaveLength(8); // the 8 customers whose last purchase was in 1997 Q1 (273-day threshold)
      for (let i = 0; i < table.userIds.length; i++) {
        if (gone[i] === 1) {
          expect(tier[i], table.userIds[i]).toBe('Churned');
          expect(stage[i], table.userIds[i]).toBe('Churned');
        } else expect(tier[i]).not.toBe('Churned');
        if (recency[i] >= 4) expect(nearest[i], table.userIds[i]).not.toBe('Lost');
      }
      expect(Array.from(recency).filter((r) => r >= 4).length).toBeGreaterThanOrEqual(6);
      // the reference of this table: the spend quintiles of its 24 spenders
      expect(out.reference?.rfmMonetaryCuts).toHaveLength(4);
      expect(out.reference?.fittedOn).toMatchObject({ users: 24, liveUsers: 16, spenders: 24 });
    } finally {
      store.close();
    }
  });
});
