import type { FeatureTable } from '../features/types.js';
import { MILESTONE_PREFIX } from '../features/dictionary.js';
import type { EventConfig } from '../ingest/types.js';
import { CohortlabError } from '../shared/errors.js';
import { bandLabels, bandPoints } from './bands.js';
import { featureColumn } from './columns.js';
import {
  ACTIVATION_TIERS, CHURN_RECENCY_GAP, CHURN_SIGNALS, CHURN_TIERS, CHURN_USAGE_DECLINE, ENGAGEMENT_BREADTH,
  ENGAGEMENT_DEPTH, ENGAGEMENT_FREQUENCY, ENGAGEMENT_RECENCY, ENGAGEMENT_TIERS, EXPANSION_ENGAGEMENT,
  EXPANSION_SIGNALS, EXPANSION_TIERS, EXPANSION_USAGE_LIMIT,
} from './tables/scores.js';

/**
 * The §4 scoring models, vectorised: each component is one loop over Float64Array columns; the total is
 * the sum of its components, the tier a band lookup. Components are kept so a user can see why.
 */
export interface RuleScore {
  score: Float64Array;
  tier: string[];
  components: Record<string, Float64Array>;
}

function sum(parts: Float64Array[], n: number, cap = Infinity): Float64Array {
  const out = new Float64Array(n);
  for (const p of parts) for (let i = 0; i < n; i++) out[i] += p[i];
  if (cap !== Infinity) for (let i = 0; i < n; i++) if (out[i] > cap) out[i] = cap;
  return out;
}

/** 1 where x >= min (an item of a signal component), times points. */
function itemPoints(x: Float64Array, min: number, points: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] >= min ? points : 0;
  return out;
}

/** playbook §4.1 engagement: frequency + breadth + depth + recency (0-100). */
export function engagementScore(table: FeatureTable): RuleScore {
  const n = table.userIds.length;
  const need = 'the §4.1 engagement score';
  const frequency = bandPoints(ENGAGEMENT_FREQUENCY, featureColumn(table, 'avg_weekly_sessions_28d', need));
  const breadth = bandPoints(ENGAGEMENT_BREADTH, featureColumn(table, 'feature_breadth_30d', need));
  const depth = bandPoints(ENGAGEMENT_DEPTH, featureColumn(table, 'avg_session_minutes_30d', need));
  const recency = bandPoints(ENGAGEMENT_RECENCY, featureColumn(table, 'days_since_last_activity', need));
  const score = sum([frequency, breadth, depth, recency], n);
  return { score, tier: bandLabels(ENGAGEMENT_TIERS, score), components: { frequency, breadth, depth, recency } };
}

/** playbook §4.2 activation: points of every milestone reached (config milestones), capped at 100. */
export function activationScore(table: FeatureTable, config: EventConfig): RuleScore {
  const n = table.userIds.length;
  const components: Record<string, Float64Array> = {};
  for (const m of config.activation.milestones) {
    if (!Number.isFinite(m.points) || m.points < 0) {
      throw new CohortlabError('BAD_CONFIG', `activation milestone "${m.name}" has points ${m.points}; points must be a number >= 0 (playbook §4.2). Fix activation.milestones in the config.`);
    }
    components[m.name] = itemPoints(featureColumn(table, MILESTONE_PREFIX + m.name, `the §4.2 activation milestone "${m.name}"`), 0.5, m.points);
  }
  const score = sum(Object.values(components), n, 100);
  return { score, tier: bandLabels(ACTIVATION_TIERS, score), components };
}

/** playbook §4.3 expansion readiness: usage limit + team growth + feature interest + engagement level (0-100). */
export function expansionReadinessScore(table: FeatureTable, engagement: Float64Array): RuleScore {
  const n = table.userIds.length;
  const need = 'the §4.3 expansion readiness score';
  const s = EXPANSION_SIGNALS;
  const usage_limit = bandPoints(EXPANSION_USAGE_LIMIT, featureColumn(table, 'usage_pct_of_limit', need));
  // §4.3 items within a component add up (15 + 10 = the component's 25).
  const team_growth = sum([
    itemPoints(featureColumn(table, s.addedMembers.feature, need), s.addedMembers.min, s.addedMembers.points),
    itemPoints(featureColumn(table, s.collabFeatures.feature, need), s.collabFeatures.min, s.collabFeatures.points),
  ], n);
  const feature_interest = sum([
    itemPoints(featureColumn(table, s.lockedFeatures.feature, need), s.lockedFeatures.min, s.lockedFeatures.points),
    itemPoints(featureColumn(table, s.viewedPricing.feature, need), s.viewedPricing.min, s.viewedPricing.points),
  ], n);
  const engagement_level = bandPoints(EXPANSION_ENGAGEMENT, engagement);
  const score = sum([usage_limit, team_growth, feature_interest, engagement_level], n);
  return { score, tier: bandLabels(EXPANSION_TIERS, score), components: { usage_limit, team_growth, feature_interest, engagement_level } };
}

/** days_since_last_activity / typical_gap_days; a zero gap gives +inf when the user has been away, 0 otherwise. */
export function gapRatio(daysSince: Float64Array, typicalGap: Float64Array): Float64Array {
  const out = new Float64Array(daysSince.length);
  for (let i = 0; i < out.length; i++) {
    const g = typicalGap[i];
    out[i] = g > 0 ? daysSince[i] / g : daysSince[i] > 0 ? Infinity : 0;
  }
  return out;
}

/** playbook §4.4 churn risk: usage decline + recency gap + support + billing + engagement trend (0-100). */
export function churnRiskScore(table: FeatureTable): RuleScore {
  const n = table.userIds.length;
  const need = 'the §4.4 churn risk score';
  const c = CHURN_SIGNALS;
  const usage_decline = bandPoints(CHURN_USAGE_DECLINE, featureColumn(table, 'usage_decline', need));
  const recency_gap = bandPoints(CHURN_RECENCY_GAP, gapRatio(featureColumn(table, 'days_since_last_activity', need), featureColumn(table, 'typical_gap_days', need)));
  const neg = featureColumn(table, c.negativeSupport.feature, need);
  const tickets = featureColumn(table, c.multipleTickets.feature, need);
  const failed = featureColumn(table, c.failedPayment.feature, need);
  const down = featureColumn(table, c.downgraded.feature, need);
  const cancel = featureColumn(table, c.cancelPage.feature, need);
  const wow = featureColumn(table, c.decliningTrend.feature, need);
  const support = new Float64Array(n);
  const billing = new Float64Array(n);
  const engagement_trend = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // §4.4 support and billing items would exceed their component's maximum if added: the highest matching item counts.
    support[i] = neg[i] >= c.negativeSupport.min ? c.negativeSupport.points : tickets[i] >= c.multipleTickets.min ? c.multipleTickets.points : 0;
    billing[i] = failed[i] >= c.failedPayment.min ? c.failedPayment.points
      : down[i] >= c.downgraded.min ? c.downgraded.points
      : cancel[i] >= c.cancelPage.min ? c.cancelPage.points : 0;
    engagement_trend[i] = wow[i] < c.decliningTrend.below ? c.decliningTrend.points : 0;
  }
  const score = sum([usage_decline, recency_gap, support, billing, engagement_trend], n);
  return { score, tier: bandLabels(CHURN_TIERS, score), components: { usage_decline, recency_gap, support, billing, engagement_trend } };
}
