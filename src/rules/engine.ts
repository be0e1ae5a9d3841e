import type { FeatureTable } from '../features/index.js';
import type { EventConfig } from '../ingest/index.js';
import { CohortlabError } from '../shared/errors.js';
import { evaluateSegment } from './dsl/evaluate.js';
import type { EvalContext } from './dsl/functions.js';
import { activationScore, churnRiskScore, engagementScore, expansionReadinessScore } from './scores.js';
import {
  atRiskSignals, behavioralSegments, campaigns, champions, dormantSubsegments, intentSegments, lifecycleStages,
  planSegments, rfm, salesTiers,
} from './segments.js';
import type { RuleColumn, RuleOutput, SegmentRule } from './types.js';
import { alreadyChurnedFlags, fitRuleReference, inactivityThreshold, type RuleReference } from './reference.js';
import { CHURN_TIER_ALREADY_CHURNED } from './tables/scores.js';

/**
 * applyRules: feature table -> every playbook model, in this order (later steps read earlier ones):
 *
 *   1. scores     §4.1 engagement, §4.2 activation, §4.3 expansion readiness (reads 1), §4.4 churn risk
 *   2. signals    §3.3 at-risk signals (count, one point each)
 *   3. segments   §2.1 behavioral, §2.3 lifecycle (reads 1, 2), §3.4 dormant, §3.2 champions, §2.4 intent,
 *                 §2.5 plan, §6.3 RFM, §7.2 sales tiers, §7.1 campaign
 *   4. rule files §6.1 segments (may read the scores of 1 and 2)
 *
 * The thresholds that compare a user with the user base (§2.3 top 10% usage, §6.3 spend quintiles) come
 * from `opts.reference` (a model's, fitted at train: rules/reference.ts); without one they are fitted on
 * `table` itself, which only `rules --features F` does on purpose. Users already churned at the cutoff
 * (`already_churned`) are lifecycle "Churned" and churn-risk tier "Churned" (score still computed).
 *
 * Pure: no I/O. Every column is one pass over typed arrays.
 */
export const CONTRACT_RULE_COLUMNS = [
  'engagement_score', 'engagement_tier', 'activation_score', 'activation_tier', 'expansion_readiness_score',
  'expansion_readiness_tier', 'churn_risk_score', 'churn_risk_tier', 'behavioral_segment', 'lifecycle_stage',
  'rfm_code', 'rfm_segment', 'at_risk_signals',
] as const;

export const SEGMENT_COLUMN_PREFIX = 'segment_';

export interface ApplyRulesOptions {
  segments?: SegmentRule[];
  /** The reference thresholds (a model's); default: fitted on `table` (see RuleOutput.reference). */
  reference?: RuleReference;
}

export function applyRules(table: FeatureTable, config: EventConfig, opts: ApplyRulesOptions = {}): RuleOutput {
  const n = table.userIds.length;
  if (table.plan.length !== n || table.alreadyChurned.length !== n) {
    throw new CohortlabError('BAD_FEATURE', `the feature table has ${n} users but ${table.plan.length} plans and ${table.alreadyChurned.length} churn flags; every per-user array must have one entry per user.`);
  }
  const reference = opts.reference ?? fitRuleReference(table, config, 'the scored table itself');
  const churned = alreadyChurnedFlags(table, inactivityThreshold(config));
  const engagement = engagementScore(table);
  const activation = activationScore(table, config);
  const expansion = expansionReadinessScore(table, engagement.score);
  const churn = churnRiskScore(table);
  // cohortlab choice (docs/rules.md): a user already gone is never "Healthy"; the score stays as computed.
  for (let i = 0; i < n; i++) if (churned[i] === 1) churn.tier[i] = CHURN_TIER_ALREADY_CHURNED.label;
  const atRisk = atRiskSignals(table);
  const behavioral = behavioralSegments(table);
  const lifecycle = lifecycleStages(table, config, atRisk.count, activation.score, churned, reference);
  const dormant = dormantSubsegments(table, config, activation.score);
  const r = rfm(table, config, reference);
  const isPaid = table.columns.is_paid;

  const columns: Record<string, RuleColumn> = {
    engagement_score: engagement.score,
    engagement_tier: engagement.tier,
    activation_score: activation.score,
    activation_tier: activation.tier,
    expansion_readiness_score: expansion.score,
    expansion_readiness_tier: expansion.tier,
    churn_risk_score: churn.score,
    churn_risk_tier: churn.tier,
    behavioral_segment: behavioral,
    lifecycle_stage: lifecycle,
    rfm_code: r.code,
    rfm_segment: r.segment,
    at_risk_signals: atRisk.count,
  };
  const segments = opts.segments ?? [];
  const ctx: EvalContext = {
    table,
    config,
    scores: {
      engagement: engagement.score,
      activation: activation.score,
      expansion_readiness: expansion.score,
      churn_risk: churn.score,
      at_risk_signals: atRisk.count,
    },
  };
  const seen = new Map<string, SegmentRule>();
  for (const rule of segments) {
    const prev = seen.get(rule.slug);
    if (prev) {
      throw new CohortlabError('RULE_SYNTAX', `segment "${rule.name}" (${rule.pos.file}) and segment "${prev.name}" (${prev.pos.file}) both make the column ${SEGMENT_COLUMN_PREFIX}${rule.slug}; rename one of them.`, { path: rule.pos.file });
    }
    seen.set(rule.slug, rule);
    columns[SEGMENT_COLUMN_PREFIX + rule.slug] = evaluateSegment(ctx, rule);
  }
  // Extras beyond the contract columns (docs/rules.md lists them).
  columns.at_risk = flag(atRisk.count, 2); // §3.3 "2+ signals = at-risk"
  columns.intent_segment = intentSegments(table);
  columns.plan_segment = planSegments(table);
  columns.champion = champions(table, behavioral);
  columns.dormant = dormant.dormant;
  columns.dormant_subsegment = dormant.subsegment;
  columns.rfm_recency = r.recency;
  columns.rfm_frequency = r.frequency;
  columns.rfm_monetary = r.monetary;
  columns.rfm_segment_nearest = r.nearest;
  columns.sales_tier = salesTiers(table, expansion.score);
  columns.campaign = campaigns(lifecycle, isPaid);
  columns.already_churned = Float64Array.from(churned);

  return {
    userIds: table.userIds,
    columns,
    reference,
    components: {
      engagement: engagement.components,
      activation: activation.components,
      expansion_readiness: expansion.components,
      churn_risk: churn.components,
      at_risk: atRisk.components,
      rfm: { recency: r.recency, frequency: r.frequency, monetary: r.monetary },
    },
  };
}

function flag(x: Float64Array, min: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] >= min ? 1 : 0;
  return out;
}

/** One user's scores with the points of every component, e.g. `{ engagement: { score: 63, tier, components: { frequency: 20, ... } } }`. */
export function explainUser(out: RuleOutput, index: number): Record<string, { score?: number; tier?: string; components: Record<string, number> }> {
  const res: Record<string, { score?: number; tier?: string; components: Record<string, number> }> = {};
  for (const [model, comps] of Object.entries(out.components)) {
    const components: Record<string, number> = {};
    for (const [k, v] of Object.entries(comps)) components[k] = v[index];
    const score = out.columns[`${model}_score`];
    const tier = out.columns[`${model}_tier`];
    res[model] = {
      score: score instanceof Float64Array ? score[index] : undefined,
      tier: Array.isArray(tier) ? tier[index] : undefined,
      components,
    };
  }
  return res;
}
