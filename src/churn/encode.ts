/**
 * Per-user tables (one row per customer, e.g. a warehouse extract such as IBM's Telco table) to
 * model features. Pure: takes a ColumnTable already read (table.ts does the I/O).
 *
 *   inspectTable (label-free decisions, and the label itself; no split needed)
 *     1. label: Yes/No, 1/0, true/false (any case) read automatically; any other values need
 *        `positive` (the churn value; every other value = stayed); a blank label is an error naming the row.
 *     2. `drop`: columns the caller leaves out (unknown names are an error listing the columns).
 *     3. id: `idColumn`, else detected (rules below); scores are keyed by it. Other identifiers are dropped.
 *     4. identifier-like columns (more than maxLevels levels and more than NEAR_UNIQUE_SHARE of the rows distinct:
 *        text such as a surname, or integers named like an id such as a student id repeated over enrolments)
 *        and constant columns are dropped, with a warning for the identifier-like ones.
 *     5. exact duplicate rows (every column but the identifiers equal, label included) are grouped,
 *        so the split keeps each group on one side.
 *   fitTableEncoding (on the TRAINING rows only; saved in `TableEncoding` so scoring repeats it)
 *     6. numeric columns as they are; text columns whose non-blank values all parse as numbers (Telco's
 *        TotalCharges) are numeric too. Blank numbers are imputed with the training median, and a 0/1
 *        `<col>__blank` column is added when the training rows had blanks, so the model can learn what a blank means.
 *     7. other text columns are one-hot encoded: the `maxLevels` most frequent training levels (ties by
 *        name) each get a `<col>=<level>` 0/1 column; rarer or unseen levels set `<col>=__other`.
 *     8. leak check: a column whose values alone separate the label on the training rows (ROC-AUC of the
 *        column, or of its blank flag, or of its one-hot levels ordered by training churn rate, above
 *        LEAK_AUC or below 1 - LEAK_AUC) is dropped with a warning, unless `keepLeaky`; it runs when the
 *        training rows hold LEAK_MIN_CLASS churners and stayers or more.
 *   stratifiedSplit: seeded, stratified by label, `testShare` of each class for testing, then
 *   `validShare` of the rest for validation; duplicate groups go to one side whole.
 *
 * Id detection (when no id is given), among the columns other than the label and `drop`, whose values are
 * all non-blank and distinct, and either text or integers:
 *   a. the first one named like an id (ends in id/uuid/guid/key, or starts with id_, any case: customerID, CustomerId,
 *      user_id, id_student) that is not a row number;
 *   b. else the first distinct text column (e.g. an e-mail);
 *   c. else the first row number; else none: rows are keyed row1, row2, ... and a warning says so.
 * A row number is a column of distinct integers that increase in file order (RowNumber = 1..n), or is
 * named like one (RowNumber, row_id, index, "Unnamed: 0"). Identifiers that are not the id (a row number,
 * a second id-named distinct column, distinct text) are dropped as features with the reason.
 *
 * Files: encode.ts inspectTable, fitTableEncoding, applyTableEncoding; encode-columns.ts the column
 * facts and the label; table-split.ts stratifiedSplit.
 */
import { CohortlabError } from '../shared/errors.js';
import type { ColumnTable } from '../shared/table-io.js';
import {
  ID_NAME,
  LEAK_AUC,
  LEAK_MIN_CLASS,
  NEAR_UNIQUE_SHARE,
  OTHER,
  cellText,
  columnAuc,
  describeKey,
  isIdCandidate,
  isRowNumber,
  keyFacts,
  median,
  numericView,
  quoteList,
  readLabel,
  type KeyFacts,
} from './encode-columns.js';

export type EncodedColumn =
  | { source: string; type: 'numeric'; feature: string; median: number; blankFeature: string | null }
  | { source: string; type: 'categorical'; levels: string[]; otherFeature: string | null };

export interface TableEncoding {
  label: string;
  /** The churn value of the label when it is not yes/no, 1/0, true/false (`--positive`); null = read automatically. */
  positive?: string | null;
  /** The column that keys the rows (scores); null = rows are keyed row1, row2, ... */
  idColumn: string | null;
  maxLevels: number;
  columns: EncodedColumn[];
  /** Output feature names in model order. */
  features: string[];
}

/** What became of every column of the table (printed, and kept in report.json as `table.columns`). */
export type TableColumnRole = 'label' | 'id' | 'numeric' | 'one-hot' | 'dropped';
export interface TableColumnReport {
  name: string;
  role: TableColumnRole;
  reason: string;
  /** Features: ROC-AUC of the column alone on the training rows (one-hot: levels ordered by training churn rate). */
  trainAuc?: number;
}

/** Warning codes of the table checks (docs/errors.md, "Warnings"). */
export type TableWarningCode = 'TABLE_NO_ID' | 'TABLE_IDENTIFIER_LIKE_DROPPED' | 'TABLE_LEAKY_COLUMN_DROPPED' | 'TABLE_LEAKY_COLUMN_KEPT' | 'TABLE_DUPLICATE_ROWS';
export interface TableWarning {
  code: TableWarningCode;
  message: string;
}

export interface DuplicateReport {
  /** Rows that repeat an earlier row exactly (a group of 3 counts 2). */
  rows: number;
  /** Groups of two or more equal rows. */
  groups: number;
  /** The columns compared (all but the id and the other identifiers). */
  comparedColumns: string[];
  /** Ids of the first few groups, for the reader to look at. */
  examples: string[][];
}

export interface EncodeReport {
  rows: number;
  /** Blank numeric values per source column (over all rows), imputed with the training median. */
  blanks: Record<string, number>;
  /** Columns left out of the features (ids, identifiers, --drop, constant, leaks). */
  droppedColumns: string[];
  /** Categorical columns whose rarer levels went to `__other`. */
  cappedColumns: string[];
  labelCounts: { churned: number; stayed: number };
  /** Every column's role, in table order. */
  columns: TableColumnReport[];
  duplicates: DuplicateReport;
  warnings: TableWarning[];
  /** How the id was chosen (given, detected and why, or none). */
  idNote: string;
  /** How the label was read. */
  labelNote: string;
  /** What the leak check did (or why it could not run). */
  leakNote: string;
}

export interface TableEncodingOptions {
  label: string;
  idColumn?: string;
  /** The label value that means churned (any label); without it only yes/no, 1/0, true/false are read. */
  positive?: string;
  /** Columns left out of the features. */
  drop?: string[];
  /** Keep columns that fail the leak check (a warning still says so). */
  keepLeaky?: boolean;
  /** Most frequent levels kept per text column (default 20). */
  maxLevels?: number;
  path?: string;
}

/** What inspectTable decided before any split. */
export interface TableInspection {
  label: string;
  positive: string | null;
  y: Uint8Array;
  labelNote: string;
  idColumn: string | null;
  idNote: string;
  /** Columns with a role decided before the split (label, id, dropped), by name. */
  decided: Map<string, { role: TableColumnRole; reason: string }>;
  /** Feature candidates, in table order (the leak check still applies). */
  candidates: string[];
  /** Duplicate group of each row (rows of one group share the number). */
  groupOf: Int32Array;
  duplicates: DuplicateReport;
  warnings: TableWarning[];
  maxLevels: number;
}

/**
 * Decisions that need no split: the label, the id, identifiers, `drop`, constant and identifier-like
 * columns, and the exact duplicate groups. Everything decided is explained in `decided` and `warnings`.
 */
export function inspectTable(table: ColumnTable, opts: TableEncodingOptions): TableInspection {
  const path = opts.path ?? 'table';
  const maxLevels = opts.maxLevels ?? 20;
  const n = table.rows;
  const { y, positive, note: labelNote } = readLabel(table, opts.label, { positive: opts.positive, path });
  const drop = [...new Set((opts.drop ?? []).map((d) => d.trim()).filter((d) => d !== ''))];
  const unknown = drop.filter((d) => !table.columns[d]);
  if (unknown.length) throw new CohortlabError('MISSING_COLUMN', `--drop names ${unknown.length === 1 ? 'a column' : 'columns'} ${quoteList(unknown)} that ${path} lacks; its columns are: ${table.names.join(', ')}.`, { path });
  if (drop.includes(opts.label)) throw new CohortlabError('BAD_ARGUMENT', `--drop names the label "${opts.label}"; the label is never a feature: leave it out of --drop.`, { path });
  if (opts.idColumn !== undefined && drop.includes(opts.idColumn)) throw new CohortlabError('BAD_ARGUMENT', `--drop names the id column "${opts.idColumn}" given with --id; the id is never a feature: leave it out of --drop.`, { path });
  const decided = new Map<string, { role: TableColumnRole; reason: string }>();
  const warnings: TableWarning[] = [];
  decided.set(opts.label, { role: 'label', reason: labelNote });
  for (const d of drop) decided.set(d, { role: 'dropped', reason: 'dropped by --drop' });

  const facts = new Map<string, KeyFacts>();
  for (const name of table.names) if (name !== opts.label && !drop.includes(name)) facts.set(name, keyFacts(table.columns[name], n));

  let idColumn: string | null;
  let idNote: string;
  let idWhy = '';
  if (opts.idColumn !== undefined) {
    const col = table.columns[opts.idColumn];
    if (!col) throw new CohortlabError('MISSING_COLUMN', `${path} has no id column "${opts.idColumn}" (--id); it has: ${table.names.join(', ')}.`, { path });
    if (opts.idColumn === opts.label) throw new CohortlabError('BAD_ARGUMENT', `--id "${opts.idColumn}" is the label column; give the column that names each customer.`, { path });
    const first = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const v = cellText(col, i);
      if (v === '') throw new CohortlabError('BAD_ARGUMENT', `--id "${opts.idColumn}" is blank on ${path} row ${i + 2}; scores keyed by it could not be joined back: give a column with a value on every row.`, { path: `${path}:${i + 2}` });
      const prev = first.get(v);
      if (prev !== undefined) throw new CohortlabError('BAD_ARGUMENT', `--id "${opts.idColumn}" repeats "${v}" on ${path} rows ${prev + 2} and ${i + 2}; an id must name one row: give a column whose values are all distinct.`, { path: `${path}:${i + 2}` });
      first.set(v, i);
    }
    idColumn = opts.idColumn;
    idWhy = 'given with --id';
    idNote = `id: ${idColumn} (${idWhy})`;
  } else {
    const names = [...facts.keys()];
    const named = names.find((c) => isIdCandidate(facts.get(c)!) && ID_NAME.test(c) && !isRowNumber(c, facts.get(c)!));
    const text = names.find((c) => facts.get(c)!.distinct && !facts.get(c)!.numeric);
    const rowNumber = names.find((c) => isRowNumber(c, facts.get(c)!));
    idColumn = named ?? text ?? rowNumber ?? null;
    if (idColumn) {
      const f = facts.get(idColumn)!;
      const why = idColumn === named ? `named like an id, ${f.numeric ? 'distinct integers' : 'distinct values'} on all ${n.toLocaleString('en-US')} rows` : idColumn === text ? `the first column with a distinct text value on every row (none is named like an id)` : `a row number, the only column with a distinct value on every row`;
      idWhy = `detected: ${why}`;
      idNote = `id: ${idColumn} (${idWhy}; pass --id COLUMN to choose another)`;
    } else {
      idNote = `id: none detected (no column has a distinct value on every row); scores are keyed row1, row2, ... in file order: pass --id COLUMN to key them by a column`;
      warnings.push({ code: 'TABLE_NO_ID', message: `${path}: no column identifies the rows (none has a distinct value on every row), so scores are keyed row1, row2, ... in file order; pass --id COLUMN to key them by a column.` });
    }
  }
  if (idColumn) decided.set(idColumn, { role: 'id', reason: `${idWhy}; scores are keyed by it` });

  // Identifiers that are not the id: never features, and left out of the duplicate comparison.
  const identifiers = new Set<string>(idColumn ? [idColumn] : []);
  const candidates: string[] = [];
  for (const name of table.names) {
    if (decided.has(name)) continue;
    const f = facts.get(name)!;
    const col = table.columns[name];
    if (isRowNumber(name, f) || (isIdCandidate(f) && ID_NAME.test(name)) || (f.distinct && !f.numeric && n > maxLevels)) {
      identifiers.add(name);
      decided.set(name, { role: 'dropped', reason: `identifier: ${describeKey(name, col, f, n)}; not a feature${idColumn ? ` (the id is ${idColumn})` : ''}` });
      continue;
    }
    if (f.levels + (f.nonBlank < n ? 1 : 0) <= 1) {
      decided.set(name, { role: 'dropped', reason: `constant: every row is ${f.nonBlank === 0 ? 'blank' : `"${cellText(col, 0)}"`}` });
      continue;
    }
    if ((!f.numeric || (f.integers && ID_NAME.test(name))) && f.levels > maxLevels && f.levels / Math.max(1, f.nonBlank) > NEAR_UNIQUE_SHARE) {
      const share = (100 * f.levels) / Math.max(1, f.nonBlank);
      const why = `identifier-like ${f.numeric ? 'number named like an id' : 'text'}: ${f.levels.toLocaleString('en-US')} distinct values over ${f.nonBlank.toLocaleString('en-US')} rows (${share.toFixed(1)}% unique; more than ${maxLevels} levels and over ${100 * NEAR_UNIQUE_SHARE}% unique: under ${Math.round(1 / NEAR_UNIQUE_SHARE)} rows per level, too few to learn a level from)`;
      decided.set(name, { role: 'dropped', reason: why });
      warnings.push({ code: 'TABLE_IDENTIFIER_LIKE_DROPPED', message: `column ${name} of ${path} dropped as ${why}; pass --drop to silence this, or recode it into fewer levels to use it.` });
      continue;
    }
    candidates.push(name);
  }

  // Exact duplicates: every column but the identifiers, label included.
  const compared = table.names.filter((c) => !identifiers.has(c));
  const groupIndex = new Map<string, number>();
  const groupOf = new Int32Array(n);
  const sizes: number[] = [];
  const firstRow: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = compared.map((c) => cellText(table.columns[c], i)).join('\u001f');
    let g = groupIndex.get(key);
    if (g === undefined) {
      g = sizes.length;
      groupIndex.set(key, g);
      sizes.push(0);
      firstRow.push(i);
    }
    sizes[g]++;
    groupOf[i] = g;
  }
  let dupRows = 0;
  let dupGroups = 0;
  const examples: string[][] = [];
  const keyOf = (i: number) => (idColumn ? cellText(table.columns[idColumn], i) : `row${i + 1}`);
  for (let g = 0; g < sizes.length; g++) {
    if (sizes[g] < 2) continue;
    dupRows += sizes[g] - 1;
    dupGroups++;
    if (examples.length < 3) {
      const rows: string[] = [];
      for (let i = firstRow[g]; i < n && rows.length < sizes[g]; i++) if (groupOf[i] === g) rows.push(keyOf(i));
      examples.push(rows);
    }
  }
  const duplicates: DuplicateReport = { rows: dupRows, groups: dupGroups, comparedColumns: compared, examples };
  if (dupRows > 0) {
    warnings.push({
      code: 'TABLE_DUPLICATE_ROWS',
      message: `${path}: ${dupRows.toLocaleString('en-US')} row(s) repeat another row exactly (${dupGroups.toLocaleString('en-US')} group(s); every column but ${identifiers.size ? [...identifiers].join(', ') : 'none'} equal, label included; e.g. ${examples.map((e) => e.join(' = ')).join('; ')}); each group is kept on one side of the train/validation/test split.`,
    });
  }
  return { label: opts.label, positive, y, labelNote, idColumn, idNote, decided, candidates, groupOf, duplicates, warnings, maxLevels };
}

function leakText(auc: number): string {
  return auc >= 0.5 ? `${auc.toFixed(3)} > ${LEAK_AUC}` : `${auc.toFixed(3)} < ${(1 - LEAK_AUC).toFixed(2)}`;
}

function isLeak(auc: number): boolean {
  return auc > LEAK_AUC || auc < 1 - LEAK_AUC;
}

export function fitTableEncoding(
  table: ColumnTable,
  opts: TableEncodingOptions & { trainRows: ArrayLike<number>; inspection?: TableInspection },
): { encoding: TableEncoding; report: EncodeReport } {
  const path = opts.path ?? 'table';
  const insp = opts.inspection ?? inspectTable(table, opts);
  const maxLevels = insp.maxLevels;
  const y = insp.y;
  const trainY = Uint8Array.from(opts.trainRows as ArrayLike<number>, (i) => y[i]);
  let churned = 0;
  for (let i = 0; i < y.length; i++) churned += y[i];
  const columns: EncodedColumn[] = [];
  const features: string[] = [];
  const warnings = [...insp.warnings];
  const roles = new Map(insp.decided);
  const aucs = new Map<string, number>();
  const report: EncodeReport = {
    rows: table.rows,
    blanks: {},
    droppedColumns: [],
    cappedColumns: [],
    labelCounts: { churned, stayed: table.rows - churned },
    columns: [],
    duplicates: insp.duplicates,
    warnings,
    idNote: insp.idNote,
    labelNote: insp.labelNote,
    leakNote: '',
  };
  let trainChurned = 0;
  for (let j = 0; j < trainY.length; j++) trainChurned += trainY[j];
  const canCheck = Math.min(trainChurned, trainY.length - trainChurned) >= LEAK_MIN_CLASS;
  report.leakNote = canCheck
    ? `leak check: every feature column's ROC-AUC alone on the ${trainY.length.toLocaleString('en-US')} training rows; beyond ${(1 - LEAK_AUC).toFixed(2)}..${LEAK_AUC} is ${opts.keepLeaky ? 'kept (--keep-leaky) with a warning' : 'dropped with a warning'}.`
    : `leak check: not run (${trainChurned} churners and ${trainY.length - trainChurned} stayers among the training rows; it needs ${LEAK_MIN_CLASS} of each, or chance separations would be dropped).`;
  const leak = (name: string, auc: number, what: string): boolean => {
    if (!canCheck || !isLeak(auc)) return false;
    const msg = `column ${name} of ${path} alone separates the label on the training rows (ROC-AUC of ${what} ${auc.toFixed(3)}, beyond ${(1 - LEAK_AUC).toFixed(2)}..${LEAK_AUC}): likely the label in disguise`;
    if (opts.keepLeaky) {
      warnings.push({ code: 'TABLE_LEAKY_COLUMN_KEPT', message: `${msg}; kept because of --keep-leaky.` });
      return false;
    }
    warnings.push({ code: 'TABLE_LEAKY_COLUMN_DROPPED', message: `${msg}; dropped (pass --keep-leaky to keep it).` });
    roles.set(name, { role: 'dropped', reason: `leak: ROC-AUC ${leakText(auc)} on the training rows (${what}); --keep-leaky keeps it` });
    return true;
  };
  for (const name of insp.candidates) {
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
      const med = median(trainVals);
      const imputed = Float64Array.from(opts.trainRows as ArrayLike<number>, (i) => (Number.isNaN(num[i]) ? med : num[i]));
      const auc = columnAuc(imputed, trainY);
      aucs.set(name, auc);
      if (leak(name, auc, 'its values')) continue;
      if (trainBlanks > 0 && leak(name, columnAuc(Float64Array.from(opts.trainRows as ArrayLike<number>, (i) => (Number.isNaN(num[i]) ? 1 : 0)), trainY), 'its blank flag')) continue;
      if (blanks > 0) report.blanks[name] = blanks;
      const blankFeature = trainBlanks > 0 ? `${name}__blank` : null;
      columns.push({ source: name, type: 'numeric', feature: name, median: med, blankFeature });
      features.push(name);
      if (blankFeature) features.push(blankFeature);
      const parsed = Array.isArray(col) ? 'text parsed as numbers; ' : '';
      roles.set(name, { role: 'numeric', reason: `${parsed}${blanks ? `${blanks} blank(s) imputed with the training median ${med}, flagged by ${name}__blank` : 'no blanks'}` });
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
    // Leak check on what the model would see: the kept levels and __other, ordered by training churn rate.
    const kept = new Set(levels);
    const groupRows = new Map<string, { n: number; churned: number }>();
    const keys = Array.from(opts.trainRows as ArrayLike<number>, (i) => (kept.has(text[i].trim()) ? text[i].trim() : OTHER));
    keys.forEach((k, j) => {
      const g = groupRows.get(k) ?? { n: 0, churned: 0 };
      g.n++;
      g.churned += trainY[j];
      groupRows.set(k, g);
    });
    const auc = columnAuc(Float64Array.from(keys, (k) => groupRows.get(k)!.churned / groupRows.get(k)!.n), trainY);
    aucs.set(name, auc);
    if (leak(name, auc, 'its levels ordered by training churn rate')) continue;
    const capped = ranked.length > maxLevels;
    if (capped) report.cappedColumns.push(name);
    columns.push({ source: name, type: 'categorical', levels, otherFeature: `${name}=${OTHER}` });
    for (const l of levels) features.push(`${name}=${l}`);
    features.push(`${name}=${OTHER}`);
    roles.set(name, { role: 'one-hot', reason: `${levels.length} level(s) + ${OTHER}${capped ? ` (${ranked.length - maxLevels} rarer training level(s) mapped to ${OTHER})` : ''}` });
  }
  for (const name of table.names) {
    const r = roles.get(name);
    if (!r) continue;
    const auc = aucs.get(name);
    report.columns.push({ name, role: r.role, reason: r.reason, ...(auc !== undefined && Number.isFinite(auc) ? { trainAuc: Number(auc.toFixed(4)) } : {}) });
    if (r.role === 'dropped' || r.role === 'id') report.droppedColumns.push(name);
  }
  return { encoding: { label: opts.label, positive: insp.positive, idColumn: insp.idColumn, maxLevels, columns, features }, report };
}

/** Applies a fitted encoding to any table with the same source columns (and the id column, when the model has one). */
export function applyTableEncoding(enc: TableEncoding, table: ColumnTable, path = 'table'): { userIds: string[]; columns: Record<string, Float64Array> } {
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
      const cols = c.levels.map(() => new Float64Array(n));
      const other = new Float64Array(n);
      const index = new Map(c.levels.map((l, k) => [l, k]));
      for (let i = 0; i < n; i++) {
        const k = index.get(cellText(col, i));
        if (k === undefined) other[i] = 1;
        else cols[k][i] = 1;
      }
      c.levels.forEach((l, k) => (out[`${c.source}=${l}`] = cols[k]));
      if (c.otherFeature) out[c.otherFeature] = other;
    }
  }
  let ids: string[];
  if (enc.idColumn) {
    const col = table.columns[enc.idColumn];
    if (!col) throw new CohortlabError('MISSING_COLUMN', `${path} lacks the id column "${enc.idColumn}" that the model keys its scores by; add it (the scores are joined back on it).`, { path });
    ids = Array.from({ length: n }, (_, i) => cellText(col, i));
  } else {
    ids = Array.from({ length: n }, (_, i) => `row${i + 1}`);
  }
  return { userIds: ids, columns: out };
}
