/**
 * The per-user table path (`train --table FILE --label COLUMN`): read through DuckDB (shared
 * readTable), encode (encode.ts, fitted on training rows only), split stratified and seeded, and
 * hand back FeatureTables so trainChurn treats both paths alike.
 */
import type { FeatureTable } from '../features/types.js';
import type { Logger } from '../shared/log.js';
import { silentLogger } from '../shared/log.js';
import { readTable, type ColumnTable } from '../shared/table-io.js';
import { applyTableEncoding, fitTableEncoding, parseLabel, stratifiedSplit, type EncodeReport, type TableEncoding } from './encode.js';

export interface ChurnTableSplit {
  train: FeatureTable;
  valid: FeatureTable;
  test: FeatureTable;
  features: string[];
  encoding: TableEncoding;
  report: EncodeReport;
  /** Human lines for the report (blanks, imputation, capped levels, split sizes). */
  notes: string[];
}

export interface ChurnTableOptions {
  label: string;
  idColumn?: string;
  /** Most frequent levels kept per text column (default 20). */
  maxLevels?: number;
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

/** Encodes and splits an in-memory table (pure apart from logging). */
export function splitChurnTable(table: ColumnTable, opts: ChurnTableOptions, path = 'table'): ChurnTableSplit {
  const logger = opts.logger ?? silentLogger;
  const y = parseLabel(table, opts.label, path);
  const split = stratifiedSplit(y, { seed: opts.seed, testShare: opts.testShare, validShare: opts.validShare });
  const { encoding, report } = fitTableEncoding(table, { label: opts.label, idColumn: opts.idColumn, maxLevels: opts.maxLevels, trainRows: split.train, path });
  const enc = applyTableEncoding(encoding, table, path);
  const notes: string[] = [];
  for (const [col, n] of Object.entries(report.blanks)) {
    const c = encoding.columns.find((e) => e.source === col);
    const med = c && c.type === 'numeric' ? c.median : NaN;
    notes.push(`${col}: ${n} blank value(s) imputed with the training median ${med} (a 0/1 ${col}__blank column marks them).`);
  }
  if (report.droppedColumns.length) notes.push(`not used as features (ids): ${report.droppedColumns.join(', ')}.`);
  if (report.cappedColumns.length) notes.push(`levels beyond the ${encoding.maxLevels} most frequent mapped to __other in: ${report.cappedColumns.join(', ')}.`);
  notes.push(`stratified seeded split (seed ${opts.seed}): ${split.train.length} train / ${split.valid.length} validation / ${split.test.length} test rows; churn rate ${(report.labelCounts.churned / report.rows * 100).toFixed(2)}% overall.`);
  for (const n of notes) logger.info(n);
  return {
    train: subset(enc.userIds, enc.columns, y, split.train, 'train'),
    valid: subset(enc.userIds, enc.columns, y, split.valid, 'validation'),
    test: subset(enc.userIds, enc.columns, y, split.test, 'test'),
    features: encoding.features,
    encoding,
    report,
    notes,
  };
}

/** Reads a CSV/Parquet per-user table via DuckDB and splits it for training. */
export async function readChurnTable(path: string, opts: ChurnTableOptions): Promise<ChurnTableSplit> {
  const table = await readTable(path);
  return splitChurnTable(table, opts, path);
}

/** Encodes a table for scoring with a saved model's encoding (same columns as in training). */
export function encodeTableForScoring(encoding: TableEncoding, table: ColumnTable, path = 'table'): { userIds: string[]; columns: Record<string, Float64Array> } {
  const { userIds, columns } = applyTableEncoding(encoding, table, path);
  return { userIds, columns };
}
