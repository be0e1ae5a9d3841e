import { createHmac } from 'node:crypto';
import { computeFeatureBlocks, cumulativeFeatures, RECENCY_FEATURE } from '../features/index.js';
import type { EventSource } from '../engine/index.js';
import { driftReport, type DriftReport } from '../evaluate/index.js';
import { segmentChanges, SEGMENT_COLUMN_PREFIX, type SegmentChange, type Snapshot } from '../rules/index.js';
import { previousSnapshot, pruneHistory, type ModelStore, type SnapshotMemberIds, type SnapshotRecord, SNAPSHOT_FORMAT } from '../registry/index.js';
import { CohortlabError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { pseudonym, saltFingerprint } from '../shared/pseudonym.js';
import { asReadTable, concatTables, type ColumnTable, type WritableTable } from '../shared/table-io.js';
import { readDriftReference, RULE_SCORE_COLUMNS } from './drift-reference.js';
import { loadScoringModel, type LoadedModel } from './load.js';
import { ltvScorerAt, readLtvArtifact, withLtvColumns } from './ltv-baseline.js';
import { scoreResultTable } from './score.js';

/**
 * `cohortlab refresh` (issue 21 part 1): score the whole current population as of a date with a trained
 * version (features, every rule column, the cluster, the model's probability, the LTV columns: the `score`
 * table), and append it to the model's history as a dated snapshot. Beside the rows it records the sizes of
 * every tracked column, the drift against the version's training snapshot, and the users whose segment,
 * lifecycle stage or cluster changed since the previous snapshot (playbook §10: "static segments" and
 * "ignoring segment transitions" are the anti-patterns this answers). Refreshing a date again replaces
 * its snapshot (idempotent); `keep` prunes the oldest.
 */

/** Text columns whose changes are events (§9.2 transitions, `--changes`, webhooks), besides every `segment_*` column. */
export const TRACKED_COLUMNS = ['behavioral_segment', 'lifecycle_stage', 'cluster_label'] as const;
/** Columns whose sizes the history keeps too (tiers and RFM move more often; they are not sent as changes by default). */
export const SIZE_COLUMNS = ['engagement_tier', 'activation_tier', 'expansion_readiness_tier', 'churn_risk_tier', 'rfm_segment'] as const;
/** How a `segment_*` (0/1) column reads in sizes and changes. */
export const IN_SEGMENT = 'in';
export const OUT_OF_SEGMENT = 'out';

export interface RefreshOptions {
  models: ModelStore;
  ref?: string;
  /** The events, opened by the caller (files through DuckDB, or the warehouse). */
  source: EventSource;
  asOf: string;
  /** Columns whose changes are records (default: TRACKED_COLUMNS and every segment_* column). */
  track?: string[];
  /** Keep the newest N snapshots (older ones are removed after the write). */
  keep?: number;
  /** The pseudonymization salt (COHORTLAB_PSEUDONYM_SALT), needed for a `--pseudonymize` model. */
  salt?: string;
  blockRows?: number;
  reasons?: number;
  logger?: Logger;
  /** An already loaded version (the server keeps one); else `ref` is loaded. */
  model?: LoadedModel;
}

export interface RefreshResult {
  record: SnapshotRecord;
  replaced: boolean;
  /** The changes since `record.previous`, in the form that may leave cohortlab; null when the model stores no ids (keyed history) or for the first snapshot. */
  changes: SegmentChange[] | null;
  /** Snapshots removed by the retention setting. */
  pruned: string[];
  /** The scored table as stored (ids in the history's mode). */
  table: ColumnTable;
  model: LoadedModel;
  seconds: number;
}


/** A column of a stored table as labels: text as is, a segment_* 0/1 column as in/out, other numbers as text. */
export function labelsOf(t: ColumnTable, name: string): string[] {
  const c = t.columns[name];
  if (!c) throw new CohortlabError('MISSING_COLUMN', `the snapshot has no column "${name}"; its columns: ${t.names.join(', ')}.`);
  if (Array.isArray(c)) return c;
  if (name.startsWith(SEGMENT_COLUMN_PREFIX)) return Array.from(c, (v) => (v === 1 ? IN_SEGMENT : OUT_OF_SEGMENT));
  return Array.from(c, (v) => (Number.isNaN(v) ? '' : String(v)));
}

export function trackedColumns(t: ColumnTable, track?: string[]): string[] {
  const wanted = track ?? [...TRACKED_COLUMNS, ...t.names.filter((n) => n.startsWith(SEGMENT_COLUMN_PREFIX))];
  const missing = wanted.filter((n) => !t.columns[n]);
  if (track && missing.length) throw new CohortlabError('BAD_ARGUMENT', `--track names columns the scored table lacks: ${missing.join(', ')}; it has: ${t.names.join(', ')}.`);
  return wanted.filter((n) => t.columns[n]);
}

export function columnSizes(t: ColumnTable, names: readonly string[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const n of names) {
    if (!t.columns[n]) continue;
    const counts: Record<string, number> = {};
    for (const v of labelsOf(t, n)) counts[v] = (counts[v] ?? 0) + 1;
    out[n] = Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
  }
  return out;
}

export function snapshotOf(t: ColumnTable, asOf: string, tracked: readonly string[]): Snapshot {
  const ids = t.columns.user_id;
  if (!ids || !Array.isArray(ids)) throw new CohortlabError('MISSING_COLUMN', `the snapshot of ${asOf} has no user_id column.`);
  return { asOf, userIds: ids, columns: Object.fromEntries(tracked.filter((c) => t.columns[c]).map((c) => [c, labelsOf(t, c)])) };
}

/** User ids as the history stores them, by the model's privacy mode (history.ts). */
async function historyIds(model: LoadedModel, models: ModelStore, ids: string[], salt?: string): Promise<{ ids: string[]; mode: SnapshotMemberIds }> {
  const mode = model.manifest.memberIds ?? 'none';
  if (mode === 'raw') return { ids, mode: 'raw' };
  if (mode === 'pseudonymized') {
    if (!salt) throw new CohortlabError('BAD_ARGUMENT', `${model.label} stores pseudonymized ids: set COHORTLAB_PSEUDONYM_SALT to the salt it was trained with, so snapshots join to its members.`);
    if (model.manifest.saltFingerprint && saltFingerprint(salt) !== model.manifest.saltFingerprint) {
      throw new CohortlabError('BAD_ARGUMENT', `COHORTLAB_PSEUDONYM_SALT is not the salt ${model.label} was trained with (fingerprints differ): the snapshot's pseudonyms would not match its members.`);
    }
    return { ids: ids.map((id) => pseudonym(id, salt)), mode: 'pseudonymized' };
  }
  const key = await models.history(model.name).joinKey();
  return { ids: ids.map((id) => `k_${createHmac('sha256', key).update(id, 'utf8').digest('hex').slice(0, 24)}`), mode: 'keyed' };
}

/** Scores every user of the source as of `asOf` (the `score` table with LTV columns) and the model's features for drift. */
async function scorePopulation(model: LoadedModel, models: ModelStore, source: EventSource, asOf: string, opts: { blockRows: number; reasons: number; logger: Logger }) {
  const ltvStored = await readLtvArtifact(models, model);
  const ltv = ltvStored ? await ltvScorerAt(source, ltvStored, asOf) : null;
  const scored: WritableTable[] = [];
  const features: ColumnTable[] = [];
  let n = 0;
  for await (const block of computeFeatureBlocks(source, { asOf, blockRows: opts.blockRows })) {
    scored.push(withLtvColumns(scoreResultTable(await model.score(block, { reasons: opts.reasons }), { reasons: opts.reasons }), ltv ? ltv(block.userIds) : null));
    features.push({ rows: block.userIds.length, names: model.featureNames, columns: block.columns });
    n += block.userIds.length;
    opts.logger.progress('refresh: scoring users', n, source.report.users);
  }
  return { table: concatTables(scored), features: concatTables(features).columns as Record<string, Float64Array> };
}

/**
 * Drift of a scored population against the version's training snapshot, over the users live at each date (not
 * already churned: the model's population; drift-reference.ts); null when the version stored no reference.
 */
export async function driftOf(model: LoadedModel, models: ModelStore, current: { asOf: string; table: WritableTable; features: Record<string, ArrayLike<number>> }): Promise<DriftReport | null> {
  const reference = await readDriftReference(models, model);
  if (!reference) return null;
  const probability = model.parts.probabilityColumn ?? 'churn_probability';
  const churned = current.table.columns.already_churned as ArrayLike<number> | undefined;
  const live: number[] = [];
  for (let i = 0; i < current.table.rows; i++) if (!churned || churned[i] !== 1) live.push(i);
  const pick = (c: ArrayLike<number>) => Float64Array.from(live, (i) => c[i]);
  const currentColumns: Record<string, ArrayLike<number>> = {};
  for (const [f, c] of Object.entries(current.features)) currentColumns[f] = pick(c);
  for (const c of [probability, ...RULE_SCORE_COLUMNS]) {
    const col = current.table.columns[c];
    if (col && ArrayBuffer.isView(col)) currentColumns[c] = pick(col);
  }
  return driftReport(
    { asOf: reference.asOf, users: reference.table.rows, columns: reference.table.columns as Record<string, ArrayLike<number>>, source: `${model.label} training snapshot, live users` },
    { asOf: current.asOf, users: live.length, columns: currentColumns },
    { features: model.featureNames, prediction: probability, ruleScores: RULE_SCORE_COLUMNS, cumulative: cumulativeFeatures(model.config), calendar: [RECENCY_FEATURE] },
  );
}

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The as-of a refresh without a date scores: the last complete UTC day before `nowMs`, but never past the
 * source's last event day (a static file keeps its date instead of making everyone look gone).
 */
export function defaultRefreshAsOf(source: EventSource, nowMs = Date.now()): string {
  const yesterday = isoDay(Math.floor(nowMs / DAY_MS) * DAY_MS - DAY_MS);
  const last = source.report.lastEventMs;
  if (!Number.isFinite(last)) return yesterday;
  const lastDay = isoDay(last);
  return lastDay < yesterday ? lastDay : yesterday;
}

export async function refreshModel(opts: RefreshOptions): Promise<RefreshResult> {
  const logger = opts.logger ?? silentLogger;
  const t0 = performance.now();
  const model = opts.model ?? (await loadScoringModel(opts.models, opts.ref, { logger }));
  const history = opts.models.history(model.name);
  const scored = await scorePopulation(model, opts.models, opts.source, opts.asOf, { blockRows: opts.blockRows ?? 50_000, reasons: opts.reasons ?? 3, logger });
  const members = await historyIds(model, opts.models, scored.table.columns.user_id as string[], opts.salt);
  // stored with its native types; compared, counted and returned as readTable gives it back (numbers, reasons as JSON text)
  const stored: WritableTable = { ...scored.table, columns: { ...scored.table.columns, user_id: members.ids } };
  const table = asReadTable(stored);
  const tracked = trackedColumns(table, opts.track);
  const previous = await previousSnapshot(history, opts.asOf);
  let changes: SegmentChange[] | null = null;
  if (previous) {
    const before = await history.readTable(previous);
    const prevRecord = await history.read(previous);
    if (prevRecord.member_ids !== members.mode) {
      throw new CohortlabError('MODEL_INCOMPATIBLE', `the snapshot of ${previous} stores ids as ${prevRecord.member_ids}, ${model.label} as ${members.mode}: they cannot be joined. Keep one privacy mode per model name, or start a new name.`);
    }
    changes = segmentChanges(snapshotOf(before, previous, tracked.filter((c) => before.columns[c])), snapshotOf(table, opts.asOf, tracked), tracked.filter((c) => before.columns[c]));
  }
  const drift = await driftOf(model, opts.models, { asOf: opts.asOf, table, features: scored.features });
  const record: Omit<SnapshotRecord, 'file'> = {
    format: SNAPSHOT_FORMAT,
    as_of: opts.asOf,
    created_at: new Date().toISOString(),
    model: { name: model.name, version: model.version },
    users: table.rows,
    already_churned: (table.columns.already_churned as Float64Array).reduce((s, v) => s + (v === 1 ? 1 : 0), 0),
    member_ids: members.mode,
    source: opts.source.location,
    previous,
    changes: changes ? changes.length : null,
    sizes: columnSizes(table, [...tracked, ...SIZE_COLUMNS.filter((c) => !tracked.includes(c))]),
    drift,
  };
  const { replaced } = await history.write(record, stored);
  const written = await history.read(opts.asOf);
  const pruned = opts.keep ? await pruneHistory(history, opts.keep) : [];
  return {
    record: written,
    replaced,
    changes: members.mode === 'keyed' ? null : changes,
    pruned,
    table,
    model,
    seconds: (performance.now() - t0) / 1000,
  };
}
