/**
 * ltv: buy-till-you-die customer value from a purchase log (issue 20 part 2).
 *
 *   events (ingest) --readPurchaseDays--> purchase days --summarizePurchaseDays--> frequency / recency / T / monetary
 *     --fitLtv--> BG/NBD (+ Gamma-Gamma with values) --scoreLtv--> p_alive, expected_purchases, p_no_purchase, clv
 *     --holdoutOutcomes (when the log runs past the horizon)--> purchase days made in the horizon and the
 *                                                              label "no purchase" (scored by the cli with evaluate's bootstrap)
 *
 * The fitted model is plain JSON (`ltvParams` / `ltvModelFromParams`), so the registry can store it and
 * `score` / `/v1/predict` can score users with `scoreLtv` without refitting.
 */
import { inactivityDays, type EventStore } from '../ingest/index.js';
import { queryColumns, quoteLiteral } from '../shared/duckdb.js';
import { CohortlabError } from '../shared/errors.js';
import { BgNbd, type BgNbdJSON, type BgNbdParams } from './bgnbd.js';
import { customerLifetimeValue } from './clv.js';
import { GammaGamma, type GammaGammaJSON } from './gamma-gamma.js';
import { summarizePurchaseDays, type PurchaseDays, type RfmSummary } from './rfm-summary.js';

export { BgNbd, bgnbdObjective, BGNBD_DEFAULTS, type BgNbdJSON, type BgNbdParams, type BgNbdState, type PurchaseHistory } from './bgnbd.js';
export { GammaGamma, gammaGammaObjective, GAMMA_GAMMA_DEFAULTS, type GammaGammaJSON, type GammaGammaState, type SpendHistory } from './gamma-gamma.js';
export { customerLifetimeValue, DAYS_PER_MONTH, type ClvOptions } from './clv.js';
export { summarizePurchaseDays, type PurchaseDays, type RfmSummary } from './rfm-summary.js';
export { minimizeBfgs, type MinimizeResult } from './optimize.js';
export { logGamma, digamma, hyp2f1 } from './special.js';
export { ltvByGroup, formatLtvDashboard, type LtvDashboard, type LtvDashboardRow, type LtvDashboardTable } from './dashboard.js';
export { simulateBgNbd, sampleGamma, type SimulatedPurchases } from './simulate.js';

const DAY_MS = 86_400_000;

export interface LtvWarning {
  code: LtvWarningCode;
  message: string;
}
export type LtvWarningCode =
  | 'LTV_NOT_CONVERGED'
  | 'LTV_NO_VALUE_COLUMN'
  | 'LTV_SPEND_INFINITE_MEAN'
  | 'LTV_SPEND_DEPENDS_ON_FREQUENCY'
  | 'LTV_FEW_REPEAT_CUSTOMERS'
  | 'LTV_NO_DROPOUT'
  | 'LTV_HOLDOUT_NOT_COVERED';

/** Fewer repeat customers than this: the dropout parameters a, b rest on a handful of people. */
export const MIN_REPEAT_CUSTOMERS = 100;
/** Mean dropout probability per purchase a / (a + b) below this: the maximum likelihood is BG/NBD's no-dropout boundary. */
export const MIN_DROPOUT = 1e-4;
/** |corr(frequency, mean spend)| above this breaks the Gamma-Gamma independence assumption (lifetimes' rule of thumb). */
export const MAX_SPEND_FREQUENCY_CORRELATION = 0.3;

/**
 * One row per (customer, UTC purchase day) with an event in [fromMs, toMs), ordered by customer and
 * day; `value` is null when the config maps no value column.
 */
export async function readPurchaseDays(store: EventStore, opts: { fromMs?: number; toMs: number; purchaseEvents: string[] | null }): Promise<PurchaseDays> {
  const hasValue = !!store.config.columns.value;
  const where = [`epoch_ms(ts) < ${opts.toMs}`];
  if (opts.fromMs !== undefined) where.push(`epoch_ms(ts) >= ${opts.fromMs}`);
  if (opts.purchaseEvents) where.push(`event IN (${opts.purchaseEvents.map(quoteLiteral).join(', ')})`);
  const res = await queryColumns(
    store.conn,
    `SELECT CAST(user_id AS VARCHAR) AS user_id, CAST(floor(epoch_ms(ts) / ${DAY_MS}) AS DOUBLE) AS day, CAST(${hasValue ? 'coalesce(sum(value), 0)' : '0'} AS DOUBLE) AS value
       FROM events WHERE ${where.join(' AND ')} GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  return { userIds: res.columns[0] as string[], day: res.columns[1] as Float64Array, value: hasValue ? (res.columns[2] as Float64Array) : null };
}

/** The as-of date's day number (the calibration end) and its cutoff instant (next midnight UTC). */
export function calibrationEnd(asOf: string): { endDay: number; cutoffMs: number } {
  const ms = Date.parse(`${asOf}T00:00:00Z`);
  if (Number.isNaN(ms)) throw new CohortlabError('BAD_ARGUMENT', `as-of must be a date YYYY-MM-DD, got "${asOf}".`);
  return { endDay: ms / DAY_MS, cutoffMs: ms + DAY_MS };
}

export interface LtvOptions {
  asOf: string;
  /** Default 7 (weeks). */
  timeUnitDays?: number;
  /** Default: every event. */
  purchaseEvents?: string[] | null;
}

/** Frequency / recency / T (and monetary) per customer with a purchase on or before the as-of date. */
export async function purchaseSummary(store: EventStore, opts: LtvOptions): Promise<RfmSummary> {
  const { endDay, cutoffMs } = calibrationEnd(opts.asOf);
  const rows = await readPurchaseDays(store, { toMs: cutoffMs, purchaseEvents: opts.purchaseEvents ?? null });
  if (rows.userIds.length === 0) {
    throw new CohortlabError('EMPTY_INPUT', `no purchase${opts.purchaseEvents ? ` (${opts.purchaseEvents.join(', ')})` : ''} on or before ${opts.asOf}; pick a later --as-of${opts.purchaseEvents ? ' or other --purchase-events' : ''}.`);
  }
  return summarizePurchaseDays(rows, endDay, opts.timeUnitDays ?? 7);
}

export interface LtvModel {
  bgnbd: BgNbd;
  /** Null without a value column. */
  gammaGamma: GammaGamma | null;
  timeUnitDays: number;
  warnings: LtvWarning[];
}

/** Fits BG/NBD, and Gamma-Gamma when the summary has values; the warnings say what to doubt. */
export function fitLtv(s: RfmSummary, opts: { bgnbd?: Partial<BgNbdParams> } = {}): LtvModel {
  const warnings: LtvWarning[] = [];
  const bgnbd = new BgNbd(opts.bgnbd).fit(s);
  const st = bgnbd.fitted;
  if (!st.optimizer.converged) {
    warnings.push({ code: 'LTV_NOT_CONVERGED', message: `BG/NBD: the optimizer stopped (${st.optimizer.stop}) after ${st.optimizer.iterations} iterations with the largest gradient ${st.optimizer.grad_max.toExponential(2)} (tolerance ${st.optimizer.grad_tol}); the parameters may not be the maximum-likelihood ones.` });
  }
  if (st.repeat_customers < MIN_REPEAT_CUSTOMERS) {
    warnings.push({ code: 'LTV_FEW_REPEAT_CUSTOMERS', message: `only ${st.repeat_customers} of ${st.customers} customers bought on two days or more; the dropout parameters a = ${st.a.toPrecision(3)}, b = ${st.b.toPrecision(3)} rest on them (fewer than ${MIN_REPEAT_CUSTOMERS}).` });
  }
  const dropout = st.a / (st.a + st.b);
  if (dropout < MIN_DROPOUT) {
    warnings.push({ code: 'LTV_NO_DROPOUT', message: `the likelihood is highest with (almost) no dropout: a = ${st.a.toExponential(2)}, b = ${st.b.toExponential(2)}, a mean dropout probability per purchase of ${dropout.toExponential(2)}; BG/NBD reduces to the NBD, P(alive) is about 1 for everyone and only the purchase rate (p_no_purchase, expected_purchases) ranks customers.` });
  }
  let gammaGamma: GammaGamma | null = null;
  if (!s.monetary) {
    warnings.push({ code: 'LTV_NO_VALUE_COLUMN', message: 'the config maps no value column (columns.value): no spend model and no clv column; p_alive and expected_purchases only.' });
  } else {
    gammaGamma = new GammaGamma().fit({ frequency: s.frequency, monetary: s.monetary });
    const g = gammaGamma.fitted;
    if (!g.optimizer.converged) {
      warnings.push({ code: 'LTV_NOT_CONVERGED', message: `Gamma-Gamma: the optimizer stopped (${g.optimizer.stop}) after ${g.optimizer.iterations} iterations with the largest gradient ${g.optimizer.grad_max.toExponential(2)}.` });
    }
    if (!(g.q > 1)) {
      warnings.push({ code: 'LTV_SPEND_INFINITE_MEAN', message: `Gamma-Gamma: q = ${g.q.toPrecision(4)} <= 1, so the mean spend per purchase p v / (q - 1) is infinite; no clv column.` });
    }
    if (Math.abs(g.spend_frequency_correlation) > MAX_SPEND_FREQUENCY_CORRELATION) {
      warnings.push({ code: 'LTV_SPEND_DEPENDS_ON_FREQUENCY', message: `Gamma-Gamma assumes spend per purchase does not depend on how often a customer buys, but their correlation is ${g.spend_frequency_correlation.toFixed(3)} over ${g.customers} repeat customers; read clv with care.` });
    }
  }
  return { bgnbd, gammaGamma, timeUnitDays: s.timeUnitDays, warnings };
}

export interface LtvScoreOptions {
  horizonDays: number;
  /** CLV horizon in months (default 12). */
  clvMonths?: number;
  /** Monthly discount rate of the CLV (default 0.01). */
  monthlyDiscount?: number;
}

export interface LtvScores {
  p_alive: Float64Array;
  expected_purchases: Float64Array;
  p_no_purchase: Float64Array;
  /** Null without a usable spend model. */
  expected_spend: Float64Array | null;
  clv: Float64Array | null;
}

/** Per-customer scores of a fitted model (no refit): the functions `score` and `/v1/predict` can call. */
export function scoreLtv(model: LtvModel, s: RfmSummary, opts: LtvScoreOptions): LtvScores {
  if (s.timeUnitDays !== model.timeUnitDays) {
    throw new CohortlabError('MODEL_INCOMPATIBLE', `the model was fitted with time_unit_days ${model.timeUnitDays}, the summary uses ${s.timeUnitDays}; summarize with the model's unit.`);
  }
  const n = s.userIds.length;
  const t = opts.horizonDays / model.timeUnitDays;
  const pAlive = new Float64Array(n);
  const expected = new Float64Array(n);
  const pNone = new Float64Array(n);
  const gg = model.gammaGamma && model.gammaGamma.fitted.q > 1 ? model.gammaGamma : null;
  const spend = gg && s.monetary ? new Float64Array(n) : null;
  const clv = gg && s.monetary ? new Float64Array(n) : null;
  const clvOpts = { months: opts.clvMonths ?? 12, monthlyDiscount: opts.monthlyDiscount ?? 0.01, timeUnitDays: model.timeUnitDays };
  for (let i = 0; i < n; i++) {
    const x = s.frequency[i];
    const tx = s.recency[i];
    const T = s.T[i];
    pAlive[i] = model.bgnbd.pAlive(x, tx, T);
    expected[i] = model.bgnbd.expectedPurchases(t, x, tx, T);
    pNone[i] = model.bgnbd.pNoPurchase(t, x, tx, T);
    if (spend && clv && gg && s.monetary) {
      spend[i] = gg.expectedSpend(x, s.monetary[i]);
      clv[i] = customerLifetimeValue(model.bgnbd, gg, x, tx, T, s.monetary[i], clvOpts);
    }
  }
  return { p_alive: pAlive, expected_purchases: expected, p_no_purchase: pNone, expected_spend: spend, clv };
}

/** The `--params` document (CONTRACT: model, r, alpha, a, b, time_unit_days, log_likelihood; p, q, v with values) plus the full saved models. */
export interface LtvParamsJSON {
  model: 'bgnbd';
  r: number;
  alpha: number;
  a: number;
  b: number;
  time_unit_days: number;
  log_likelihood: number;
  p?: number;
  q?: number;
  v?: number;
  gamma_gamma_log_likelihood?: number;
  as_of: string;
  customers: number;
  repeat_customers: number;
  bgnbd: BgNbdJSON;
  gamma_gamma: GammaGammaJSON | null;
  warnings: LtvWarning[];
}

export function ltvParams(model: LtvModel, asOf: string): LtvParamsJSON {
  const s = model.bgnbd.fitted;
  const g = model.gammaGamma?.fitted;
  return {
    model: 'bgnbd',
    r: s.r,
    alpha: s.alpha,
    a: s.a,
    b: s.b,
    time_unit_days: model.timeUnitDays,
    log_likelihood: s.log_likelihood,
    ...(g ? { p: g.p, q: g.q, v: g.v, gamma_gamma_log_likelihood: g.log_likelihood } : {}),
    as_of: asOf,
    customers: s.customers,
    repeat_customers: s.repeat_customers,
    bgnbd: model.bgnbd.toJSON(),
    gamma_gamma: model.gammaGamma ? model.gammaGamma.toJSON() : null,
    warnings: model.warnings,
  };
}

/** The fitted model back from its `--params` document (registry load, scoring without refit). */
export function ltvModelFromParams(json: LtvParamsJSON): LtvModel {
  if (json?.model !== 'bgnbd' || !json.bgnbd) throw new CohortlabError('MODEL_INCOMPATIBLE', `ltv params: expected { model: "bgnbd", bgnbd: {...} } (a --params file of "cohortlab ltv"), got model ${JSON.stringify(json?.model)}.`);
  if (!(json.time_unit_days > 0)) throw new CohortlabError('MODEL_INCOMPATIBLE', `ltv params: time_unit_days must be > 0, got ${JSON.stringify(json.time_unit_days)}.`);
  return {
    bgnbd: BgNbd.fromJSON(json.bgnbd),
    gammaGamma: json.gamma_gamma ? GammaGamma.fromJSON(json.gamma_gamma) : null,
    timeUnitDays: json.time_unit_days,
    warnings: json.warnings ?? [],
  };
}

export interface HoldoutOutcomes {
  /** First and last day of the horizon (YYYY-MM-DD). */
  from: string;
  to: string;
  horizonDays: number;
  /** Per customer of the summary, in its order: purchase days made in the horizon. */
  purchaseDays: Float64Array;
  /** Per customer: 1 = no purchase in the horizon (the time-based churn label). */
  churned: Uint8Array;
}

/**
 * What the summary's customers did in the horizon after the as-of date: purchase days in
 * (as-of, as-of + H days], and the label "no purchase". The log must run to the horizon's end
 * (checked by the caller, see `horizonCoverage`). Scoring it (ROC-AUC with bootstrap intervals)
 * belongs to the stages above (evaluate, cli), which this stage does not import.
 */
export async function holdoutOutcomes(store: EventStore, s: RfmSummary, opts: { asOf: string; horizonDays: number; purchaseEvents: string[] | null }): Promise<HoldoutOutcomes> {
  const { cutoffMs } = calibrationEnd(opts.asOf);
  const endMs = cutoffMs + opts.horizonDays * DAY_MS;
  const rows = await readPurchaseDays(store, { fromMs: cutoffMs, toMs: endMs, purchaseEvents: opts.purchaseEvents });
  const daysBy = new Map<string, number>();
  for (const u of rows.userIds) daysBy.set(u, (daysBy.get(u) ?? 0) + 1);
  const n = s.userIds.length;
  const purchaseDays = new Float64Array(n);
  const churned = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    purchaseDays[i] = daysBy.get(s.userIds[i]) ?? 0;
    churned[i] = purchaseDays[i] === 0 ? 1 : 0;
  }
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return { from: iso(cutoffMs), to: iso(endMs - DAY_MS), horizonDays: opts.horizonDays, purchaseDays, churned };
}

/** The default horizon: the config's inactivity threshold (the churn label's window; CDNOW: 273 days). */
export function defaultHorizonDays(config: EventStore['config']): number {
  return inactivityDays(config);
}
