import type { ChurnModel } from '../churn/index.js';
import { MILESTONE_PREFIX } from '../features/dictionary.js';
import { featureQuery } from '../features/sql.js';
import type { EventConfig } from '../ingest/types.js';
import { inactivityDays } from '../ingest/index.js';
import {
  ACTIVATION_TIERS, CHURN_RECENCY_GAP, CHURN_SIGNALS, CHURN_TIERS, CHURN_USAGE_DECLINE, ENGAGEMENT_BREADTH, ENGAGEMENT_DEPTH,
  ENGAGEMENT_FREQUENCY, ENGAGEMENT_RECENCY, ENGAGEMENT_TIERS, EXPANSION_ENGAGEMENT, EXPANSION_SIGNALS, EXPANSION_TIERS, EXPANSION_USAGE_LIMIT,
} from '../rules/tables/scores.js';
import type { BandTable } from '../rules/types.js';
import { CohortlabError } from '../shared/errors.js';
import type { Dialect } from './dialect.js';

/**
 * Scoring inside the warehouse: one SELECT computing, per user, the features (the same feature SQL as
 * everywhere, src/features/sql.ts), the derived features of compute.ts, the playbook §4 scores and tiers
 * from the same band tables the TypeScript rule engine reads (src/rules/tables/scores.ts), and the churn
 * probability of a logistic model: its saved scaler (log1p, z-score), weights and bias, then its calibration.
 * The MLP stays in-process (its hidden layers are not worth compiling to SQL).
 */
export const WAREHOUSE_SCORE_COLUMNS = [
  'user_id', 'churn_probability', 'engagement_score', 'engagement_tier', 'activation_score', 'activation_tier',
  'expansion_readiness_score', 'expansion_readiness_tier', 'churn_risk_score', 'churn_risk_tier', 'already_churned',
] as const;

/** A double literal that round-trips exactly (exponent form: DuckDB reads 0.1 as a DECIMAL, 1e-1 as a DOUBLE). */
const num = (x: number): string => {
  if (!Number.isFinite(x)) throw new Error(`a non-finite number (${x}) in the scoring SQL`);
  return x.toExponential();
};

/** A band table as a CASE over `x`: the first row (highest band) whose lower bound x meets (src/rules/bands.ts). */
function bandCase<T>(d: Dialect, table: BandTable<T>, x: string, value: (v: T) => string): string {
  const rows = table.bands;
  const whens = rows.slice(0, -1).map((r) => `WHEN ${x} ${r.exclusive ? '>' : '>='} ${num(r.min)} THEN ${value(r.value)}`);
  return whens.length ? `CASE ${whens.join(' ')} ELSE ${value(rows[rows.length - 1].value)} END` : value(rows[0].value);
}

const points = (d: Dialect, t: BandTable<number>, x: string) => bandCase(d, t, x, num);
const tier = (d: Dialect, t: BandTable<{ label: string }>, x: string) => bandCase(d, t, x, (v) => d.quoteString(v.label));

/** compute.ts `deriveFeatures` as SQL over featureQuery's columns (same formulas, same fallbacks). */
function derivedFeatures(config: EventConfig, d: Dialect): string[] {
  const nCore = config.taxonomy.core_features.length;
  const planValue = (values: Record<string, number>, fallback: string, scale?: string) => {
    const entries = Object.entries(values).filter(([, v]) => Number.isFinite(v));
    if (!entries.length) return fallback;
    return `CASE ${entries.map(([p, v]) => `WHEN plan = ${d.quoteString(p)} THEN ${scale ? `${scale} / ${num(v)}` : num(v)}`).join(' ')} ELSE ${fallback} END`;
  };
  const sumValue = config.monetary === 'sum_value';
  const limits = Object.fromEntries(Object.entries(config.usage_limit?.limits ?? {}).filter(([, v]) => v > 0));
  return [
    'active_days_30d / 30 AS dau_mau',
    'active_days_7d / 7 AS dau_wau',
    'active_weeks_4 / 4 AS wau_mau',
    `${nCore > 0 ? `features_used_30d / ${num(nCore)}` : '0.0'} AS feature_breadth_30d`,
    `${d.double('coalesce(typical_gap, tenure_days)')} AS typical_gap_days`,
    `${sumValue ? 'total_value' : planValue(config.plans.values, '0.0')} AS monetary_value`,
    `${sumValue ? 'if_pos(total_value)' : d.double(d.inList('plan', config.plans.paid))} AS is_paid_flag`,
    `${sumValue ? 'if_pos(total_value)' : 'ever_paid_plan'} AS ever_paid_flag`,
    `(sessions_7d - sessions_prev_7d) / greatest(sessions_prev_7d, 1.0) AS wow_trend`,
    `CASE WHEN avg_weekly_sessions_28d > 0 THEN greatest(0.0, 1 - sessions_7d / avg_weekly_sessions_28d) ELSE 0.0 END AS usage_decline`,
    `1 + invites_total AS team_size`,
    `${planValue(limits, '0.0', 'limit_uses')} AS usage_pct_of_limit`,
    `CASE WHEN ended_by_churn_event > 0 OR days_since_last_activity >= ${num(inactivityDays(config))} THEN 1 ELSE 0 END AS already_churned`,
  ].map((e) => e.replace(/if_pos\((\w+)\)/g, (_, c: string) => `CASE WHEN ${c} > 0 THEN 1.0 ELSE 0.0 END`));
}

/** The logistic model's calibrated probability as an expression over the feature columns. */
function probabilityExpr(model: ChurnModel, d: Dialect, weights: { kernel: Float32Array; bias: number }): string {
  const s = model.scaler;
  const terms = model.features.map((f, j) => {
    const x = d.quoteIdent(f);
    const v = s.log1p[j] ? `${d.ln(`1 + greatest(0.0, ${x})`)}` : x;
    return `${num(weights.kernel[j])} * ((${v} - ${num(s.mean[j])}) / ${num(s.std[j])})`;
  });
  const z = `(${num(weights.bias)} + ${terms.join(' + ')})`;
  const raw = `(1 / (1 + exp(-${z})))`;
  const c = model.calibrator;
  switch (c.kind) {
    case 'none':
      return raw;
    case 'platt': {
      // calibrate.ts: sigmoid(a * logit(clamp(raw, 1e-7, 1 - 1e-7)) + b)
      const q = `least(greatest(${raw}, ${num(1e-7)}), ${num(1 - 1e-7)})`;
      return `(1 / (1 + exp(-(${num(c.a)} * ${d.ln(`${q} / (1 - ${q})`)} + ${num(c.b)}))))`;
    }
    case 'isotonic': {
      // calibrate.ts interpolate(): flat outside [x0, xn], linear between breakpoints.
      const parts: string[] = [`WHEN r <= ${num(c.x[0])} THEN ${num(c.y[0])}`];
      for (let k = 0; k + 1 < c.x.length; k++) {
        const span = c.x[k + 1] - c.x[k];
        const seg = span > 0 ? `${num(c.y[k])} + (${num(c.y[k + 1] - c.y[k])}) * (r - ${num(c.x[k])}) / ${num(span)}` : num(c.y[k]);
        parts.push(`WHEN r < ${num(c.x[k + 1])} THEN ${seg}`);
      }
      return `(CASE ${parts.join(' ').replace(/\br\b/g, raw)} ELSE ${num(c.y[c.y.length - 1])} END)`;
    }
  }
}

/** The dense layer of a logistic model: one weight per feature and the bias. */
export function logisticWeights(model: ChurnModel): { kernel: Float32Array; bias: number } {
  const [kernel, bias] = model.net.getWeights();
  if (model.kind !== 'logistic' || !kernel || !bias) throw new CohortlabError('MODEL_INCOMPATIBLE', `scoring in the warehouse needs a logistic churn model; this one is "${model.kind}".`);
  return { kernel: kernel.dataSync() as Float32Array, bias: (bias.dataSync() as Float32Array)[0] };
}

export interface ScoreSqlOptions {
  cutoffMs: number;
  /** The normalized events relation (EventSource.relation). */
  source: string;
  /** The logistic model's dense layer (kernel per feature, bias). */
  weights: { kernel: Float32Array; bias: number };
}

/** The one SELECT: user_id, churn_probability, the §4 scores and tiers, already_churned. */
export function scoreSql(config: EventConfig, model: ChurnModel, d: Dialect, opts: ScoreSqlOptions): string {
  if (model.kind !== 'logistic') {
    throw new CohortlabError('MODEL_INCOMPATIBLE', `scoring in the warehouse needs a logistic churn model; this one is "${model.kind}" (it stays in-process): train with --model logistic, or score without --emit-sql/--into.`);
  }
  if (model.encoding) throw new CohortlabError('MODEL_INCOMPATIBLE', 'this model was trained on a per-user table (train --table): warehouse scoring computes features from events; score it with --table FILE.');
  if (opts.weights.kernel.length !== model.features.length) throw new CohortlabError('MODEL_CORRUPT', `the logistic model has ${opts.weights.kernel.length} weights for ${model.features.length} features.`);
  const aggregates = featureQuery(config, d, { cutoffMs: opts.cutoffMs, source: opts.source }).replace(/\nORDER BY user_id$/, '');
  const milestones = config.activation.milestones.map((m, i) => `m${i} AS ${d.quoteIdent(MILESTONE_PREFIX + m.name)}`);
  // 1: features (aggregates + derived; is_paid/ever_paid renamed after the pass so no alias shadows a column)
  const features = `SELECT *, ${derivedFeatures(config, d).join(',\n  ')}${milestones.length ? `, ${milestones.join(', ')}` : ''} FROM (${aggregates}) AS agg`;
  const withFlags = `SELECT *, is_paid_flag AS is_paid, ever_paid_flag AS ever_paid FROM (${features}) AS f0`;
  // 2: §4.1 engagement, §4.2 activation, §4.4 churn risk, and the probability
  const c = CHURN_SIGNALS;
  const e = EXPANSION_SIGNALS;
  const item = (f: string, min: number, pts: number) => `CASE WHEN ${d.quoteIdent(f)} >= ${num(min)} THEN ${num(pts)} ELSE 0.0 END`;
  const activation = config.activation.milestones.length
    ? `least(${config.activation.milestones.map((m) => item(MILESTONE_PREFIX + m.name, 0.5, m.points)).join(' + ')}, 100.0)`
    : '0.0';
  const gap = `CASE WHEN typical_gap_days > 0 THEN days_since_last_activity / typical_gap_days WHEN days_since_last_activity > 0 THEN ${d.infinity} ELSE 0.0 END`;
  const scores = `SELECT user_id, already_churned,
  ${points(d, ENGAGEMENT_FREQUENCY, 'avg_weekly_sessions_28d')} + ${points(d, ENGAGEMENT_BREADTH, 'feature_breadth_30d')} + ${points(d, ENGAGEMENT_DEPTH, 'avg_session_minutes_30d')} + ${points(d, ENGAGEMENT_RECENCY, 'days_since_last_activity')} AS s_engagement,
  ${activation} AS s_activation,
  ${points(d, CHURN_USAGE_DECLINE, 'usage_decline')} + ${points(d, CHURN_RECENCY_GAP, gap)}
    + CASE WHEN ${c.negativeSupport.feature} >= ${num(c.negativeSupport.min)} THEN ${num(c.negativeSupport.points)} WHEN ${c.multipleTickets.feature} >= ${num(c.multipleTickets.min)} THEN ${num(c.multipleTickets.points)} ELSE 0.0 END
    + CASE WHEN ${c.failedPayment.feature} >= ${num(c.failedPayment.min)} THEN ${num(c.failedPayment.points)} WHEN ${c.downgraded.feature} >= ${num(c.downgraded.min)} THEN ${num(c.downgraded.points)} WHEN ${c.cancelPage.feature} >= ${num(c.cancelPage.min)} THEN ${num(c.cancelPage.points)} ELSE 0.0 END
    + CASE WHEN ${c.decliningTrend.feature} < ${num(c.decliningTrend.below)} THEN ${num(c.decliningTrend.points)} ELSE 0.0 END AS s_churn_risk,
  ${points(d, EXPANSION_USAGE_LIMIT, 'usage_pct_of_limit')} + ${item(e.addedMembers.feature, e.addedMembers.min, e.addedMembers.points)} + ${item(e.collabFeatures.feature, e.collabFeatures.min, e.collabFeatures.points)}
    + ${item(e.lockedFeatures.feature, e.lockedFeatures.min, e.lockedFeatures.points)} + ${item(e.viewedPricing.feature, e.viewedPricing.min, e.viewedPricing.points)} AS s_expansion_signals,
  ${probabilityExpr(model, d, opts.weights)} AS p_churn
FROM (${withFlags}) AS f1`;
  // 3: §4.3 expansion (reads the engagement score) and the tiers
  return `SELECT user_id, p_churn AS churn_probability,
  s_engagement AS engagement_score, ${tier(d, ENGAGEMENT_TIERS, 's_engagement')} AS engagement_tier,
  s_activation AS activation_score, ${tier(d, ACTIVATION_TIERS, 's_activation')} AS activation_tier,
  s_expansion_signals + ${points(d, EXPANSION_ENGAGEMENT, 's_engagement')} AS expansion_readiness_score,
  ${tier(d, EXPANSION_TIERS, `s_expansion_signals + ${points(d, EXPANSION_ENGAGEMENT, 's_engagement')}`)} AS expansion_readiness_tier,
  s_churn_risk AS churn_risk_score, ${tier(d, CHURN_TIERS, 's_churn_risk')} AS churn_risk_tier,
  already_churned
FROM (${scores}) AS s
ORDER BY user_id`;
}
