import type { EventConfig } from '../ingest/index.js';
import { BASE_FEATURES, MILESTONE_PREFIX } from './dictionary.js';

/**
 * Pure step after the SQL aggregation: derives the ratio features and plan-based values from the
 * aggregated columns, with the fallbacks the dictionary states (no NaN leaves this function).
 */
export interface Aggregates {
  rows: number;
  /** Columns by the names of featuresSql's SELECT. */
  num: Record<string, Float64Array>;
  plan: string[];
}

export function deriveFeatures(agg: Aggregates, config: EventConfig, inactivity: number): { columns: Record<string, Float64Array>; alreadyChurned: Uint8Array } {
  const n = agg.rows;
  const a = agg.num;
  const col = () => new Float64Array(n);
  const out: Record<string, Float64Array> = {};
  for (const name of [
    'sessions_7d', 'sessions_prev_7d', 'avg_weekly_sessions_28d', 'total_sessions', 'events_30d', 'active_days_7d', 'active_days_30d',
    'features_used_30d', 'features_used_7d', 'peak_week_features', 'avg_session_minutes_30d', 'actions_per_session_30d', 'days_since_last_activity',
    'tenure_days', 'invites_14d', 'invites_total', 'shares_14d', 'pricing_views_14d', 'pricing_views_7d', 'locked_clicks_14d', 'support_tickets_7d',
    'support_tickets_30d', 'negative_support_30d', 'failed_payments_30d', 'downgrades_30d', 'cancel_page_views_30d',
  ]) {
    out[name] = a[name];
  }
  const nCore = config.taxonomy.core_features.length;
  const dauMau = col(), dauWau = col(), wauMau = col(), breadth = col(), gap = col(), monetary = col(), isPaid = col(), everPaid = col();
  const wow = col(), decline = col(), team = col(), pctLimit = col();
  const alreadyChurned = new Uint8Array(n);
  const paidPlans = new Set(config.plans.paid);
  const limits = config.usage_limit?.limits ?? {};
  for (let i = 0; i < n; i++) {
    dauMau[i] = a.active_days_30d[i] / 30;
    dauWau[i] = a.active_days_7d[i] / 7;
    wauMau[i] = a.active_weeks_4[i] / 4;
    breadth[i] = nCore > 0 ? a.features_used_30d[i] / nCore : 0;
    // typical_gap_days: median session-start gap of the last 90 days; the tenure when fewer than 2 sessions.
    gap[i] = Number.isNaN(a.typical_gap[i]) ? a.tenure_days[i] : a.typical_gap[i];
    const plan = agg.plan[i];
    if (config.monetary === 'sum_value') {
      monetary[i] = a.total_value[i];
      isPaid[i] = a.total_value[i] > 0 ? 1 : 0;
      everPaid[i] = isPaid[i];
    } else {
      monetary[i] = config.plans.values[plan] ?? 0;
      isPaid[i] = paidPlans.has(plan) ? 1 : 0;
      everPaid[i] = a.ever_paid_plan[i] > 0 ? 1 : 0;
    }
    const prev = a.sessions_prev_7d[i];
    wow[i] = (a.sessions_7d[i] - prev) / Math.max(prev, 1);
    const avg = a.avg_weekly_sessions_28d[i];
    decline[i] = avg > 0 ? Math.max(0, 1 - a.sessions_7d[i] / avg) : 0;
    team[i] = 1 + a.invites_total[i];
    const allowance = limits[plan];
    pctLimit[i] = allowance !== undefined && allowance > 0 ? a.limit_uses[i] / allowance : 0;
    alreadyChurned[i] = a.ended_by_churn_event[i] > 0 || a.days_since_last_activity[i] >= inactivity ? 1 : 0;
  }
  Object.assign(out, {
    dau_mau: dauMau, dau_wau: dauWau, wau_mau: wauMau, feature_breadth_30d: breadth, typical_gap_days: gap, monetary_value: monetary,
    is_paid: isPaid, ever_paid: everPaid, wow_trend: wow, usage_decline: decline, team_size: team, usage_pct_of_limit: pctLimit,
  });
  config.activation.milestones.forEach((m, k) => (out[MILESTONE_PREFIX + m.name] = a[`m${k}`]));
  // Order columns as the dictionary lists them.
  const ordered: Record<string, Float64Array> = {};
  for (const f of BASE_FEATURES) ordered[f.name] = out[f.name];
  for (const m of config.activation.milestones) ordered[MILESTONE_PREFIX + m.name] = out[MILESTONE_PREFIX + m.name];
  return { columns: ordered, alreadyChurned };
}

/** Label rule: explicit churn event in the horizon, or no activity in its last `inactivity` days (playbook §3.4). */
export function deriveLabel(explicit: Float64Array, recentEvents: Float64Array): Uint8Array {
  const y = new Uint8Array(explicit.length);
  for (let i = 0; i < y.length; i++) y[i] = explicit[i] > 0 || recentEvents[i] === 0 ? 1 : 0;
  return y;
}
