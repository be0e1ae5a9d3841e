/**
 * From feature tables to model inputs, without leakage.
 *
 *   FeatureTable per cutoff --planBacktest--> train cutoffs < valid cutoff < test cutoff
 *        |  eligibleRows: drop users already churned at their cutoff (counted)
 *        v
 *   designMatrix (row-major Float32Array, feature order fixed by the feature list)
 *        |  fitScaler on the TRAINING rows only (log1p for heavy-tailed non-negative features, then z-score)
 *        v
 *   applyScaler to train / valid / test alike
 *
 * No random split across time: every training label must be observed before the test cutoff
 * (train cutoff + horizon <= test cutoff), or the model would learn from the test period.
 */
import { CohortlabError } from '../shared/errors.js';
import type { FeatureTable } from '../features/index.js';
import type { Matrix as SharedMatrix } from '../shared/matrix.js';

const DAY_MS = 86_400_000;

/** The shared row-major matrix (src/shared/matrix.ts), Float32 because that is what tfjs consumes. */
export type Matrix = SharedMatrix<Float32Array>;

export interface LabelledRows {
  x: Matrix;
  y: Uint8Array;
  userIds: string[];
  /** Cutoff (as-of date) of each row, to keep the origin when several cutoffs are stacked. */
  asOf: string[];
}

function checkFeatures(columns: Record<string, Float64Array>, n: number, asOf: string, features: string[], where: string): Float64Array[] {
  if (features.length === 0) throw new CohortlabError('BAD_ARGUMENT', `${where}: the feature list is empty; pass the names of the columns to train on.`);
  const cols = Object.keys(columns);
  return features.map((f) => {
    const c = columns[f];
    if (!c) {
      const near = cols.find((k) => k.toLowerCase().includes(f.toLowerCase().slice(0, 6)));
      throw new CohortlabError('BAD_FEATURE', `${where}: feature "${f}" is not a column of the feature table (as of ${asOf})${near ? `; did you mean "${near}"?` : `; it has: ${cols.slice(0, 12).join(', ')}${cols.length > 12 ? ', ...' : ''}`}.`);
    }
    if (c.length !== n) throw new CohortlabError('BAD_FEATURE', `${where}: column "${f}" has ${c.length} values for ${n} users (as of ${asOf}).`);
    return c;
  });
}

/** Row indices of users still active at the cutoff (the only ones whose churn can be predicted). */
export function eligibleRows(table: FeatureTable): { rows: Uint32Array; alreadyChurned: number; priorTarget: number } {
  const keep: number[] = [];
  const prior = table.priorTarget;
  let priorOnly = 0;
  for (let i = 0; i < table.userIds.length; i++) {
    if (table.alreadyChurned[i]) continue;
    // propensity targets: users who already did the target event before the cutoff are left out too
    if (prior?.[i]) priorOnly++;
    else keep.push(i);
  }
  return { rows: Uint32Array.from(keep), alreadyChurned: table.userIds.length - keep.length - priorOnly, priorTarget: priorOnly };
}

/** Row-major float matrix of `features` for the given rows (all rows by default). Non-finite values are an error. */
export function designMatrix(table: FeatureTable, features: string[], rows?: ArrayLike<number>): Matrix {
  return designFromColumns(table.columns, table.userIds.length, features, { asOf: table.asOf, rows, userId: (i) => table.userIds[i] });
}

/**
 * designMatrix of `n` rows of feature columns without a table (scoring): `userId(i)` names row i in an error (by
 * default "row i + 1"), so no id is made for rows that are fine.
 */
export function designFromColumns(columns: Record<string, Float64Array>, n: number, features: string[], opts: { asOf: string; rows?: ArrayLike<number>; userId?: (i: number) => string }): Matrix {
  const cols = checkFeatures(columns, n, opts.asOf, features, 'designMatrix');
  const { rows } = opts;
  const userId = opts.userId ?? ((i: number) => `row ${i + 1}`);
  const m = rows ? rows.length : n;
  const d = features.length;
  const data = new Float32Array(m * d);
  for (let r = 0; r < m; r++) {
    const i = rows ? rows[r] : r;
    for (let j = 0; j < d; j++) {
      const v = cols[j][i];
      if (!Number.isFinite(v)) {
        throw new CohortlabError('BAD_FEATURE', `designMatrix: feature "${features[j]}" of user "${userId(i)}" (as of ${opts.asOf}) is ${v}; feature tables must have no NaN (impute it when building the table).`);
      }
      data[r * d + j] = v;
    }
  }
  return { data, rows: m, cols: d };
}

/** Matrix, labels and ids of the eligible (not already churned) users of one or more tables. */
export function labelledRows(tables: FeatureTable[], features: string[]): LabelledRows & { excludedAlreadyChurned: number } {
  const parts: Matrix[] = [];
  const ys: number[] = [];
  const ids: string[] = [];
  const asOf: string[] = [];
  let excluded = 0;
  for (const t of tables) {
    if (!t.label) {
      throw new CohortlabError('HORIZON_NOT_COVERED', `the feature table as of ${t.asOf} has no churn label: the events do not cover ${t.horizonDays ?? 'the'} days after the cutoff; pick an earlier --as-of or a shorter --horizon-days.`);
    }
    const { rows, alreadyChurned } = eligibleRows(t);
    excluded += alreadyChurned;
    parts.push(designMatrix(t, features, rows));
    for (const i of rows) {
      ys.push(t.label[i]);
      ids.push(t.userIds[i]);
      asOf.push(t.asOf);
    }
  }
  const total = parts.reduce((s, p) => s + p.rows, 0);
  // shared memory: the candidate and evaluation worker threads read it without a copy each (candidate-threads.ts)
  const data = new Float32Array(new SharedArrayBuffer(total * features.length * 4));
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return { x: { data, rows: total, cols: features.length }, y: Uint8Array.from(ys), userIds: ids, asOf, excludedAlreadyChurned: excluded };
}

// The churn scaler (z-score after log1p of skewed non-negative columns) lives in the shared preprocessing module.
export { applyScaler, fitScaler, LOG1P_SKEW_THRESHOLD, type SkewScalerState as ScalerState } from '../shared/preprocess.js';
export { takeRows } from '../shared/matrix.js';

// ---------------------------------------------------------------------------------------------
// Backtest planning

export interface BacktestPlan {
  /** As-of dates (YYYY-MM-DD) to train on, oldest first. */
  train: string[];
  valid: string;
  test: string;
  horizonDays: number;
}

function parseDay(s: string, what: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  const ms = m ? Date.UTC(+m[1], +m[2] - 1, +m[3]) : NaN;
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== s) {
    throw new CohortlabError('BAD_ARGUMENT', `${what}: "${s}" is not a date; write it as YYYY-MM-DD.`);
  }
  return ms;
}

function formatDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Whole days between the cutoffs of as-of dates a and b (b - a). */
function daysBetween(a: string, b: string): number {
  return Math.round((parseDay(b, 'cutoff') - parseDay(a, 'cutoff')) / DAY_MS);
}

/**
 * Splits as-of dates by time: the latest is the test cutoff, the one before it validates (early
 * stopping, calibration), all earlier ones train. Labels of the train and validation cutoffs must be
 * complete before the test cutoff (cutoff + horizon <= test cutoff), otherwise the plan is refused;
 * `allowLabelOverlap` turns that into an accepted, reported compromise for short histories.
 */
export function planBacktest(asOfDates: string[], horizonDays: number, opts: { allowLabelOverlap?: boolean } = {}): BacktestPlan & { labelOverlapDays: number } {
  if (!(Number.isInteger(horizonDays) && horizonDays > 0)) throw new CohortlabError('BAD_ARGUMENT', `planBacktest: horizon must be a positive whole number of days, got ${horizonDays}.`);
  const sorted = [...new Set(asOfDates)].sort((a, b) => parseDay(a, 'planBacktest') - parseDay(b, 'planBacktest'));
  if (sorted.length < 3) {
    throw new CohortlabError('BAD_ARGUMENT', `planBacktest: ${sorted.length} distinct cutoff(s) (${sorted.join(', ') || 'none'}); a time-based backtest needs at least 3 (train < validation < test), e.g. from suggestCutoffs().`);
  }
  const test = sorted[sorted.length - 1];
  const valid = sorted[sorted.length - 2];
  const train = sorted.slice(0, -2);
  const overlap = Math.max(0, horizonDays - daysBetween(valid, test));
  if (overlap > 0 && !opts.allowLabelOverlap) {
    throw new CohortlabError('BAD_ARGUMENT', `planBacktest: the validation cutoff ${valid} is ${daysBetween(valid, test)} days before the test cutoff ${test}, less than the ${horizonDays}-day horizon, so its labels look into the test period; space cutoffs at least ${horizonDays} days apart (suggestCutoffs does) or shorten the horizon.`);
  }
  return { train, valid, test, horizonDays, labelOverlapDays: overlap };
}

/**
 * `count` as-of dates spaced `horizonDays` apart, the latest being the last date whose horizon the
 * data still covers (lastEventDay - horizonDays). Throws when the history is too short.
 */
export function suggestCutoffs(opts: { firstEventDay: string; lastEventDay: string; horizonDays: number; count?: number; minHistoryDays?: number }): string[] {
  const count = opts.count ?? 3;
  const minHistory = opts.minHistoryDays ?? 28;
  const first = parseDay(opts.firstEventDay, 'suggestCutoffs');
  const last = parseDay(opts.lastEventDay, 'suggestCutoffs');
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    // as-of D has cutoff D+1; the horizon [D+1, D+1+H) must end by the day after the last event.
    const d = last - (opts.horizonDays + k * opts.horizonDays) * DAY_MS;
    if (d - first < minHistory * DAY_MS) {
      throw new CohortlabError('BAD_ARGUMENT', `suggestCutoffs: events span ${opts.firstEventDay} to ${opts.lastEventDay}, too short for ${count} cutoffs ${opts.horizonDays} days apart with ${minHistory} days of history before the first; use fewer cutoffs, a shorter horizon, or more data.`);
    }
    out.push(formatDay(d));
  }
  return out.reverse();
}

export interface BacktestData {
  plan: BacktestPlan & { labelOverlapDays: number };
  train: LabelledRows;
  valid: LabelledRows;
  test: LabelledRows;
  /** Users already churned at each cutoff, left out of every set (they cannot churn again). */
  excludedAlreadyChurned: Record<string, number>;
}

/** Matrices for a plan from one FeatureTable per as-of date (tables may come in any order). */
export function assembleBacktest(tables: FeatureTable[], features: string[], horizonDays: number, opts: { allowLabelOverlap?: boolean } = {}): BacktestData {
  const plan = planBacktest(tables.map((t) => t.asOf), horizonDays, opts);
  const byDate = new Map(tables.map((t) => [t.asOf, t]));
  const excluded: Record<string, number> = {};
  const rows = (dates: string[]) => {
    const r = labelledRows(dates.map((d) => byDate.get(d) as FeatureTable), features);
    for (const d of dates) excluded[d] = eligibleRows(byDate.get(d) as FeatureTable).alreadyChurned;
    return r;
  };
  return { plan, train: rows(plan.train), valid: rows([plan.valid]), test: rows([plan.test]), excludedAlreadyChurned: excluded };
}
