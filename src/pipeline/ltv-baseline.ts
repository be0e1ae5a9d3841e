/**
 * Buy-till-you-die inside `train`, `evaluate`, `score` and `/v1/predict` (issue 20 parts 2-3):
 *
 *   events (any engine) --readSourcePurchaseDays (before the cutoff only)--> purchase days
 *     --summarizePurchaseDays / fitLtv (src/ltv)--> BG/NBD (+ Gamma-Gamma with a value column)
 *     --scoreLtv--> p_no_purchase over the label horizon: the "bgnbd" baseline of the held-out comparison
 *                   p_alive, expected_purchases, clv: the LTV columns of score and /v1/predict
 *
 * Which events are purchases (docs/ltv.md "Which events are purchases"):
 * - a config without an event column (one kind of event, `default_event`: CDNOW, grocery): every event;
 * - a config with an event column and a value column (Online Retail): every event with a value > 0
 *   (orders; cancellations and refunds carry negative values, value-less events are not purchases);
 * - an event column without a value column (the synthetic product, Sparkify): none can be told apart, so no
 *   BG/NBD is fitted and the report warns NO_PURCHASE_EVENTS.
 *
 * No peeking: the calibration period of a fit ends at the cutoff instant the features use (the as-of day
 * included, the next midnight UTC excluded), so the baseline sees exactly the events the model's test-cutoff
 * features see, and nothing of the label horizon.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventSource } from '../engine/index.js';
import type { ModelStore, VersionId } from '../registry/index.js';
import type { FeatureTable } from '../features/index.js';
import type { EventConfig } from '../ingest/index.js';
import {
  calibrationEnd, fitLtv, ltvByGroup, ltvModelFromParams, ltvParams, scoreLtv, summarizePurchaseDays,
  type LtvDashboard, type LtvModel, type LtvParamsJSON, type LtvScores, type PurchaseDays, type RfmSummary,
} from '../ltv/index.js';
import { CohortlabError, isCohortlabError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import type { ColumnTable, WritableTable } from '../shared/table-io.js';

/** The fitted BG/NBD (+ Gamma-Gamma) of a registry version, fitted on the purchases up to the snapshot. */
export const LTV_FILE = 'ltv.json';
/** CLV horizon and monthly discount of the stored columns (lifetimes' defaults). */
export const CLV_MONTHS = 12;
export const MONTHLY_DISCOUNT = 0.01;
/** Unit of recency and T (weeks, as in the literature). */
export const LTV_TIME_UNIT_DAYS = 7;

export type PurchaseRule = 'every_event' | 'positive_value';

export interface PurchaseSelection {
  rule: PurchaseRule;
  description: string;
}

/** Which events of a config's log are purchases, or null (with the reason) when none can be told apart. */
export function purchaseSelection(config: EventConfig): PurchaseSelection | { rule: null; reason: string } {
  if (!config.columns.event) return { rule: 'every_event', description: `every event (the log has one kind of event, "${config.default_event ?? 'purchase'}")` };
  if (config.columns.value) return { rule: 'positive_value', description: `events with a positive ${config.columns.value} (cancellations and refunds excluded)` };
  return {
    rule: null,
    reason: `the config "${config.name}" maps an event column ("${config.columns.event}") but no value column, so no event can be told to be a purchase; BG/NBD (p_alive, expected_purchases, clv, the "bgnbd" baseline) needs a purchase log (a config without an event column, or with a value column).`,
  };
}

/**
 * One row per (user, UTC purchase day) strictly before `toMs`, ordered by user then day, from any event
 * source (DuckDB or ClickHouse): what `summarizePurchaseDays` reads.
 */
export async function readSourcePurchaseDays(source: EventSource, rule: PurchaseRule, toMs: number): Promise<PurchaseDays> {
  const d = source.dialect;
  const hasValue = !!source.config.columns.value;
  const where = [`ts < ${d.timestamp(toMs)}`];
  if (rule === 'positive_value' && hasValue) where.push('value > 0');
  const res = await source.query(
    `SELECT ${d.text('user_id')} AS uid, ${d.double(`floor(${d.epoch('ts')} / 86400)`)} AS day, ${d.double(hasValue ? 'coalesce(sum(value), 0)' : '0')} AS total
       FROM ${source.relation} AS src WHERE ${where.join(' AND ')} GROUP BY uid, day ORDER BY uid, day`,
  );
  return { userIds: res.columns[0] as string[], day: res.columns[1] as Float64Array, value: hasValue ? (res.columns[2] as Float64Array) : null };
}

export interface LtvFit {
  asOf: string;
  purchases: PurchaseSelection;
  summary: RfmSummary;
  model: LtvModel;
}

/** Fits BG/NBD (+ Gamma-Gamma) on the purchases on or before `asOf`; null (with the reason) when there are none or the fit fails. */
export async function fitLtvAt(source: EventSource, asOf: string, opts: { timeUnitDays?: number } = {}): Promise<LtvFit | { reason: string; code: string }> {
  const sel = purchaseSelection(source.config);
  if (sel.rule === null) return { code: 'NO_PURCHASE_EVENTS', reason: sel.reason };
  const { endDay, cutoffMs } = calibrationEnd(asOf);
  const rows = await readSourcePurchaseDays(source, sel.rule, cutoffMs);
  if (rows.userIds.length === 0) return { code: 'NO_PURCHASE_EVENTS', reason: `no purchase (${sel.description}) on or before ${asOf}: no BG/NBD fitted.` };
  const summary = summarizePurchaseDays(rows, endDay, opts.timeUnitDays ?? LTV_TIME_UNIT_DAYS);
  try {
    return { asOf, purchases: sel, summary, model: fitLtv(summary) };
  } catch (e) {
    if (!isCohortlabError(e)) throw e;
    return { code: 'BGNBD_NOT_FITTED', reason: `BG/NBD could not be fitted on the ${summary.userIds.length} customers with a purchase on or before ${asOf}: ${e.message}` };
  }
}

/**
 * Frequency / recency / T of `userIds` at the fit's cutoff, in their order. A user without a purchase before
 * the cutoff is scored as a customer acquired at their first event who has made no repeat purchase since
 * (x = 0, t_x = 0, T = tenure): the model's own reading of "no purchase yet" (counted in `withoutPurchase`).
 */
export function alignSummary(fit: LtvFit, userIds: string[], tenureDays: ArrayLike<number> | null): { summary: RfmSummary; withoutPurchase: number; found: Uint8Array } {
  const s = fit.summary;
  const at = new Map(s.userIds.map((u, i) => [u, i]));
  const n = userIds.length;
  const freq = new Float64Array(n), rec = new Float64Array(n), T = new Float64Array(n), first = new Float64Array(n);
  const mon = s.monetary ? new Float64Array(n) : null;
  const found = new Uint8Array(n);
  let without = 0;
  for (let i = 0; i < n; i++) {
    const j = at.get(userIds[i]);
    if (j === undefined) {
      without++;
      const age = tenureDays ? Math.max(0, tenureDays[i]) : 0;
      T[i] = age / s.timeUnitDays;
      first[i] = s.endDay - age;
      continue;
    }
    found[i] = 1;
    freq[i] = s.frequency[j];
    rec[i] = s.recency[j];
    T[i] = s.T[j];
    first[i] = s.firstDay[j];
    if (mon && s.monetary) mon[i] = s.monetary[j];
  }
  return { summary: { userIds, frequency: freq, recency: rec, T, monetary: mon, firstDay: first, timeUnitDays: s.timeUnitDays, endDay: s.endDay }, withoutPurchase: without, found };
}

export interface ReportWarningLike {
  code: string;
  message: string;
}

export interface LtvBaseline {
  /** p_no_purchase over the horizon per row of the table (higher = riskier): the "bgnbd" baseline. */
  score: Float64Array;
  /** The table's users, in the order of `score` and `scores`. */
  userIds: string[];
  scores: LtvScores;
  fit: LtvFit;
  withoutPurchase: number;
  warnings: ReportWarningLike[];
}

/**
 * The "bgnbd" churn baseline for the users of a labelled feature table: BG/NBD fitted on the purchases up to
 * the table's cutoff (never after it), scored over the label horizon. Null, with a warning, when the log
 * has no purchases (NO_PURCHASE_EVENTS) or the fit fails (BGNBD_NOT_FITTED).
 */
export async function ltvBaseline(source: EventSource, table: FeatureTable, opts: { horizonDays: number; logger?: Logger }): Promise<{ baseline: LtvBaseline | null; warnings: ReportWarningLike[] }> {
  const logger = opts.logger ?? silentLogger;
  const fit = await fitLtvAt(source, table.asOf);
  if (!('model' in fit)) {
    logger.warn(`${fit.code}: ${fit.reason}`);
    return { baseline: null, warnings: [{ code: fit.code, message: fit.reason }] };
  }
  const aligned = alignSummary(fit, table.userIds, (table.columns.tenure_days as Float64Array | undefined) ?? null);
  const scores = scoreLtv(fit.model, aligned.summary, { horizonDays: opts.horizonDays, clvMonths: CLV_MONTHS, monthlyDiscount: MONTHLY_DISCOUNT });
  const warnings: ReportWarningLike[] = fit.model.warnings.map((w) => ({ code: w.code, message: `BG/NBD at ${table.asOf}: ${w.message}` }));
  if (aligned.withoutPurchase > 0) {
    warnings.push({
      code: 'BGNBD_USERS_WITHOUT_PURCHASE',
      message: `${aligned.withoutPurchase.toLocaleString('en-US')} of ${table.userIds.length.toLocaleString('en-US')} users at ${table.asOf} made no purchase (${fit.purchases.description}) before the cutoff; the bgnbd baseline scores them as customers acquired at their first event with no purchase since.`,
    });
  }
  const bg = fit.model.bgnbd.fitted;
  logger.info(
    `bgnbd baseline: BG/NBD on ${bg.customers.toLocaleString('en-US')} customers (${bg.repeat_customers.toLocaleString('en-US')} repeat) with purchases (${fit.purchases.description}) on or before ${table.asOf}: ` +
      `r ${bg.r.toFixed(4)}, alpha ${bg.alpha.toFixed(4)}, a ${bg.a.toFixed(4)}, b ${bg.b.toFixed(4)}; churn score = P(no purchase in the ${opts.horizonDays} days after the cutoff)`,
  );
  for (const w of warnings) logger.warn(`${w.code}: ${w.message}`);
  return { baseline: { score: scores.p_no_purchase, userIds: table.userIds, scores, fit, withoutPurchase: aligned.withoutPurchase, warnings }, warnings };
}

/** What a registry version stores in ltv.json: the `cohortlab ltv --params` document plus how to score with it. */
export interface LtvArtifact extends LtvParamsJSON {
  purchases: PurchaseSelection;
  /** Horizon of expected_purchases (the model's label horizon), CLV months and discount. */
  horizon_days: number;
  clv_months: number;
  monthly_discount: number;
}

export function ltvArtifact(fit: LtvFit, horizonDays: number): LtvArtifact {
  return { ...ltvParams(fit.model, fit.asOf), purchases: fit.purchases, horizon_days: horizonDays, clv_months: CLV_MONTHS, monthly_discount: MONTHLY_DISCOUNT };
}

/** Written inside the registry's temporary version folder (writeVersion renames it into place whole). */
export async function writeLtvArtifact(dir: string, artifact: LtvArtifact): Promise<void> {
  await writeFile(join(dir, LTV_FILE), `${JSON.stringify(artifact, null, 2)}\n`);
}

/** The stored LTV model of a version folder, or null when the version has none (no purchases, or trained before ltv.json existed). */
export interface StoredLtv {
  artifact: LtvArtifact;
  model: LtvModel;
}

/** The version's ltv.json, or null when it has none (trained without purchases, or before LTV was stored). */
export async function readLtvArtifact(store: ModelStore, v: VersionId): Promise<StoredLtv | null> {
  const bytes = await store.readArtifact(v, LTV_FILE);
  if (bytes === null) return null;
  let artifact: LtvArtifact;
  try {
    artifact = JSON.parse(Buffer.from(bytes).toString('utf8')) as LtvArtifact;
  } catch (e) {
    throw new CohortlabError('MODEL_INCOMPATIBLE', `${LTV_FILE} of model ${v.name}@${v.version} is not valid JSON; retrain the model.`, { cause: e });
  }
  return { artifact, model: ltvModelFromParams(artifact) };
}

/** The LTV columns of `score` and `/v1/predict`: NaN (null in JSON) for a user without a purchase before the cutoff, clv null without a spend model. */
export interface LtvColumns {
  p_alive: Float64Array;
  expected_purchases: Float64Array;
  /** Null when the version fitted no spend model (no value column, or q <= 1). */
  clv: Float64Array | null;
}

/** Picks the LTV columns of a block of users (in their order) from scores computed once for every customer. */
export type LtvScorer = (userIds: string[]) => LtvColumns;

/**
 * Scores every customer with a purchase before the cutoff of `asOf` with a stored LTV model (no refit), once;
 * the returned function picks any block of users. Users without a purchase before the cutoff get NaN (null).
 */
export async function ltvScorerAt(source: EventSource, stored: StoredLtv, asOf: string): Promise<LtvScorer> {
  const { endDay, cutoffMs } = calibrationEnd(asOf);
  const rows = await readSourcePurchaseDays(source, stored.artifact.purchases.rule, cutoffMs);
  const summary = summarizePurchaseDays(rows, endDay, stored.model.timeUnitDays);
  return ltvScorerFor(stored, summary);
}

export function ltvScorerFor(stored: StoredLtv, summary: RfmSummary): LtvScorer {
  const scores = scoreLtv(stored.model, summary, { horizonDays: stored.artifact.horizon_days, clvMonths: stored.artifact.clv_months, monthlyDiscount: stored.artifact.monthly_discount });
  const at = new Map(summary.userIds.map((u, i) => [u, i]));
  return (userIds) => {
    const pick = (col: Float64Array) => Float64Array.from(userIds, (u) => {
      const j = at.get(u);
      return j === undefined ? NaN : col[j];
    });
    return { p_alive: pick(scores.p_alive), expected_purchases: pick(scores.expected_purchases), clv: scores.clv ? pick(scores.clv) : null };
  };
}

/** The LTV column names of `score` outputs and `/v1/predict` answers (always present; null/empty when not available). */
export const LTV_COLUMNS = ['p_alive', 'expected_purchases', 'clv'] as const;

/** Appends p_alive, expected_purchases and clv to a scored table: NaN (an empty cell, null) where there is no value. */
export function withLtvColumns(t: WritableTable, cols: LtvColumns | null): WritableTable {
  const nan = () => new Float64Array(t.rows).fill(NaN);
  return {
    rows: t.rows,
    names: [...t.names, ...LTV_COLUMNS],
    columns: { ...t.columns, p_alive: cols?.p_alive ?? nan(), expected_purchases: cols?.expected_purchases ?? nan(), clv: cols?.clv ?? nan() },
  };
}

/**
 * The §9.1 LTV tables of the baseline's users (the test cutoff's): per group column given (rule segment,
 * lifecycle stage, cluster), sums and means of expected purchases and, with a spend model, of CLV.
 */
export function ltvDashboardOf(b: LtvBaseline, groups: Record<string, string[]>, horizonDays: number): LtvDashboard {
  const customer = new Uint8Array(b.score.length);
  const at = new Set(b.fit.summary.userIds);
  b.userIds.forEach((u, i) => (customer[i] = at.has(u) ? 1 : 0));
  const clv = b.scores.clv;
  const note = clv
    ? null
    : b.fit.model.gammaGamma
      ? 'no CLV: the Gamma-Gamma spend model has an infinite mean spend (q <= 1); expected purchases only'
      : 'no value column in the config (columns.value): no spend model, so no CLV; expected purchases only';
  return {
    asOf: b.fit.asOf,
    horizonDays,
    clvMonths: CLV_MONTHS,
    monthlyDiscount: MONTHLY_DISCOUNT,
    note,
    tables: Object.entries(groups).map(([by, labels]) => ltvByGroup(by, labels, { expectedPurchases: b.scores.expected_purchases, clv, customer })),
  };
}
