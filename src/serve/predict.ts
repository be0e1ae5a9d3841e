import { computeFeatures, type FeatureTable } from '../features/index.js';
import { loadEventRecords } from '../ingest/index.js';
import { CohortlabError, isCohortlabError } from '../shared/errors.js';
import { ltvScorerAt, type LtvColumns, type ScoreResult } from '../pipeline/index.js';
import type { Loaded } from './provider.js';
import { asSource } from '../engine/index.js';

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

export function featureTableFromJson(users: PredictUser[], indices: number[], featureNames: string[]): FeatureTable {
  const n = indices.length;
  const columns: Record<string, Float64Array> = {};
  for (const f of featureNames) {
    const col = new Float64Array(n);
    indices.forEach((u, i) => {
      const v = users[u].features?.[f];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new CohortlabError('BAD_FEATURE', v === undefined ? `user ${u} lacks the feature "${f}".` : `feature "${f}" of user ${u} must be a finite number, got ${JSON.stringify(v)}.`, {
          path: `/users/${u}/features/${f}`,
        });
      }
      col[i] = v;
    });
    columns[f] = col;
  }
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
    alreadyChurned: Uint8Array.from(indices, (u) => (users[u].features?.already_churned === 1 || users[u].features?.already_churned === true ? 1 : 0)),
  };
}

const ltvValue = (col: Float64Array | null | undefined, i: number): number | null => (col && Number.isFinite(col[i]) ? col[i] : null);

function predictionsOf(r: ScoreResult, asOf?: string, ltv?: LtvColumns | null): Prediction[] {
  const c = r.columns;
  const num = (k: string, i: number) => (c[k] as Float64Array)[i];
  const str = (k: string, i: number) => (c[k] as string[])[i];
  // the model's output column: churn_probability, or <target>_probability of a `train --target` version (pipeline/score.ts)
  const probability = 'churn_probability' in c ? 'churn_probability' : (Object.keys(c).find((k) => k.endsWith('_probability')) as string);
  return r.userIds.map((user_id, i) => ({
    user_id,
    [probability]: num(probability, i),
    churn_risk_score: num('churn_risk_score', i),
    churn_risk_tier: str('churn_risk_tier', i),
    engagement_score: num('engagement_score', i),
    engagement_tier: str('engagement_tier', i),
    activation_score: num('activation_score', i),
    activation_tier: str('activation_tier', i),
    expansion_readiness_score: num('expansion_readiness_score', i),
    expansion_readiness_tier: str('expansion_readiness_tier', i),
    behavioral_segment: str('behavioral_segment', i),
    lifecycle_stage: str('lifecycle_stage', i),
    already_churned: num('already_churned', i),
    cluster: c.cluster ? num('cluster', i) : -1,
    cluster_label: c.cluster_label ? str('cluster_label', i) : '',
    reasons: r.reasons[i],
    ...(asOf ? { as_of: asOf } : {}),
    p_alive: ltvValue(ltv?.p_alive, i),
    expected_purchases: ltvValue(ltv?.expected_purchases, i),
    clv: ltvValue(ltv?.clv, i),
  }));
}

async function predictFromEvents(loaded: Loaded, users: PredictUser[], indices: number[], asOf: string | undefined, reasons: number): Promise<Map<number, Prediction>> {
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
    const byId = new Map(predictionsOf(result, day, ltv).map((p) => [p.user_id, p]));
    const out = new Map<number, Prediction>();
    for (const u of indices) {
      const p = byId.get(users[u].user_id);
      if (!p) throw new CohortlabError('BAD_ARGUMENT', `user ${u} (${users[u].user_id}) has no event before the cutoff ${day}.`, { path: `/users/${u}/events` });
      out.set(u, p);
    }
    return out;
  } finally {
    store.close();
  }
}

export async function predictUsers(loaded: Loaded, users: PredictUser[], asOf?: string, reasons = 3): Promise<Prediction[]> {
  const byFeatures: number[] = [];
  const byEvents: number[] = [];
  users.forEach((u, i) => (u.features ? byFeatures : byEvents).push(i));
  const out: Prediction[] = new Array(users.length);
  if (byFeatures.length) {
    const table = featureTableFromJson(users, byFeatures, loaded.model.featureNames);
    predictionsOf(await loaded.model.score(table, { reasons })).forEach((p, i) => {
      // A features row dated with as_of: the prediction says which day it belongs to.
      const asOfRow = users[byFeatures[i]].features?.as_of;
      out[byFeatures[i]] = typeof asOfRow === 'string' ? { ...p, as_of: asOfRow } : p;
    });
  }
  if (byEvents.length) {
    const ids = new Set<string>();
    for (const u of byEvents) {
      if (ids.has(users[u].user_id)) throw new CohortlabError('BAD_ARGUMENT', `user_id "${users[u].user_id}" appears twice among users given as events; send all of a user's events together.`, { path: `/users/${u}/user_id` });
      ids.add(users[u].user_id);
    }
    for (const [u, p] of await predictFromEvents(loaded, users, byEvents, asOf, reasons)) out[u] = p;
  }
  return out;
}
