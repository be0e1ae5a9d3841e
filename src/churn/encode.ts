/**
 * Per-user tables (one row per customer, e.g. a warehouse extract such as IBM's Telco table) to
 * model features. Pure: takes a ColumnTable already read (table.ts does the I/O).
 *
 * Rules, all learned on the TRAINING rows only and saved in `TableEncoding` so scoring repeats them:
 * - label: Yes/No, 1/0, true/false (any case); anything else is an error naming the row.
 * - id: `idColumn`, else the first text column named like *id whose values are all distinct; never a feature.
 * - numeric columns as they are; text columns whose non-blank values all parse as numbers (Telco's
 *   TotalCharges) are numeric too. Blank numbers are imputed with the training median, and a 0/1
 *   `<col>__blank` column is added when the training rows had blanks, so the model can learn what a blank means.
 * - other text columns are one-hot encoded: the `maxLevels` most frequent training levels (ties by
 *   name) each get a `<col>=<level>` 0/1 column; rarer or unseen levels set `<col>=__other`.
 * - a stratified, seeded split: `testShare` of each class for testing, then `validShare` of the rest for validation.
 */
import { CohortlabError } from '../shared/errors.js';
import { createRng, permutation } from '../shared/rng.js';
import type { ColumnTable } from '../shared/table-io.js';

export type EncodedColumn =
  | { source: string; type: 'numeric'; feature: string; median: number; blankFeature: string | null }
  | { source: string; type: 'categorical'; levels: string[]; otherFeature: string | null };

export interface TableEncoding {
  label: string;
  idColumn: string | null;
  maxLevels: number;
  columns: EncodedColumn[];
  /** Output feature names in model order. */
  features: string[];
}

export interface EncodeReport {
  rows: number;
  /** Blank numeric values per source column (over all rows), imputed with the training median. */
  blanks: Record<string, number>;
  /** Text columns left out (ids). */
  droppedColumns: string[];
  /** Categorical columns whose rarer levels went to `__other`. */
  cappedColumns: string[];
  labelCounts: { churned: number; stayed: number };
}

const OTHER = '__other';
const TRUE_WORDS = new Set(['yes', 'y', 'true', 't', '1']);
const FALSE_WORDS = new Set(['no', 'n', 'false', 'f', '0']);

export function parseLabel(table: ColumnTable, label: string, path = 'table'): Uint8Array {
  const col = table.columns[label];
  if (!col) throw new CohortlabError('MISSING_COLUMN', `${path} has no label column "${label}"; it has: ${table.names.join(', ')}. Pass --label with one of them.`, { path });
  const y = new Uint8Array(table.rows);
  for (let i = 0; i < table.rows; i++) {
    const v = col[i];
    if (typeof v === 'number') {
      if (v === 1 || v === 0) y[i] = v;
      else throw new CohortlabError('BAD_ROWS', `${path} row ${i + 2}: label "${label}" is ${v}; it must be Yes/No, 1/0 or true/false.`, { path: `${path}:${i + 2}` });
    } else {
      const w = String(v).trim().toLowerCase();
      if (TRUE_WORDS.has(w)) y[i] = 1;
      else if (FALSE_WORDS.has(w)) y[i] = 0;
      else throw new CohortlabError('BAD_ROWS', `${path} row ${i + 2}: label "${label}" is "${v}"; it must be Yes/No, 1/0 or true/false.`, { path: `${path}:${i + 2}` });
    }
  }
  return y;
}

function parseNumber(s: string): number {
  const t = s.trim();
  if (t === '') return NaN;
  const v = Number(t);
  return Number.isFinite(v) ? v : Number.NaN;
}

/** Numeric view of a column (text parsed), or null when some non-blank text is not a number. */
function numericView(col: ColumnTable['columns'][string]): Float64Array | null {
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

function detectId(table: ColumnTable, label: string): string | null {
  for (const n of table.names) {
    if (n === label || !/id$/i.test(n)) continue;
    const c = table.columns[n];
    if (Array.isArray(c) && new Set(c).size === c.length) return n;
  }
  return null;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fitTableEncoding(table: ColumnTable, opts: { label: string; idColumn?: string; maxLevels?: number; trainRows: ArrayLike<number>; path?: string }): { encoding: TableEncoding; report: EncodeReport } {
  const path = opts.path ?? 'table';
  const maxLevels = opts.maxLevels ?? 20;
  if (opts.idColumn && !table.columns[opts.idColumn]) throw new CohortlabError('MISSING_COLUMN', `${path} has no id column "${opts.idColumn}"; it has: ${table.names.join(', ')}.`, { path });
  const idColumn = opts.idColumn ?? detectId(table, opts.label);
  const y = parseLabel(table, opts.label, path);
  let churned = 0;
  for (let i = 0; i < y.length; i++) churned += y[i];
  const columns: EncodedColumn[] = [];
  const features: string[] = [];
  const report: EncodeReport = { rows: table.rows, blanks: {}, droppedColumns: [], cappedColumns: [], labelCounts: { churned, stayed: table.rows - churned } };
  for (const name of table.names) {
    if (name === opts.label) continue;
    if (name === idColumn) {
      report.droppedColumns.push(name);
      continue;
    }
    const col = table.columns[name];
    const num = numericView(col);
    if (num) {
      let blanks = 0;
      for (let i = 0; i < num.length; i++) if (Number.isNaN(num[i])) blanks++;
      const trainVals: number[] = [];
      let trainBlanks = 0;
      for (let k = 0; k < opts.trainRows.length; k++) {
        const v = num[opts.trainRows[k]];
        if (Number.isNaN(v)) trainBlanks++;
        else trainVals.push(v);
      }
      if (blanks > 0) report.blanks[name] = blanks;
      const blankFeature = trainBlanks > 0 ? `${name}__blank` : null;
      columns.push({ source: name, type: 'numeric', feature: name, median: median(trainVals), blankFeature });
      features.push(name);
      if (blankFeature) features.push(blankFeature);
      continue;
    }
    const text = col as string[];
    const freq = new Map<string, number>();
    for (let k = 0; k < opts.trainRows.length; k++) {
      const v = text[opts.trainRows[k]].trim();
      freq.set(v, (freq.get(v) ?? 0) + 1);
    }
    const ranked = [...freq.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([v]) => v);
    const levels = ranked.slice(0, maxLevels).sort();
    // An all-distinct text column (a second id) carries no reusable signal.
    if (freq.size === opts.trainRows.length && opts.trainRows.length > maxLevels) {
      report.droppedColumns.push(name);
      continue;
    }
    const capped = ranked.length > maxLevels;
    if (capped) report.cappedColumns.push(name);
    columns.push({ source: name, type: 'categorical', levels, otherFeature: `${name}=${OTHER}` });
    for (const l of levels) features.push(`${name}=${l}`);
    features.push(`${name}=${OTHER}`);
  }
  return { encoding: { label: opts.label, idColumn, maxLevels, columns, features }, report };
}

/** Applies a fitted encoding to any table with the same source columns (the label is optional here). */
export function applyTableEncoding(enc: TableEncoding, table: ColumnTable, path = 'table'): { userIds: string[]; columns: Record<string, Float64Array>; label: Uint8Array | null } {
  const n = table.rows;
  const out: Record<string, Float64Array> = {};
  for (const c of enc.columns) {
    const col = table.columns[c.source];
    if (!col) throw new CohortlabError('MISSING_COLUMN', `${path} lacks column "${c.source}", which the model was trained on; provide it (blank values are imputed).`, { path });
    if (c.type === 'numeric') {
      const num = numericView(col);
      if (!num) throw new CohortlabError('BAD_ROWS', `${path}: column "${c.source}" has text that is not a number; the model was trained on it as numeric.`, { path });
      const v = new Float64Array(n);
      const b = c.blankFeature ? new Float64Array(n) : null;
      for (let i = 0; i < n; i++) {
        const isBlank = Number.isNaN(num[i]);
        v[i] = isBlank ? c.median : num[i];
        if (b) b[i] = isBlank ? 1 : 0;
      }
      out[c.feature] = v;
      if (b && c.blankFeature) out[c.blankFeature] = b;
    } else {
      const text = Array.isArray(col) ? col : Array.from(col as ArrayLike<number>, String);
      const cols = c.levels.map(() => new Float64Array(n));
      const other = new Float64Array(n);
      const index = new Map(c.levels.map((l, k) => [l, k]));
      for (let i = 0; i < n; i++) {
        const k = index.get(text[i].trim());
        if (k === undefined) other[i] = 1;
        else cols[k][i] = 1;
      }
      c.levels.forEach((l, k) => (out[`${c.source}=${l}`] = cols[k]));
      if (c.otherFeature) out[c.otherFeature] = other;
    }
  }
  const ids = enc.idColumn && table.columns[enc.idColumn] ? Array.from(table.columns[enc.idColumn] as ArrayLike<unknown>, String) : Array.from({ length: n }, (_, i) => `row${i + 1}`);
  const label = table.columns[enc.label] ? parseLabel(table, enc.label, path) : null;
  return { userIds: ids, columns: out, label };
}

/** Seeded stratified split of row indices: test share of each class, then a validation share of the rest. Each list ascending. */
export function stratifiedSplit(y: Uint8Array, opts: { seed: number; testShare?: number; validShare?: number }): { train: Uint32Array; valid: Uint32Array; test: Uint32Array } {
  const testShare = opts.testShare ?? 0.2;
  const validShare = opts.validShare ?? 0.2;
  if (!(testShare > 0 && testShare < 1) || !(validShare > 0 && validShare < 1)) {
    throw new CohortlabError('BAD_ARGUMENT', `stratifiedSplit: testShare ${testShare} and validShare ${validShare} must both be in (0, 1).`);
  }
  const rng = createRng(opts.seed);
  const train: number[] = [];
  const valid: number[] = [];
  const test: number[] = [];
  for (const cls of [0, 1]) {
    const rows: number[] = [];
    for (let i = 0; i < y.length; i++) if (y[i] === cls) rows.push(i);
    const p = permutation(rows.length, rng);
    const nTest = Math.round(testShare * rows.length);
    const nValid = Math.round(validShare * (rows.length - nTest));
    for (let k = 0; k < rows.length; k++) {
      const r = rows[p[k]];
      if (k < nTest) test.push(r);
      else if (k < nTest + nValid) valid.push(r);
      else train.push(r);
    }
  }
  const asc = (a: number[]) => Uint32Array.from(a.sort((u, v) => u - v));
  return { train: asc(train), valid: asc(valid), test: asc(test) };
}
