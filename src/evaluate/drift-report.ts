/**
 * The drift report of one refresh (issue 21 part 3): every model feature, the model's prediction and the
 * playbook rule scores, measured against the training snapshot with `measureDrift` (PSI over bins fixed on
 * the training sample, KS for continuous variables, the chi-square noise bound so a small refresh does not
 * cry drift). Pure: the caller reads the reference sample (drift-reference.parquet of the version) and the
 * refresh's columns.
 *
 * Verdict: retraining is advised when the prediction or any behaviour feature reaches "act" (PSI >= 0.25 and above
 * the noise bound); "watch" variables are listed. Reported but not advice:
 * - rule scores (the playbook's thresholds do not move with the population; a shift there says it changed);
 * - cumulative features (lifetime counts, tenure, ever-flags): they drift as a cohort ages or the log grows
 *   while behaviour holds still (a single-cohort log such as CDNOW moves tenure every month);
 * - calendar features (recency) when the two dates fall on different weekdays: a Monday cutoff sees the
 *   weekend's gap, a Sunday one does not, in any product with a weekly rhythm.
 */
import { DRIFT_BINS, measureDrift, MIN_DRIFT_SAMPLE, PSI_ACT, PSI_WATCH, type DriftResult, type DriftStatus } from './drift.js';

export type DriftKind = 'feature' | 'prediction' | 'rule_score';

export interface DriftVariable {
  name: string;
  kind: DriftKind;
  /** Why a shift of this variable is reported but advises nothing: null, or 'cumulative' / 'weekday'. */
  not_advice: 'cumulative' | 'weekday' | null;
  psi: number;
  noise_bound: number;
  status: DriftStatus;
  reference_n: number;
  current_n: number;
  /** Values left out because they were not finite (NaN: a score undefined for a user), per side. */
  missing: { reference: number; current: number };
  ks: { statistic: number; p_value: number } | null;
  bins: { edges: number[]; reference_shares: number[]; current_shares: number[] };
}

export interface DriftReport {
  reference: { as_of: string; users: number; sample: number; source: string };
  current: { as_of: string; users: number };
  thresholds: { watch: number; act: number; min_sample: number; bins: number; noise_quantile: number };
  features: DriftVariable[];
  prediction: DriftVariable | null;
  rule_scores: DriftVariable[];
  summary: {
    /** Prediction and behaviour features at act / watch: the advice. */
    act: string[];
    watch: string[];
    /** Cumulative or weekday-sensitive features at watch or act: shown, not advice. */
    expected: string[];
    too_few: string[];
    retrain_advised: boolean;
    text: string;
  };
}

export interface DriftSide {
  asOf: string;
  users: number;
  columns: Record<string, ArrayLike<number>>;
}

export interface DriftSpec {
  features: readonly string[];
  /** The model's output column (churn_probability, upgrade_probability, ...), when both sides carry it. */
  prediction: string | null;
  ruleScores: readonly string[];
  /** Features that grow with age or log length (features/dictionary.ts cumulativeFeatures). */
  cumulative?: readonly string[];
  /** Features that follow the as-of weekday (recency). */
  calendar?: readonly string[];
}

function finite(values: ArrayLike<number>): { values: Float64Array; missing: number } {
  const out = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (Number.isFinite(v)) out[n++] = v;
  }
  return { values: out.subarray(0, n), missing: values.length - n };
}

const round = (x: number, d = 6) => Number(x.toFixed(d));

function variable(name: string, kind: DriftKind, ref: ArrayLike<number>, cur: ArrayLike<number>, notAdvice: DriftVariable['not_advice']): DriftVariable | null {
  const r = finite(ref);
  const c = finite(cur);
  if (r.values.length === 0 || c.values.length === 0) return null;
  const d: DriftResult = measureDrift(r.values, c.values, { what: name });
  return {
    name,
    kind,
    not_advice: notAdvice,
    psi: round(d.psi),
    noise_bound: round(d.noiseBound),
    status: d.status,
    reference_n: d.referenceN,
    current_n: d.currentN,
    missing: { reference: r.missing, current: c.missing },
    ks: d.ks ? { statistic: round(d.ks.statistic), p_value: d.ks.pValue } : null,
    bins: { edges: d.edges, reference_shares: d.referenceShares.map((x) => round(x)), current_shares: d.currentShares.map((x) => round(x)) },
  };
}

/** Drift of every variable of `spec` present on both sides; the source names where the reference came from. */
export function driftReport(reference: DriftSide & { source: string }, current: DriftSide, spec: DriftSpec): DriftReport {
  const otherWeekday = weekday(reference.asOf) !== weekday(current.asOf);
  const why = (n: string): DriftVariable['not_advice'] => (spec.cumulative?.includes(n) ? 'cumulative' : otherWeekday && spec.calendar?.includes(n) ? 'weekday' : null);
  const pick = (names: readonly string[], kind: DriftKind) =>
    names.filter((n) => reference.columns[n] && current.columns[n]).map((n) => variable(n, kind, reference.columns[n], current.columns[n], kind === 'feature' ? why(n) : null)).filter((v): v is DriftVariable => v !== null);
  const features = pick(spec.features, 'feature').sort((a, b) => b.psi - a.psi);
  const prediction = spec.prediction ? (pick([spec.prediction], 'prediction')[0] ?? null) : null;
  const ruleScores = pick(spec.ruleScores, 'rule_score');
  const modelSide = [...(prediction ? [prediction] : []), ...features.filter((v) => !v.not_advice)];
  const moved = (v: DriftVariable) => v.status === 'watch' || v.status === 'act';
  const act = modelSide.filter((v) => v.status === 'act').map((v) => v.name);
  const watch = [...modelSide, ...ruleScores].filter((v) => v.status === 'watch').map((v) => v.name);
  const expected = features.filter((v) => v.not_advice && moved(v)).map((v) => v.name);
  const tooFew = [...modelSide, ...ruleScores].filter((v) => v.status === 'too_few').map((v) => v.name);
  const sample = Math.max(0, ...Object.values(reference.columns).map((c) => c.length));
  const report: DriftReport = {
    reference: { as_of: reference.asOf, users: reference.users, sample, source: reference.source },
    current: { as_of: current.asOf, users: current.users },
    thresholds: { watch: PSI_WATCH, act: PSI_ACT, min_sample: MIN_DRIFT_SAMPLE, bins: DRIFT_BINS, noise_quantile: 0.99 },
    features,
    prediction,
    rule_scores: ruleScores,
    summary: { act, watch, expected, too_few: tooFew, retrain_advised: act.length > 0, text: '' },
  };
  report.summary.text = driftLine(report);
  return report;
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const weekday = (d: string) => WEEKDAYS[new Date(`${d}T00:00:00Z`).getUTCDay()];

const fmt = (v: DriftVariable) => `${v.name} PSI ${v.psi.toFixed(3)} (noise bound ${v.noise_bound.toFixed(3)})`;

/** One line: what was compared with what (dates, users), the worst shifts, and whether retraining is advised. */
export function driftLine(r: DriftReport): string {
  const all = [...(r.prediction ? [r.prediction] : []), ...r.features, ...r.rule_scores];
  const when = r.current.as_of < r.reference.as_of ? ', a date before it' : '';
  const head = `drift ${r.current.as_of} (${r.current.users.toLocaleString('en-US')} live users) vs the training snapshot ${r.reference.as_of} (${r.reference.sample.toLocaleString('en-US')} live users${when})`;
  if (all.length && all.every((v) => v.status === 'too_few')) {
    return `${head}: too few users for a verdict (fewer than ${r.thresholds.min_sample} on a side); nothing is claimed`;
  }
  const pred = r.prediction ? `prediction ${r.prediction.status} (PSI ${r.prediction.psi.toFixed(3)})` : 'no prediction column';
  const byName = new Map(all.map((v) => [v.name, v]));
  const listed = (names: string[]) => names.slice(0, 3).map((n) => fmt(byName.get(n)!)).join('; ') + (names.length > 3 ? `; +${names.length - 3} more` : '');
  const acts = r.summary.act.length ? `act: ${listed(r.summary.act)}` : 'nothing at act (PSI >= 0.25)';
  const watches = r.summary.watch.length ? `; watch: ${listed(r.summary.watch)}` : '';
  const expectedOnes = r.summary.expected.map((n) => byName.get(n)!);
  const cumulative = expectedOnes.filter((v) => v.not_advice === 'cumulative').map((v) => v.name);
  const calendar = expectedOnes.filter((v) => v.not_advice === 'weekday').map((v) => v.name);
  const aside = [
    cumulative.length ? `; moved as users and the log aged (cumulative, not advice): ${listed(cumulative)}` : '',
    calendar.length ? `; ${r.current.as_of} is a ${weekday(r.current.as_of)}, the training snapshot a ${weekday(r.reference.as_of)}, so recency moved with the weekly rhythm (not advice): ${listed(calendar)}` : '',
  ].join('');
  const advice = r.summary.retrain_advised ? 'retraining advised' : r.summary.watch.length ? 'no retraining advised yet; watch the listed variables' : 'stable: no retraining advised';
  const worstAdvice = [...(r.prediction ? [r.prediction] : []), ...r.features.filter((v) => !v.not_advice)].sort((a, b) => b.psi - a.psi)[0];
  return `${head}: ${pred}; ${acts}${watches}${aside}; largest behaviour shift ${worstAdvice ? fmt(worstAdvice) : 'none'}. ${advice}`;
}
