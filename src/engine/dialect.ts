/**
 * The SQL dialects cohortlab compiles its feature, label and scoring queries to. Every difference
 * between the engines lives here; the queries themselves (src/features/sql.ts, score-sql.ts) are
 * written once against this interface.
 *
 * - DuckDB: the embedded default engine.
 * - ClickHouse, floor 18.16 (what Debian ships): no window functions, no `WITH name AS (SELECT ...)`,
 *   no `FILTER (WHERE ...)`, one JOIN per SELECT (with ANY/ALL strictness), `least`/`greatest` of two
 *   arguments, no bound query parameters (literals are inlined, quoted here), UInt8 for booleans.
 */
import { internalError } from '../shared/errors.js';

export type EngineName = 'duckdb' | 'clickhouse';

export interface NamedQuery {
  name: string;
  /** The query's text; `ref(name)` reads an earlier named query. */
  sql: (ref: (name: string) => string) => string;
  /**
   * DuckDB: true computes it once (MATERIALIZED), false recomputes it at each reference (NOT MATERIALIZED);
   * unset leaves the choice to DuckDB (which materializes a query referenced more than once).
   */
  materialize?: boolean;
}

export interface Dialect {
  readonly name: EngineName;
  quoteString(s: string): string;
  quoteIdent(s: string): string;
  /** A UTC instant as a timestamp literal. */
  timestamp(ms: number): string;
  /** Seconds since the epoch of a timestamp expression, as a double. */
  epoch(ts: string): string;
  double(x: string): string;
  /** Rounded to a 32-bit float (round to nearest even, as Math.fround): the precision of the in-process design matrix. */
  float32(x: string): string;
  /** True when the double x is NaN. */
  isNaN(x: string): string;
  int(x: string): string;
  /** Natural logarithm. */
  ln(x: string): string;
  /** +infinity as a double. */
  readonly infinity: string;
  /** floor(a / b) for non-negative integers. */
  intDiv(a: string, b: string): string;
  readonly true: string;
  readonly false: string;
  /** `x IN (values)`, or false for an empty list. */
  inList(x: string, values: readonly string[]): string;
  countIf(cond: string): string;
  countDistinctIf(x: string, cond: string): string;
  sumIf(x: string, cond: string): string;
  /** Bitwise OR of the integers x over the rows where cond holds; 0 when there are none. */
  bitOrIf(x: string, cond: string): string;
  /** The number of set bits among the lowest `width` (at most 63) of a non-negative integer. */
  bitCount(x: string, width: number): string;
  /** 2^i as a 64-bit integer (i from 0 to 62). */
  bit(i: string): string;
  bitAnd(a: string, b: string): string;
  /** Largest x over the rows where cond holds; unspecified when there are none (callers guard with a count). */
  maxIf(x: string, cond: string): string;
  /** Mean of x over the rows where cond holds; 0 when there are none. */
  avgIfOrZero(x: string, cond: string): string;
  /** 1 when cond holds on any row of the group, else 0. */
  anyIf(cond: string): string;
  /** The value of `x` at the largest `by` among rows where `cond` holds; '' when none. */
  argMaxTextIf(x: string, by: string, cond: string): string;
  /** 1 when max(ts) over `a` rows >= max(ts) over `b` rows, 0 when either set is empty. */
  latestOfFirstSetNotBefore(ts: string, a: string, b: string): string;
  /** Aggregate: the sorted list of x in the group. */
  sortedList(x: string): string;
  /**
   * Over a sorted list of session-start epoch seconds: the gaps (days) between consecutive starts
   * whose later start is after `since` (epoch seconds), sorted.
   */
  sortedGapDaysSince(starts: string, since: string): string;
  /** Median of a sorted list (mean of the middle two for an even length), NULL when empty. */
  medianOfSorted(list: string): string;
  /** The i-th element (1-based) of a list. */
  listElement(list: string, i: string): string;
  /** An integer expression as its decimal text. */
  text(x: string): string;
  /** A string without leading and trailing white space, as JavaScript's String.prototype.trim (Unicode spaces included). */
  trim(x: string): string;
  /** The query `main` reading the named subqueries (each may read the ones before it). */
  withQueries(queries: NamedQuery[], main: (ref: (name: string) => string) => string): string;
  /** `base` left-joined to each of `others` on `key` (their other columns must not collide). */
  leftJoinAll(base: string, others: string[], key: string): string;
  /**
   * Every row of `rel` once per row of a small table (`table`: equal-length columns of SQL expressions, constants or
   * expressions of `rel`'s columns) where `cond` holds; `cond` and the result read the table's columns by name. The
   * multi-cutoff features (features/sql.ts) read the events once this way instead of once per cutoff.
   */
  expandRows(rel: string, table: Record<string, string[]>, cond: (column: (name: string) => string) => string): string;
}

/** The white space of JavaScript's String.prototype.trim, as an RE2 class (both engines use RE2 over UTF-8). */
const JS_SPACE = '[\\s\\x{0B}\\x{A0}\\x{FEFF}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}]';
const TRIM_RE = `^${JS_SPACE}+|${JS_SPACE}+$`;

const sqlString = (s: string, escapeBackslash: boolean) => `'${(escapeBackslash ? s.replace(/\\/g, '\\\\') : s).replace(/'/g, "''")}'`;

function isoSeconds(ms: number): string {
  if (!Number.isFinite(ms)) throw internalError(`timestamp literal of a non-finite instant (${ms})`);
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

export const DUCKDB: Dialect = {
  name: 'duckdb',
  quoteString: (s) => sqlString(s, false),
  quoteIdent: (s) => `"${s.replace(/"/g, '""')}"`,
  timestamp: (ms) => `TIMESTAMP '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`,
  epoch: (ts) => `epoch(${ts})`,
  double: (x) => `CAST(${x} AS DOUBLE)`,
  float32: (x) => `CAST(CAST(${x} AS FLOAT) AS DOUBLE)`,
  isNaN: (x) => `isnan(${x})`,
  int: (x) => `CAST(${x} AS INTEGER)`,
  ln: (x) => `ln(${x})`,
  infinity: "CAST('infinity' AS DOUBLE)",
  intDiv: (a, b) => `(${a} // ${b})`,
  true: 'true',
  false: 'false',
  inList: (x, values) => (values.length ? `(${x} IN (${values.map((v) => sqlString(v, false)).join(', ')}))` : 'false'),
  countIf: (c) => `count(*) FILTER (WHERE ${c})`,
  countDistinctIf: (x, c) => `count(DISTINCT ${x}) FILTER (WHERE ${c})`,
  sumIf: (x, c) => `coalesce(sum(${x}) FILTER (WHERE ${c}), 0)`,
  maxIf: (x, c) => `max(${x}) FILTER (WHERE ${c})`,
  bitOrIf: (x, c) => `coalesce(bit_or(${x}) FILTER (WHERE ${c}), 0)`,
  bitCount: (x) => `bit_count(${x})`,
  bit: (i) => `(CAST(1 AS BIGINT) << ${i})`,
  bitAnd: (a, b) => `(${a} & ${b})`,
  avgIfOrZero: (x, c) => `coalesce(avg(${x}) FILTER (WHERE ${c}), 0)`,
  anyIf: (c) => `CAST(coalesce(bool_or(${c}), false) AS INTEGER)`,
  argMaxTextIf: (x, by, c) => `coalesce(arg_max(${x}, ${by}) FILTER (WHERE ${c}), '')`,
  latestOfFirstSetNotBefore: (ts, a, b) => `CAST(coalesce(max(${ts}) FILTER (WHERE ${a}) >= max(${ts}) FILTER (WHERE ${b}), false) AS INTEGER)`,
  sortedList: (x) => `list_sort(list(${x}))`,
  sortedGapDaysSince: (s, since) =>
    `list_sort(list_filter(list_transform(list_slice(${s}, 2, len(${s})), (x, i) -> CASE WHEN x > ${since} THEN (x - ${s}[i]) / 86400.0 END), g -> g IS NOT NULL))`,
  medianOfSorted: (l) => `list_aggregate(${l}, 'median')`,
  listElement: (l, i) => `list_extract(${l}, ${i})`,
  text: (x) => `CAST(${x} AS VARCHAR)`,
  trim: (x) => `regexp_replace(${x}, ${sqlString(TRIM_RE, false)}, '', 'g')`,
  withQueries: (queries, main) => {
    const ref = (name: string) => name;
    return `WITH ${queries.map((q) => `${q.name} AS ${q.materialize === undefined ? '' : q.materialize ? 'MATERIALIZED ' : 'NOT MATERIALIZED '}(${q.sql(ref)})`).join(',\n')}\n${main(ref)}`;
  },
  leftJoinAll: (base, others, key) => `(${base}) AS j0 ${others.map((o, i) => `LEFT JOIN (${o}) AS j${i + 1} USING (${key})`).join(' ')}`,
  // A table of constants: one filtered read of `rel` per row. DuckDB plans an inequality join to a small table as
  // a piecewise merge join, 30x slower here than the union of filtered scans (52M rows out of 23.5M events: 44 s
  // vs 1.3 s). A table reading `rel`'s columns: each row unnested into one per table row, then filtered, so `rel`
  // is computed once without being stored (a union would store it, 4.2M sessions: +0.6 GB peak).
  expandRows: (rel, table, cond) => {
    const names = Object.keys(table);
    if (Object.values(table).some((col) => col.some((v) => !Number.isFinite(Number(v))))) {
      return `SELECT * FROM (SELECT *, ${names.map((n) => `unnest([${table[n].join(', ')}]) AS ${n}`).join(', ')} FROM (${rel}) AS xr) AS xe WHERE ${cond((n) => n)}`;
    }
    return table[names[0]]
      .map((_, i) => `SELECT *, ${names.map((n) => `${table[n][i]} AS ${n}`).join(', ')} FROM (${rel}) AS xr WHERE ${cond((n) => table[n][i])}`)
      .join('\nUNION ALL\n');
  },
};

export const CLICKHOUSE: Dialect = {
  name: 'clickhouse',
  // ClickHouse string literals take backslash escapes: escape backslashes first, then quotes.
  quoteString: (s) => sqlString(s, true),
  quoteIdent: (s) => `\`${s.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``,
  timestamp: (ms) => `toDateTime('${isoSeconds(ms)}', 'UTC')`,
  epoch: (ts) => `toFloat64(toUnixTimestamp(${ts}))`,
  double: (x) => `toFloat64(${x})`,
  float32: (x) => `toFloat64(toFloat32(${x}))`,
  isNaN: (x) => `isNaN(${x})`,
  int: (x) => `toInt32(${x})`,
  ln: (x) => `log(${x})`,
  infinity: 'inf',
  intDiv: (a, b) => `intDiv(${a}, ${b})`,
  true: '1',
  false: '0',
  inList: (x, values) => (values.length ? `(${x} IN (${values.map((v) => sqlString(v, true)).join(', ')}))` : '0'),
  countIf: (c) => `countIf(${c})`,
  countDistinctIf: (x, c) => `uniqExactIf(${x}, ${c})`,
  sumIf: (x, c) => `ifNull(sumIf(${x}, ${c}), 0)`,
  maxIf: (x, c) => `maxIf(${x}, ${c})`,
  bitOrIf: (x, c) => `groupBitOrIf(${x}, ${c})`,
  // no bitCount before ClickHouse 20: the bits one by one (not in a lambda: 18.16 drops a subquery column read only there)
  bitCount: (x, width) => `(${Array.from({ length: width }, (_, i) => `bitAnd(bitShiftRight(${x}, ${i}), 1)`).join(' + ')})`,
  bit: (i) => `toUInt64(bitShiftLeft(toUInt64(1), ${i}))`,
  bitAnd: (a, b) => `bitAnd(${a}, ${b})`,
  avgIfOrZero: (x, c) => `if(countIf(${c}) = 0, 0, sumIf(${x}, ${c}) / countIf(${c}))`,
  anyIf: (c) => `toInt32(countIf(ifNull(${c}, 0)) > 0)`,
  argMaxTextIf: (x, by, c) => `ifNull(argMaxIf(${x}, ${by}, ${c}), '')`,
  latestOfFirstSetNotBefore: (ts, a, b) => `toInt32(countIf(${a}) > 0 AND countIf(${b}) > 0 AND maxIf(${ts}, ${a}) >= maxIf(${ts}, ${b}))`,
  sortedList: (x) => `arraySort(groupArray(${x}))`,
  sortedGapDaysSince: (s, since) =>
    `arraySort(arrayFilter((g, x) -> x > ${since}, arrayMap((x, p) -> (x - p) / 86400, arraySlice(${s}, 2), arraySlice(${s}, 1, length(${s}) - 1)), arraySlice(${s}, 2)))`,
  medianOfSorted: (l) =>
    `if(length(${l}) = 0, NULL, if(length(${l}) % 2 = 1, arrayElement(${l}, intDiv(length(${l}) + 1, 2)), (arrayElement(${l}, intDiv(length(${l}), 2)) + arrayElement(${l}, intDiv(length(${l}), 2) + 1)) / 2))`,
  listElement: (l, i) => `arrayElement(${l}, ${i})`,
  text: (x) => `toString(${x})`,
  trim: (x) => `replaceRegexpAll(${x}, ${sqlString(TRIM_RE, true)}, '')`,
  // No CTEs: each reference inlines the named query's text (each is then read by its own subquery).
  withQueries: (queries, main) => {
    const text = new Map<string, string>();
    const ref = (name: string) => {
      const q = text.get(name);
      if (q === undefined) throw internalError(`unknown named query ${name}`);
      return `(${q})`;
    };
    for (const q of queries) text.set(q.name, q.sql(ref));
    return main(ref);
  },
  // One JOIN per SELECT: nest them. ANY LEFT JOIN: every right side has one row per key.
  leftJoinAll: (base, others, key) => others.reduce((acc, o) => `(SELECT * FROM ${acc} ANY LEFT JOIN (${o}) USING ${key})`, `(${base})`),
  // No inequality joins: each row carries the indices of the constant rows it matches, and ARRAY JOIN unrolls them.
  // The condition is tested again after the ARRAY JOIN (it holds there): 18.16 drops a column of `rel` read only in
  // the lambda when nothing after the expansion reads it ("Unknown identifier").
  expandRows: (rel, table, cond) => {
    const names = Object.keys(table);
    const at = (n: string, i: string) => `arrayElement([${table[n].join(', ')}], ${i})`;
    const indices = table[names[0]].map((_, i) => String(i + 1)).join(', ');
    return `SELECT *, ${names.map((n) => `${at(n, 'xk')} AS ${n}`).join(', ')}
      FROM (SELECT *, xk FROM (${rel}) AS xr ARRAY JOIN arrayFilter(xi -> ${cond((n) => at(n, 'xi'))}, [${indices}]) AS xk WHERE ${cond((n) => at(n, 'xk'))}) AS xe`;
  },
};

export const DIALECTS: Record<EngineName, Dialect> = { duckdb: DUCKDB, clickhouse: CLICKHOUSE };

/**
 * A double literal that round-trips exactly in both dialects (exponent form: DuckDB reads 0.1 as a DECIMAL,
 * 1e-1 as a DOUBLE). The generated scoring SQL of every stage writes its thresholds and weights with it.
 */
export function sqlNumber(x: number): string {
  if (!Number.isFinite(x)) throw internalError(`a non-finite number (${x}) in the scoring SQL`);
  return x.toExponential();
}
