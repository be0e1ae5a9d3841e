import { sqlNumber, type Dialect } from '../engine/index.js';
import { BASE_FEATURES, MILESTONE_PREFIX } from '../features/index.js';
import type { EventConfig } from '../ingest/index.js';
import { CohortlabError } from '../shared/errors.js';
import { closest } from './columns.js';
import { FEATURES_PREFIX, FUNCTIONS, NAMES, type Source } from './dsl/functions.js';
import { formatPos } from './dsl/parse.js';
import { SEGMENT_COLUMN_PREFIX } from './engine.js';
import { ladderSql, type Ladder, type LadderParams } from './ladder.js';
import { monetaryCutsFor, inactivityThreshold, type RuleReference } from './reference.js';
import {
  BEHAVIORAL_SEGMENT_LADDER, CAMPAIGN_LADDER, DORMANT_SUBSEGMENT_LADDER, INTENT_LADDER, LIFECYCLE_LADDER, SALES_TIER_LADDER,
} from './tables/ladders.js';
import { CHURN_TIER_ALREADY_CHURNED } from './tables/scores.js';
import { RFM_FREQUENCY, RFM_MONETARY_FALLBACK, RFM_OTHER, RFM_RECENCY, rfmSegmentTables } from './tables/rfm.js';
import {
  ACTIVATION_TIERS, CHURN_RECENCY_GAP, CHURN_SIGNALS, CHURN_TIERS, CHURN_USAGE_DECLINE, ENGAGEMENT_BREADTH, ENGAGEMENT_DEPTH,
  ENGAGEMENT_FREQUENCY, ENGAGEMENT_RECENCY, ENGAGEMENT_TIERS, EXPANSION_ENGAGEMENT, EXPANSION_SIGNALS, EXPANSION_TIERS, EXPANSION_USAGE_LIMIT,
} from './tables/scores.js';
import { AT_RISK_SIGNALS, CHAMPION, PLAN_SEGMENTS } from './tables/segments.js';
import type { BandTable, Expr, SegmentRule } from './types.js';

/**
 * The rules stage's part of the warehouse scoring statement (assembled by pipeline/score-sql.ts): the columns of
 * `applyRules` (rules/engine.ts) as SQL over the feature columns, generated from the same tables the TypeScript
 * engine reads (rules/tables/*.ts): §4.1-§4.4 scores and tiers, §3.3 at-risk signals, the built-in segment
 * ladders of tables/ladders.ts (§2.1, §2.3, §2.4, §3.4, §7.1, §7.2, compiled by ladder.ts), §6.3 RFM code and
 * segment, and one 0/1 column per §6.1 rule-file segment (the rule's AST compiled to SQL).
 *
 * The columns come in four passes, each reading the one before (internal names start with `cl_`):
 *   scores   (over the features): cl_engagement, cl_activation, cl_churn_risk, cl_expansion_signals, cl_at_risk
 *   derived  (reads scores): cl_expansion, cl_rfm_r, cl_rfm_f, cl_rfm_m
 *   segments (reads derived): cl_behavioral, cl_lifecycle, cl_rfm
 *   output   (reads segments): the CONTRACT rule columns, then the rule-file segments and the extra columns.
 *
 * Two playbook rules compare a user with the user base: the §2.3 "top 10% usage" threshold of the Power
 * User stage and (for logs valued by spend) the §6.3 monetary quintiles. Their thresholds are the model's
 * reference (fitted once at train, rules/reference.ts), written into the statement as literals, so a user's
 * rule columns do not depend on which other users the statement scores, exactly as in-process scoring.
 */
export interface RuleColumnsSql {
  scores: string[];
  derived: string[];
  segments: string[];
  /** engagement_score ... at_risk_signals (CONTRACT_RULE_COLUMNS order). */
  contract: string[];
  /** segment_<slug> per rule file, then RULE_EXTRA_COLUMNS. */
  extra: string[];
}

/** The columns applyRules adds beyond the CONTRACT ones (docs/rules.md), in its order. */
export const RULE_EXTRA_COLUMNS = [
  'at_risk', 'intent_segment', 'plan_segment', 'champion', 'dormant', 'dormant_subsegment', 'rfm_recency', 'rfm_frequency',
  'rfm_monetary', 'rfm_segment_nearest', 'sales_tier', 'campaign',
] as const;

const num = sqlNumber;

/** The SQL names of the columns the ladders read: features by name, computed columns by their internal pass name. */
const LADDER_SQL_COLUMNS: Record<string, string> = {
  at_risk_signals: 'cl_at_risk',
  activation_score: 'cl_activation',
  expansion_readiness_score: 'cl_expansion',
  lifecycle_stage: 'cl_lifecycle',
};
const ladderCase = (ladder: Ladder, d: Dialect, params: LadderParams) => ladderSql(ladder, d, (c) => LADDER_SQL_COLUMNS[c] ?? c, params);

/** The rule columns of the statement over a relation of feature columns (pipeline/score-sql.ts puts them in its passes). */
export function ruleColumnsSql(config: EventConfig, d: Dialect, opts: { segments: readonly SegmentRule[]; reference: RuleReference }): RuleColumnsSql {
  // scores: §4.1 engagement, §4.2 activation, §4.4 churn risk, the §4.3 signals, §3.3 at-risk signals
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
  const scores = [
    `${points(ENGAGEMENT_FREQUENCY, 'avg_weekly_sessions_28d')} + ${points(ENGAGEMENT_BREADTH, 'feature_breadth_30d')} + ${points(ENGAGEMENT_DEPTH, 'avg_session_minutes_30d')} + ${points(ENGAGEMENT_RECENCY, 'days_since_last_activity')} AS cl_engagement`,
    `${activation} AS cl_activation`,
    `${points(CHURN_USAGE_DECLINE, 'usage_decline')} + ${points(CHURN_RECENCY_GAP, gap)}
    + CASE WHEN ${c.negativeSupport.feature} >= ${num(c.negativeSupport.min)} THEN ${num(c.negativeSupport.points)} WHEN ${c.multipleTickets.feature} >= ${num(c.multipleTickets.min)} THEN ${num(c.multipleTickets.points)} ELSE 0.0 END
    + CASE WHEN ${c.failedPayment.feature} >= ${num(c.failedPayment.min)} THEN ${num(c.failedPayment.points)} WHEN ${c.downgraded.feature} >= ${num(c.downgraded.min)} THEN ${num(c.downgraded.points)} WHEN ${c.cancelPage.feature} >= ${num(c.cancelPage.min)} THEN ${num(c.cancelPage.points)} ELSE 0.0 END
    + CASE WHEN ${c.decliningTrend.feature} < ${num(c.decliningTrend.below)} THEN ${num(c.decliningTrend.points)} ELSE 0.0 END AS cl_churn_risk`,
    `${points(EXPANSION_USAGE_LIMIT, 'usage_pct_of_limit')} + ${item(e.addedMembers.feature, e.addedMembers.min, e.addedMembers.points)} + ${item(e.collabFeatures.feature, e.collabFeatures.min, e.collabFeatures.points)}
    + ${item(e.lockedFeatures.feature, e.lockedFeatures.min, e.lockedFeatures.points)} + ${item(e.viewedPricing.feature, e.viewedPricing.min, e.viewedPricing.points)} AS cl_expansion_signals`,
    `${atRisk} AS cl_at_risk`,
  ];

  // derived: §4.3 expansion readiness (reads engagement), §6.3 RFM scores
  const rfm = rfmSql(config, d, monetaryCutsFor(opts.reference, config));
  const derived = [
    `cl_expansion_signals + ${points(EXPANSION_ENGAGEMENT, 'cl_engagement')} AS cl_expansion`,
    `${rfm.recency} AS cl_rfm_r`, `${rfm.frequency} AS cl_rfm_f`, `${rfm.monetary} AS cl_rfm_m`,
  ];

  // segments: §2.1 behavioral, §2.3 lifecycle (reads the at-risk count and activation), the §6.3 code
  const idle = inactivityThreshold(config); // §3.4 by cadence, or the config's inactivity_days
  // §2.3 "Top 10% usage": the reference's bar (rules/reference.ts), a literal; no live user at fit time = no Power User
  const params: LadderParams = { inactivityDays: idle, powerUserMinWeeklySessions: opts.reference.powerUserMinWeeklySessions ?? Infinity };
  const segments = [
    `${ladderCase(BEHAVIORAL_SEGMENT_LADDER, d, params)} AS cl_behavioral`,
    `${ladderCase(LIFECYCLE_LADDER, d, params)} AS cl_lifecycle`,
    `${d.int('cl_rfm_r')} * 100 + ${d.int('cl_rfm_f')} * 10 + ${d.int('cl_rfm_m')} AS cl_rfm`,
  ];

  // output: tiers, §6.1 rule files, the extra rule columns
  const contract = [
    'cl_engagement AS engagement_score', `${tier(d, ENGAGEMENT_TIERS, 'cl_engagement')} AS engagement_tier`,
    'cl_activation AS activation_score', `${tier(d, ACTIVATION_TIERS, 'cl_activation')} AS activation_tier`,
    'cl_expansion AS expansion_readiness_score', `${tier(d, EXPANSION_TIERS, 'cl_expansion')} AS expansion_readiness_tier`,
    'cl_churn_risk AS churn_risk_score',
    `CASE WHEN already_churned = 1 THEN ${d.quoteString(CHURN_TIER_ALREADY_CHURNED.label)} ELSE ${tier(d, CHURN_TIERS, 'cl_churn_risk')} END AS churn_risk_tier`,
    'cl_behavioral AS behavioral_segment',
    'cl_lifecycle AS lifecycle_stage',
    `${d.text('cl_rfm')} AS rfm_code`,
    `${rfm.segment('cl_rfm', 'exact')} AS rfm_segment`,
    'cl_at_risk AS at_risk_signals',
  ];
  const ruleFiles = opts.segments.map((r) => `${flag(compileCondition(r.conditions, config, d))} AS ${d.quoteIdent(SEGMENT_COLUMN_PREFIX + r.slug)}`);
  return { scores, derived, segments, contract, extra: [...ruleFiles, ...extraColumns(d, params, rfm)] };
}

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


/** applyRules' extra columns (rules/segments.ts), from the tables of rules/tables/segments.ts and ladders.ts. */
function extraColumns(d: Dialect, params: LadderParams, rfm: RfmSql): string[] {
  // §2.5: the plan name trimmed and lower-cased (the table's names are ASCII, so ClickHouse's ASCII lower() finds the same ones)
  const byPlan = new Map<string, string>();
  for (const row of PLAN_SEGMENTS) for (const p of row.plans) byPlan.set(p, row.segment);
  const bySegment = new Map<string, string[]>();
  for (const [p, seg] of byPlan) bySegment.set(seg, [...(bySegment.get(seg) ?? []), p]);
  const plan = `lower(${d.trim(`coalesce(plan, '')`)})`;
  const planSegment = `CASE ${[...bySegment].map(([seg, plans]) => `WHEN ${d.inList(plan, plans)} THEN ${d.quoteString(seg)}`).join(' ')}
    WHEN is_paid >= 1 THEN 'Paid (other)' WHEN ${plan} = '' THEN 'Unknown plan' ELSE 'Free plan' END`;
  return [
    `${flag(`cl_at_risk >= ${num(AT_RISK_SIGNALS.atRiskMin)}`)} AS at_risk`, // §3.3 "2+ signals = at-risk"
    `${ladderCase(INTENT_LADDER, d, params)} AS intent_segment`, // §2.4 ladder
    `${planSegment} AS plan_segment`,
    `${flag(`cl_behavioral = 'Power' AND invites_total >= ${num(CHAMPION.minInvitesTotal)} AND shares_14d >= ${num(CHAMPION.minShares14d)}`)} AS champion`, // §3.2
    `${flag(`days_since_last_activity >= ${num(params.inactivityDays)}`)} AS dormant`, // §3.4
    `${ladderCase(DORMANT_SUBSEGMENT_LADDER, d, params)} AS dormant_subsegment`, // §3.4, in precedence order
    'cl_rfm_r AS rfm_recency',
    'cl_rfm_f AS rfm_frequency',
    'cl_rfm_m AS rfm_monetary',
    `${rfm.segment('cl_rfm', 'nearest')} AS rfm_segment_nearest`,
    `${ladderCase(SALES_TIER_LADDER, d, params)} AS sales_tier`, // §7.2 ladder
    `${ladderCase(CAMPAIGN_LADDER, d, params)} AS campaign`, // §7.1
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
