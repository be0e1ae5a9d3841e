import type { Ladder, LadderTest } from '../ladder.js';
import { ACTIVATED_MIN_SCORE } from './scores.js';
import { CAMPAIGNS } from './actions.js';
import { BEHAVIORAL, DORMANT_SUBSEGMENTS, INTENT, LIFECYCLE, SALES_TIERS } from './segments.js';

/**
 * The built-in segment ladders, defined once from the thresholds of tables/segments.ts and compiled both to
 * in-process labels (rules/segments.ts) and to the warehouse SQL (rules/sql.ts) by rules/ladder.ts.
 * Besides feature columns they read the columns the rules compute first (LADDER_COMPUTED_COLUMNS).
 */
export const LADDER_COMPUTED_COLUMNS = ['already_churned', 'at_risk_signals', 'activation_score', 'expansion_readiness_score', 'lifecycle_stage'] as const;

const ge = (column: string, value: LadderTest['value']): LadderTest => ({ column, op: '>=', value });
const gt = (column: string, value: LadderTest['value']): LadderTest => ({ column, op: '>', value });
const le = (column: string, value: number): LadderTest => ({ column, op: '<=', value });
const lt = (column: string, value: number): LadderTest => ({ column, op: '<', value });
const eq = (column: string, value: number | string): LadderTest => ({ column, op: '=', value });
const IDLE = { param: 'inactivityDays' } as const;

const B = BEHAVIORAL;
/** playbook §2.1 behavioral segments: Dormant, At-Risk, Power, Regular, Casual, then Unsegmented. */
export const BEHAVIORAL_SEGMENT_LADDER: Ladder = {
  name: 'behavioral_segment',
  section: '2.1',
  need: 'the §2.1 behavioral segments',
  rungs: [
    { label: 'Dormant', when: [[ge('days_since_last_activity', B.dormant.minDaysInactive), ge('total_sessions', B.dormant.minTotalSessions)]] },
    { label: 'At-Risk', when: [[le('wow_trend', B.atRisk.maxWowTrend)], [ge('days_since_last_activity', B.atRisk.minDaysInactive)]] },
    { label: 'Power', when: [[ge('avg_weekly_sessions_28d', B.power.minWeeklySessions), ge('feature_breadth_30d', B.power.minBreadth), ge('tenure_days', B.power.minTenureDays)]] },
    { label: 'Regular', when: [[ge('avg_weekly_sessions_28d', B.regular.minWeeklySessions), ge('feature_breadth_30d', B.regular.minBreadth), ge('tenure_days', B.regular.minTenureDays)]] },
    { label: 'Casual', when: [[ge('avg_weekly_sessions_28d', B.casual.minWeeklySessions), ge('tenure_days', B.casual.minTenureDays)]] },
  ],
  otherwise: 'Unsegmented',
};

const L = LIFECYCLE;
/**
 * playbook §2.3 lifecycle stages: Churned (already churned, or idle past the §3.4 threshold), At-Risk (the §3.3
 * composite), Power User (the reference's "Top 10% usage" bar, never zero usage), Engaged, Activated, New User.
 */
export const LIFECYCLE_LADDER: Ladder = {
  name: 'lifecycle_stage',
  section: '2.3',
  need: 'the §2.3 lifecycle stages',
  rungs: [
    { label: 'Churned', when: [[eq('already_churned', 1)], [ge('days_since_last_activity', IDLE)]] },
    { label: 'At-Risk', when: [[ge('at_risk_signals', L.atRisk.minSignals)]] },
    {
      label: 'Power User',
      when: [[
        ge('tenure_days', L.powerUser.minTenureDays), ge('avg_weekly_sessions_28d', { param: 'powerUserMinWeeklySessions' }),
        gt('avg_weekly_sessions_28d', 0), ge('feature_breadth_30d', L.powerUser.minBreadth),
      ]],
    },
    { label: 'Engaged', when: [[ge('tenure_days', L.engaged.minTenureDays), ge('avg_weekly_sessions_28d', L.engaged.minWeeklySessions)]] },
    { label: 'Activated', when: [[ge('activation_score', L.activated.minActivationScore)]] },
  ],
  otherwise: 'New User',
};

const I = INTENT;
/** playbook §2.4 intent segments: Buyer, Team Champion, Evaluator, then Individual User. */
export const INTENT_LADDER: Ladder = {
  name: 'intent_segment',
  section: '2.4',
  need: 'the §2.4 intent segments',
  rungs: [
    { label: 'Buyer', when: [[ge('pricing_views_7d', I.buyer.minPricingViews7d)]] },
    { label: 'Team Champion', when: [[ge('invites_14d', I.teamChampion.minInvites14d)], [ge('shares_14d', I.teamChampion.minShares14d)]] },
    { label: 'Evaluator', when: [[lt('is_paid', 1), ge('pricing_views_14d', I.evaluator.minPricingViews14d), lt('avg_session_minutes_30d', I.evaluator.maxSessionMinutes)]] },
  ],
  otherwise: 'Individual User',
};

const [paid, lapsed, never] = DORMANT_SUBSEGMENTS;
/** playbook §3.4 dormant sub-segments of users idle past the threshold, in precedence order; '' when not dormant. */
export const DORMANT_SUBSEGMENT_LADDER: Ladder = {
  name: 'dormant_subsegment',
  section: '3.4',
  need: 'the §3.4 dormant sub-segments',
  rungs: [
    { label: paid, when: [[ge('days_since_last_activity', IDLE), ge('ever_paid', 1)]] },
    { label: lapsed, when: [[ge('days_since_last_activity', IDLE), ge('activation_score', ACTIVATED_MIN_SCORE)]] },
    { label: never, when: [[ge('days_since_last_activity', IDLE)]] },
  ],
  otherwise: '',
};

const [t1, t2, t3, t4] = SALES_TIERS;
const R = 'expansion_readiness_score';
/** playbook §7.2 sales tiers (readiness bands as minimums; Tier 2's "team/collab features": an invite or a share in 14 days). */
export const SALES_TIER_LADDER: Ladder = {
  name: 'sales_tier',
  section: '7.2',
  need: 'the §7.2 sales tiers',
  rungs: [
    { label: t1.tier, when: [[gt(R, t1.minReadinessExclusive), ge('team_size', t1.minTeamSize), ge('pricing_views_7d', t1.minPricingViews7d)]] },
    {
      label: t2.tier,
      when: [[ge(R, t2.minReadiness), ge('team_size', t2.minTeamSize), ge('invites_14d', 1)], [ge(R, t2.minReadiness), ge('team_size', t2.minTeamSize), ge('shares_14d', 1)]],
    },
    { label: t3.tier, when: [[ge(R, t3.minReadiness)]] },
  ],
  otherwise: t4.tier,
};

const key = (segment: string) => CAMPAIGNS.find((c) => c.segment === segment)!.key;
/** playbook §7.1: the campaign key from the lifecycle stage and plan ('' for paying engaged users: no §7.1 campaign). */
export const CAMPAIGN_LADDER: Ladder = {
  name: 'campaign',
  section: '7.1',
  need: 'the §7.1 campaigns',
  rungs: [
    { label: key('New (not activated)'), when: [[eq('lifecycle_stage', 'New User')]] },
    { label: key('Activated (not engaged)'), when: [[eq('lifecycle_stage', 'Activated')]] },
    { label: key('At-risk (any plan)'), when: [[eq('lifecycle_stage', 'At-Risk')]] },
    { label: key('Churned'), when: [[eq('lifecycle_stage', 'Churned')]] },
    { label: key('Engaged (free)'), when: [[eq('lifecycle_stage', 'Engaged'), lt('is_paid', 1)], [eq('lifecycle_stage', 'Power User'), lt('is_paid', 1)]] },
  ],
  otherwise: '',
};

/** Every built-in ladder, in the order applyRules computes them. */
export const SEGMENT_LADDERS: readonly Ladder[] = [
  BEHAVIORAL_SEGMENT_LADDER, LIFECYCLE_LADDER, INTENT_LADDER, DORMANT_SUBSEGMENT_LADDER, SALES_TIER_LADDER, CAMPAIGN_LADDER,
];
