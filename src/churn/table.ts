/**
 * The per-user table path (`train --table FILE --label COLUMN`): read through DuckDB (shared
 * readTable), inspect (label, id, identifiers, duplicates), split stratified and seeded with duplicate
 * groups kept whole, encode (encode.ts, fitted on training rows only, leak check included), and hand
 * back FeatureTables so trainChurn treats both paths alike.
 */
import type { FeatureTable } from '../features/types.js';
import { CohortlabError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { silentLogger } from '../shared/log.js';
import { readTable, readTableBlocks, type ColumnTable } from '../shared/table-io.js';
import { applyTableEncoding, fitTableEncoding, inspectTable, type EncodeReport, type TableEncoding, type TableEncodingOptions, type TableWarning } from './encode.js';
import { looksLikeKeyName } from './encode-columns.js';
import { stratifiedSplit } from './table-split.js';

export interface ChurnTableSplit {
  train: FeatureTable;
  valid: FeatureTable;
  test: FeatureTable;
  features: string[];
  encoding: TableEncoding;
  report: EncodeReport;
  /** Warnings of the table checks ({ code, message }), also in report.warnings. */
  warnings: TableWarning[];
  /** Human lines for the report (roles, blanks, imputation, capped levels, duplicates, split sizes). */
  notes: string[];
}

/** The encoding's options (--id, --positive, --drop, --keep-leaky, levels) and the split's. */
export interface ChurnTableOptions extends Omit<TableEncodingOptions, 'path'> {
  seed: number;
  testShare?: number;
  validShare?: number;
  logger?: Logger;
}

function subset(userIds: string[], columns: Record<string, Float64Array>, label: Uint8Array, rows: Uint32Array, name: string): FeatureTable {
  const cols: Record<string, Float64Array> = {};
  for (const [k, v] of Object.entries(columns)) cols[k] = Float64Array.from(rows, (i) => v[i]);
  return {
    asOf: name,
    cutoffMs: NaN,
    userIds: Array.from(rows, (i) => userIds[i]),
    columns: cols,
    plan: new Array<string>(rows.length).fill(''),
    alreadyChurned: new Uint8Array(rows.length),
    label: Uint8Array.from(rows, (i) => label[i]),
  };
}

/** The roles as aligned lines: name, role, train AUC, reason. */
export function formatColumnRoles(report: EncodeReport): string[] {
  const w = Math.max(...report.columns.map((c) => c.name.length));
  return report.columns.map((c) => `  ${c.name.padEnd(w)}  ${c.role.padEnd(7)}  ${c.trainAuc === undefined ? ''.padEnd(13) : `train AUC ${c.trainAuc.toFixed(2)}`}  ${c.reason}`);
}

/** Encodes and splits an in-memory table (pure apart from logging). */
export function splitChurnTable(table: ColumnTable, opts: ChurnTableOptions, path = 'table'): ChurnTableSplit {
  const logger = opts.logger ?? silentLogger;
  const encOpts = { label: opts.label, idColumn: opts.idColumn, positive: opts.positive, drop: opts.drop, keepLeaky: opts.keepLeaky, maxLevels: opts.maxLevels, path };
  const inspection = inspectTable(table, encOpts);
  const y = inspection.y;
  const split = stratifiedSplit(y, { seed: opts.seed, testShare: opts.testShare, validShare: opts.validShare, groups: inspection.groupOf });
  const { encoding, report } = fitTableEncoding(table, { ...encOpts, trainRows: split.train, inspection });
  if (encoding.features.length === 0) {
    const why = report.columns.filter((c) => c.role === 'dropped').map((c) => `${c.name} (${c.reason.split(':')[0]})`);
    throw new CohortlabError('BAD_ARGUMENT', `${path} has no feature column left for a model: ${why.length ? `dropped ${why.join(', ')}` : `only the label${encoding.idColumn ? ` and the id ${encoding.idColumn}` : ''}`}; give a table with columns that describe the customers${why.some((w) => w.includes('(leak')) ? ', or --keep-leaky' : ''}.`, { path });
  }
  const enc = applyTableEncoding(encoding, table, path);
  const notes: string[] = [];
  notes.push(report.idNote);
  notes.push(`label: ${opts.label}: ${report.labelNote}`);
  for (const [col, n] of Object.entries(report.blanks)) {
    const c = encoding.columns.find((e) => e.source === col);
    const med = c && c.type === 'numeric' ? c.median : NaN;
    notes.push(`${col}: ${n} blank value(s) imputed with the training median ${med} (a 0/1 ${col}__blank column marks them).`);
  }
  const dropped = report.columns.filter((c) => c.role === 'dropped');
  if (dropped.length) notes.push(`not used as features: ${dropped.map((c) => `${c.name} (${c.reason.split(':')[0]})`).join(', ')}.`);
  if (report.cappedColumns.length) notes.push(`levels beyond the ${encoding.maxLevels} most frequent mapped to __other in: ${report.cappedColumns.join(', ')}.`);
  notes.push(report.leakNote);
  const d = report.duplicates;
  notes.push(d.rows ? `exact duplicate rows: ${d.rows} repeat another row (${d.groups} group(s)); each group is on one side of the split.` : `exact duplicate rows: none (compared on ${d.comparedColumns.length} columns: all but the identifiers).`);
  notes.push(`stratified seeded split (seed ${opts.seed}): ${split.train.length} train / ${split.valid.length} validation / ${split.test.length} test rows; churn rate ${(report.labelCounts.churned / report.rows * 100).toFixed(2)}% overall.`);
  logger.info(`columns of ${path} (${table.names.length}; ${encoding.features.length} model features):`);
  for (const line of formatColumnRoles(report)) logger.info(line);
  for (const n of notes) logger.info(n);
  for (const w of report.warnings) logger.warn(`${w.code}: ${w.message}`);
  return {
    train: subset(enc.userIds, enc.columns, y, split.train, 'train'),
    valid: subset(enc.userIds, enc.columns, y, split.valid, 'validation'),
    test: subset(enc.userIds, enc.columns, y, split.test, 'test'),
    features: encoding.features,
    encoding,
    report,
    warnings: report.warnings,
    notes,
  };
}

/**
 * Reads a per-user table with the named columns as text when they are in it (a Yes/No label stays "Yes",
 * an id such as 00123 keeps its zeros), besides the usual user_id and *_id columns.
 */
export async function readPerUserTable(path: string, textColumns: (string | null | undefined)[], opts: { keyNames?: boolean } = {}): Promise<ColumnTable> {
  // The header from the first block only, so the table itself is read once.
  const blocks = readTableBlocks(path, 1);
  let names: string[] = [];
  try {
    const first = await blocks.next();
    if (!first.done) names = first.value.names;
  } finally {
    await blocks.return(undefined);
  }
  const present = new Set(names);
  const want = [...textColumns, ...(opts.keyNames ? names.filter(looksLikeKeyName) : [])].filter((c): c is string => typeof c === 'string' && present.has(c));
  if (!want.length) return readTable(path);
  const usual = names.filter((n) => n === 'user_id' || /(^|_)id$/i.test(n));
  return readTable(path, { textColumns: [...new Set([...usual, ...want])] });
}

/**
 * Reads a CSV/Parquet per-user table via DuckDB and splits it for training. The label, the id and every
 * column named like an id are read as text: a detected id keys the scores exactly as written (numbers in
 * text are still numeric features where a column is one).
 */
export async function readChurnTable(path: string, opts: ChurnTableOptions): Promise<ChurnTableSplit> {
  const table = await readPerUserTable(path, [opts.label, opts.idColumn], { keyNames: true });
  return splitChurnTable(table, opts, path);
}

/** Encodes a table for scoring with a saved model's encoding (same columns as in training; rows keyed by its id column). */
export function encodeTableForScoring(encoding: TableEncoding, table: ColumnTable, path = 'table'): { userIds: string[]; columns: Record<string, Float64Array> } {
  return applyTableEncoding(encoding, table, path);
}
