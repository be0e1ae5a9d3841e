import { readFile } from 'node:fs/promises';
import { CohortlabError, internalError } from '../shared/errors.js';
import type { ColumnResult } from '../shared/duckdb.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { readTable, readTableBlocks, writeTable, type Column, type ColumnTable } from '../shared/table-io.js';
import { inactivityDays, validateConfig, type EventStore } from '../ingest/index.js';
import type { EventConfig } from '../ingest/index.js';
import { deriveFeatures, deriveLabel } from './compute.js';
import { BASE_FEATURES, featureDictionary } from './dictionary.js';
import { featureQuery, labelQuery, multiFeatureQuery, type CutoffWindow } from './sql.js';
import { asSource, type EventSource } from '../engine/index.js';
import type { FeatureDefinition, FeatureTable } from './types.js';
import type { DataWarning } from './profile.js';
import { horizonCoverage, latestCoveredAsOf } from './horizon.js';
import { writeFileAtomic } from '../shared/atomic.js';

export type { FeatureTable, FeatureDefinition } from './types.js';
export { CHURN_TARGET, computeTargetLabels, targetLabelQuery, targetTitle, withTargetLabels, type TargetKind, type TargetLabels, type TargetSpec } from './target.js';
export { CHURN_OUTCOME, outcomeNames, type OutcomeNames } from './outcome.js';
export { BASE_FEATURES, featureDictionary, featureNames, cumulativeFeatures, MILESTONE_PREFIX, RECENCY_FEATURE } from './dictionary.js';
export { featureQuery, featureRelationSql, labelQuery, multiFeatureQuery, FLAG_COLUMNS, type CutoffWindow } from './sql.js';
export { latestCoveredAsOf, horizonCoverage, horizonToleranceMs, HORIZON_TOLERANCE_SHARE } from './horizon.js';
export { profileEvents, formatProfile, featureWindowDays, PROFILE_LIMITS, type DataProfile, type DataWarning, type DataWarningCode, type ProfileOptions } from './profile.js';

const DAY_MS = 86_400_000;

/** The cutoff instant of an inclusive as-of date: 00:00 UTC of the next day. */
export function cutoffOf(asOf: string): number {
  const ms = Date.parse(`${asOf}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf) || Number.isNaN(ms)) throw new CohortlabError('BAD_ARGUMENT', `as-of date must be YYYY-MM-DD, got "${asOf}".`);
  return ms + DAY_MS;
}

export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function isoInstant(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : String(ms);
}

export interface FeatureOptions {
  asOf: string;
  /** Label horizon in days after the cutoff; the data must cover it. */
  horizonDays?: number;
  logger?: Logger;
}

/**
 * features: one row per user with activity before the cutoff, every feature of the dictionary,
 * plus the churn label when a horizon is asked for.
 */
export async function computeFeatures(events: EventStore | EventSource, opts: FeatureOptions): Promise<FeatureTable> {
  const logger = opts.logger ?? silentLogger;
  const started = performance.now();
  const store = asSource(events);
  const { config } = store;
  const cutoffMs = cutoffOf(opts.asOf);
  const window = labelWindow(store, opts);
  const res = await store.query(featureQuery(config, store.dialect, { cutoffMs, source: store.relation }));
  if (res.rows === 0) throw noEventsBefore(store, opts.asOf);
  const table = tableFromAggregates(res, config, opts.asOf, cutoffMs);
  if (window) {
    const lab = await store.query(labelQuery(config, store.dialect, { cutoffMs, ...window, source: store.relation }));
    const labelUsers = lab.columns[0] as string[];
    if (labelUsers.length !== table.userIds.length || labelUsers.some((u, i) => u !== table.userIds[i])) throw internalError('label users do not line up with feature users');
    table.label = deriveLabel(lab.columns[1] as Float64Array, lab.columns[2] as Float64Array);
    table.horizonDays = opts.horizonDays;
  }
  logFeatureTable(logger, table, (performance.now() - started) / 1000);
  return table;
}

/**
 * Users per part of the multi-cutoff pass in DuckDB: past it, the users are cut into ranges of user_id and the pass
 * runs once per range. Its per-user aggregates (session lists, distinct days, latest plans) are held in memory for
 * every user of a statement at once: a million users under `--memory-limit 2GB` ran out of memory in one statement
 * and in ranges of 250,000 users, and ran in ranges of 100,000 (16.8-19.6 s each).
 */
export const PARTITION_USERS = 100_000;

/**
 * multiFeatureQuery's rows, ordered by cut then user_id: in one statement, or, in DuckDB with more than `partitionUsers`
 * users, one statement per range of user_id (bounds at quantiles of the distinct ids), each range's rows of a cut
 * following the previous range's, so the same rows in the same order.
 */
async function multiCutoffRows(store: EventSource, windows: CutoffWindow[], partitionUsers: number): Promise<ColumnResult> {
  const query = (source: string) => store.query(multiFeatureQuery(store.config, store.dialect, { cutoffs: windows, source }));
  const parts = store.engine === 'duckdb' ? Math.ceil(store.report.users / partitionUsers) : 1;
  if (parts <= 1) return query(store.relation);
  const probs = Array.from({ length: parts - 1 }, (_, k) => (k + 1) / parts);
  const q = await store.query(`SELECT unnest(quantile_disc(user_id, [${probs.join(', ')}])) AS b FROM (SELECT DISTINCT user_id FROM ${store.relation} AS src) AS u`);
  const bounds = [...new Set(q.columns[0] as string[])];
  const ranges = [null, ...bounds].map((lo, k) => {
    const hi = k < bounds.length ? bounds[k] : null;
    const where = [lo === null ? null : `user_id >= ${store.dialect.quoteString(lo)}`, hi === null ? null : `user_id < ${store.dialect.quoteString(hi)}`].filter(Boolean).join(' AND ');
    return `(SELECT * FROM ${store.relation} AS src WHERE ${where})`;
  });
  const results: ColumnResult[] = [];
  for (const source of ranges) results.push(await query(source));
  return concatByCut(results);
}

/** Rows of several results ordered by cut, interleaved: every result's rows of the first cut, then of the next. */
function concatByCut(results: ColumnResult[]): ColumnResult {
  const names = results[0].names;
  const cutAt = names.indexOf('cut');
  // the row ranges of each cut in each result
  const spans: { r: number; start: number; end: number; cut: number }[] = [];
  results.forEach((res, r) => {
    const cut = res.columns[cutAt] as Float64Array;
    for (let start = 0; start < res.rows;) {
      let end = start;
      while (end < res.rows && cut[end] === cut[start]) end++;
      spans.push({ r, start, end, cut: cut[start] });
      start = end;
    }
  });
  spans.sort((a, b) => a.cut - b.cut || a.r - b.r);
  const rows = spans.reduce((n, s) => n + s.end - s.start, 0);
  const columns = names.map((_, j) => {
    const first = results[0].columns[j];
    if (Array.isArray(first)) return spans.flatMap((s) => (results[s.r].columns[j] as unknown[]).slice(s.start, s.end));
    const out = new (first.constructor as Float64ArrayConstructor)(rows);
    let at = 0;
    for (const s of spans) {
      out.set((results[s.r].columns[j] as Float64Array).subarray(s.start, s.end), at);
      at += s.end - s.start;
    }
    return out;
  });
  return { names, columns, rows } as ColumnResult;
}

/**
 * computeFeatures at several cutoffs, reading the events in one statement (sql.ts multiFeatureQuery) instead of
 * once per cutoff: the tables in the order asked, each equal to computeFeatures' at its cutoff (label included).
 * A cutoff asked twice with different horizons is computed on its own the second time.
 */
export async function computeFeaturesAtCutoffs(events: EventStore | EventSource, cutoffs: FeatureOptions[], opts: { logger?: Logger; partitionUsers?: number } = {}): Promise<FeatureTable[]> {
  const logger = opts.logger ?? silentLogger;
  const started = performance.now();
  const store = asSource(events);
  const { config } = store;
  const byCut = new Map<number, { asOf: string; horizonDays?: number; window: CutoffWindow['label'] }>();
  for (const c of cutoffs) {
    const cutoffMs = cutoffOf(c.asOf);
    const window = labelWindow(store, c);
    if (!byCut.has(cutoffMs)) byCut.set(cutoffMs, { asOf: c.asOf, horizonDays: c.horizonDays, window });
  }
  const windows: CutoffWindow[] = [...byCut].map(([cutoffMs, c]) => ({ cutoffMs, ...(c.window ? { label: c.window } : {}) }));
  const res = await multiCutoffRows(store, windows, opts.partitionUsers ?? PARTITION_USERS);
  const cutColumn = res.columns[res.names.indexOf('cut')] as Float64Array;
  const tables = new Map<number, FeatureTable>();
  const seconds = (performance.now() - started) / 1000;
  for (let start = 0; start < res.rows;) {
    let end = start;
    while (end < res.rows && cutColumn[end] === cutColumn[start]) end++;
    const cutoffMs = cutColumn[start] * 1000;
    const c = byCut.get(cutoffMs);
    if (!c) throw internalError(`multi-cutoff features returned an unknown cutoff ${cutoffMs}`);
    const rows: ColumnResult = { names: res.names, columns: res.columns.map((col) => col.slice(start, end)), rows: end - start };
    const table = tableFromAggregates(rows, config, c.asOf, cutoffMs);
    if (c.window) {
      const at = (name: string) => rows.columns[rows.names.indexOf(name)] as Float64Array;
      table.label = deriveLabel(at('explicit_churn'), at('recent_events'));
      table.horizonDays = c.horizonDays;
    }
    tables.set(cutoffMs, table);
    start = end;
  }
  const out: FeatureTable[] = [];
  for (const c of cutoffs) {
    const cutoffMs = cutoffOf(c.asOf);
    const first = byCut.get(cutoffMs)!;
    if (first.horizonDays !== c.horizonDays) {
      out.push(await computeFeatures(store, { ...c, logger }));
      continue;
    }
    const table = tables.get(cutoffMs);
    if (!table) throw noEventsBefore(store, c.asOf);
    out.push(table);
  }
  for (const t of new Set(out)) if (tables.has(t.cutoffMs)) logFeatureTable(logger, t, null);
  logger.info(`features: ${byCut.size} cutoffs in one pass over the events; ${seconds.toFixed(2)} s`);
  return out;
}

/** The label window of a cutoff when a horizon is asked for, after checking the data covers it. */
function labelWindow(store: EventSource, opts: FeatureOptions): CutoffWindow['label'] {
  if (opts.horizonDays === undefined) return undefined;
  const cutoffMs = cutoffOf(opts.asOf);
  const inactivity = inactivityDays(store.config);
  if (!Number.isInteger(opts.horizonDays) || opts.horizonDays < 1) throw new CohortlabError('BAD_ARGUMENT', `--horizon-days must be a positive integer, got ${opts.horizonDays}.`);
  const endMs = cutoffMs + opts.horizonDays * DAY_MS;
  // The data must reach the horizon's end instant, not only its last day: a log ending at 02:17 on that day
  // leaves almost all of it unobserved, and "no activity" would only mean "no data" (horizon.ts, issue 17 part 4).
  if (!horizonCoverage(opts.asOf, opts.horizonDays, store.report.lastEventMs, inactivity).covered) {
    const latest = latestCoveredAsOf(store.report.lastEventMs, opts.horizonDays, inactivity);
    throw new CohortlabError(
      'HORIZON_NOT_COVERED',
      `a ${opts.horizonDays}-day horizon after ${opts.asOf} ends at ${isoInstant(endMs)}, but the last event is at ${isoInstant(store.report.lastEventMs)}; pick --as-of ${latest} or earlier, or a shorter --horizon-days.`,
    );
  }
  return { endMs, quietFromMs: endMs - Math.min(inactivity, opts.horizonDays) * DAY_MS };
}

function noEventsBefore(store: EventSource, asOf: string): CohortlabError {
  return new CohortlabError('EMPTY_INPUT', `no events before the cutoff ${asOf} (events span ${isoDate(store.report.firstEventMs)} .. ${isoDate(store.report.lastEventMs)}); pick a later --as-of.`);
}

/** The one-line summary of a feature table; `seconds` null when it was computed with others. */
function logFeatureTable(logger: Logger, table: FeatureTable, seconds: number | null): void {
  const churnedBefore = table.alreadyChurned.reduce((s, v) => s + v, 0);
  const labelled = table.label ? `; churned within ${table.horizonDays} days: ${table.label.reduce((s, v) => s + v, 0).toLocaleString('en-US')}` : '';
  const time = seconds === null ? '' : `; ${seconds.toFixed(2)} s`;
  logger.info(`features: ${table.userIds.length.toLocaleString('en-US')} users as of ${table.asOf} (events before ${new Date(table.cutoffMs).toISOString()}), ${Object.keys(table.columns).length} features; already churned at the cutoff: ${churnedBefore.toLocaleString('en-US')}${labelled}${time}`);
}

function tableFromAggregates(res: ColumnResult, config: EventConfig, asOf: string, cutoffMs: number): FeatureTable {
  const num: Record<string, Float64Array> = {};
  let userIds: string[] = [];
  let plan: string[] = [];
  res.names.forEach((name, i) => {
    if (name === 'user_id') userIds = res.columns[i] as string[];
    else if (name === 'plan') plan = res.columns[i] as string[];
    else num[name] = res.columns[i] as Float64Array;
  });
  const { columns, alreadyChurned } = deriveFeatures({ rows: res.rows, num, plan }, config, inactivityDays(config));
  return { asOf, cutoffMs, userIds, columns, plan, alreadyChurned, config };
}

/**
 * The same features as computeFeatures, without the label, yielded in blocks of about `blockRows`
 * users (batch scoring of millions of users with bounded memory).
 */
export async function* computeFeatureBlocks(events: EventStore | EventSource, opts: { asOf: string; blockRows: number }): AsyncGenerator<FeatureTable> {
  const cutoffMs = cutoffOf(opts.asOf);
  const store = asSource(events);
  let any = false;
  for await (const block of store.stream(featureQuery(store.config, store.dialect, { cutoffMs, source: store.relation }), opts.blockRows)) {
    any = true;
    yield tableFromAggregates(block, store.config, opts.asOf, cutoffMs);
  }
  if (!any) throw new CohortlabError('EMPTY_INPUT', `no events before the cutoff ${opts.asOf}; pick a later --as-of.`);
}

export interface FeatureFileMeta {
  asOf: string;
  cutoffMs: number;
  horizonDays?: number;
  config?: EventConfig;
  dictionary: FeatureDefinition[];
  generatedBy: string;
  /** The data checks of `cohortlab profile` at this cutoff (features command). */
  warnings?: DataWarning[];
}

/** Writes `user_id`, the features, `plan`, `already_churned` and `churned` (when labelled), plus `<path>.meta.json`. */
export async function writeFeatureTable(path: string, table: FeatureTable, warnings?: DataWarning[]): Promise<void> {
  const names = ['user_id', ...Object.keys(table.columns), 'plan', 'already_churned'];
  const columns: Record<string, Column> = { user_id: table.userIds, ...table.columns, plan: table.plan, already_churned: table.alreadyChurned };
  if (table.label) {
    names.push('churned');
    columns.churned = table.label;
  }
  await writeTable(path, { rows: table.userIds.length, names, columns });
  const meta: FeatureFileMeta = {
    asOf: table.asOf,
    cutoffMs: table.cutoffMs,
    horizonDays: table.horizonDays,
    config: table.config,
    dictionary: table.config ? featureDictionary(table.config) : [...BASE_FEATURES],
    generatedBy: 'cohortlab features',
    ...(warnings ? { warnings } : {}),
  };
  await writeFileAtomic(`${path}.meta.json`, `${JSON.stringify(meta, null, 2)}\n`);
}

async function readMeta(path: string): Promise<FeatureFileMeta | undefined> {
  try {
    return JSON.parse(await readFile(`${path}.meta.json`, 'utf8')) as FeatureFileMeta;
  } catch {
    return undefined;
  }
}

/** Rows `offset`.. of a features file as a FeatureTable; names the column and row of any empty or non-numeric feature. */
function featureTableFromColumns(t: ColumnTable, meta: FeatureFileMeta | undefined, path: string, offset = 0): FeatureTable {
  if (!t.columns.user_id) throw new CohortlabError('MISSING_COLUMN', `features file "${path}" has no user_id column; its columns are: ${t.names.join(', ')}.`, { path });
  const columns: Record<string, Float64Array> = {};
  for (const name of t.names) {
    if (['user_id', 'plan', 'already_churned', 'churned'].includes(name)) continue;
    const c = t.columns[name];
    if (Array.isArray(c)) continue;
    const f = c as Float64Array;
    for (let i = 0; i < f.length; i++) {
      if (Number.isNaN(f[i])) throw new CohortlabError('BAD_FEATURE', `features file "${path}": column "${name}" is empty or not a number at data row ${offset + i + 1} (user ${(t.columns.user_id as string[])[i]}).`, { path });
    }
    columns[name] = f;
  }
  const toFlags = (c: Column | undefined) => (c ? Uint8Array.from(c as Float64Array, (v) => (v > 0 ? 1 : 0)) : undefined);
  const userIds = t.columns.user_id as string[];
  const table: FeatureTable = {
    asOf: meta?.asOf ?? '',
    cutoffMs: meta?.cutoffMs ?? NaN,
    userIds,
    columns,
    plan: (t.columns.plan as string[] | undefined) ?? userIds.map(() => ''),
    alreadyChurned: toFlags(t.columns.already_churned) ?? new Uint8Array(userIds.length),
    config: meta?.config ? validateConfig(meta.config, `"${path}.meta.json"`) : undefined,
  };
  const label = toFlags(t.columns.churned);
  if (label) {
    table.label = label;
    table.horizonDays = meta?.horizonDays;
  }
  return table;
}

/**
 * Reads a features file (ours, or any per-user table with a `user_id` column and numeric features).
 * The `.meta.json` beside it, when present, restores the as-of date, horizon and config.
 */
export async function readFeatureTable(path: string): Promise<FeatureTable> {
  return featureTableFromColumns(await readTable(path), await readMeta(path), path);
}

/** A features file in blocks of about `blockRows` users, in file order. */
export async function* readFeatureTableBlocks(path: string, blockRows: number): AsyncGenerator<FeatureTable> {
  const meta = await readMeta(path);
  let offset = 0;
  for await (const block of readTableBlocks(path, blockRows)) {
    yield featureTableFromColumns(block, meta, path, offset);
    offset += block.rows;
  }
}

/** Markdown of the feature dictionary (docs/features.md is this text for the synthetic preset). */
export function dictionaryMarkdown(config: EventConfig): string {
  const rows = featureDictionary(config).map((f) => `| \`${f.name}\` | ${f.definition} | ${f.window} | ${f.unit} | ${f.playbook} |`);
  return [
    `# Feature dictionary (${config.name})`,
    '',
    'Generated by `cohortlab features --dictionary`; every window counts whole UTC days before the cutoff (00:00 UTC after the as-of date).',
    '',
    '| feature | definition | window | unit | playbook |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

