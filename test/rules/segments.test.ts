import { describe, expect, it } from 'vitest';
import { CDNOW_PRESET, SPARKIFY_PRESET, SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import {
  CONTRACT_RULE_COLUMNS, applyRules, atRiskSignals, behavioralSegments, campaigns, champions, dormantSubsegments,
  alreadyChurnedFlags, explainUser, fitRuleReference, inactivityThreshold, intentSegments, lifecycleStages, planSegments, rfm, salesTiers,
} from '../../src/rules/index.js';
import { makeTable } from './fixture.js';

describe('behavioralSegments (§2.1 ladder)', () => {
  const power = { avg_weekly_sessions_28d: 5, feature_breadth_30d: 0.7, tenure_days: 30 };
  it('one user per segment', () => {
    const t = makeTable([
      { ...power },
      { avg_weekly_sessions_28d: 2, feature_breadth_30d: 0.3, tenure_days: 14 },
      { avg_weekly_sessions_28d: 0.5, tenure_days: 7 },
      { ...power, days_since_last_activity: 7 },
      { days_since_last_activity: 30, total_sessions: 3 },
      { avg_weekly_sessions_28d: 0.49, tenure_days: 100 },
    ]);
    expect(behavioralSegments(t)).toEqual(['Power', 'Regular', 'Casual', 'At-Risk', 'Dormant', 'Unsegmented']);
  });
  it('Dormant: 30+ idle days and 3+ sessions; otherwise the idle user is At-Risk', () => {
    const t = makeTable([
      { days_since_last_activity: 30, total_sessions: 3 },
      { days_since_last_activity: 30, total_sessions: 2 },
      { days_since_last_activity: 29, total_sessions: 50 },
    ]);
    expect(behavioralSegments(t)).toEqual(['Dormant', 'At-Risk', 'At-Risk']);
  });
  it('At-Risk: a 50%+ week-over-week drop or 7+ idle days (both sides)', () => {
    const t = makeTable([{ ...power, wow_trend: -0.5 }, { ...power, wow_trend: -0.49 }, { ...power, days_since_last_activity: 6 }]);
    expect(behavioralSegments(t)).toEqual(['At-Risk', 'Power', 'Power']);
  });
  it('Power needs 5 sessions/week, 70% breadth and 30 days; just under each falls to Regular', () => {
    const t = makeTable([
      { ...power, avg_weekly_sessions_28d: 4.99 },
      { ...power, feature_breadth_30d: 0.69 },
      { ...power, tenure_days: 29 },
      { ...power, avg_weekly_sessions_28d: 9, feature_breadth_30d: 0.95 },
    ]);
    expect(behavioralSegments(t)).toEqual(['Regular', 'Regular', 'Regular', 'Power']);
  });
  it('Regular needs 2 sessions/week, 30% breadth and 14 days; just under each falls to Casual', () => {
    const reg = { avg_weekly_sessions_28d: 2, feature_breadth_30d: 0.3, tenure_days: 14 };
    const t = makeTable([{ ...reg, avg_weekly_sessions_28d: 1.99 }, { ...reg, feature_breadth_30d: 0.29 }, { ...reg, tenure_days: 13 }]);
    expect(behavioralSegments(t)).toEqual(['Casual', 'Casual', 'Casual']);
  });
  it('Casual needs 0.5 sessions/week and 7 days; below either the user is Unsegmented', () => {
    const t = makeTable([{ avg_weekly_sessions_28d: 0.5, tenure_days: 7 }, { avg_weekly_sessions_28d: 0.49, tenure_days: 7 }, { avg_weekly_sessions_28d: 3, tenure_days: 6 }]);
    expect(behavioralSegments(t)).toEqual(['Casual', 'Unsegmented', 'Unsegmented']);
  });
});

describe('atRiskSignals (§3.3, one point each)', () => {
  it('each signal on both sides of its bound', () => {
    const t = makeTable([
      { sessions_7d: 1.99, avg_weekly_sessions_28d: 4 }, // usage decline: 1.99 < 2
      { sessions_7d: 2, avg_weekly_sessions_28d: 4 }, // not: 2 is not < 2
      { features_used_7d: 1, peak_week_features: 3 }, // breadth contraction: 1 < 1.5
      { features_used_7d: 2, peak_week_features: 4 }, // not: 2 is not < 2
      { days_since_last_activity: 7, typical_gap_days: 3 }, // login gap: 7 > 6
      { days_since_last_activity: 6, typical_gap_days: 3 }, // not: 6 is not > 6
      { support_tickets_7d: 2 }, // support escalation
      { support_tickets_7d: 1 },
      { negative_support_30d: 1 },
    ]);
    const s = atRiskSignals(t);
    expect(Array.from(s.components.usage_decline)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(s.components.breadth_contraction)).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(s.components.login_gap)).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(Array.from(s.components.support_escalation)).toEqual([0, 0, 0, 0, 0, 0, 1, 0, 1]);
  });
  it('the count and the 2+ at_risk flag', () => {
    const t = makeTable([
      { sessions_7d: 0, avg_weekly_sessions_28d: 4, days_since_last_activity: 9, typical_gap_days: 2 },
      { sessions_7d: 0, avg_weekly_sessions_28d: 4, days_since_last_activity: 1, typical_gap_days: 2 },
      { sessions_7d: 0, avg_weekly_sessions_28d: 4, features_used_7d: 0, peak_week_features: 5, days_since_last_activity: 9, typical_gap_days: 2, support_tickets_7d: 3 },
    ]);
    const out = applyRules(t, SYNTHETIC_PRESET);
    expect(Array.from(out.columns.at_risk_signals as Float64Array)).toEqual([2, 1, 4]);
    expect(Array.from(out.columns.at_risk as Float64Array)).toEqual([1, 0, 1]);
  });
});

describe('lifecycleStages (§2.3 ladder)', () => {
  it('one user per stage; Power User is the top 10% of weekly sessions with 70% breadth and 30 days', () => {
    const base = { tenure_days: 60, feature_breadth_30d: 0.8, sessions_7d: 3, avg_weekly_sessions_28d: 3 };
    const rows = [
      { ...base, avg_weekly_sessions_28d: 10, sessions_7d: 10 }, // top 10% of 10 users = the 1 highest: Power User
      { ...base }, // Engaged: 7+ days, 2+ sessions/week
      { tenure_days: 2, milestone_created_first_project: 1, milestone_invited_team_member: 1, milestone_completed_first_task: 1, milestone_connected_integration: 1, milestone_added_first_task: 1 }, // 90 points: Activated
      { tenure_days: 2, milestone_created_first_project: 1 }, // New User
      { ...base, churned: 1 }, // Churned (flag)
      { ...base, days_since_last_activity: 21, typical_gap_days: 30 }, // Churned: 21 idle days = weekly cadence threshold (§3.4)
      { ...base, sessions_7d: 0, days_since_last_activity: 9, typical_gap_days: 2 }, // At-Risk: usage decline + login gap
      { ...base, days_since_last_activity: 20, typical_gap_days: 30 }, // 20 idle days: not churned; Engaged
      { ...base, avg_weekly_sessions_28d: 1.99, sessions_7d: 1.99 }, // under 2/week, not activated: New User
      { ...base, tenure_days: 6 }, // under 7 days: New User
    ];
    const t = makeTable(rows);
    const out = applyRules(t, SYNTHETIC_PRESET);
    expect(out.columns.lifecycle_stage).toEqual([
      'Power User', 'Engaged', 'Activated', 'New User', 'Churned', 'Churned', 'At-Risk', 'Engaged', 'New User', 'New User',
    ]);
  });
  it('Power User needs the top-10% value, 70% breadth and 30 days', () => {
    const top = { tenure_days: 60, feature_breadth_30d: 0.8, sessions_7d: 9, avg_weekly_sessions_28d: 9 };
    const t = makeTable([{ ...top }, { ...top, feature_breadth_30d: 0.69 }, { ...top, tenure_days: 29 }, { ...top, avg_weekly_sessions_28d: 8.9, sessions_7d: 8.9 }]);
    // 4 users: top ceil(0.4) = 1 user, threshold 9; the three users at 9 qualify on usage (ties included).
    const stages = lifecycleStages(t, SYNTHETIC_PRESET, new Float64Array(4), new Float64Array(4), alreadyChurnedFlags(t, 21), fitRuleReference(t, SYNTHETIC_PRESET, 'the test table'));
    expect(stages).toEqual(['Power User', 'Engaged', 'Engaged', 'Engaged']);
  });
});

describe('dormantSubsegments (§3.4)', () => {
  it('thresholds by cadence: daily 7, weekly 21, monthly 60, or the config override', () => {
    expect(inactivityThreshold(SPARKIFY_PRESET)).toBe(7);
    expect(inactivityThreshold(SYNTHETIC_PRESET)).toBe(21);
    expect(inactivityThreshold({ ...SYNTHETIC_PRESET, cadence: 'monthly' })).toBe(60);
    expect(inactivityThreshold(CDNOW_PRESET)).toBe(273);
  });
  it('sub-segments: churned after paying > lapsed after activation > never activated; not dormant = ""', () => {
    const t = makeTable([
      { days_since_last_activity: 21, ever_paid: 1 },
      { days_since_last_activity: 21 },
      { days_since_last_activity: 21 },
      { days_since_last_activity: 20, ever_paid: 1 },
    ]);
    const d = dormantSubsegments(t, SYNTHETIC_PRESET, Float64Array.from([100, 80, 79, 100]));
    expect(d.subsegment).toEqual(['Churned after paying', 'Lapsed after activation', 'Never activated', '']);
    expect(Array.from(d.dormant)).toEqual([1, 1, 1, 0]);
    const daily = dormantSubsegments(makeTable([{ days_since_last_activity: 7 }, { days_since_last_activity: 6 }]), SPARKIFY_PRESET, new Float64Array(2));
    expect(daily.subsegment).toEqual(['Never activated', '']);
  });
});

describe('champions (§3.2), intent (§2.4), plan (§2.5), sales tiers (§7.2), campaigns (§7.1)', () => {
  it('champions: Power users with 2+ invites and a share', () => {
    const t = makeTable([{ invites_total: 2, shares_14d: 1 }, { invites_total: 1, shares_14d: 1 }, { invites_total: 2 }, { invites_total: 5, shares_14d: 5 }]);
    expect(Array.from(champions(t, ['Power', 'Power', 'Power', 'Regular']))).toEqual([1, 0, 0, 0]);
  });
  it('intent: Buyer > Team Champion > Evaluator > Individual User', () => {
    const t = makeTable([
      { pricing_views_7d: 2, invites_14d: 3 },
      { pricing_views_7d: 1, invites_14d: 1 },
      { shares_14d: 1 },
      { pricing_views_14d: 1, avg_session_minutes_30d: 14.9 },
      { pricing_views_14d: 1, avg_session_minutes_30d: 15 },
      { pricing_views_14d: 1, avg_session_minutes_30d: 5, is_paid: 1 },
    ]);
    expect(intentSegments(t)).toEqual(['Buyer', 'Team Champion', 'Team Champion', 'Evaluator', 'Individual User', 'Individual User']);
  });
  it('plan segments from plan names, with the stated fallbacks', () => {
    const t = makeTable([
      { plan: 'free' }, { plan: 'trial' }, { plan: 'Starter' }, { plan: 'pro' }, { plan: 'enterprise' },
      { plan: 'gold', is_paid: 1 }, { plan: 'gold' }, { plan: '' }, { plan: 'paid', is_paid: 1 },
    ]);
    expect(planSegments(t)).toEqual(['Free plan', 'Trial', 'Basic/Starter', 'Pro/Business', 'Enterprise', 'Paid (other)', 'Free plan', 'Unknown plan', 'Pro/Business']);
  });
  it('sales tiers: readiness > 75 with 5+ users and 2 pricing views is Tier 1; 75 is Tier 2; bands are minimums', () => {
    const hot = { team_size: 5, pricing_views_7d: 2, invites_14d: 1 };
    const t = makeTable([{ ...hot }, { ...hot }, { ...hot, team_size: 4 }, { team_size: 3, shares_14d: 1 }, { team_size: 3 }, { team_size: 3, shares_14d: 1 }, {}, {}]);
    const r = Float64Array.from([76, 75, 76, 50, 50, 49, 25, 24]);
    expect(salesTiers(t, r)).toEqual(['Tier 1', 'Tier 2', 'Tier 2', 'Tier 2', 'Tier 3', 'Tier 3', 'Tier 3', 'Tier 4']);
  });
  it('campaigns from lifecycle and plan', () => {
    const stages = ['New User', 'Activated', 'Engaged', 'Engaged', 'Power User', 'At-Risk', 'Churned'];
    expect(campaigns(stages, Float64Array.from([0, 0, 0, 1, 0, 1, 1]))).toEqual([
      'onboarding_drip', 'feature_discovery', 'upgrade_nurture', '', 'upgrade_nurture', 're_engagement', 'win_back',
    ]);
  });
});

describe('rfm (§6.3)', () => {
  it('recency: 5=Today, 4=1-3 days, 3=4-7 days, 2=8-14 days, 1=15+ days', () => {
    const days = [0, 1, 3, 4, 7, 8, 14, 15];
    const t = makeTable(days.map((d) => ({ days_since_last_activity: d, is_paid: 1, plan: 'pro' })));
    expect(Array.from(rfm(t, SYNTHETIC_PRESET, fitRuleReference(t, SYNTHETIC_PRESET, 'the test table')).recency)).toEqual([5, 4, 4, 3, 3, 2, 2, 1]);
  });
  it('frequency: 5=Daily (7+/week), 4=4-6x, 3=2-3x, 2=Weekly, 1=<Weekly', () => {
    const w = [0, 0.99, 1, 1.99, 2, 3.99, 4, 6.99, 7];
    const t = makeTable(w.map((x) => ({ avg_weekly_sessions_28d: x })));
    expect(Array.from(rfm(t, SYNTHETIC_PRESET, fitRuleReference(t, SYNTHETIC_PRESET, 'the test table')).frequency)).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5]);
  });
  it('monetary: enterprise 5, pro 4, basic 3, active free 2, inactive free 1 (21 idle days, weekly cadence)', () => {
    const t = makeTable([
      { plan: 'enterprise', is_paid: 1 }, { plan: 'pro', is_paid: 1 }, { plan: 'basic', is_paid: 1 },
      { plan: 'free' }, { plan: 'free', days_since_last_activity: 21 }, { plan: 'free', days_since_last_activity: 20 }, { plan: 'pro', is_paid: 1, days_since_last_activity: 40 },
    ]);
    expect(Array.from(rfm(t, SYNTHETIC_PRESET, fitRuleReference(t, SYNTHETIC_PRESET, 'the test table')).monetary)).toEqual([5, 4, 3, 2, 1, 2, 4]);
  });
  it('monetary for spend logs (CDNOW): quintiles of spend among spenders, 1 without spend', () => {
    const t = makeTable([10, 20, 30, 40, 50, 0].map((v) => ({ monetary_value: v, is_paid: v > 0 ? 1 : 0, plan: '' })), CDNOW_PRESET);
    expect(Array.from(rfm(t, CDNOW_PRESET, fitRuleReference(t, CDNOW_PRESET, 'the test table')).monetary)).toEqual([1, 2, 3, 4, 5, 1]);
  });
  it('codes and named segments; codes the playbook does not list are "Other", with the nearest listed segment beside', () => {
    const mk = (d: number, w: number, plan: string) => ({ days_since_last_activity: d, avg_weekly_sessions_28d: w, plan, is_paid: plan === 'free' ? 0 : 1 });
    const t = makeTable([mk(0, 7, 'enterprise'), mk(0, 7, 'pro'), mk(0, 4, 'enterprise'), mk(2, 4, 'pro'), mk(5, 2, 'pro'), mk(10, 2, 'basic'), mk(30, 0, 'free'), mk(0, 7, 'basic'), mk(30, 0.5, 'free')]);
    const r = rfm(t, SYNTHETIC_PRESET, fitRuleReference(t, SYNTHETIC_PRESET, 'the test table'));
    expect(r.code).toEqual(['555', '554', '545', '444', '334', '233', '111', '553', '111']);
    expect(r.segment).toEqual(['Champions', 'Champions', 'Champions', 'Loyal', 'Promising', 'Need attention', 'Lost', 'Other', 'Lost']);
    expect(r.nearest[7]).toBe('Champions');
  });
});

describe('applyRules', () => {
  it('writes every CONTRACT column, tiers as strings and scores as Float64Array, and explains a user', () => {
    const t = makeTable([{ avg_weekly_sessions_28d: 5, feature_breadth_30d: 0.6, avg_session_minutes_30d: 8, days_since_last_activity: 2, tenure_days: 40, plan: 'pro', is_paid: 1 }]);
    const out = applyRules(t, SYNTHETIC_PRESET);
    for (const c of CONTRACT_RULE_COLUMNS) expect(out.columns[c], c).toBeDefined();
    expect(out.columns.engagement_score).toBeInstanceOf(Float64Array);
    expect(out.columns.behavioral_segment).toEqual(['Regular']);
    expect(out.columns.rfm_code).toEqual(['444']);
    expect(explainUser(out, 0).engagement).toEqual({ score: 63, tier: 'Engaged', components: { frequency: 20, breadth: 18, depth: 10, recency: 15 } });
  });
  it('names the missing feature and the fix', () => {
    const t = makeTable([{}]);
    delete t.columns.usage_decline;
    expect(() => applyRules(t, SYNTHETIC_PRESET)).toThrow(/^the feature table has no column "usage_decline", which the §4\.4 churn risk score needs. Recompute the features with "cohortlab features" \(columns present: actions_per_session_30d, /);
  });
});

describe('applyRules on an empty table', () => {
  it('returns empty columns and a dashboard of zeros', () => {
    const out = applyRules(makeTable([]), SYNTHETIC_PRESET);
    expect(out.columns.engagement_score).toEqual(new Float64Array(0));
    expect(out.columns.behavioral_segment).toEqual([]);
  });
});
