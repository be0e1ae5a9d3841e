import type { Cadence } from '../../ingest/types.js';

/**
 * Segment rules of playbook §2, §3 and §7.2 as data. Each segment is a ladder: rules are tried in the
 * listed order and a user takes the first that matches, so every user gets exactly one label and the
 * sizes add up to the user count. A rung's numeric criteria are minimums; the playbook's upper bounds
 * ("Sessions/week 2-4") are implied by the rung above, which closes the gaps between rungs
 * (a user with 4.5 sessions/week and 50% breadth is Regular, not unclassified).
 */

// ------------------------------------------------------------------ §2.1 behavioral segments

export const BEHAVIORAL = {
  /** playbook §2.1 Dormant: "No activity in 30+ days, previously had 3+ sessions". */
  dormant: { minDaysInactive: 30, minTotalSessions: 3 },
  /** playbook §2.1 At-Risk: "50%+ session drop week-over-week OR no sessions in 7+ days" (wow_trend <= -0.5, or 7+ idle days). */
  atRisk: { maxWowTrend: -0.5, minDaysInactive: 7 },
  /** playbook §2.1 Power: "Sessions/week >= 5, Feature breadth >= 70%, Active 30+ days" (tenure_days >= 30, as §6.1 days_since_signup). */
  power: { minWeeklySessions: 5, minBreadth: 0.7, minTenureDays: 30 },
  /** playbook §2.1 Regular: "Sessions/week 2-4, Feature breadth 30-69%, Active 14+ days" (minimums; upper bounds = Power's). */
  regular: { minWeeklySessions: 2, minBreadth: 0.3, minTenureDays: 14 },
  /** playbook §2.1 Casual: "Sessions/week 0.5-1, Feature breadth <30%, Active 7+ days" (minimums; users with 1-2 sessions/week or 2+ with breadth < 30% land here). */
  casual: { minWeeklySessions: 0.5, minTenureDays: 7 },
} as const;

/** Labels in ladder order (the order of the §9.1 dashboard and the §9.2 matrix). */
export const BEHAVIORAL_SEGMENTS = ['Power', 'Regular', 'Casual', 'At-Risk', 'Dormant', 'Unsegmented'] as const;
export type BehavioralSegment = (typeof BEHAVIORAL_SEGMENTS)[number];

// ------------------------------------------------------------------ §2.3 lifecycle stages

export const LIFECYCLE_STAGES = ['New User', 'Activated', 'Engaged', 'Power User', 'At-Risk', 'Churned'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];
/**
 * Ladder (first match wins). The day ranges of §2.3 ("Day 7-90") are typical ages, not conditions;
 * only the lower bounds of Engaged (7+) and Power User (30+) are applied.
 */
export const LIFECYCLE = {
  /** playbook §2.3 "6. Churned: No activity beyond threshold": already churned, or idle past the §3.4 cadence threshold. */
  churned: 'alreadyChurned or days_since_last_activity >= inactivity threshold (§3.4)',
  /** playbook §2.3 "5. At-Risk: Usage declining from personal baseline": the §3.3 composite (2+ signals). */
  atRisk: { minSignals: 2 },
  /** playbook §2.3 "4. Power User (Day 30+): Top 10% usage, broad feature adoption". */
  powerUser: { minTenureDays: 30, topShare: 0.1, minBreadth: 0.7 },
  /** playbook §2.3 "3. Engaged (Day 7-90): Regular usage, multiple sessions/week". */
  engaged: { minTenureDays: 7, minWeeklySessions: 2 },
  /** playbook §2.3 "2. Activated: Completed activation" (activation_score >= 80, §4.2 Fully activated). */
  activated: { minActivationScore: 80 },
  /** playbook §2.3 "1. New User: Hasn't completed activation" (everyone else). */
} as const;

// ------------------------------------------------------------------ §3.2 champions, §3.3 at-risk signals, §3.4 dormant

/** playbook §3.2: power users (§2.1 Power) who "Invited 2+ team members" and "Share content externally" (NPS and community are not in the event data). */
export const CHAMPION = { minInvitesTotal: 2, minShares14d: 1 } as const;

/** playbook §3.3 detection signals, one point each; "2+ signals = at-risk". */
export const AT_RISK_SIGNALS = {
  /** "Current week sessions < 50% of 4-week trailing average": sessions_7d < 0.5 * avg_weekly_sessions_28d. */
  usageDecline: { ratio: 0.5 },
  /** "Features used this week < 50% of peak week": features_used_7d < 0.5 * peak_week_features. */
  breadthContraction: { ratio: 0.5 },
  /** "Days since last login > 2x typical inter-session gap" (strict, as written). */
  loginGap: { ratio: 2 },
  /** "2+ support tickets in 7 days, or negative sentiment" (negative support in the last 30 days: the finest window the features keep). */
  supportEscalation: { minTickets7d: 2, minNegative30d: 1 },
  atRiskMin: 2,
} as const;

/** playbook §3.4 dormant thresholds by cadence (config `inactivity_days` overrides). */
export const DORMANT_DAYS: Record<Cadence, number> = {
  daily: 7, // playbook §3.4 "Daily-use product: No login for 7+ days"
  weekly: 21, // playbook §3.4 "Weekly-use product: No login for 21+ days"
  monthly: 60, // playbook §3.4 "Monthly-use product: No login for 60+ days"
};
/** playbook §3.4 sub-segments, in precedence order (a paying churner is the highest-value win-back, §3.4). */
export const DORMANT_SUBSEGMENTS = ['Churned after paying', 'Lapsed after activation', 'Never activated'] as const;

// ------------------------------------------------------------------ §2.4 intent, §2.5 plan

export const INTENT = {
  /** playbook §2.4 Buyer "Visiting pricing page" repeatedly: 2+ pricing views in 7 days (the §7.2 "pricing page 2x in last week"). */
  buyer: { minPricingViews7d: 2 },
  /** playbook §2.4 Team Champion "Inviting team members, sharing content": an invite or share in 14 days. */
  teamChampion: { minInvites14d: 1, minShares14d: 1 },
  /** playbook §2.4 Evaluator "Short sessions, viewing pricing/docs": unpaid, a pricing view in 14 days, sessions under 15 min (below §4.1's 15-30 depth band). */
  evaluator: { minPricingViews14d: 1, maxSessionMinutes: 15 },
  /** playbook §2.4 Individual User "Using product alone": everyone else. */
} as const;

export interface PlanSegmentRow {
  segment: string;
  /** Plan names (lower case) that map to it. */
  plans: string[];
  focus: string;
}
/** playbook §2.5; a plan not listed is `Paid (other)` when paying, `Free plan` when not, `Unknown plan` when the log has no plan. */
export const PLAN_SEGMENTS: readonly PlanSegmentRow[] = [
  { segment: 'Free plan', plans: ['free', 'freemium'], focus: 'Demonstrate value, encourage activation, show upgrade path' }, // playbook §2.5
  { segment: 'Trial', plans: ['trial', 'trialing'], focus: 'Maximize trial activation, guide toward key value, conversion prompts' }, // playbook §2.5
  { segment: 'Basic/Starter', plans: ['basic', 'starter'], focus: 'Deepen engagement, show value of higher tier features' }, // playbook §2.5
  { segment: 'Pro/Business', plans: ['pro', 'business', 'paid', 'premium', 'team'], focus: 'Team expansion, advanced feature adoption, retention' }, // playbook §2.5
  { segment: 'Enterprise', plans: ['enterprise'], focus: 'Account health, expansion, executive engagement' }, // playbook §2.5
];

// ------------------------------------------------------------------ §7.2 sales tiers

/**
 * Ladder. A tier's readiness band is a minimum: a user with readiness 80 but no team moves down to the
 * first tier whose criteria they meet. "> 75" is strict (75 is Tier 2, "50-75"). "5+ active users" reads
 * team_size (1 + people invited); "enterprise signals" have no event and are not required.
 */
export const SALES_TIERS = [
  { tier: 'Tier 1', label: 'Hot', action: 'sales-assist immediately', minReadinessExclusive: 75, minTeamSize: 5, minPricingViews7d: 2 }, // playbook §7.2
  { tier: 'Tier 2', label: 'Warm', action: 'outreach within 1 week', minReadiness: 50, minTeamSize: 3, collab: true }, // playbook §7.2 ("using team/collab features": a share or invite in 14 days)
  { tier: 'Tier 3', label: 'Nurture', action: 'marketing-led', minReadiness: 25 }, // playbook §7.2
  { tier: 'Tier 4', label: 'No action', action: 'no action' }, // playbook §7.2 "Expansion readiness < 25"
] as const;
