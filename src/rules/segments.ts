import type { FeatureTable } from '../features/index.js';
import type { EventConfig } from '../ingest/index.js';
import { bandPoints } from './bands.js';
import { featureColumn } from './columns.js';
import { RFM_FREQUENCY, RFM_MONETARY_FALLBACK, RFM_RECENCY, rfmSegmentTables } from './tables/rfm.js';
import { AT_RISK_SIGNALS, CHAMPION, PLAN_SEGMENTS } from './tables/segments.js';
import {
  BEHAVIORAL_SEGMENT_LADDER, CAMPAIGN_LADDER, DORMANT_SUBSEGMENT_LADDER, INTENT_LADDER, LIFECYCLE_LADDER, SALES_TIER_LADDER,
} from './tables/ladders.js';
import { ladderLabels, type LadderParams } from './ladder.js';
import { inactivityThreshold, monetaryCutsFor, type RuleReference } from './reference.js';

/** The §2, §3, §6.3 and §7 segment rules, vectorised over the feature columns (one loop per rule, string labels shared). */

export { inactivityThreshold };

/** Ladders that read neither threshold: a param they would read is a bug, so it is NaN (every comparison false). */
const NO_PARAMS: LadderParams = { inactivityDays: NaN, powerUserMinWeeklySessions: NaN };

/** playbook §3.3: the four at-risk signals (0/1 each) and their count. */
export function atRiskSignals(table: FeatureTable): { count: Float64Array; components: Record<string, Float64Array> } {
  const n = table.userIds.length;
  const need = 'the §3.3 at-risk signals';
  const s7 = featureColumn(table, 'sessions_7d', need);
  const avg = featureColumn(table, 'avg_weekly_sessions_28d', need);
  const f7 = featureColumn(table, 'features_used_7d', need);
  const peak = featureColumn(table, 'peak_week_features', need);
  const days = featureColumn(table, 'days_since_last_activity', need);
  const gap = featureColumn(table, 'typical_gap_days', need);
  const t7 = featureColumn(table, 'support_tickets_7d', need);
  const neg = featureColumn(table, 'negative_support_30d', need);
  const a = AT_RISK_SIGNALS;
  const usage_decline = new Float64Array(n);
  const breadth_contraction = new Float64Array(n);
  const login_gap = new Float64Array(n);
  const support_escalation = new Float64Array(n);
  const count = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = s7[i] < a.usageDecline.ratio * avg[i] ? 1 : 0; // §3.3 "Current week sessions < 50% of 4-week trailing average"
    const b = f7[i] < a.breadthContraction.ratio * peak[i] ? 1 : 0; // §3.3 "Features used this week < 50% of peak week"
    const g = days[i] > a.loginGap.ratio * gap[i] ? 1 : 0; // §3.3 "Days since last login > 2x typical inter-session gap"
    const e = t7[i] >= a.supportEscalation.minTickets7d || neg[i] >= a.supportEscalation.minNegative30d ? 1 : 0; // §3.3 support escalation
    usage_decline[i] = u;
    breadth_contraction[i] = b;
    login_gap[i] = g;
    support_escalation[i] = e;
    count[i] = u + b + g + e;
  }
  return { count, components: { usage_decline, breadth_contraction, login_gap, support_escalation } };
}

/** playbook §2.1 behavioral segments, as the ladder of tables/ladders.ts. */
export function behavioralSegments(table: FeatureTable): string[] {
  const L = BEHAVIORAL_SEGMENT_LADDER;
  return ladderLabels(L, table.userIds.length, (c) => featureColumn(table, c, L.need), NO_PARAMS);
}

/**
 * playbook §2.3 lifecycle stages (tables/ladders.ts). `churned` is the already-churned flag (stage 6 "Churned"); the
 * "Top 10% usage" bar of the Power User stage is the reference's (rules/reference.ts), never this table's.
 */
export function lifecycleStages(
  table: FeatureTable, config: EventConfig, atRiskCount: Float64Array, activation: Float64Array, churned: Uint8Array, reference: RuleReference,
): string[] {
  const L = LIFECYCLE_LADDER;
  const computed: Record<string, ArrayLike<number>> = { already_churned: churned, at_risk_signals: atRiskCount, activation_score: activation };
  // §2.3 "Top 10% usage": the weekly-session bar of the reference's top 10% live users (ties included); zero usage never counts.
  const params = { inactivityDays: inactivityThreshold(config), powerUserMinWeeklySessions: reference.powerUserMinWeeklySessions ?? Infinity };
  return ladderLabels(L, table.userIds.length, (c) => computed[c] ?? featureColumn(table, c, L.need), params);
}

/** playbook §3.4 dormant users (idle past the cadence threshold) and their sub-segment ('' when not dormant, tables/ladders.ts). */
export function dormantSubsegments(table: FeatureTable, config: EventConfig, activation: Float64Array): { dormant: Float64Array; subsegment: string[] } {
  const n = table.userIds.length;
  const L = DORMANT_SUBSEGMENT_LADDER;
  const days = featureColumn(table, 'days_since_last_activity', L.need);
  const threshold = inactivityThreshold(config);
  const subsegment = ladderLabels(L, n, (c) => (c === 'activation_score' ? activation : featureColumn(table, c, L.need)), { ...NO_PARAMS, inactivityDays: threshold });
  const dormant = new Float64Array(n);
  for (let i = 0; i < n; i++) dormant[i] = days[i] >= threshold ? 1 : 0;
  return { dormant, subsegment };
}

/** playbook §3.2 champions: §2.1 Power users with 2+ invites and an external share. */
export function champions(table: FeatureTable, behavioral: string[]): Float64Array {
  const n = table.userIds.length;
  const need = 'the §3.2 champions';
  const invites = featureColumn(table, 'invites_total', need);
  const shares = featureColumn(table, 'shares_14d', need);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = behavioral[i] === 'Power' && invites[i] >= CHAMPION.minInvitesTotal && shares[i] >= CHAMPION.minShares14d ? 1 : 0;
  return out;
}

/** playbook §2.4 intent segments (ladder Buyer, Team Champion, Evaluator, Individual User; tables/ladders.ts). */
export function intentSegments(table: FeatureTable): string[] {
  const L = INTENT_LADDER;
  return ladderLabels(L, table.userIds.length, (c) => featureColumn(table, c, L.need), NO_PARAMS);
}

/** playbook §2.5 plan segments from the plan name (see PLAN_SEGMENTS for the fallbacks). */
export function planSegments(table: FeatureTable): string[] {
  const n = table.userIds.length;
  const paid = featureColumn(table, 'is_paid', 'the §2.5 plan segments');
  const byPlan = new Map<string, string>();
  for (const row of PLAN_SEGMENTS) for (const p of row.plans) byPlan.set(p, row.segment);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const plan = (table.plan[i] ?? '').trim().toLowerCase();
    out[i] = byPlan.get(plan) ?? (paid[i] >= 1 ? 'Paid (other)' : plan === '' ? 'Unknown plan' : 'Free plan');
  }
  return out;
}

/** playbook §7.2 sales tiers (ladder, readiness bands as minimums; tables/ladders.ts). */
export function salesTiers(table: FeatureTable, readiness: Float64Array): string[] {
  const L = SALES_TIER_LADDER;
  return ladderLabels(L, table.userIds.length, (c) => (c === 'expansion_readiness_score' ? readiness : featureColumn(table, c, L.need)), NO_PARAMS);
}

/** playbook §7.1: the campaign key of each user from lifecycle stage and plan ('' for paying engaged users: no §7.1 campaign). */
export function campaigns(lifecycle: string[], isPaid: Float64Array): string[] {
  const columns: Record<string, ArrayLike<number | string>> = { lifecycle_stage: lifecycle, is_paid: isPaid };
  return ladderLabels(CAMPAIGN_LADDER, lifecycle.length, (c) => columns[c], NO_PARAMS);
}

/** playbook §6.3 RFM: R, F, M scores (1-5), the code and the named segment (exact, and nearest listed code). */
export function rfm(table: FeatureTable, config: EventConfig, reference: RuleReference): {
  recency: Float64Array; frequency: Float64Array; monetary: Float64Array; code: string[]; segment: string[]; nearest: string[];
} {
  const n = table.userIds.length;
  const need = 'the §6.3 RFM scores';
  const days = featureColumn(table, 'days_since_last_activity', need);
  const recency = bandPoints(RFM_RECENCY, days);
  const frequency = bandPoints(RFM_FREQUENCY, featureColumn(table, 'avg_weekly_sessions_28d', need));
  const paid = featureColumn(table, 'is_paid', need);
  const value = featureColumn(table, 'monetary_value', need);
  const threshold = inactivityThreshold(config);
  const byPlan = config.plans.rfm_monetary ?? {};
  const F = RFM_MONETARY_FALLBACK;
  // Quintile cut points of spend among the reference's spenders, for logs valued by spend (CDNOW).
  const cuts = monetaryCutsFor(reference, config);
  const monetary = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const planScore = byPlan[table.plan[i]];
    const isPaid = paid[i] >= 1;
    if (!isPaid && days[i] >= threshold) monetary[i] = F.inactiveFree; // §6.3 "1=Inactive free"
    else if (planScore !== undefined) monetary[i] = planScore; // §6.3 plan value from the config
    else if (config.monetary === 'sum_value') {
      if (value[i] <= 0) monetary[i] = F.noSpend;
      else {
        let m = 1;
        for (const c of cuts) if (value[i] >= c) m++;
        monetary[i] = m;
      }
    } else monetary[i] = isPaid ? F.paid : F.activeFree;
  }
  const tables = rfmSegmentTables();
  const code = new Array<string>(n);
  const segment = new Array<string>(n);
  const nearest = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const m = Math.min(5, Math.max(1, Math.round(monetary[i])));
    monetary[i] = m;
    const k = (recency[i] - 1) * 25 + (frequency[i] - 1) * 5 + (m - 1);
    code[i] = tables.codes[k];
    segment[i] = tables.exact[k];
    nearest[i] = tables.nearest[k];
  }
  return { recency, frequency, monetary, code, segment, nearest };
}
