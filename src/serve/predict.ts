import { computeFeatures, type FeatureTable } from '../features/index.js';
import { loadEventRecords } from '../ingest/index.js';
import { CohortlabError, isCohortlabError } from '../shared/errors.js';
import { ltvScorerAt, type LtvColumns, type ScoreResult } from '../pipeline/index.js';
import type { Loaded } from './provider.js';
import { asSource } from '../engine/index.js';
import { JsonBytes, jsonLabel, utf8 } from './json-bytes.js';

/**
 * POST /v1/predict: users given as features are scored directly (a table built from the JSON, no
 * DuckDB); users given as raw events go through the same ingest and feature code as training.
 */
export interface RawEvent {
  timestamp: string | number;
  event: string;
  session_id?: string | number;
  plan?: string;
  value?: number;
  signup?: string | number;
}

export interface PredictUser {
  user_id: string;
  /** The model's features; also the other columns of a `cohortlab features` row (schemas.ts FEATURE_ROW_EXTRAS). */
  features?: Record<string, number | string | boolean | null>;
  events?: RawEvent[];
}

export interface Prediction {
  user_id: string;
  /** Churn models; a `train --target` model answers `upgrade_probability` or `<event>_probability` instead (see below). */
  churn_probability?: number;
  [probability: `${string}_probability`]: number | undefined;
  churn_risk_score: number;
  churn_risk_tier: string;
  engagement_score: number;
  engagement_tier: string;
  activation_score: number;
  activation_tier: string;
  expansion_readiness_score: number;
  expansion_readiness_tier: string;
  behavioral_segment: string;
  lifecycle_stage: string;
  /**
   * 1 when the user had already churned at the cutoff: from events, an explicit churn event or idle past the
   * §3.4 threshold (as `features` computes it); from features, the row's own `already_churned` (a `features` output row) or idle past the threshold (a churn event is not a feature).
   */
  already_churned: number;
  cluster: number;
  cluster_label: string;
  reasons: ScoreResult['reasons'][number];
  as_of?: string;
  /** BG/NBD / Gamma-Gamma (docs/ltv.md): null without an LTV model, for users given as features, or without a purchase before the cutoff. */
  p_alive: number | null;
  expected_purchases: number | null;
  clv: number | null;
}

const DAY_MS = 86_400_000;

/** A feature row's already_churned: 1 (or true) is used; anything else (or none) counts the user as live. */
const churnedFlag = (v: unknown): number => (v === 1 || v === true ? 1 : 0);

export function featureTableFromJson(users: PredictUser[], indices: number[], featureNames: string[]): FeatureTable {
  const n = indices.length;
  const cols = featureNames.map(() => new Float64Array(n));
  // row by row: each user's features object is read once, every feature from it
  for (let i = 0; i < n; i++) {
    const u = indices[i];
    const row = users[u].features;
    for (let k = 0; k < featureNames.length; k++) {
      const v = row?.[featureNames[k]];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        const f = featureNames[k];
        throw new CohortlabError('BAD_FEATURE', v === undefined ? `user ${u} lacks the feature "${f}".` : `feature "${f}" of user ${u} must be a finite number, got ${JSON.stringify(v)}.`, {
          path: `/users/${u}/features/${f}`,
        });
      }
      cols[k][i] = v;
    }
  }
  const columns: Record<string, Float64Array> = Object.fromEntries(featureNames.map((f, k) => [f, cols[k]]));
  // A row of `cohortlab features` output carries its user_id: it must be the user's.
  for (const u of indices) {
    const rowId = users[u].features?.user_id;
    if (rowId !== undefined && rowId !== users[u].user_id) {
      throw new CohortlabError('BAD_ARGUMENT', `user ${u}: features.user_id "${String(rowId)}" differs from user_id "${users[u].user_id}"; send each row under its own user_id.`, { path: `/users/${u}/features/user_id` });
    }
  }
  return {
    asOf: '',
    cutoffMs: NaN,
    userIds: indices.map((u) => users[u].user_id),
    columns,
    plan: indices.map((u) => String(users[u].features?.plan ?? '')),
    // already_churned of a features row is used (lifecycle "Churned"); without it the user counts as live.
    alreadyChurned: Uint8Array.from(indices, (u) => churnedFlag(users[u].features?.already_churned)),
  };
}

/** The body of POST /v1/predict/columns (schemas.ts predictColumnsBodySchema). */
export interface PredictColumns {
  user_id: string[];
  columns: Record<string, (number | string | boolean | null)[]>;
}

/** Feature rows sent as columns: every column as long as user_id, every feature a finite number. */
export function featureTableFromColumns(body: PredictColumns, featureNames: string[]): { table: FeatureTable; asOf: (string | undefined)[] } {
  const n = body.user_id.length;
  for (const [name, values] of Object.entries(body.columns)) {
    if (values.length !== n) throw new CohortlabError('BAD_FEATURE', `column "${name}" has ${values.length} values for ${n} users; every column needs one value per user_id, in its order.`, { path: `/columns/${name}` });
  }
  const columns: Record<string, Float64Array> = {};
  for (const f of featureNames) {
    const values = body.columns[f];
    const col = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new CohortlabError('BAD_FEATURE', `feature "${f}" of user ${i} must be a finite number, got ${JSON.stringify(v)}.`, { path: `/columns/${f}/${i}` });
      col[i] = v;
    }
    columns[f] = col;
  }
  const plan = body.columns.plan;
  const churned = body.columns.already_churned;
  const asOf = body.columns.as_of;
  return {
    table: {
      asOf: '',
      cutoffMs: NaN,
      userIds: body.user_id,
      columns,
      plan: Array.from({ length: n }, (_, i) => String(plan?.[i] ?? '')),
      alreadyChurned: Uint8Array.from({ length: n }, (_, i) => churnedFlag(churned?.[i])),
    },
    asOf: Array.from({ length: n }, (_, i) => (typeof asOf?.[i] === 'string' ? (asOf[i] as string) : undefined)),
  };
}

/** Scores the users of POST /v1/predict/columns: one block, rows in request order. */
export async function predictColumnRows(loaded: Loaded, body: PredictColumns, reasons = 3): Promise<PredictionRows> {
  const { table, asOf } = featureTableFromColumns(body, loaded.model.featureNames);
  return predictFeatureRows(loaded, table, reasons, asOf);
}

/** Scores a table of feature rows (the model's features, in its users' order): one block, rows in that order. */
export async function predictFeatureRows(loaded: Loaded, table: FeatureTable, reasons: number, asOf: (string | undefined)[]): Promise<PredictionRows> {
  const n = table.userIds.length;
  return { blocks: [scoredBlock(await loaded.model.score(table, { reasons }))], block: new Uint32Array(n), row: Uint32Array.from({ length: n }, (_, i) => i), asOf };
}

const ltvValue = (col: Float64Array | null | undefined, i: number): number | null => (col && Number.isFinite(col[i]) ? col[i] : null);

/** A scored block of users: the model's columns, and the LTV columns and cutoff when they were computed from events. */
interface ScoredBlock {
  result: ScoreResult;
  /** The model's output column: churn_probability, or <target>_probability of a `train --target` version (pipeline/score.ts). */
  probability: string;
  asOf?: string;
  ltv?: LtvColumns | null;
}

/** Every requested user's row in a scored block, in request order; the row's own as_of when its features said one. */
export interface PredictionRows {
  blocks: ScoredBlock[];
  block: Uint32Array;
  row: Uint32Array;
  asOf: (string | undefined)[];
}

function scoredBlock(result: ScoreResult, asOf?: string, ltv?: LtvColumns | null): ScoredBlock {
  const c = result.columns;
  const probability = 'churn_probability' in c ? 'churn_probability' : (Object.keys(c).find((k) => k.endsWith('_probability')) as string);
  return { result, probability, asOf, ltv };
}

function predictionOf(rows: PredictionRows, u: number): Prediction {
  const { result: r, probability, ltv } = rows.blocks[rows.block[u]];
  const i = rows.row[u];
  const c = r.columns;
  const num = (k: string) => (c[k] as Float64Array)[i];
  const str = (k: string) => (c[k] as string[])[i];
  const asOf = rows.asOf[u];
  return {
    user_id: r.userIds[i],
    [probability]: num(probability),
    churn_risk_score: num('churn_risk_score'),
    churn_risk_tier: str('churn_risk_tier'),
    engagement_score: num('engagement_score'),
    engagement_tier: str('engagement_tier'),
    activation_score: num('activation_score'),
    activation_tier: str('activation_tier'),
    expansion_readiness_score: num('expansion_readiness_score'),
    expansion_readiness_tier: str('expansion_readiness_tier'),
    behavioral_segment: str('behavioral_segment'),
    lifecycle_stage: str('lifecycle_stage'),
    already_churned: num('already_churned'),
    cluster: c.cluster ? num('cluster') : -1,
    cluster_label: c.cluster_label ? str('cluster_label') : '',
    reasons: r.reasons[i],
    ...(asOf ? { as_of: asOf } : {}),
    p_alive: ltvValue(ltv?.p_alive, i),
    expected_purchases: ltvValue(ltv?.expected_purchases, i),
    clv: ltvValue(ltv?.clv, i),
  };
}

/** The predictions as objects (the library's answer). */
export function predictionObjects(rows: PredictionRows): Prediction[] {
  return Array.from(rows.row, (_, u) => predictionOf(rows, u));
}

// the order fastify's schema serializer writes predictionSchema (schemas.ts) in: its required fields, then the other
// properties (a churn or upgrade probability first), then an <event>_probability (a pattern property) last
const SCHEMA_PROBABILITIES = new Set(['churn_probability', 'upgrade_probability']);

/**
 * `head`, the JSON text of POST /v1/predict's `predictions` array, then `tail`, as UTF-8 bytes: what the routes send.
 * Written straight from the scored columns (no object per user): the same JSON value as the schema serializer makes
 * of predictionObjects (test/serve/predict-json.test.ts), at a fraction of the time and garbage for 1,000-user
 * batches: each piece of each row goes straight into the bytes (json-bytes.ts).
 */
export function predictionsBytes(rows: PredictionRows, head: string, tail: string): Buffer {
  const writers = rows.blocks.map(rowWriter);
  // room for the usual row (about 520 bytes, and 105 per reason: 837 KB for 1,000 users with 3), so a batch's buffer
  // is not outgrown and copied
  const reasons = rows.row.length ? rows.blocks[rows.block[0]].result.reasons[rows.row[0]].length : 0;
  const w = new JsonBytes(3 * head.length + (600 + 128 * reasons) * rows.row.length + 64);
  w.text(`${head}[`);
  for (let u = 0; u < rows.row.length; u++) {
    if (u) w.raw(COMMA);
    writers[rows.block[u]](w, rows.row[u], rows.asOf[u]);
  }
  w.text(`]${tail}`);
  return w.bytes();
}

const COMMA = utf8(',');
const K = {
  userId: utf8('{"user_id":'),
  riskScore: utf8(',"churn_risk_score":'),
  riskTier: utf8(',"churn_risk_tier":'),
  engagementScore: utf8(',"engagement_score":'),
  engagementTier: utf8(',"engagement_tier":'),
  activationScore: utf8(',"activation_score":'),
  expansionScore: utf8(',"expansion_readiness_score":'),
  behavioral: utf8(',"behavioral_segment":'),
  lifecycle: utf8(',"lifecycle_stage":'),
  churned: utf8(',"already_churned":'),
  cluster: utf8(',"cluster":'),
  clusterLabel: utf8(',"cluster_label":'),
  reasons: utf8(',"reasons":['),
  feature: utf8('{"feature":'),
  direction: utf8(',"direction":'),
  contribution: utf8(',"contribution":'),
  value: utf8(',"value":'),
  reasonEnd: utf8('}'),
  reasonsEnd: utf8(']'),
  activationTier: utf8(',"activation_tier":'),
  expansionTier: utf8(',"expansion_readiness_tier":'),
  asOf: utf8(',"as_of":'),
  pAlive: utf8(',"p_alive":'),
  expected: utf8(',"expected_purchases":'),
  clv: utf8(',"clv":'),
  rowEnd: utf8('}'),
  noCluster: utf8('-1'),
  noLabel: utf8('""'),
};

/** One block's row written as JSON: the block's columns are looked up once, then each row is read by index. */
function rowWriter(b: ScoredBlock): (w: JsonBytes, i: number, asOf: string | undefined) => void {
  const { result: r, probability, ltv } = b;
  const c = r.columns;
  const n = (k: string) => c[k] as Float64Array;
  const t = (k: string) => c[k] as string[];
  const [riskScore, engagementScore, activationScore, expansionScore, churned, prob] = ['churn_risk_score', 'engagement_score', 'activation_score', 'expansion_readiness_score', 'already_churned', probability].map(n);
  const [riskTier, engagementTier, activationTier, expansionTier, behavioral, lifecycle] = ['churn_risk_tier', 'engagement_tier', 'activation_tier', 'expansion_readiness_tier', 'behavioral_segment', 'lifecycle_stage'].map(t);
  const cluster = c.cluster ? n('cluster') : null;
  const clusterLabel = c.cluster_label ? t('cluster_label') : null;
  const pKey = utf8(`,${JSON.stringify(probability)}:`);
  const first = SCHEMA_PROBABILITIES.has(probability);
  const ltvNumber = (w: JsonBytes, col: Float64Array | null | undefined, i: number) => w.number(col ? col[i] : NaN);
  return (w, i, asOf) => {
    w.raw(K.userId);
    w.string(r.userIds[i]);
    w.raw(K.riskScore);
    w.number(riskScore[i]);
    w.raw(K.riskTier);
    w.raw(jsonLabel(riskTier[i]));
    w.raw(K.engagementScore);
    w.number(engagementScore[i]);
    w.raw(K.engagementTier);
    w.raw(jsonLabel(engagementTier[i]));
    w.raw(K.activationScore);
    w.number(activationScore[i]);
    w.raw(K.expansionScore);
    w.number(expansionScore[i]);
    w.raw(K.behavioral);
    w.raw(jsonLabel(behavioral[i]));
    w.raw(K.lifecycle);
    w.raw(jsonLabel(lifecycle[i]));
    w.raw(K.churned);
    w.number(churned[i]);
    w.raw(K.cluster);
    if (cluster) w.number(cluster[i]);
    else w.raw(K.noCluster);
    w.raw(K.clusterLabel);
    w.raw(clusterLabel ? jsonLabel(clusterLabel[i]) : K.noLabel);
    w.raw(K.reasons);
    const reasons = r.reasons[i];
    for (let k = 0; k < reasons.length; k++) {
      const x = reasons[k];
      if (k) w.raw(COMMA);
      w.raw(K.feature);
      w.raw(jsonLabel(x.feature));
      w.raw(K.direction);
      w.raw(jsonLabel(x.direction));
      w.raw(K.contribution);
      w.number(x.contribution);
      w.raw(K.value);
      w.number(x.value);
      w.raw(K.reasonEnd);
    }
    w.raw(K.reasonsEnd);
    if (first) {
      w.raw(pKey);
      w.number(prob[i]);
    }
    w.raw(K.activationTier);
    w.raw(jsonLabel(activationTier[i]));
    w.raw(K.expansionTier);
    w.raw(jsonLabel(expansionTier[i]));
    if (asOf) {
      w.raw(K.asOf);
      w.string(asOf);
    }
    w.raw(K.pAlive);
    ltvNumber(w, ltv?.p_alive, i);
    w.raw(K.expected);
    ltvNumber(w, ltv?.expected_purchases, i);
    w.raw(K.clv);
    ltvNumber(w, ltv?.clv, i);
    if (!first) {
      w.raw(pKey);
      w.number(prob[i]);
    }
    w.raw(K.rowEnd);
  };
}

/** Users given as events: their block, and each user's row in it (by the user's index in the request). */
async function predictFromEvents(loaded: Loaded, users: PredictUser[], indices: number[], asOf: string | undefined, reasons: number): Promise<{ block: ScoredBlock; rowOf: Map<number, number> }> {
  const base = loaded.model.config;
  // Sessions come from session_id when every event has one, else from the inactivity gap, as in training.
  const allSessions = indices.every((u) => users[u].events!.every((e) => e.session_id !== undefined));
  const config = { ...base, timestamp_format: 'auto' as const, format: 'ndjson' as const, columns: { ...base.columns, session_id: allSessions ? base.columns.session_id : null } };
  const cols = config.columns;
  const records: Record<string, unknown>[] = [];
  const origin: [number, number][] = [];
  for (const u of indices) {
    users[u].events!.forEach((e, j) => {
      const r: Record<string, unknown> = { [cols.user_id]: users[u].user_id, [cols.timestamp]: e.timestamp };
      if (cols.event) r[cols.event] = e.event;
      else if (e.event !== config.default_event) throw new CohortlabError('BAD_ARGUMENT', `this model's log has one kind of event, "${config.default_event}"; got "${e.event}".`, { path: `/users/${u}/events/${j}/event` });
      // Every mapped column is present (null when the event does not say), as the reader expects.
      if (cols.session_id) r[cols.session_id] = e.session_id === undefined ? null : String(e.session_id);
      if (cols.plan) r[cols.plan] = e.plan ?? null;
      if (cols.value) r[cols.value] = e.value ?? null;
      if (cols.signup) r[cols.signup] = e.signup ?? null;
      records.push(r);
      origin.push([u, j]);
    });
  }
  let store;
  try {
    store = await loadEventRecords(records, config, { strict: true });
  } catch (e) {
    // The strict ingest names "line N" of the request's records: turn it into the request's JSON path.
    const m = isCohortlabError(e) ? /line (\d+)/.exec(e.path ?? '') : null;
    if (isCohortlabError(e) && m) {
      const [u, j] = origin[Number(m[1]) - 1] ?? [0, 0];
      const reason = /--strict: \d+ ([^,;]+)/.exec(e.message)?.[1] ?? 'a bad value';
      throw new CohortlabError('BAD_ROWS', `event ${j} of user ${u} has ${reason.replace(/^unparsable/, 'an unparsable')}.`, { path: `/users/${u}/events/${j}` });
    }
    throw e;
  }
  try {
    const day = asOf ?? new Date(store.report.lastEventMs - (store.report.lastEventMs % DAY_MS)).toISOString().slice(0, 10);
    const table = await computeFeatures(store, { asOf: day });
    const result = await loaded.model.score(table, { reasons });
    // The LTV columns from the purchases among these events before the cutoff, with the version's stored BG/NBD.
    const ltv = loaded.ltv ? (await ltvScorerAt(asSource(store), loaded.ltv, day))(result.userIds) : null;
    const rowById = new Map(result.userIds.map((id, i) => [id, i]));
    const rowOf = new Map<number, number>();
    for (const u of indices) {
      const i = rowById.get(users[u].user_id);
      if (i === undefined) throw new CohortlabError('BAD_ARGUMENT', `user ${u} (${users[u].user_id}) has no event before the cutoff ${day}.`, { path: `/users/${u}/events` });
      rowOf.set(u, i);
    }
    return { block: scoredBlock(result, day, ltv), rowOf };
  } finally {
    store.close();
  }
}

/** Scores the users of a request: those given as features in one block, those given as events in another. */
export async function predictRows(loaded: Loaded, users: PredictUser[], asOf?: string, reasons = 3): Promise<PredictionRows> {
  const byFeatures: number[] = [];
  const byEvents: number[] = [];
  users.forEach((u, i) => (u.features ? byFeatures : byEvents).push(i));
  const rows: PredictionRows = { blocks: [], block: new Uint32Array(users.length), row: new Uint32Array(users.length), asOf: new Array(users.length) };
  if (byFeatures.length) {
    const table = featureTableFromJson(users, byFeatures, loaded.model.featureNames);
    rows.blocks.push(scoredBlock(await loaded.model.score(table, { reasons })));
    byFeatures.forEach((u, i) => {
      rows.row[u] = i;
      // A features row dated with as_of: the prediction says which day it belongs to.
      const asOfRow = users[u].features?.as_of;
      rows.asOf[u] = typeof asOfRow === 'string' ? asOfRow : undefined;
    });
  }
  if (byEvents.length) {
    const ids = new Set<string>();
    for (const u of byEvents) {
      if (ids.has(users[u].user_id)) throw new CohortlabError('BAD_ARGUMENT', `user_id "${users[u].user_id}" appears twice among users given as events; send all of a user's events together.`, { path: `/users/${u}/user_id` });
      ids.add(users[u].user_id);
    }
    const { block, rowOf } = await predictFromEvents(loaded, users, byEvents, asOf, reasons);
    const b = rows.blocks.push(block) - 1;
    for (const [u, i] of rowOf) {
      rows.block[u] = b;
      rows.row[u] = i;
      rows.asOf[u] = block.asOf;
    }
  }
  return rows;
}

export async function predictUsers(loaded: Loaded, users: PredictUser[], asOf?: string, reasons = 3): Promise<Prediction[]> {
  return predictionObjects(await predictRows(loaded, users, asOf, reasons));
}
