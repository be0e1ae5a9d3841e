import type { RuleReference } from './reference.js';

/**
 * Types of the rule stage: threshold tables (bands), the output of `applyRules`, and the typed AST
 * of the segment-rule language (playbook §6.1).
 */

/** Numeric columns (scores, counts, 0/1 flags) are Float64Array; tiers, segments and codes are string[]. */
export type RuleColumn = Float64Array | string[];

export interface RuleOutput {
  userIds: string[];
  /**
   * Exactly the CONTRACT `rules` columns (engagement_score ... at_risk_signals), plus one 0/1 column
   * per rule-file segment (`segment_<slug>`), plus the extras listed in docs/rules.md.
   */
  columns: Record<string, RuleColumn>;
  /** The reference thresholds the population-relative rules used (the model's, or fitted on the table); applyRules always sets it. */
  reference?: RuleReference;
  /** Per score, the points of every component per user: `components.engagement.frequency[i]`. */
  components: Record<string, Record<string, Float64Array>>;
}

/**
 * One row of a banded threshold table. Rows are listed from the highest band down; a value gets the
 * first row whose lower bound it meets (`x >= min`, or `x > min` when `exclusive`), so every band is
 * a half-open interval and the table covers the whole line. The last row has `min: -Infinity`.
 */
export interface Band<T> {
  min: number;
  exclusive?: boolean;
  value: T;
  /** The playbook wording this row encodes, quoted, e.g. `"7+ sessions/week: 30"`. */
  playbook: string;
  /** Playbook section, e.g. "4.1". */
  section: string;
}

export interface BandTable<T> {
  name: string;
  /** The feature (or derived measure) the bands are applied to, with its unit. */
  input: string;
  section: string;
  bands: readonly Band<T>[];
  /** How overlaps or gaps in the playbook's wording were resolved. */
  choice: string;
}

/** A tier: the label of a score band. */
export interface Tier {
  label: string;
  /** The playbook's meaning of the tier, e.g. "power user". */
  meaning: string;
}

// ---------------------------------------------------------------- §6.1 segment-rule language AST

/** Where a node starts in its rule file (1-based line and column). */
export interface SourcePos {
  file: string;
  line: number;
  column: number;
}

export type CompareOp = '>=' | '>' | '<=' | '<' | '==' | '!=';
export type ArithOp = '+' | '-' | '*' | '/';

export type Expr =
  | { kind: 'number'; value: number; pos: SourcePos }
  /** A dotted name, e.g. `user.days_since_signup`, `scores.engagement`, `total_features`, `features.team_size`. */
  | { kind: 'name'; name: string; pos: SourcePos }
  /** A function call, e.g. `events.session_count(last_7_days)`; window args are plain identifiers. */
  | { kind: 'call'; name: string; args: string[]; pos: SourcePos }
  | { kind: 'neg'; operand: Expr; pos: SourcePos }
  | { kind: 'arith'; op: ArithOp; left: Expr; right: Expr; pos: SourcePos }
  | { kind: 'compare'; op: CompareOp; left: Expr; right: Expr; pos: SourcePos }
  | { kind: 'and'; left: Expr; right: Expr; pos: SourcePos }
  | { kind: 'or'; left: Expr; right: Expr; pos: SourcePos }
  | { kind: 'not'; operand: Expr; pos: SourcePos };

export type Refresh = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'manual';

export interface SegmentRule {
  /** As written, e.g. "Power Users". */
  name: string;
  /** `power_users`; the output column is `segment_<slug>`. */
  slug: string;
  conditions: Expr;
  /** `refresh:` of the rule; undefined when the rule does not say (an anti-pattern, §10). */
  refresh?: Refresh;
  /** `action: "..."` (cohortlab extension): what the team does with the segment (§10: no vanity segments). */
  action?: string;
  pos: SourcePos;
}
