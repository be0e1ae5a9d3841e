import { sqlNumber, type Dialect } from '../engine/index.js';

/**
 * A segment ladder (playbook §2.1, §2.3, §2.4, §3.4, §7.1, §7.2) as data, compiled to both the in-process
 * labels (`ladderLabels`, rules/segments.ts) and a SQL CASE (`ladderSql`, rules/sql.ts), so the warehouse
 * statement and `applyRules` read one definition. Rungs are tried in order and a user takes the first whose
 * condition holds, else `otherwise`. A condition is a disjunction of conjunctions of tests.
 */
export interface LadderTest {
  /** A feature column, or a column the rules compute first (see `LADDER_COMPUTED_COLUMNS`). */
  readonly column: string;
  readonly op: '>=' | '>' | '<=' | '<' | '=';
  /** A number, a label (with '='), or a threshold known only at scoring time. */
  readonly value: number | string | { readonly param: LadderParam };
}

/** Thresholds a ladder reads from the config or the rule reference (§3.4 inactivity days, §2.3 top 10% bar). */
export type LadderParam = 'inactivityDays' | 'powerUserMinWeeklySessions';
export type LadderParams = Readonly<Record<LadderParam, number>>;

export interface LadderRung {
  readonly label: string;
  /** Any of these conjunctions (each a list of tests that must all hold). */
  readonly when: readonly (readonly LadderTest[])[];
}

export interface Ladder {
  readonly name: string;
  /** Playbook section(s), e.g. "2.1". */
  readonly section: string;
  /** What needs the feature columns, for a missing-column message (e.g. "the §2.1 behavioral segments"). */
  readonly need: string;
  readonly rungs: readonly LadderRung[];
  readonly otherwise: string;
}

/** The columns a ladder reads, in order of first use. */
export function ladderColumns(ladder: Ladder): string[] {
  const seen = new Set<string>();
  for (const rung of ladder.rungs) for (const all of rung.when) for (const t of all) seen.add(t.column);
  return [...seen];
}

const valueOf = (t: LadderTest, params: LadderParams): number | string => (typeof t.value === 'object' ? params[t.value.param] : t.value);

/**
 * The labels of `n` users. `column` returns a column by name (a number or a label per user); comparisons are
 * JavaScript's (a comparison with NaN is false). Evaluated a rung at a time over every user still without a label
 * (a loop per test, not a call per test and user).
 */
export function ladderLabels(ladder: Ladder, n: number, column: (name: string) => ArrayLike<number | string>, params: LadderParams): string[] {
  const cols = new Map(ladderColumns(ladder).map((c) => [c, column(c)]));
  const out = new Array<string>(n).fill(ladder.otherwise);
  // open[i]: user i has no label yet; hit[i]: a conjunction of the current rung holds for a user still open (ok starts
  // as open); ok[i]: the current conjunction holds so far
  const open = new Uint8Array(n).fill(1);
  const hit = new Uint8Array(n);
  const ok = new Uint8Array(n);
  let left = n;
  for (const rung of ladder.rungs) {
    if (left === 0) break;
    hit.fill(0);
    for (const all of rung.when) {
      ok.set(open);
      for (const t of all) keepWhere(ok, cols.get(t.column)!, t.op, valueOf(t, params));
      for (let i = 0; i < n; i++) hit[i] |= ok[i];
    }
    for (let i = 0; i < n; i++) {
      if (hit[i]) {
        out[i] = rung.label;
        open[i] = 0;
        left--;
      }
    }
  }
  return out;
}

/** Clears ok[i] where `x[i] op v` does not hold: a number column against a number in a loop of its own (typed, not a generic comparison). */
function keepWhere(ok: Uint8Array, x: ArrayLike<number | string>, op: LadderTest['op'], v: number | string): void {
  if (x instanceof Float64Array && typeof v === 'number') keepWhereNumber(ok, x, op, v);
  else keepWhereAny(ok, x, op, v);
}

function keepWhereNumber(ok: Uint8Array, x: Float64Array, op: LadderTest['op'], v: number): void {
  const n = ok.length;
  switch (op) {
    case '>=':
      for (let i = 0; i < n; i++) ok[i] &= +(x[i] >= v);
      return;
    case '>':
      for (let i = 0; i < n; i++) ok[i] &= +(x[i] > v);
      return;
    case '<=':
      for (let i = 0; i < n; i++) ok[i] &= +(x[i] <= v);
      return;
    case '<':
      for (let i = 0; i < n; i++) ok[i] &= +(x[i] < v);
      return;
    case '=':
      for (let i = 0; i < n; i++) ok[i] &= +(x[i] === v);
      return;
  }
}

function keepWhereAny(ok: Uint8Array, x: ArrayLike<number | string>, op: LadderTest['op'], v: number | string): void {
  const n = ok.length;
  switch (op) {
    case '>=':
      for (let i = 0; i < n; i++) if (ok[i] && !(x[i] >= v)) ok[i] = 0;
      return;
    case '>':
      for (let i = 0; i < n; i++) if (ok[i] && !(x[i] > v)) ok[i] = 0;
      return;
    case '<=':
      for (let i = 0; i < n; i++) if (ok[i] && !(x[i] <= v)) ok[i] = 0;
      return;
    case '<':
      for (let i = 0; i < n; i++) if (ok[i] && !(x[i] < v)) ok[i] = 0;
      return;
    case '=':
      for (let i = 0; i < n; i++) if (ok[i] && x[i] !== v) ok[i] = 0;
      return;
  }
}

/** A ladder as a SQL CASE. `column` maps a column name to its SQL expression; a non-finite threshold is the dialect's infinity. */
export function ladderSql(ladder: Ladder, d: Dialect, column: (name: string) => string, params: LadderParams): string {
  const literal = (t: LadderTest): string => {
    const v = valueOf(t, params);
    if (typeof v === 'string') return d.quoteString(v);
    if (Number.isFinite(v)) return sqlNumber(v);
    if (Number.isNaN(v)) throw new Error(`ladder ${ladder.name}: a NaN threshold for ${t.column}`);
    return v > 0 ? d.infinity : `(-${d.infinity})`;
  };
  const condition = (all: readonly LadderTest[]): string => all.map((t) => `${column(t.column)} ${t.op} ${literal(t)}`).join(' AND ');
  const whens = ladder.rungs.map((r) => {
    const any = r.when.map(condition);
    return `WHEN ${any.length === 1 ? any[0] : any.map((c) => `(${c})`).join(' OR ')} THEN ${d.quoteString(r.label)}`;
  });
  return `CASE\n    ${whens.join('\n    ')}\n    ELSE ${d.quoteString(ladder.otherwise)} END`;
}
