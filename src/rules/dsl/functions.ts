import type { FeatureTable } from '../../features/index.js';
import type { EventConfig } from '../../ingest/index.js';

/**
 * What the names of the §6.1 language mean: every function (with its windows) and every dotted name
 * maps to a feature column of the feature dictionary, a column derived from them, a score computed
 * by the rule engine, or a number from the config. `features.<column>` reaches any feature column.
 */
export interface EvalContext {
  table: FeatureTable;
  config: EventConfig;
  /** Scores by name (engagement, activation, expansion_readiness, churn_risk, at_risk_signals). */
  scores: Record<string, Float64Array>;
}

export type Source =
  /** A feature column as is. */
  | { kind: 'column'; column: string }
  /** A column scaled by a constant (e.g. sessions in 28 days = 4 x the weekly average). */
  | { kind: 'scaled'; column: string; factor: number }
  /** The sum of feature columns (e.g. sessions in 14 days = the last 7 + the 7 before). */
  | { kind: 'sum'; columns: string[] }
  /** A score computed by the engine. */
  | { kind: 'score'; score: string }
  /** One number for every user, from the config. */
  | { kind: 'config'; describe: string; value: (config: EventConfig) => number };

const col = (column: string): Source => ({ kind: 'column', column });

/** `events.<fn>(<window>)`: function name -> window -> source. */
export const FUNCTIONS: Record<string, Record<string, Source>> = {
  'events.session_count': {
    last_7_days: col('sessions_7d'), // §6.1 Power Users / At Risk
    last_14_days: { kind: 'sum', columns: ['sessions_7d', 'sessions_prev_7d'] },
    last_28_days: { kind: 'scaled', column: 'avg_weekly_sessions_28d', factor: 4 },
    all_time: col('total_sessions'),
  },
  'events.avg_weekly_sessions': { last_28_days: col('avg_weekly_sessions_28d') }, // §6.1 At Risk
  'events.unique_features_used': { last_7_days: col('features_used_7d'), last_30_days: col('features_used_30d') }, // §6.1 Power Users
  'events.active_days': { last_7_days: col('active_days_7d'), last_30_days: col('active_days_30d') },
  'events.count': { last_30_days: col('events_30d') },
  'events.pricing_page_view': { last_7_days: col('pricing_views_7d'), last_14_days: col('pricing_views_14d') }, // §6.1 Expansion Ready
  'events.locked_feature_click': { last_14_days: col('locked_clicks_14d') }, // §6.1 Expansion Ready
  'events.invite': { last_14_days: col('invites_14d'), all_time: col('invites_total') },
  'events.share': { last_14_days: col('shares_14d') },
  'events.support_ticket': { last_7_days: col('support_tickets_7d'), last_30_days: col('support_tickets_30d') },
  'events.negative_support': { last_30_days: col('negative_support_30d') },
  'events.failed_payment': { last_30_days: col('failed_payments_30d') },
  'events.downgrade': { last_30_days: col('downgrades_30d') },
  'events.cancel_page_view': { last_30_days: col('cancel_page_views_30d') },
};

/** Dotted names without arguments. */
export const NAMES: Record<string, Source> = {
  'user.days_since_signup': col('tenure_days'), // §6.1 Power Users
  'user.days_since_last_activity': col('days_since_last_activity'),
  'user.typical_gap_days': col('typical_gap_days'),
  'user.is_paid': col('is_paid'),
  'user.ever_paid': col('ever_paid'),
  'user.team_size': col('team_size'),
  'user.monetary_value': col('monetary_value'),
  'usage.percentage_of_limit': col('usage_pct_of_limit'), // §6.1 Expansion Ready (a ratio: 0.7 = 70%)
  'usage.feature_breadth': col('feature_breadth_30d'),
  'usage.usage_decline': col('usage_decline'),
  'usage.wow_trend': col('wow_trend'),
  'scores.engagement': { kind: 'score', score: 'engagement' }, // §6.1 Expansion Ready (§4.1 score)
  'scores.activation': { kind: 'score', score: 'activation' },
  'scores.expansion_readiness': { kind: 'score', score: 'expansion_readiness' },
  'scores.churn_risk': { kind: 'score', score: 'churn_risk' },
  'scores.at_risk_signals': { kind: 'score', score: 'at_risk_signals' },
  // §6.1 Power Users "0.7 * total_features": the number of core features of the config's taxonomy.
  total_features: { kind: 'config', describe: 'number of core features in the config taxonomy', value: (c) => c.taxonomy.core_features.length },
};

export const FEATURES_PREFIX = 'features.';

export function knownFunctions(): string[] {
  return Object.keys(FUNCTIONS).sort();
}

export function knownNames(): string[] {
  return [...Object.keys(NAMES).sort(), `${FEATURES_PREFIX}<column>`];
}
