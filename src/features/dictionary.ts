import type { EventConfig } from '../ingest/index.js';
import type { FeatureDefinition } from './types.js';

/**
 * The feature dictionary. The SQL in sql.ts computes exactly these columns; `featureDictionary`
 * adds one `milestone_<name>` column per activation milestone of the config (playbook §4.2).
 * `cohortlab features --dictionary` prints it and docs are generated from it, never copied by hand.
 */
export const BASE_FEATURES: readonly FeatureDefinition[] = [
  { name: 'sessions_7d', definition: 'sessions started in the 7 days before the cutoff', window: '7d', unit: 'sessions', playbook: '2.1, 3.3, 6.1', heavyTailed: true },
  { name: 'sessions_prev_7d', definition: 'sessions started 8-14 days before the cutoff', window: '7d (days 8-14)', unit: 'sessions', playbook: '4.4', heavyTailed: true },
  { name: 'avg_weekly_sessions_28d', definition: 'sessions in the 28 days before the cutoff / 4 (the 4-week trailing weekly average)', window: '28d', unit: 'sessions/week', playbook: '2.1, 3.3, 4.1, 6.1, 6.3', heavyTailed: true },
  { name: 'total_sessions', definition: 'all sessions before the cutoff', window: 'all history', unit: 'sessions', playbook: '2.1 (dormant: 3+ sessions)', heavyTailed: true },
  { name: 'events_30d', definition: 'events of any kind in the 30 days before the cutoff', window: '30d', unit: 'events', playbook: '2.1', heavyTailed: true },
  { name: 'active_days_7d', definition: 'distinct UTC days with any event in the last 7 days', window: '7d', unit: 'days', playbook: '2.1', heavyTailed: false },
  { name: 'active_days_30d', definition: 'distinct UTC days with any event in the last 30 days', window: '30d', unit: 'days', playbook: '2.1', heavyTailed: false },
  { name: 'dau_mau', definition: 'active_days_30d / 30 (stickiness: share of the month the user is a daily active user)', window: '30d', unit: 'ratio 0-1', playbook: '2.1', heavyTailed: false },
  { name: 'dau_wau', definition: 'active_days_7d / 7', window: '7d', unit: 'ratio 0-1', playbook: '2.1', heavyTailed: false },
  { name: 'wau_mau', definition: 'active 7-day blocks among the 4 before the cutoff / 4', window: '28d', unit: 'ratio 0-1', playbook: '2.1', heavyTailed: false },
  { name: 'feature_breadth_30d', definition: 'distinct core features used in the last 30 days / number of core features in the taxonomy', window: '30d', unit: 'ratio 0-1', playbook: '2.1, 4.1, 6.1', heavyTailed: false },
  { name: 'features_used_30d', definition: 'distinct core features used in the last 30 days', window: '30d', unit: 'features', playbook: '6.1', heavyTailed: false },
  { name: 'features_used_7d', definition: 'distinct core features used in the last 7 days', window: '7d', unit: 'features', playbook: '3.3', heavyTailed: false },
  { name: 'peak_week_features', definition: 'most distinct core features used in any of the 12 7-day blocks before the cutoff', window: '84d', unit: 'features', playbook: '3.3', heavyTailed: false },
  { name: 'avg_session_minutes_30d', definition: 'mean session duration (first to last event of the session) over sessions of the last 30 days; 0 without sessions', window: '30d', unit: 'minutes', playbook: '2.1, 4.1', heavyTailed: true },
  { name: 'actions_per_session_30d', definition: 'events per session over sessions of the last 30 days; 0 without sessions', window: '30d', unit: 'events/session', playbook: '2.1', heavyTailed: true },
  { name: 'days_since_last_activity', definition: 'whole days from the last event to the cutoff (0 = active on the as-of day)', window: 'all history', unit: 'days', playbook: '3.3, 3.4, 4.1, 6.3', heavyTailed: true },
  { name: 'typical_gap_days', definition: 'median gap between consecutive session starts in the last 90 days; tenure_days when fewer than 2 sessions', window: '90d', unit: 'days', playbook: '3.3, 4.4', heavyTailed: true },
  { name: 'tenure_days', definition: 'days from signup (or the first event when no signup column) to the cutoff', window: 'all history', unit: 'days', playbook: '2.3, 6.1', heavyTailed: false },
  { name: 'invites_14d', definition: 'invite events in the last 14 days', window: '14d', unit: 'events', playbook: '2.4, 3.2, 4.3', heavyTailed: true },
  { name: 'invites_total', definition: 'invite events before the cutoff', window: 'all history', unit: 'events', playbook: '3.2, 7.2', heavyTailed: true },
  { name: 'shares_14d', definition: 'share events in the last 14 days', window: '14d', unit: 'events', playbook: '2.4, 3.2, 4.3', heavyTailed: true },
  { name: 'pricing_views_14d', definition: 'pricing-page views in the last 14 days', window: '14d', unit: 'events', playbook: '2.4, 4.3, 6.1', heavyTailed: true },
  { name: 'pricing_views_7d', definition: 'pricing-page views in the last 7 days', window: '7d', unit: 'events', playbook: '7.2', heavyTailed: true },
  { name: 'locked_clicks_14d', definition: 'locked-feature clicks in the last 14 days', window: '14d', unit: 'events', playbook: '4.3, 6.1', heavyTailed: true },
  { name: 'support_tickets_7d', definition: 'support tickets in the last 7 days', window: '7d', unit: 'tickets', playbook: '3.3', heavyTailed: true },
  { name: 'support_tickets_30d', definition: 'support tickets in the last 30 days', window: '30d', unit: 'tickets', playbook: '4.4', heavyTailed: true },
  { name: 'negative_support_30d', definition: 'negative support interactions in the last 30 days', window: '30d', unit: 'events', playbook: '4.4', heavyTailed: true },
  { name: 'failed_payments_30d', definition: 'failed payments in the last 30 days', window: '30d', unit: 'events', playbook: '4.4', heavyTailed: true },
  { name: 'downgrades_30d', definition: 'downgrades in the last 30 days', window: '30d', unit: 'events', playbook: '4.4', heavyTailed: true },
  { name: 'cancel_page_views_30d', definition: 'cancel-page views in the last 30 days', window: '30d', unit: 'events', playbook: '4.4', heavyTailed: true },
  { name: 'monetary_value', definition: 'value of the latest plan (config plans.values), or the sum of the value column before the cutoff when monetary = sum_value', window: 'all history', unit: 'currency', playbook: '2.5, 6.3, 9.1', heavyTailed: true },
  { name: 'is_paid', definition: '1 when the latest plan is a paid plan (config plans.paid), or when monetary_value > 0 for sum_value logs', window: 'latest', unit: '0/1', playbook: '2.5, 9.1', heavyTailed: false },
  { name: 'ever_paid', definition: '1 when the user was ever on a paid plan (or ever spent) before the cutoff', window: 'all history', unit: '0/1', playbook: '3.4', heavyTailed: false },
  { name: 'wow_trend', definition: '(sessions_7d - sessions_prev_7d) / max(sessions_prev_7d, 1)', window: '14d', unit: 'ratio', playbook: '2.1, 4.4', heavyTailed: false },
  { name: 'usage_decline', definition: 'max(0, 1 - sessions_7d / avg_weekly_sessions_28d); 0 when the average is 0', window: '28d', unit: 'ratio 0-1', playbook: '4.4', heavyTailed: false },
  { name: 'team_size', definition: '1 + invites_total (people the user brought in)', window: 'all history', unit: 'users', playbook: '7.2', heavyTailed: true },
  { name: 'usage_pct_of_limit', definition: 'uses of the limited event in its window / the plan allowance (config usage_limit); 0 without a limit', window: 'config', unit: 'ratio', playbook: '4.3, 6.1', heavyTailed: false },
];

export const MILESTONE_PREFIX = 'milestone_';

export function featureDictionary(config: EventConfig): FeatureDefinition[] {
  const milestones: FeatureDefinition[] = config.activation.milestones.map((m) => ({
    name: MILESTONE_PREFIX + m.name,
    definition: `1 when the user did "${m.event}" at least once before the cutoff (activation milestone, ${m.points} points)`,
    window: 'all history',
    unit: '0/1',
    playbook: '4.2',
    heavyTailed: false,
  }));
  return [...BASE_FEATURES, ...milestones];
}

/**
 * Features that grow with a user's age or the log's length while behaviour holds still (lifetime counts and
 * sums, tenure, ever-flags, milestones): their distribution drifts as a cohort ages or the log gets longer, so
 * drift reports them apart from the behaviour the model reads (issue 21). Recency is not one of them.
 */
export function cumulativeFeatures(config: EventConfig): string[] {
  return featureDictionary(config).filter((f) => f.window === 'all history' && f.name !== RECENCY_FEATURE).map((f) => f.name);
}

/** The feature whose value follows the weekday of the as-of date (a Monday cutoff sees the weekend's gap). */
export const RECENCY_FEATURE = 'days_since_last_activity';

export function featureNames(config: EventConfig): string[] {
  return featureDictionary(config).map((f) => f.name);
}
