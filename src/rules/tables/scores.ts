import type { BandTable, Tier } from '../types.js';

/**
 * The four scoring models of playbook §4, as data. Every row quotes the playbook and cites its section;
 * `choice` says how an overlap or gap in the wording was resolved. docs/rules.md is generated from these
 * tables (`renderRulesDoc`), and test/rules/scores.test.ts checks both sides of every boundary.
 *
 * Reading rule for every table: rows go from the highest band down, a value gets the first row whose
 * lower bound it meets (`>=`, or `>` when `exclusive`), so each band is a half-open interval.
 */

// ------------------------------------------------------------------ §4.1 Engagement score (0-100)

export const ENGAGEMENT_FREQUENCY: BandTable<number> = {
  name: 'engagement.frequency',
  input: 'avg_weekly_sessions_28d (sessions/week, 4-week trailing average)',
  section: '4.1',
  choice:
    'The playbook lists whole numbers ("4-6", "2-3", "1") and leaves 1.5, 3.5 and 6.5 sessions/week in gaps. ' +
    'Each band runs up to the next band\'s lower bound: [1, 2) = 5, [2, 4) = 12, [4, 7) = 20, [7, inf) = 30, so 1.5 scores 5 and 6.9 scores 20.',
  bands: [
    { min: 7, value: 30, playbook: '7+ sessions/week: 30', section: '4.1' }, // playbook §4.1
    { min: 4, value: 20, playbook: '4-6: 20', section: '4.1' }, // playbook §4.1
    { min: 2, value: 12, playbook: '2-3: 12', section: '4.1' }, // playbook §4.1
    { min: 1, value: 5, playbook: '1: 5', section: '4.1' }, // playbook §4.1
    { min: -Infinity, value: 0, playbook: '<1: 0', section: '4.1' }, // playbook §4.1
  ],
};

export const ENGAGEMENT_BREADTH: BandTable<number> = {
  name: 'engagement.breadth',
  input: 'feature_breadth_30d (share of core features used in 30 days, 0-1)',
  section: '4.1',
  choice:
    'Percent bands "50-79%", "25-49%" leave 79.5% and 49.5% in gaps; bands are [0.25, 0.5), [0.5, 0.8), [0.8, inf). ' +
    'As written, "<25%" scores 3, so a user with no core feature still gets 3 breadth points.',
  bands: [
    { min: 0.8, value: 25, playbook: '80%+ features: 25', section: '4.1' }, // playbook §4.1
    { min: 0.5, value: 18, playbook: '50-79%: 18', section: '4.1' }, // playbook §4.1
    { min: 0.25, value: 10, playbook: '25-49%: 10', section: '4.1' }, // playbook §4.1
    { min: -Infinity, value: 3, playbook: '<25%: 3', section: '4.1' }, // playbook §4.1
  ],
};

export const ENGAGEMENT_DEPTH: BandTable<number> = {
  name: 'engagement.depth',
  input: 'avg_session_minutes_30d (minutes)',
  section: '4.1',
  choice:
    '"> 30 min" is strict, so exactly 30 minutes falls in "15-30" (18). "5-15" and "15-30" share 15: 15 goes up (18). ' +
    'Bands: [0, 5) = 3, [5, 15) = 10, [15, 30] = 18, (30, inf) = 25. As written, "<5" scores 3 even with no session.',
  bands: [
    { min: 30, exclusive: true, value: 25, playbook: 'Avg session > 30 min: 25', section: '4.1' }, // playbook §4.1
    { min: 15, value: 18, playbook: '15-30: 18', section: '4.1' }, // playbook §4.1
    { min: 5, value: 10, playbook: '5-15: 10', section: '4.1' }, // playbook §4.1
    { min: -Infinity, value: 3, playbook: '<5: 3', section: '4.1' }, // playbook §4.1
  ],
};

export const ENGAGEMENT_RECENCY: BandTable<number> = {
  name: 'engagement.recency',
  input: 'days_since_last_activity (whole days; 0 = active on the as-of day)',
  section: '4.1',
  choice:
    '"8-14 days: 3 | 14+: 0" overlap at 14. 14 days scores 3 (the 8-14 band, as §6.3 recency "2=8-14 days, 1=15+ days" reads it); ' +
    '0 points from 15 days. Bands: [0, 1) = 20, [1, 4) = 15, [4, 8) = 8, [8, 15) = 3, [15, inf) = 0.',
  bands: [
    { min: 15, value: 0, playbook: '14+: 0', section: '4.1' }, // playbook §4.1 (from 15, see choice)
    { min: 8, value: 3, playbook: '8-14 days: 3', section: '4.1' }, // playbook §4.1
    { min: 4, value: 8, playbook: '4-7 days: 8', section: '4.1' }, // playbook §4.1
    { min: 1, value: 15, playbook: '1-3 days: 15', section: '4.1' }, // playbook §4.1
    { min: -Infinity, value: 20, playbook: 'Today: 20', section: '4.1' }, // playbook §4.1
  ],
};

export const ENGAGEMENT_TIERS: BandTable<Tier> = {
  name: 'engagement.tier',
  input: 'engagement_score (0-100)',
  section: '4.1',
  choice: 'Scores are whole points; tiers are [80, 100], [60, 80), [40, 60), [20, 40), [0, 20).',
  bands: [
    { min: 80, value: { label: 'Highly engaged', meaning: 'power user' }, playbook: '80-100: Highly engaged (power user)', section: '4.1' }, // playbook §4.1
    { min: 60, value: { label: 'Engaged', meaning: 'regular' }, playbook: '60-79: Engaged (regular)', section: '4.1' }, // playbook §4.1
    { min: 40, value: { label: 'Moderate', meaning: 'casual' }, playbook: '40-59: Moderate (casual)', section: '4.1' }, // playbook §4.1
    { min: 20, value: { label: 'Low', meaning: 'at risk' }, playbook: '20-39: Low (at risk)', section: '4.1' }, // playbook §4.1
    { min: -Infinity, value: { label: 'Disengaged', meaning: 'dormant/churning' }, playbook: '0-19: Disengaged (dormant/churning)', section: '4.1' }, // playbook §4.1
  ],
};

// ------------------------------------------------------------------ §4.2 Activation score

export const ACTIVATION_TIERS: BandTable<Tier> = {
  name: 'activation.tier',
  input: 'activation_score (sum of the points of the milestones reached, capped at 100)',
  section: '4.2',
  choice: 'Milestones and points come from the config (the project-management example by default); the sum is capped at 100. Tiers [80, 100], [50, 80), [20, 50), [0, 20).',
  bands: [
    { min: 80, value: { label: 'Fully activated', meaning: 'activated' }, playbook: '80-100: Fully activated', section: '4.2' }, // playbook §4.2
    { min: 50, value: { label: 'Partially activated', meaning: 'nudge remaining steps' }, playbook: '50-79: Partially activated (nudge remaining steps)', section: '4.2' }, // playbook §4.2
    { min: 20, value: { label: 'Early activation', meaning: 'guide next steps' }, playbook: '20-49: Early activation (guide next steps)', section: '4.2' }, // playbook §4.2
    { min: -Infinity, value: { label: 'Not activated', meaning: 'immediate onboarding attention' }, playbook: '0-19: Not activated (immediate onboarding attention)', section: '4.2' }, // playbook §4.2
  ],
};

/** Playbook §2.3 "Completed activation" and §3.4 "lapsed after activation" read as the top §4.2 tier. */
export const ACTIVATED_MIN_SCORE = 80; // playbook §4.2 "80-100: Fully activated"

// ------------------------------------------------------------------ §4.3 Expansion readiness (0-100)

export const EXPANSION_USAGE_LIMIT: BandTable<number> = {
  name: 'expansion_readiness.usage_limit',
  input: 'usage_pct_of_limit (uses / plan allowance, 0-1+)',
  section: '4.3',
  choice: 'Bands [0.4, 0.6) = 5, [0.6, 0.8) = 15, [0.8, inf) = 25; below 40% (no band in the playbook) = 0.',
  bands: [
    { min: 0.8, value: 25, playbook: '80%+ of limits: 25', section: '4.3' }, // playbook §4.3
    { min: 0.6, value: 15, playbook: '60-79%: 15', section: '4.3' }, // playbook §4.3
    { min: 0.4, value: 5, playbook: '40-59%: 5', section: '4.3' }, // playbook §4.3
    { min: -Infinity, value: 0, playbook: '(below 40%: no points)', section: '4.3' }, // playbook §4.3 lists no band below 40%
  ],
};

/**
 * §4.3 signal items. Within a component, items whose points add up to the component's maximum are
 * additive (15 + 10 = 25); items that would exceed it (§4.4 support, billing) score the highest matching item.
 */
export const EXPANSION_SIGNALS = {
  /** playbook §4.3 "Added members recently: 15": an invite in the last 14 days. */
  addedMembers: { feature: 'invites_14d', min: 1, points: 15 },
  /** playbook §4.3 "Using collab features: 10": a share in the last 14 days. */
  collabFeatures: { feature: 'shares_14d', min: 1, points: 10 },
  /** playbook §4.3 "Clicked locked features: 15". */
  lockedFeatures: { feature: 'locked_clicks_14d', min: 1, points: 15 },
  /** playbook §4.3 "Viewed pricing: 10". */
  viewedPricing: { feature: 'pricing_views_14d', min: 1, points: 10 },
} as const;

export const EXPANSION_ENGAGEMENT: BandTable<number> = {
  name: 'expansion_readiness.engagement_level',
  input: 'engagement_score (§4.1)',
  section: '4.3',
  choice: '"Score >70" is strict, so 70 scores 15; "50-70" and "30-50" share 50: 50 goes up (15). Bands [30, 50) = 5, [50, 70] = 15, (70, 100] = 25; below 30 = 0.',
  bands: [
    { min: 70, exclusive: true, value: 25, playbook: 'Score >70: 25', section: '4.3' }, // playbook §4.3
    { min: 50, value: 15, playbook: '50-70: 15', section: '4.3' }, // playbook §4.3
    { min: 30, value: 5, playbook: '30-50: 5', section: '4.3' }, // playbook §4.3
    { min: -Infinity, value: 0, playbook: '(below 30: no points)', section: '4.3' }, // playbook §4.3 lists no band below 30
  ],
};

export const EXPANSION_TIERS: BandTable<Tier> = {
  name: 'expansion_readiness.tier',
  input: 'expansion_readiness_score (0-100)',
  section: '4.3',
  choice: 'Tiers [75, 100], [50, 75), [25, 50), [0, 25).',
  bands: [
    { min: 75, value: { label: 'High readiness', meaning: 'proactive outreach, upgrade prompts' }, playbook: '75-100: High readiness', section: '4.3' }, // playbook §4.3
    { min: 50, value: { label: 'Moderate', meaning: 'nurture, show higher-tier value' }, playbook: '50-74: Moderate', section: '4.3' }, // playbook §4.3
    { min: 25, value: { label: 'Low', meaning: 'deepen current engagement first' }, playbook: '25-49: Low', section: '4.3' }, // playbook §4.3
    { min: -Infinity, value: { label: 'Not ready', meaning: 'focus on activation and value delivery' }, playbook: '0-24: Not ready', section: '4.3' }, // playbook §4.3
  ],
};

// ------------------------------------------------------------------ §4.4 Churn risk (0-100)

export const CHURN_USAGE_DECLINE: BandTable<number> = {
  name: 'churn_risk.usage_decline',
  input: 'usage_decline (1 - sessions_7d / avg_weekly_sessions_28d, floored at 0)',
  section: '4.4',
  choice: 'Bands [0.3, 0.5) = 10, [0.5, 0.7) = 20, [0.7, inf) = 30; under 30% decline (no band) = 0.',
  bands: [
    { min: 0.7, value: 30, playbook: '70%+ decline: 30', section: '4.4' }, // playbook §4.4
    { min: 0.5, value: 20, playbook: '50-69%: 20', section: '4.4' }, // playbook §4.4
    { min: 0.3, value: 10, playbook: '30-49%: 10', section: '4.4' }, // playbook §4.4
    { min: -Infinity, value: 0, playbook: '(under 30%: no points)', section: '4.4' }, // playbook §4.4 lists no band under 30%
  ],
};

export const CHURN_RECENCY_GAP: BandTable<number> = {
  name: 'churn_risk.recency_gap',
  input: 'gap ratio = days_since_last_activity / typical_gap_days (a zero typical gap gives +inf when days > 0, else 0)',
  section: '4.4',
  choice: '"2x typical gap" etc. read as "at least": [1, 1.5) = 5, [1.5, 2) = 15, [2, inf) = 25; under 1x = 0.',
  bands: [
    { min: 2, value: 25, playbook: '2x typical gap: 25', section: '4.4' }, // playbook §4.4
    { min: 1.5, value: 15, playbook: '1.5x: 15', section: '4.4' }, // playbook §4.4
    { min: 1, value: 5, playbook: '1x: 5', section: '4.4' }, // playbook §4.4
    { min: -Infinity, value: 0, playbook: '(under 1x: no points)', section: '4.4' }, // playbook §4.4 lists no band under 1x
  ],
};

export const CHURN_SIGNALS = {
  /** playbook §4.4 "Negative interactions: 20" (support component, highest matching item). */
  negativeSupport: { feature: 'negative_support_30d', min: 1, points: 20 },
  /** playbook §4.4 "Multiple tickets: 10": 2+ tickets in 30 days. */
  multipleTickets: { feature: 'support_tickets_30d', min: 2, points: 10 },
  /** playbook §4.4 "Failed payment: 15" (billing component, highest matching item). */
  failedPayment: { feature: 'failed_payments_30d', min: 1, points: 15 },
  /** playbook §4.4 "Downgraded: 10". */
  downgraded: { feature: 'downgrades_30d', min: 1, points: 10 },
  /** playbook §4.4 "Viewed cancel page: 10". */
  cancelPage: { feature: 'cancel_page_views_30d', min: 1, points: 10 },
  /** playbook §4.4 "Declining: 10 | Stable/increasing: 0": wow_trend < 0 (fewer sessions than the week before). */
  decliningTrend: { feature: 'wow_trend', below: 0, points: 10 },
} as const;

export const CHURN_TIERS: BandTable<Tier> = {
  name: 'churn_risk.tier',
  input: 'churn_risk_score (0-100)',
  section: '4.4',
  choice: 'Tiers [70, 100], [40, 70), [20, 40), [0, 20).',
  bands: [
    { min: 70, value: { label: 'High risk', meaning: 'immediate intervention' }, playbook: '70-100: High risk (immediate intervention)', section: '4.4' }, // playbook §4.4
    { min: 40, value: { label: 'Moderate risk', meaning: 'proactive outreach' }, playbook: '40-69: Moderate risk (proactive outreach)', section: '4.4' }, // playbook §4.4
    { min: 20, value: { label: 'Low risk', meaning: 'monitor' }, playbook: '20-39: Low risk (monitor)', section: '4.4' }, // playbook §4.4
    { min: -Infinity, value: { label: 'Healthy', meaning: 'healthy' }, playbook: '0-19: Healthy', section: '4.4' }, // playbook §4.4
  ],
};

/**
 * The churn-risk tier of a user already churned at the cutoff (explicit churn event, or idle past the §3.4
 * threshold): a cohortlab choice, since §4.4 tiers users who can still churn. A user gone for good is not
 * "Healthy" because the signals of a departure (usage decline, recency gap) have stopped changing; the tier
 * says "Churned" (§2.3 stage 6), and `churn_risk_score` is still computed from the features, unchanged.
 */
export const CHURN_TIER_ALREADY_CHURNED: Tier = { label: 'Churned', meaning: 'already churned at the cutoff (§2.3 stage 6): win-back, not retention' };

export const SCORE_TABLES: readonly BandTable<number>[] = [
  ENGAGEMENT_FREQUENCY, ENGAGEMENT_BREADTH, ENGAGEMENT_DEPTH, ENGAGEMENT_RECENCY,
  EXPANSION_USAGE_LIMIT, EXPANSION_ENGAGEMENT, CHURN_USAGE_DECLINE, CHURN_RECENCY_GAP,
];
export const TIER_TABLES: readonly BandTable<Tier>[] = [ENGAGEMENT_TIERS, ACTIVATION_TIERS, EXPANSION_TIERS, CHURN_TIERS];
