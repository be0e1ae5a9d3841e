import { PROBABILITY_FLOOR, type Calibrator } from '../churn/calibrate.js';
import type { ChurnModel } from '../churn/index.js';
import type { ClusterModel } from '../cluster/index.js';
import { BASE_FEATURES, MILESTONE_PREFIX } from '../features/dictionary.js';
import { featureQuery } from '../features/sql.js';
import type { EventConfig } from '../ingest/types.js';
import { inactivityDays } from '../ingest/index.js';
import { closest } from '../rules/columns.js';
import { FEATURES_PREFIX, FUNCTIONS, NAMES, type Source } from '../rules/dsl/functions.js';
import { formatPos } from '../rules/dsl/parse.js';
import { CONTRACT_RULE_COLUMNS, SEGMENT_COLUMN_PREFIX } from '../rules/engine.js';
import { inactivityThreshold } from '../rules/segments.js';
import { monetaryCutsFor, type RuleReference } from '../rules/reference.js';
import { CHURN_TIER_ALREADY_CHURNED } from '../rules/tables/scores.js';
import { CAMPAIGNS } from '../rules/tables/actions.js';
import { RFM_FREQUENCY, RFM_MONETARY_FALLBACK, RFM_OTHER, RFM_RECENCY, rfmSegmentTables } from '../rules/tables/rfm.js';
import {
  ACTIVATED_MIN_SCORE, ACTIVATION_TIERS, CHURN_RECENCY_GAP, CHURN_SIGNALS, CHURN_TIERS, CHURN_USAGE_DECLINE, ENGAGEMENT_BREADTH, ENGAGEMENT_DEPTH,
  ENGAGEMENT_FREQUENCY, ENGAGEMENT_RECENCY, ENGAGEMENT_TIERS, EXPANSION_ENGAGEMENT, EXPANSION_SIGNALS, EXPANSION_TIERS, EXPANSION_USAGE_LIMIT,
} from '../rules/tables/scores.js';
import { AT_RISK_SIGNALS, BEHAVIORAL, CHAMPION, DORMANT_SUBSEGMENTS, INTENT, LIFECYCLE, PLAN_SEGMENTS, SALES_TIERS } from '../rules/tables/segments.js';
import type { BandTable, Expr, SegmentRule } from '../rules/types.js';
import { CohortlabError, internalError } from '../shared/errors.js';
import type { Dialect } from './dialect.js';

/**
 * Scoring inside the warehouse: one SELECT computing, per user,
 *
 *   1. the features: the same feature SQL as everywhere (src/features/sql.ts) and the derived features of
 *      compute.ts `deriveFeatures` (same formulas, same fallbacks: no typical gap -> the tenure);
 *   2. the playbook columns of `applyRules` (src/rules/engine.ts), generated from the same tables the
 *      TypeScript engine reads (src/rules/tables/*.ts): §4.1-§4.4 scores and tiers, §3.3 at-risk signals,
 *      §2.1 behavioral segment, §2.3 lifecycle stage, §6.3 RFM code and segment, and one 0/1 column per
 *      §6.1 rule-file segment (the rule's AST compiled to SQL);
 *   3. the churn probability: of a logistic model, its saved scaler (log1p, z-score), coefficients and
 *      intercept; of a gbdt model, one nested CASE per tree summed into the margin (gbdtRawProbabilityExpr);
 *      then the sigmoid and the saved calibration;
 *   4. with a cluster model: the nearest k-means centroid after the saved scaling, its label, and the
 *      first two PCA coordinates.
 *
 * The MLP stays in-process (its hidden layers are not worth compiling to SQL).
 *
 * Two playbook rules compare a user with the user base: the §2.3 "top 10% usage" threshold of the Power
 * User stage and (for logs valued by spend) the §6.3 monetary quintiles. Their thresholds are the model's
 * reference (fitted once at train, rules/reference.ts), written into the statement as literals, so a user's
 * rule columns do not depend on which other users the statement scores, exactly as in-process scoring.
 */
export const WAREHOUSE_SCORE_COLUMNS = ['user_id', 'churn_probability', ...CONTRACT_RULE_COLUMNS] as const;

/** The columns applyRules adds beyond the CONTRACT ones (docs/rules.md), in its order. */
export const RULE_EXTRA_COLUMNS = [
  'at_risk', 'intent_segment', 'plan_segment', 'champion', 'dormant', 'dormant_subsegment', 'rfm_recency', 'rfm_frequency',
  'rfm_monetary', 'rfm_segment_nearest', 'sales_tier', 'campaign',
] as const;

/**
 * Every output column, in the order of `score --out`: user_id, churn_probability, the CONTRACT rule columns,
 * segment_<slug>..., the extra rule columns, the cluster columns; then already_churned. No reasons.
 */
export function warehouseScoreColumns(segments: readonly SegmentRule[], clusters: boolean): string[] {
  return [
    ...WAREHOUSE_SCORE_COLUMNS,
    ...segments.map((r) => SEGMENT_COLUMN_PREFIX + r.slug),
    ...RULE_EXTRA_COLUMNS,
    ...(clusters ? ['cluster', 'cluster_label', 'pc1', 'pc2'] : []),
    'already_churned',
  ];
}

/** A double literal that round-trips exactly (exponent form: DuckDB reads 0.1 as a DECIMAL, 1e-1 as a DOUBLE). */
const num = (x: number): string => {
  if (!Number.isFinite(x)) throw internalError(`a non-finite number (${x}) in the scoring SQL`);
  return x.toExponential();
};

/** A band table as a CASE over `x`: the first row (highest band) whose lower bound x meets (src/rules/bands.ts). */
function bandCase<T>(table: BandTable<T>, x: string, value: (v: T) => string): string {
  const rows = table.bands;
  const whens = rows.slice(0, -1).map((r) => `WHEN ${x} ${r.exclusive ? '>' : '>='} ${num(r.min)} THEN ${value(r.value)}`);
  return whens.length ? `CASE ${whens.join(' ')} ELSE ${value(rows[rows.length - 1].value)} END` : value(rows[0].value);
}

const points = (t: BandTable<number>, x: string) => bandCase(t, x, num);
const tier = (d: Dialect, t: BandTable<{ label: string }>, x: string) => bandCase(t, x, (v) => d.quoteString(v.label));
/** A condition as the 0/1 double the TypeScript engine stores. */
const flag = (cond: string) => `CASE WHEN ${cond} THEN 1e0 ELSE 0e0 END`;

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

/** The logistic model's raw (uncalibrated) probability as an expression over the feature columns. */
function rawProbabilityExpr(model: ChurnModel, d: Dialect, weights: LogisticWeights): string {
  const s = model.scaler;
  const terms = model.features.map((f, j) => {
    const x = d.quoteIdent(f);
    const v = s.log1p[j] ? `${d.ln(`1 + greatest(0.0, ${x})`)}` : x;
    return `${num(weights.kernel[j])} * ((${v} - ${num(s.mean[j])}) / ${num(s.std[j])})`;
  });
  const z = `(${num(weights.bias)} + ${terms.join(' + ')})`;
  return `(1 / (1 + exp(-${z})))`;
}

/**
 * A saved calibration (src/churn/calibrate.ts `applyCalibrator`) applied to the raw probability `raw`, clipped like it.
 * Exact up to the last bit of Platt's sigmoid (the test feeds it the in-process raw outputs); the
 * probability as a whole differs from tfjs's by the raw output's float32 rounding times the calibration's slope.
 */
export function calibrationSql(c: Calibrator, raw: string, d: Dialect): string {
  // calibrate.ts applyCalibrator: served probabilities are clipped to [PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR].
  return `least(greatest(${calibrationMapSql(c, raw, d)}, ${num(PROBABILITY_FLOOR)}), ${num(1 - PROBABILITY_FLOOR)})`;
}

function calibrationMapSql(c: Calibrator, raw: string, d: Dialect): string {
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
      const parts: string[] = [`WHEN ${raw} <= ${num(c.x[0])} THEN ${num(c.y[0])}`];
      for (let k = 0; k + 1 < c.x.length; k++) {
        const span = c.x[k + 1] - c.x[k];
        const seg = span > 0 ? `${num(c.y[k])} + (${num(c.y[k + 1] - c.y[k])}) * (${raw} - ${num(c.x[k])}) / ${num(span)}` : num(c.y[k]);
        parts.push(`WHEN ${raw} < ${num(c.x[k + 1])} THEN ${seg}`);
      }
      return `(CASE ${parts.join(' ')} ELSE ${num(c.y[c.y.length - 1])} END)`;
    }
  }
}

/** One weight per (scaled) feature and the bias. */
export interface LogisticWeights {
  kernel: ArrayLike<number>;
  bias: number;
}

/** The coefficients of a logistic model (exact LR, on the scaled design): one weight per feature and the bias. */
export function logisticWeights(model: ChurnModel): LogisticWeights {
  if (model.kind !== 'logistic') throw new CohortlabError('MODEL_INCOMPATIBLE', mlpMessage(model.kind));
  const s = model.logistic.fitted;
  return { kernel: Float64Array.from(s.coef), bias: s.intercept };
}

const mlpMessage = (kind: string) =>
  `scoring in the warehouse needs a logistic or gbdt churn model; this one is "${kind}" (it stays in-process): train with --model logistic or --model gbdt, or score without --emit-sql/--into.`;

/**
 * The trees' raw (uncalibrated) probability: sigmoid(baseline + sum over trees of a nested CASE per tree).
 * A node sends x[feature] <= threshold left, NaN left iff missingGoesLeft (gbdt.ts); the feature is rounded to
 * float32 first, because the in-process design matrix holds float32 (dataset.ts designMatrix), so the
 * comparison sees the same number on both sides. Leaf values and thresholds are exact double literals.
 */
export function gbdtRawProbabilityExpr(model: ChurnModel, d: Dialect, inputs: 'inline' | 'columns' = 'inline'): string {
  if (model.kind !== 'gbdt') throw new CohortlabError('MODEL_INCOMPATIBLE', `gbdtRawProbabilityExpr needs a gbdt model, not "${model.kind}".`);
  const s = model.gbdt.fitted;
  if (s.nFeatures !== model.features.length) throw new CohortlabError('MODEL_CORRUPT', `the gbdt model has trees over ${s.nFeatures} features for ${model.features.length} names.`);
  // 'columns': the float32-rounded features are the columns cl_x<j> of gbdtInputColumns (a short name per node keeps the statement small)
  const x = model.features.map((f, j) => (inputs === 'columns' ? `cl_x${j}` : d.float32(d.double(d.quoteIdent(f)))));
  const tree = (t: typeof s.trees[number], i: number): string => {
    const nd = t[i];
    if (nd.feature < 0) return num(nd.value);
    const v = x[nd.feature];
    const goLeft = nd.missingGoesLeft ? `(${v} <= ${num(nd.threshold)} OR ${d.isNaN(v)})` : `${v} <= ${num(nd.threshold)}`;
    return `CASE WHEN ${goLeft} THEN ${tree(t, nd.left)} ELSE ${tree(t, nd.right)} END`;
  };
  const z = [num(s.baseline), ...s.trees.map((t) => tree(t, 0))].join('\n    + ');
  return `(1 / (1 + exp(-(${z}))))`;
}

/** The features the trees split on, rounded to float32 once, as columns cl_x<j> (what gbdtRawProbabilityExpr 'columns' reads). */
function gbdtInputColumns(model: ChurnModel, d: Dialect): string[] {
  if (model.kind !== 'gbdt') return [];
  const used = new Set<number>();
  for (const t of model.gbdt.fitted.trees) for (const nd of t) if (nd.feature >= 0) used.add(nd.feature);
  return [...used].sort((a, b) => a - b).map((j) => `${d.float32(d.double(d.quoteIdent(model.features[j])))} AS cl_x${j}`);
}

/** The churn model's raw probability as SQL over the feature columns: logistic or gbdt (the MLP is refused). */
function churnRawSql(model: ChurnModel, d: Dialect, weights?: LogisticWeights): string {
  switch (model.kind) {
    case 'logistic':
      return rawProbabilityExpr(model, d, weights ?? logisticWeights(model));
    case 'gbdt':
      return gbdtRawProbabilityExpr(model, d, 'columns');
    default:
      throw new CohortlabError('MODEL_INCOMPATIBLE', mlpMessage(model.kind));
  }
}

// ------------------------------------------------------------------ §6.1 rule files

/** The score columns a §6.1 rule may read (`scores.<name>`), as the internal columns of this query. */
const SCORE_COLUMNS: Record<string, string> = {
  engagement: 'cl_engagement',
  activation: 'cl_activation',
  expansion_readiness: 'cl_expansion',
  churn_risk: 'cl_churn_risk',
  at_risk_signals: 'cl_at_risk',
};

interface SqlNum {
  sql: string;
  /** The value may be NaN (the expression divides): comparisons then need the IEEE rule spelled out. */
  nan: boolean;
}

/**
 * A §6.1 condition as SQL, node for node as src/rules/dsl/evaluate.ts evaluates it: IEEE doubles (x / 0 is
 * +-inf, 0 / 0 is NaN), and a comparison with NaN false except `!=` (true). DuckDB orders NaN above every
 * number and NaN = NaN, so a comparison whose side divides tests isNaN explicitly.
 * Every construct of the language compiles; names are checked against the feature table's columns.
 */
export function compileCondition(e: Expr, config: EventConfig, d: Dialect): string {
  const featureNames = new Set([...BASE_FEATURES.map((f) => f.name), ...config.activation.milestones.map((m) => MILESTONE_PREFIX + m.name)]);
  const column = (name: string, at: Expr): string => {
    if (!featureNames.has(name)) {
      const known = [...featureNames].sort();
      const hint = closest(name, known);
      const what = at.kind === 'call' ? `${at.name}(${at.args.join(', ')})` : at.kind === 'name' ? at.name : name;
      throw new CohortlabError(
        'RULE_UNKNOWN_NAME',
        `${formatPos(at.pos)}: ${what} needs the feature "${name}", which the feature table lacks${hint ? `; did you mean "${hint}"?` : '.'} Features present: ${known.join(', ')}.`,
        { path: formatPos(at.pos) },
      );
    }
    return d.double(d.quoteIdent(name));
  };
  const resolve = (src: Source, at: Expr): string => {
    switch (src.kind) {
      case 'column':
        return column(src.column, at);
      case 'scaled':
        return `(${column(src.column, at)} * ${num(src.factor)})`;
      case 'sum':
        return `(${src.columns.map((c) => column(c, at)).join(' + ')})`;
      case 'score': {
        const c = SCORE_COLUMNS[src.score];
        if (!c) throw new CohortlabError('RULE_UNKNOWN_NAME', `${formatPos(at.pos)}: the score "${src.score}" is not available here; known scores: ${Object.keys(SCORE_COLUMNS).sort().join(', ')}.`, { path: formatPos(at.pos) });
        return c;
      }
      case 'config':
        return num(src.value(config));
    }
  };
  const numeric = (x: Expr): SqlNum => {
    switch (x.kind) {
      case 'number':
        return { sql: num(x.value), nan: false };
      case 'name': {
        const src = NAMES[x.name];
        if (src) return { sql: resolve(src, x), nan: false };
        if (x.name.startsWith(FEATURES_PREFIX)) return { sql: column(x.name.slice(FEATURES_PREFIX.length), x), nan: false };
        throw new CohortlabError('RULE_UNKNOWN_NAME', `${formatPos(x.pos)}: unknown name "${x.name}".`, { path: formatPos(x.pos) });
      }
      case 'call': {
        const src = FUNCTIONS[x.name]?.[x.args[0]];
        if (!src) throw new CohortlabError('RULE_UNKNOWN_NAME', `${formatPos(x.pos)}: unknown function or window ${x.name}(${x.args.join(', ')}).`, { path: formatPos(x.pos) });
        return { sql: resolve(src, x), nan: false };
      }
      case 'neg': {
        const v = numeric(x.operand);
        return { sql: `(-${v.sql})`, nan: v.nan };
      }
      case 'arith': {
        const a = numeric(x.left);
        const b = numeric(x.right);
        return { sql: `(${a.sql} ${x.op} ${b.sql})`, nan: a.nan || b.nan || x.op === '/' };
      }
      default:
        throw new CohortlabError('RULE_SYNTAX', `${formatPos(x.pos)}: expected a number, found a condition.`, { path: formatPos(x.pos) });
    }
  };
  const cond = (x: Expr): string => {
    switch (x.kind) {
      case 'compare': {
        const a = numeric(x.left);
        const b = numeric(x.right);
        const op = x.op === '==' ? '=' : x.op === '!=' ? '<>' : x.op;
        const nans = [a, b].filter((v) => v.nan).map((v) => `isNaN(${v.sql})`);
        if (!nans.length) return `(${a.sql} ${op} ${b.sql})`;
        return x.op === '!=' ? `(${nans.join(' OR ')} OR ${a.sql} <> ${b.sql})` : `(NOT (${nans.join(' OR ')}) AND ${a.sql} ${op} ${b.sql})`;
      }
      case 'and':
        return `(${cond(x.left)} AND ${cond(x.right)})`;
      case 'or':
        return `(${cond(x.left)} OR ${cond(x.right)})`;
      case 'not':
        return `(NOT ${cond(x.operand)})`;
      default:
        throw new CohortlabError('RULE_SYNTAX', `${formatPos(x.pos)}: expected a condition (a comparison such as x >= 5), found a number.`, { path: formatPos(x.pos) });
    }
  };
  return cond(e);
}

// ------------------------------------------------------------------ the statement

export interface ScoreSqlOptions {
  cutoffMs: number;
  /** The normalized events relation (EventSource.relation). */
  source: string;
  /** A logistic model's coefficients (default: the model's own, logisticWeights); unused for gbdt. */
  weights?: LogisticWeights;
  /** The model's §6.1 rule-file segments (one `segment_<slug>` column each). */
  segments?: readonly SegmentRule[];
  /** The model's cluster model: adds cluster, cluster_label, pc1, pc2. */
  clusters?: ClusterModel | null;
  /** The model's reference thresholds (§2.3 top 10%, §6.3 spend quintiles), fitted at train. */
  reference: RuleReference;
}

/** The parts of a registry model the statement needs (`loadModel(...).parts`). */
export interface WarehouseModelParts {
  config: EventConfig;
  churn: ChurnModel;
  segments: readonly SegmentRule[];
  clusters: ClusterModel | null;
  reference: RuleReference;
}

/** The statement for a loaded registry model: its churn model, rule-file segments and clusters. */
export function modelScoreSql(parts: WarehouseModelParts, d: Dialect, opts: { cutoffMs: number; source: string; config?: EventConfig }): string {
  if (parts.churn.kind === 'mlp') throw new CohortlabError('MODEL_INCOMPATIBLE', mlpMessage(parts.churn.kind));
  return scoreSql(opts.config ?? parts.config, parts.churn, d, {
    cutoffMs: opts.cutoffMs, source: opts.source, segments: parts.segments, clusters: parts.clusters, reference: parts.reference,
  });
}

/** The one statement: see WAREHOUSE_SCORE_COLUMNS / warehouseScoreColumns for its columns, one row per user, ordered by user_id. */
export function scoreSql(config: EventConfig, model: ChurnModel, d: Dialect, opts: ScoreSqlOptions): string {
  if (model.kind === 'mlp') throw new CohortlabError('MODEL_INCOMPATIBLE', mlpMessage(model.kind));
  if (model.encoding) throw new CohortlabError('MODEL_INCOMPATIBLE', 'this model was trained on a per-user table (train --table): warehouse scoring computes features from events; score it with --table FILE.');
  if (opts.weights && opts.weights.kernel.length !== model.features.length) throw new CohortlabError('MODEL_CORRUPT', `the logistic model has ${opts.weights.kernel.length} weights for ${model.features.length} features.`);
  const segments = opts.segments ?? [];
  const aggregates = featureQuery(config, d, { cutoffMs: opts.cutoffMs, source: opts.source }).replace(/\nORDER BY user_id$/, '');
  const milestones = config.activation.milestones.map((m, i) => `m${i} AS ${d.quoteIdent(MILESTONE_PREFIX + m.name)}`);
  // 1: features (aggregates + derived; is_paid/ever_paid renamed after the pass so no alias shadows a column)
  const derived = `SELECT *, ${derivedFeatures(config, d).join(',\n  ')}${milestones.length ? `, ${milestones.join(', ')}` : ''} FROM (${aggregates}) AS agg`;
  const features = `SELECT *, is_paid_flag AS is_paid, ever_paid_flag AS ever_paid FROM (${derived}) AS f0`;

  const cuts = monetaryCutsFor(opts.reference, config);
  const treeInputs = gbdtInputColumns(model, d);
  return d.withQueries([{ name: 'cl_features', sql: () => features }], (ref) => {
    // 2: §4.1 engagement, §4.2 activation, §4.4 churn risk, the §4.3 signals, §3.3 at-risk signals, the raw probability, scaled cluster inputs
    const c = CHURN_SIGNALS;
    const e = EXPANSION_SIGNALS;
    const item = (f: string, min: number, pts: number) => `CASE WHEN ${d.quoteIdent(f)} >= ${num(min)} THEN ${num(pts)} ELSE 0.0 END`;
    const activation = config.activation.milestones.length
      ? `least(${config.activation.milestones.map((m) => item(MILESTONE_PREFIX + m.name, 0.5, m.points)).join(' + ')}, 100.0)`
      : '0.0';
    const gap = `CASE WHEN typical_gap_days > 0 THEN days_since_last_activity / typical_gap_days WHEN days_since_last_activity > 0 THEN ${d.infinity} ELSE 0.0 END`;
    const a = AT_RISK_SIGNALS; // playbook §3.3, as rules/segments.ts atRiskSignals
    const atRisk = [
      flag(`sessions_7d < ${num(a.usageDecline.ratio)} * avg_weekly_sessions_28d`), // §3.3 "Current week sessions < 50% of 4-week trailing average"
      flag(`features_used_7d < ${num(a.breadthContraction.ratio)} * peak_week_features`), // §3.3 "Features used this week < 50% of peak week"
      flag(`days_since_last_activity > ${num(a.loginGap.ratio)} * typical_gap_days`), // §3.3 "Days since last login > 2x typical inter-session gap"
      flag(`support_tickets_7d >= ${num(a.supportEscalation.minTickets7d)} OR negative_support_30d >= ${num(a.supportEscalation.minNegative30d)}`), // §3.3 support escalation
    ].join(' + ');
    const cl = opts.clusters ? clusterSql(opts.clusters, d) : null;
    const layer2 = `SELECT *,
  ${points(ENGAGEMENT_FREQUENCY, 'avg_weekly_sessions_28d')} + ${points(ENGAGEMENT_BREADTH, 'feature_breadth_30d')} + ${points(ENGAGEMENT_DEPTH, 'avg_session_minutes_30d')} + ${points(ENGAGEMENT_RECENCY, 'days_since_last_activity')} AS cl_engagement,
  ${activation} AS cl_activation,
  ${points(CHURN_USAGE_DECLINE, 'usage_decline')} + ${points(CHURN_RECENCY_GAP, gap)}
    + CASE WHEN ${c.negativeSupport.feature} >= ${num(c.negativeSupport.min)} THEN ${num(c.negativeSupport.points)} WHEN ${c.multipleTickets.feature} >= ${num(c.multipleTickets.min)} THEN ${num(c.multipleTickets.points)} ELSE 0.0 END
    + CASE WHEN ${c.failedPayment.feature} >= ${num(c.failedPayment.min)} THEN ${num(c.failedPayment.points)} WHEN ${c.downgraded.feature} >= ${num(c.downgraded.min)} THEN ${num(c.downgraded.points)} WHEN ${c.cancelPage.feature} >= ${num(c.cancelPage.min)} THEN ${num(c.cancelPage.points)} ELSE 0.0 END
    + CASE WHEN ${c.decliningTrend.feature} < ${num(c.decliningTrend.below)} THEN ${num(c.decliningTrend.points)} ELSE 0.0 END AS cl_churn_risk,
  ${points(EXPANSION_USAGE_LIMIT, 'usage_pct_of_limit')} + ${item(e.addedMembers.feature, e.addedMembers.min, e.addedMembers.points)} + ${item(e.collabFeatures.feature, e.collabFeatures.min, e.collabFeatures.points)}
    + ${item(e.lockedFeatures.feature, e.lockedFeatures.min, e.lockedFeatures.points)} + ${item(e.viewedPricing.feature, e.viewedPricing.min, e.viewedPricing.points)} AS cl_expansion_signals,
  ${atRisk} AS cl_at_risk,
  ${churnRawSql(model, d, opts.weights)} AS cl_raw${cl ? `,\n  ${cl.scaled.join(',\n  ')}` : ''}
FROM ${treeInputs.length ? `(SELECT *, ${treeInputs.join(', ')} FROM ${ref('cl_features')} AS f0)` : ref('cl_features')} AS f`;

    // 3: §4.3 expansion readiness (reads engagement), the calibrated probability, §6.3 RFM scores, cluster distances and PCA
    const rfm = rfmSql(config, d, cuts);
    const layer3 = `SELECT *,
  cl_expansion_signals + ${points(EXPANSION_ENGAGEMENT, 'cl_engagement')} AS cl_expansion,
  ${calibrationSql(model.calibrator, 'cl_raw', d)} AS cl_p,
  ${rfm.recency} AS cl_rfm_r, ${rfm.frequency} AS cl_rfm_f, ${rfm.monetary} AS cl_rfm_m${cl ? `,\n  ${cl.distances.join(',\n  ')}` : ''}
FROM (${layer2}) AS s`;

    // 4: §2.1 behavioral, §2.3 lifecycle (reads the at-risk count and activation), the §6.3 code
    const B = BEHAVIORAL;
    const behavioral = `CASE
    WHEN days_since_last_activity >= ${num(B.dormant.minDaysInactive)} AND total_sessions >= ${num(B.dormant.minTotalSessions)} THEN 'Dormant'
    WHEN wow_trend <= ${num(B.atRisk.maxWowTrend)} OR days_since_last_activity >= ${num(B.atRisk.minDaysInactive)} THEN 'At-Risk'
    WHEN avg_weekly_sessions_28d >= ${num(B.power.minWeeklySessions)} AND feature_breadth_30d >= ${num(B.power.minBreadth)} AND tenure_days >= ${num(B.power.minTenureDays)} THEN 'Power'
    WHEN avg_weekly_sessions_28d >= ${num(B.regular.minWeeklySessions)} AND feature_breadth_30d >= ${num(B.regular.minBreadth)} AND tenure_days >= ${num(B.regular.minTenureDays)} THEN 'Regular'
    WHEN avg_weekly_sessions_28d >= ${num(B.casual.minWeeklySessions)} AND tenure_days >= ${num(B.casual.minTenureDays)} THEN 'Casual'
    ELSE 'Unsegmented' END`;
    const L = LIFECYCLE;
    const idle = inactivityThreshold(config); // §3.4 by cadence, or the config's inactivity_days
    // §2.3 "Top 10% usage": the reference's bar (rules/reference.ts), a literal; no live user at fit time = no Power User
    const powerUsage = opts.reference.powerUserMinWeeklySessions === null ? '1 = 0' : `avg_weekly_sessions_28d >= ${num(opts.reference.powerUserMinWeeklySessions)}`;
    const lifecycle = `CASE
    WHEN already_churned = 1 OR days_since_last_activity >= ${num(idle)} THEN 'Churned'
    WHEN cl_at_risk >= ${num(L.atRisk.minSignals)} THEN 'At-Risk'
    WHEN tenure_days >= ${num(L.powerUser.minTenureDays)} AND ${powerUsage} AND avg_weekly_sessions_28d > 0 AND feature_breadth_30d >= ${num(L.powerUser.minBreadth)} THEN 'Power User'
    WHEN tenure_days >= ${num(L.engaged.minTenureDays)} AND avg_weekly_sessions_28d >= ${num(L.engaged.minWeeklySessions)} THEN 'Engaged'
    WHEN cl_activation >= ${num(L.activated.minActivationScore)} THEN 'Activated'
    ELSE 'New User' END`;
    const layer4 = `SELECT *, ${behavioral} AS cl_behavioral, ${lifecycle} AS cl_lifecycle, ${d.int('cl_rfm_r')} * 100 + ${d.int('cl_rfm_f')} * 10 + ${d.int('cl_rfm_m')} AS cl_rfm
FROM (${layer3}) AS t`;

    // 5: tiers, §6.1 rule files, the extra rule columns, the nearest centroid
    const ruleFiles = segments.map((r) => `${flag(compileCondition(r.conditions, config, d))} AS ${d.quoteIdent(SEGMENT_COLUMN_PREFIX + r.slug)}`);
    const clusterCols = cl ? [`${cl.nearest} AS cluster`, `${cl.label} AS cluster_label`, 'cl_pc1 AS pc1', 'cl_pc2 AS pc2'] : [];
    return `SELECT user_id, cl_p AS churn_probability,
  cl_engagement AS engagement_score, ${tier(d, ENGAGEMENT_TIERS, 'cl_engagement')} AS engagement_tier,
  cl_activation AS activation_score, ${tier(d, ACTIVATION_TIERS, 'cl_activation')} AS activation_tier,
  cl_expansion AS expansion_readiness_score, ${tier(d, EXPANSION_TIERS, 'cl_expansion')} AS expansion_readiness_tier,
  cl_churn_risk AS churn_risk_score, CASE WHEN already_churned = 1 THEN ${d.quoteString(CHURN_TIER_ALREADY_CHURNED.label)} ELSE ${tier(d, CHURN_TIERS, 'cl_churn_risk')} END AS churn_risk_tier,
  cl_behavioral AS behavioral_segment,
  cl_lifecycle AS lifecycle_stage,
  ${d.text('cl_rfm')} AS rfm_code,
  ${rfm.segment('cl_rfm', 'exact')} AS rfm_segment,
  cl_at_risk AS at_risk_signals${[...ruleFiles, ...extraColumns(config, d, idle, rfm), ...clusterCols].map((x) => `,\n  ${x}`).join('')},
  already_churned
FROM (${layer4}) AS u
ORDER BY user_id`;
  });
}

/** applyRules' extra columns (rules/segments.ts), from the tables of rules/tables/segments.ts and actions.ts. */
function extraColumns(config: EventConfig, d: Dialect, idle: number, rfm: RfmSql): string[] {
  const I = INTENT;
  const intent = `CASE
    WHEN pricing_views_7d >= ${num(I.buyer.minPricingViews7d)} THEN 'Buyer'
    WHEN invites_14d >= ${num(I.teamChampion.minInvites14d)} OR shares_14d >= ${num(I.teamChampion.minShares14d)} THEN 'Team Champion'
    WHEN is_paid < 1 AND pricing_views_14d >= ${num(I.evaluator.minPricingViews14d)} AND avg_session_minutes_30d < ${num(I.evaluator.maxSessionMinutes)} THEN 'Evaluator'
    ELSE 'Individual User' END`; // §2.4 ladder
  // §2.5: the plan name trimmed and lower-cased (the table's names are ASCII, so ClickHouse's ASCII lower() finds the same ones)
  const byPlan = new Map<string, string>();
  for (const row of PLAN_SEGMENTS) for (const p of row.plans) byPlan.set(p, row.segment);
  const bySegment = new Map<string, string[]>();
  for (const [p, seg] of byPlan) bySegment.set(seg, [...(bySegment.get(seg) ?? []), p]);
  const plan = `lower(${d.trim(`coalesce(plan, '')`)})`;
  const planSegment = `CASE ${[...bySegment].map(([seg, plans]) => `WHEN ${d.inList(plan, plans)} THEN ${d.quoteString(seg)}`).join(' ')}
    WHEN is_paid >= 1 THEN 'Paid (other)' WHEN ${plan} = '' THEN 'Unknown plan' ELSE 'Free plan' END`;
  const [paid, lapsed, never] = DORMANT_SUBSEGMENTS; // §3.4, in precedence order
  const dormant = `days_since_last_activity >= ${num(idle)}`;
  const [t1, t2, t3, t4] = SALES_TIERS; // §7.2 ladder
  const sales = `CASE
    WHEN cl_expansion > ${num(t1.minReadinessExclusive)} AND team_size >= ${num(t1.minTeamSize)} AND pricing_views_7d >= ${num(t1.minPricingViews7d)} THEN ${d.quoteString(t1.tier)}
    WHEN cl_expansion >= ${num(t2.minReadiness)} AND team_size >= ${num(t2.minTeamSize)} AND (invites_14d >= 1 OR shares_14d >= 1) THEN ${d.quoteString(t2.tier)}
    WHEN cl_expansion >= ${num(t3.minReadiness)} THEN ${d.quoteString(t3.tier)}
    ELSE ${d.quoteString(t4.tier)} END`;
  const key = (segment: string) => d.quoteString(CAMPAIGNS.find((c) => c.segment === segment)!.key); // §7.1
  const campaign = `CASE
    WHEN cl_lifecycle = 'New User' THEN ${key('New (not activated)')}
    WHEN cl_lifecycle = 'Activated' THEN ${key('Activated (not engaged)')}
    WHEN cl_lifecycle = 'At-Risk' THEN ${key('At-risk (any plan)')}
    WHEN cl_lifecycle = 'Churned' THEN ${key('Churned')}
    WHEN (cl_lifecycle = 'Engaged' OR cl_lifecycle = 'Power User') AND is_paid < 1 THEN ${key('Engaged (free)')}
    ELSE '' END`;
  return [
    `${flag(`cl_at_risk >= ${num(AT_RISK_SIGNALS.atRiskMin)}`)} AS at_risk`, // §3.3 "2+ signals = at-risk"
    `${intent} AS intent_segment`,
    `${planSegment} AS plan_segment`,
    `${flag(`cl_behavioral = 'Power' AND invites_total >= ${num(CHAMPION.minInvitesTotal)} AND shares_14d >= ${num(CHAMPION.minShares14d)}`)} AS champion`, // §3.2
    `${flag(dormant)} AS dormant`,
    `CASE WHEN ${dormant} THEN CASE WHEN ever_paid >= 1 THEN ${d.quoteString(paid)} WHEN cl_activation >= ${num(ACTIVATED_MIN_SCORE)} THEN ${d.quoteString(lapsed)} ELSE ${d.quoteString(never)} END ELSE '' END AS dormant_subsegment`,
    'cl_rfm_r AS rfm_recency',
    'cl_rfm_f AS rfm_frequency',
    'cl_rfm_m AS rfm_monetary',
    `${rfm.segment('cl_rfm', 'nearest')} AS rfm_segment_nearest`,
    `${sales} AS sales_tier`,
    `${campaign} AS campaign`,
  ];
}

/**
 * §6.3 RFM as rules/segments.ts `rfm`: recency and frequency bands, monetary by the same precedence
 * (inactive free, the config's plan score, spend quintiles for `monetary: sum_value`, paid/free), rounded
 * and clamped to 1-5 (the code is then the integer r*100 + f*10 + m: its text is the code), the segments
 * from rfmSegmentTables().
 */
interface RfmSql {
  recency: string;
  frequency: string;
  monetary: string;
  /** The segment of an integer code column, exact (unlisted codes: RFM_OTHER) or of the nearest listed code. */
  segment: (code: string, kind: 'exact' | 'nearest') => string;
}

function rfmSql(config: EventConfig, d: Dialect, cuts: number[]): RfmSql {
  const F = RFM_MONETARY_FALLBACK;
  const whens: string[] = [`WHEN is_paid < 1 AND days_since_last_activity >= ${num(inactivityThreshold(config))} THEN ${num(F.inactiveFree)}`]; // §6.3 "1=Inactive free"
  for (const [plan, score] of Object.entries(config.plans.rfm_monetary ?? {})) whens.push(`WHEN plan = ${d.quoteString(plan)} THEN ${num(score)}`); // §6.3 plan value
  let otherwise: string;
  if (config.monetary === 'sum_value') {
    // the reference's quintile cut points of spend among spenders (literals; none when it had no spender)
    whens.push(`WHEN monetary_value <= 0 THEN ${num(F.noSpend)}`);
    otherwise = `1e0${cuts.map((c) => ` + CASE WHEN monetary_value >= ${num(c)} THEN 1e0 ELSE 0e0 END`).join('')}`;
  } else otherwise = `CASE WHEN is_paid >= 1 THEN ${num(F.paid)} ELSE ${num(F.activeFree)} END`;
  const monetary = `least(5e0, greatest(1e0, floor(CASE ${whens.join(' ')} ELSE ${otherwise} END + 5e-1)))`; // Math.round, clamped
  const tables = rfmSegmentTables();
  const segment = (x: string, kind: 'exact' | 'nearest') => {
    const names = kind === 'exact' ? tables.exact : tables.nearest;
    const codes = new Map<string, number[]>();
    tables.codes.forEach((k, i) => codes.set(names[i], [...(codes.get(names[i]) ?? []), Number(k)]));
    // the name with the most codes is the ELSE (RFM_OTHER for the exact segment)
    const rest = kind === 'exact' ? RFM_OTHER : [...codes].sort((p, q) => q[1].length - p[1].length)[0][0];
    const whens = [...codes].filter(([name]) => name !== rest).map(([name, list]) => `WHEN ${x} IN (${list.join(', ')}) THEN ${d.quoteString(name)}`);
    return `CASE ${whens.join(' ')} ELSE ${d.quoteString(rest)} END`;
  };
  return { recency: points(RFM_RECENCY, 'days_since_last_activity'), frequency: points(RFM_FREQUENCY, 'avg_weekly_sessions_28d'), monetary, segment };
}

/**
 * cluster/index.ts `assignClusters` as SQL: scaleColumns (log1p of heavy-tailed features, a negative
 * count read as 0, then (x - center) / scale), squared distance to every centroid, the first nearest
 * (assignNearest: a later centroid wins only when strictly nearer), its label, and projectPca's first two
 * coordinates. Features from events are never missing, so the training-median imputation never applies.
 */
function clusterSql(model: ClusterModel, d: Dialect): { scaled: string[]; distances: string[]; nearest: string; label: string } {
  const s = model.scaler.state;
  const k = model.kmeans.state.centroids.length;
  if (k === 0 || model.clusterLabels.length !== k || s.features.length !== model.kmeans.state.d) {
    throw new CohortlabError('MODEL_CORRUPT', `cluster model is inconsistent: ${k} centroids, ${model.clusterLabels.length} labels, ${s.features.length} scaled features for d = ${model.kmeans.state.d}.`);
  }
  const z = (j: number) => `cl_z${j}`;
  const scaled = s.features.map((f, j) => {
    const x = d.double(d.quoteIdent(f));
    const v = s.log1p[j] === 1 ? d.ln(`1 + CASE WHEN ${x} > -1 THEN ${x} ELSE 0e0 END`) : x;
    return `(${v} - ${num(s.center[j])}) / ${num(s.scale[j])} AS ${z(j)}`;
  });
  const distances = model.kmeans.state.centroids.map((row, c) => `${row.map((v, j) => `(${z(j)} - ${num(v)}) * (${z(j)} - ${num(v)})`).join(' + ')} AS cl_d${c}`);
  const pcs = [0, 1].map((p) => {
    const w = model.pca.components[p];
    return w ? w.map((wj, j) => `(${z(j)} - ${num(model.pca.mean[j])}) * ${num(wj)}`).join(' + ') : '0e0';
  });
  distances.push(`${pcs[0]} AS cl_pc1`, `${pcs[1]} AS cl_pc2`);
  // assignNearest: centroid c when it is no farther than every later one (an earlier one was not chosen, so it is strictly nearer than those)
  const pick = (value: (c: number) => string) => {
    if (k === 1) return value(0);
    const whens = Array.from({ length: k - 1 }, (_, c) => `WHEN ${Array.from({ length: k - c - 1 }, (_, i) => `cl_d${c} <= cl_d${c + 1 + i}`).join(' AND ')} THEN ${value(c)}`);
    return `CASE ${whens.join(' ')} ELSE ${value(k - 1)} END`;
  };
  return { scaled, distances, nearest: pick((c) => num(c)), label: pick((c) => d.quoteString(model.clusterLabels[c])) };
}
