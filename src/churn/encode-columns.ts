/**
 * Column facts of per-user tables for encode.ts: cell text, value counts, the 0/1 label, numbers in
 * text, key (id / row number) detection and a column's ROC-AUC (the leak check). Pure.
 */
import { CohortlabError } from '../shared/errors.js';
import type { Column, ColumnTable } from '../shared/table-io.js';

export const OTHER = '__other';
export const TRUE_WORDS = new Set(['yes', 'y', 'true', 't', '1']);
export const FALSE_WORDS = new Set(['no', 'n', 'false', 'f', '0']);
/** A column alone with a training ROC-AUC above this (or below 1 - this) is the label in disguise. */
export const LEAK_AUC = 0.98;
/**
 * The leak check needs this many training churners and stayers: with fewer, an ordinary column separates
 * them by chance (5 against 5: a random order is perfect once in 252).
 */
export const LEAK_MIN_CLASS = 10;
/** Text with more than maxLevels levels and more distinct values than this share of its rows is identifier-like. */
export const NEAR_UNIQUE_SHARE = 0.2;
export const ID_NAME = /(^id([ _-]|$))|(id|uuid|guid|key)$/i;
/** Label values that read like churn, to suggest one for --positive. */
export const CHURN_WORD = /churn|exit|attrit|cancel|clos|left|leav|withdr|lost|inactive|gone|quit|lapsed|terminat/i;
export const ROW_NUMBER_NAME = /^(row[ _-]?(number|num|no|nr|index|idx|id)?|index|idx|unnamed: ?0)$/i;

export function cellText(col: Column, i: number): string {
  if (Array.isArray(col)) return col[i].trim();
  const v = col[i];
  return Number.isNaN(v) ? '' : String(v);
}

export function quoteList(values: string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}

export function valueCounts(col: Column, n: number): [string, number][] {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const v = cellText(col, i);
    m.set(v, (m.get(v) ?? 0) + 1);
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

export function seenValues(counts: [string, number][]): string {
  const shown = counts.slice(0, 8).map(([v, c]) => `"${v}" (${c.toLocaleString('en-US')} rows)`).join(', ');
  return counts.length > 8 ? `${shown} and ${counts.length - 8} more` : shown;
}

export function wordOf(s: string): 0 | 1 | null {
  const w = s.toLowerCase();
  if (TRUE_WORDS.has(w)) return 1;
  if (FALSE_WORDS.has(w)) return 0;
  const v = Number(w);
  return w !== '' && (v === 1 || v === 0) ? (v as 0 | 1) : null;
}

/**
 * The 0/1 label of every row. Without `positive`: yes/no, 1/0, true/false (any case); with it: 1 where the
 * value equals `positive` (exactly, else ignoring case), 0 elsewhere. Both classes must occur.
 */
export function readLabel(table: ColumnTable, label: string, opts: { positive?: string; path?: string } = {}): { y: Uint8Array; positive: string | null; note: string } {
  const path = opts.path ?? 'table';
  const col = table.columns[label];
  if (!col) throw new CohortlabError('MISSING_COLUMN', `${path} has no label column "${label}"; it has: ${table.names.join(', ')}. Pass --label with one of them.`, { path });
  const n = table.rows;
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (cellText(col, i) === '') throw new CohortlabError('BAD_ROWS', `${path} row ${i + 2}: label "${label}" is blank; every row needs a label (drop unlabelled rows before training).`, { path: `${path}:${i + 2}` });
  }
  const counts = valueCounts(col, n);
  let positive: string | null = null;
  if (opts.positive === undefined) {
    const unreadable = counts.filter(([v]) => wordOf(v) === null);
    if (unreadable.length) {
      if (unreadable.length < counts.length) {
        // Mostly yes/no with a stray value: name the first row that has it.
        let row = 0;
        while (wordOf(cellText(col, row)) !== null) row++;
        throw new CohortlabError('BAD_ROWS', `${path} row ${row + 2}: label "${label}" is "${cellText(col, row)}"; it must be Yes/No, 1/0 or true/false (values seen: ${seenValues(counts)}), or name the churn value with --positive VALUE.`, { path: `${path}:${row + 2}` });
      }
      const suggest = (counts.find(([v]) => CHURN_WORD.test(v)) ?? counts[counts.length - 1])[0];
      throw new CohortlabError('BAD_ARGUMENT', `label "${label}" of ${path} has values ${seenValues(counts)}, which are not yes/no, 1/0 or true/false; name the churn value with --positive, e.g. --positive "${suggest}".`, { path });
    }
    for (let i = 0; i < n; i++) y[i] = wordOf(cellText(col, i)) as number;
  } else {
    const want = opts.positive.trim();
    const exact = counts.find(([v]) => v === want);
    const loose = exact ?? counts.find(([v]) => v.toLowerCase() === want.toLowerCase());
    if (!loose) throw new CohortlabError('BAD_ARGUMENT', `--positive "${opts.positive}" is not a value of label "${label}" in ${path}; its values are ${seenValues(counts)}.`, { path });
    positive = loose[0];
    for (let i = 0; i < n; i++) y[i] = cellText(col, i) === positive ? 1 : 0;
  }
  let churned = 0;
  for (let i = 0; i < n; i++) churned += y[i];
  if (churned === 0 || churned === n) {
    throw new CohortlabError('BAD_ARGUMENT', `label "${label}" of ${path} has one class only (${churned === 0 ? 'no churner' : 'every row churned'}; values seen: ${seenValues(counts)}); a churn model needs churners and stayers${positive === null ? ', or name the churn value with --positive VALUE' : ''}.`, { path });
  }
  const others = counts.filter(([v]) => (positive === null ? wordOf(v) === 0 : v !== positive)).map(([v]) => v);
  const churnValues = counts.filter(([v]) => (positive === null ? wordOf(v) === 1 : v === positive)).map(([v]) => v);
  const note = `churn = ${quoteList(churnValues)}${positive === null ? '' : ' (--positive)'}: ${churned.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} rows (${((100 * churned) / n).toFixed(1)}%); stayed = ${quoteList(others.slice(0, 6))}${others.length > 6 ? ` and ${others.length - 6} more` : ''}`;
  return { y, positive, note };
}

/** The label as 0/1 (yes/no words, or `positive`); kept for callers of the first version. */
export function parseLabel(table: ColumnTable, label: string, path = 'table', positive?: string): Uint8Array {
  return readLabel(table, label, { positive, path }).y;
}

export function parseNumber(s: string): number {
  const t = s.trim();
  if (t === '') return NaN;
  const v = Number(t);
  return Number.isFinite(v) ? v : Number.NaN;
}

/** Numeric view of a column (text parsed), or null when some non-blank text is not a number. */
export function numericView(col: Column): Float64Array | null {
  if (!Array.isArray(col)) return Float64Array.from(col as ArrayLike<number>);
  const out = new Float64Array(col.length);
  let nonBlank = 0;
  for (let i = 0; i < col.length; i++) {
    const s = col[i];
    if (s.trim() === '') {
      out[i] = NaN;
      continue;
    }
    nonBlank++;
    const v = parseNumber(s);
    if (Number.isNaN(v)) return null;
    out[i] = v;
  }
  return nonBlank > 0 ? out : null;
}

/** Key facts of a column for the identifier rules. */
export interface KeyFacts {
  /** Every value non-blank and distinct. */
  distinct: boolean;
  /** Values are numbers (or text that parses as numbers). */
  numeric: boolean;
  integers: boolean;
  /** Strictly increasing in file order. */
  increasing: boolean;
  levels: number;
  nonBlank: number;
}

export function keyFacts(col: Column, n: number): KeyFacts {
  const num = numericView(col);
  const seen = new Set<string>();
  let nonBlank = 0;
  for (let i = 0; i < n; i++) {
    const v = cellText(col, i);
    if (v === '') continue;
    nonBlank++;
    seen.add(v);
  }
  let integers = num !== null;
  let increasing = num !== null;
  if (num) {
    for (let i = 0; i < n; i++) {
      if (!Number.isInteger(num[i])) integers = false;
      if (i > 0 && !(num[i] > num[i - 1])) increasing = false;
    }
  }
  return { distinct: nonBlank === n && seen.size === n && n > 1, numeric: num !== null, integers, increasing: increasing && integers, levels: seen.size, nonBlank };
}

/** Named like an id or a row number (such columns are read as text, so an id keeps its leading zeros). */
export function looksLikeKeyName(name: string): boolean {
  return ID_NAME.test(name) || ROW_NUMBER_NAME.test(name);
}

export function isRowNumber(name: string, f: KeyFacts): boolean {
  return f.distinct && f.integers && (f.increasing || ROW_NUMBER_NAME.test(name));
}

export function isIdCandidate(f: KeyFacts): boolean {
  return f.distinct && (!f.numeric || f.integers);
}

export function describeKey(name: string, col: Column, f: KeyFacts, n: number): string {
  if (isRowNumber(name, f)) {
    const first = cellText(col, 0);
    const last = cellText(col, n - 1);
    return `row number (distinct integers ${first}..${last}${f.increasing ? ' increasing in file order' : ''})`;
  }
  if (ID_NAME.test(name)) return `named like an id, ${f.numeric ? 'a distinct integer' : 'a distinct value'} on every row`;
  return 'a distinct text value on every row';
}

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** ROC-AUC of a score against 0/1 labels (ties count one half: the Mann-Whitney U / (n1 n0)); NaN when a class is missing. */
export function columnAuc(score: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = score.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[a] - score[b]);
  let pos = 0;
  let rankSum = 0;
  for (let k = 0; k < n; ) {
    let j = k;
    while (j + 1 < n && score[order[j + 1]] === score[order[k]]) j++;
    const mid = (k + j) / 2 + 1;
    for (let t = k; t <= j; t++) {
      if (y[order[t]] === 1) {
        pos++;
        rankSum += mid;
      }
    }
    k = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}
