import { describe, expect, it } from 'vitest';
import {
  ACTIVATION_TIERS, CHURN_TIERS, ENGAGEMENT_TIERS, EXPANSION_TIERS, activationScore, bandLabels, churnRiskScore,
  engagementScore, expansionReadinessScore,
} from '../../src/rules/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import type { ActivationMilestone, EventConfig } from '../../src/ingest/types.js';
import { makeTable } from './fixture.js';

/**
 * Both sides of every band boundary of every §4 score, against the playbook's own numbers (the expected
 * points below are typed from the playbook text, not read from the tables under test).
 */
function points(feature: string, values: number[], fn: (t: ReturnType<typeof makeTable>) => Float64Array, base: Record<string, number> = {}): number[] {
  const t = makeTable(values.map((v) => ({ ...base, [feature]: v })));
  return Array.from(fn(t));
}

describe('engagementScore (§4.1)', () => {
  it('frequency: 7+: 30 | 4-6: 20 | 2-3: 12 | 1: 5 | <1: 0, with 1.5 -> 5 and 6.9 -> 20 (half-open bands)', () => {
    const x = [0, 0.99, 1, 1.5, 1.99, 2, 3, 3.5, 3.99, 4, 6, 6.9, 7, 12];
    const want = [0, 0, 5, 5, 5, 12, 12, 12, 12, 20, 20, 20, 30, 30];
    expect(points('avg_weekly_sessions_28d', x, (t) => engagementScore(t).components.frequency)).toEqual(want);
  });
  it('breadth: 80%+: 25 | 50-79%: 18 | 25-49%: 10 | <25%: 3', () => {
    const x = [0, 0.2499, 0.25, 0.4999, 0.5, 0.79, 0.7999, 0.8, 1];
    const want = [3, 3, 10, 10, 18, 18, 18, 25, 25];
    expect(points('feature_breadth_30d', x, (t) => engagementScore(t).components.breadth)).toEqual(want);
  });
  it('depth: > 30 min: 25 | 15-30: 18 | 5-15: 10 | <5: 3 (exactly 30 is 18, exactly 15 is 18)', () => {
    const x = [0, 4.99, 5, 14.99, 15, 29.99, 30, 30.01, 90];
    const want = [3, 3, 10, 10, 18, 18, 18, 25, 25];
    expect(points('avg_session_minutes_30d', x, (t) => engagementScore(t).components.depth)).toEqual(want);
  });
  it('recency: Today: 20 | 1-3 days: 15 | 4-7 days: 8 | 8-14 days: 3 | 14+: 0 (14 is 3, 15 is 0)', () => {
    const x = [0, 1, 3, 3.5, 4, 7, 7.5, 8, 14, 14.5, 15, 400];
    const want = [20, 15, 15, 15, 8, 8, 8, 3, 3, 3, 0, 0];
    expect(points('days_since_last_activity', x, (t) => engagementScore(t).components.recency)).toEqual(want);
  });
  it('total is the sum of the components, e.g. {frequency: 20, breadth: 18, depth: 10, recency: 15} = 63 (Engaged)', () => {
    const t = makeTable([{ avg_weekly_sessions_28d: 5, feature_breadth_30d: 0.6, avg_session_minutes_30d: 8, days_since_last_activity: 2 }]);
    const e = engagementScore(t);
    expect(e.score[0]).toBe(63);
    expect(e.tier[0]).toBe('Engaged');
    expect({ f: e.components.frequency[0], b: e.components.breadth[0], d: e.components.depth[0], r: e.components.recency[0] }).toEqual({ f: 20, b: 18, d: 10, r: 15 });
  });
  it('a user with no activity at all still gets the "<25%: 3" and "<5: 3" points: 6 (Disengaged)', () => {
    const e = engagementScore(makeTable([{ days_since_last_activity: 60 }]));
    expect(e.score[0]).toBe(6);
    expect(e.tier[0]).toBe('Disengaged');
  });
  it('tiers: 80-100 Highly engaged | 60-79 Engaged | 40-59 Moderate | 20-39 Low | 0-19 Disengaged', () => {
    const x = Float64Array.from([0, 19, 20, 39, 40, 59, 60, 79, 80, 100]);
    expect(bandLabels(ENGAGEMENT_TIERS, x)).toEqual([
      'Disengaged', 'Disengaged', 'Low', 'Low', 'Moderate', 'Moderate', 'Engaged', 'Engaged', 'Highly engaged', 'Highly engaged',
    ]);
  });
});

describe('activationScore (§4.2, project-management example)', () => {
  const M = 'milestone_';
  it('sums the points of the milestones reached: project 20, task 15, invite 25, completed 15, template 10, integration 15', () => {
    const t = makeTable([
      {},
      { [`${M}created_first_project`]: 1 },
      { [`${M}created_first_project`]: 1, [`${M}added_first_task`]: 1, [`${M}used_template`]: 1 },
      { [`${M}invited_team_member`]: 1, [`${M}added_first_task`]: 1, [`${M}used_template`]: 1 },
      { [`${M}created_first_project`]: 1, [`${M}invited_team_member`]: 1, [`${M}completed_first_task`]: 1, [`${M}connected_integration`]: 1 },
      { [`${M}invited_team_member`]: 1, [`${M}added_first_task`]: 1, [`${M}completed_first_task`]: 1, [`${M}connected_integration`]: 1, [`${M}used_template`]: 1 },
      { [`${M}created_first_project`]: 1, [`${M}added_first_task`]: 1, [`${M}invited_team_member`]: 1, [`${M}completed_first_task`]: 1, [`${M}used_template`]: 1, [`${M}connected_integration`]: 1 },
    ]);
    const a = activationScore(t, SYNTHETIC_PRESET);
    expect(Array.from(a.score)).toEqual([0, 20, 45, 50, 75, 80, 100]);
    expect(a.tier).toEqual(['Not activated', 'Early activation', 'Early activation', 'Partially activated', 'Partially activated', 'Fully activated', 'Fully activated']);
    expect(a.components.invited_team_member[3]).toBe(25);
    expect(a.components.created_first_project[3]).toBe(0);
  });
  it('tiers: 80-100 Fully | 50-79 Partially | 20-49 Early | 0-19 Not activated', () => {
    const x = Float64Array.from([0, 19, 20, 49, 50, 79, 80, 100]);
    expect(bandLabels(ACTIVATION_TIERS, x)).toEqual([
      'Not activated', 'Not activated', 'Early activation', 'Early activation', 'Partially activated', 'Partially activated', 'Fully activated', 'Fully activated',
    ]);
  });
  it('caps the total at 100 when a config gives more points', () => {
    const config = { ...makeConfigWith([{ name: 'a', event: 'x', points: 70 }, { name: 'b', event: 'y', points: 60 }]) };
    const t = makeTable([{ milestone_a: 1, milestone_b: 1 }], config);
    expect(activationScore(t, config).score[0]).toBe(100);
  });
});

function makeConfigWith(milestones: ActivationMilestone[]): EventConfig {
  return { ...SYNTHETIC_PRESET, activation: { milestones } };
}

describe('expansionReadinessScore (§4.3)', () => {
  const zero = (n: number) => new Float64Array(n);
  it('usage limit: 80%+: 25 | 60-79%: 15 | 40-59%: 5 | below 40%: 0', () => {
    const x = [0, 0.39, 0.4, 0.59, 0.6, 0.79, 0.8, 1.3];
    const want = [0, 0, 5, 5, 15, 15, 25, 25];
    expect(points('usage_pct_of_limit', x, (t) => expansionReadinessScore(t, zero(x.length)).components.usage_limit)).toEqual(want);
  });
  it('team growth: added members 15 + collab features 10; feature interest: locked 15 + pricing 10', () => {
    const t = makeTable([{}, { invites_14d: 1 }, { shares_14d: 3 }, { invites_14d: 2, shares_14d: 1 }, { locked_clicks_14d: 1 }, { pricing_views_14d: 1 }, { locked_clicks_14d: 2, pricing_views_14d: 4 }]);
    const e = expansionReadinessScore(t, zero(7));
    expect(Array.from(e.components.team_growth)).toEqual([0, 15, 10, 25, 0, 0, 0]);
    expect(Array.from(e.components.feature_interest)).toEqual([0, 0, 0, 0, 15, 10, 25]);
  });
  it('engagement level: Score >70: 25 | 50-70: 15 | 30-50: 5 (70 is 15, 50 is 15, 30 is 5)', () => {
    const eng = Float64Array.from([0, 29, 30, 49, 50, 70, 71, 100]);
    const t = makeTable(Array.from(eng, () => ({})));
    expect(Array.from(expansionReadinessScore(t, eng).components.engagement_level)).toEqual([0, 0, 5, 5, 15, 15, 25, 25]);
  });
  it('total and tier: 25 + 25 + 25 + 25 = 100 High readiness', () => {
    const t = makeTable([{ usage_pct_of_limit: 0.85, invites_14d: 1, shares_14d: 1, locked_clicks_14d: 1, pricing_views_14d: 1 }]);
    const e = expansionReadinessScore(t, Float64Array.from([75]));
    expect(e.score[0]).toBe(100);
    expect(e.tier[0]).toBe('High readiness');
  });
  it('tiers: 75-100 High | 50-74 Moderate | 25-49 Low | 0-24 Not ready', () => {
    const x = Float64Array.from([0, 24, 25, 49, 50, 74, 75, 100]);
    expect(bandLabels(EXPANSION_TIERS, x)).toEqual(['Not ready', 'Not ready', 'Low', 'Low', 'Moderate', 'Moderate', 'High readiness', 'High readiness']);
  });
});

describe('churnRiskScore (§4.4)', () => {
  it('usage decline: 70%+: 30 | 50-69%: 20 | 30-49%: 10 | under 30%: 0', () => {
    const x = [0, 0.29, 0.3, 0.49, 0.5, 0.69, 0.7, 1];
    expect(points('usage_decline', x, (t) => churnRiskScore(t).components.usage_decline)).toEqual([0, 0, 10, 10, 20, 20, 30, 30]);
  });
  it('recency gap: 2x typical gap: 25 | 1.5x: 15 | 1x: 5 | under 1x: 0 (typical gap 10 days)', () => {
    const days = [0, 9, 10, 14, 15, 19, 20, 45];
    expect(points('days_since_last_activity', days, (t) => churnRiskScore(t).components.recency_gap, { typical_gap_days: 10 })).toEqual([0, 0, 5, 5, 15, 15, 25, 25]);
  });
  it('recency gap with a zero typical gap: 25 once the user has been away a day, 0 when active today', () => {
    expect(points('days_since_last_activity', [0, 1], (t) => churnRiskScore(t).components.recency_gap)).toEqual([0, 25]);
  });
  it('support: negative interactions 20 | multiple (2+) tickets 10, highest item only', () => {
    const t = makeTable([{}, { support_tickets_30d: 1 }, { support_tickets_30d: 2 }, { negative_support_30d: 1 }, { negative_support_30d: 1, support_tickets_30d: 5 }]);
    expect(Array.from(churnRiskScore(t).components.support)).toEqual([0, 0, 10, 20, 20]);
  });
  it('billing: failed payment 15 | downgraded 10 | viewed cancel page 10, highest item only', () => {
    const t = makeTable([{}, { failed_payments_30d: 1 }, { downgrades_30d: 1 }, { cancel_page_views_30d: 2 }, { failed_payments_30d: 1, downgrades_30d: 1 }, { downgrades_30d: 1, cancel_page_views_30d: 1 }]);
    expect(Array.from(churnRiskScore(t).components.billing)).toEqual([0, 15, 10, 10, 15, 10]);
  });
  it('engagement trend: declining (wow_trend < 0): 10 | stable/increasing: 0', () => {
    expect(points('wow_trend', [-1, -0.01, 0, 0.5], (t) => churnRiskScore(t).components.engagement_trend)).toEqual([10, 10, 0, 0]);
  });
  it('total and tier: 30 + 25 + 20 + 15 + 10 = 100 High risk', () => {
    const t = makeTable([{ usage_decline: 0.9, days_since_last_activity: 9, typical_gap_days: 3, negative_support_30d: 1, failed_payments_30d: 1, wow_trend: -0.8 }]);
    const c = churnRiskScore(t);
    expect(c.score[0]).toBe(100);
    expect(c.tier[0]).toBe('High risk');
  });
  it('tiers: 70-100 High | 40-69 Moderate | 20-39 Low | 0-19 Healthy', () => {
    const x = Float64Array.from([0, 19, 20, 39, 40, 69, 70, 100]);
    expect(bandLabels(CHURN_TIERS, x)).toEqual(['Healthy', 'Healthy', 'Low risk', 'Low risk', 'Moderate risk', 'Moderate risk', 'High risk', 'High risk']);
  });
});
