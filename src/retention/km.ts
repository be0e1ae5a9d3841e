import { CohortlabError } from '../shared/errors.js';
import { chiSquareSurvival } from './chi2.js';

/**
 * Kaplan-Meier survival of right-censored durations, Greenwood standard errors, pointwise 95% bands,
 * the median with its interval, and the log-rank test between groups. Pure: arrays in, plain data out.
 * Every formula follows statsmodels (duration/survfunc.py: SurvfuncRight, quantile, quantile_ci, survdiff),
 * the independent implementation the tests compare against to 1e-9 (test/fixtures/retention-km.py).
 */

/** z of a two-sided 95% interval: scipy.stats.norm.ppf(0.975). */
export const Z_95 = 1.959963984540054;

/** One step of a survival curve: a time at which at least one churn was observed. */
export interface SurvivalStep {
  tDays: number;
  /** Users whose duration is >= tDays (still at risk just before it). */
  atRisk: number;
  /** Churns observed at tDays. */
  churned: number;
  survival: number;
  /** Greenwood standard error of `survival`; NaN where it is undefined (everyone left churned). */
  se: number;
  /** Pointwise 95% band on the log-log (complementary log-log) scale; equal to `survival` at 0 and 1. */
  lower: number;
  upper: number;
}

export interface SurvivalCurve {
  users: number;
  churned: number;
  censored: number;
  steps: SurvivalStep[];
  /** Median lifetime in days (first time survival < 0.5, as statsmodels and SAS), null when never reached. */
  medianDays: number | null;
  /** Its 95% interval (inverted log-log z-tests, statsmodels quantile_ci); `upper` null = unbounded. */
  medianLower: number | null;
  medianUpper: number | null;
}

export interface LogRankResult {
  groups: string[];
  chiSquare: number;
  df: number;
  pValue: number;
  /** Observed and expected churns per group (expected under equal hazards), in `groups` order. */
  observed: number[];
  expected: number[];
}

function checkInputs(durations: ArrayLike<number>, churned: ArrayLike<number>): void {
  if (durations.length !== churned.length) throw new CohortlabError('BAD_ARGUMENT', `durations (${durations.length}) and churn flags (${churned.length}) differ in length.`);
  for (let i = 0; i < durations.length; i++) {
    const t = durations[i];
    if (!Number.isFinite(t) || t < 0) throw new CohortlabError('BAD_ARGUMENT', `duration ${i} is ${t}; durations must be finite and >= 0 days.`);
    if (churned[i] !== 0 && churned[i] !== 1) throw new CohortlabError('BAD_ARGUMENT', `churn flag ${i} is ${churned[i]}; it must be 1 (churn observed) or 0 (censored).`);
  }
}

/**
 * Distinct times ascending with the users ending at each and the churns among them: two typed-array sorts (all
 * durations, the churned ones) merged, rather than a comparator sort of indices (4x faster at a million users).
 */
function tally(durations: ArrayLike<number>, churned: ArrayLike<number>): { times: number[]; ending: number[]; events: number[] } {
  const all = Float64Array.from(durations).sort();
  let nEvents = 0;
  for (let i = 0; i < churned.length; i++) nEvents += churned[i];
  const ev = new Float64Array(nEvents);
  for (let i = 0, j = 0; i < durations.length; i++) if (churned[i] === 1) ev[j++] = durations[i];
  ev.sort();
  const times: number[] = [];
  const ending: number[] = [];
  const events: number[] = [];
  let j = 0;
  for (let i = 0; i < all.length; ) {
    const t = all[i];
    let e = 0;
    while (i < all.length && all[i] === t) {
      e++;
      i++;
    }
    let d = 0;
    while (j < ev.length && ev[j] === t) {
      d++;
      j++;
    }
    times.push(t);
    ending.push(e);
    events.push(d);
  }
  return { times, ending, events };
}

/** Index of `t` in the ascending `times` (present by construction). */
function indexOf(times: Float64Array, t: number): number {
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The log-log band around s with Greenwood se: s^exp(+-z se / (s |ln s|)). */
function logLogBand(s: number, se: number, z: number): { lower: number; upper: number } {
  if (s <= 0 || s >= 1 || !Number.isFinite(se)) return { lower: s, upper: s };
  const sd = se / (s * Math.abs(Math.log(s)));
  return { lower: Math.pow(s, Math.exp(z * sd)), upper: Math.pow(s, Math.exp(-z * sd)) };
}

/**
 * Delayed entry (left truncation): `entry[i]` finite = user i is not at risk at times <= entry[i] (observed from
 * after it, statsmodels' `entry`); NaN or -Infinity = at risk from time 0. Returns the entries sorted, for a
 * pointer walk over ascending times: users not yet entered at t = entries >= t.
 */
function sortedEntries(entry: ArrayLike<number> | undefined, durations: ArrayLike<number>): Float64Array {
  if (!entry) return new Float64Array(0);
  if (entry.length !== durations.length) throw new CohortlabError('BAD_ARGUMENT', `entries (${entry.length}) and durations (${durations.length}) differ in length.`);
  const out: number[] = [];
  for (let i = 0; i < entry.length; i++) {
    const e = entry[i];
    if (!Number.isFinite(e)) continue;
    if (e >= durations[i]) throw new CohortlabError('BAD_ARGUMENT', `entry ${i} is ${e} days, not before its duration ${durations[i]}: a user must enter the risk set before he leaves it.`);
    out.push(e);
  }
  return Float64Array.from(out).sort();
}

/**
 * Kaplan-Meier with Greenwood's variance, as statsmodels' `_calc_survfunc_right` (no weights; `entry` as its delayed
 * entry): S(t) = prod (1 - d_i / n_i) over churn times <= t, var = S^2 sum d_i / (n_i (n_i - d_i)), with n_i the
 * users whose duration is >= t_i, less those not yet entered (entry >= t_i).
 */
export function kaplanMeier(durations: ArrayLike<number>, churned: ArrayLike<number>, opts: { z?: number; entry?: ArrayLike<number> } = {}): SurvivalCurve {
  checkInputs(durations, churned);
  const z = opts.z ?? Z_95;
  const { times, ending, events } = tally(durations, churned);
  const entries = sortedEntries(opts.entry, durations);
  let entered = 0;
  let atRisk = durations.length;
  let logS = 0;
  let zeroed = false;
  let green = 0;
  let greenUndefined = false;
  const steps: SurvivalStep[] = [];
  let nChurned = 0;
  for (let k = 0; k < times.length; k++) {
    while (entered < entries.length && entries[entered] < times[k]) entered++;
    const n = atRisk - (entries.length - entered);
    const d = events[k];
    atRisk -= ending[k];
    nChurned += d;
    if (d === 0) continue;
    const p = 1 - d / n;
    // statsmodels floors a factor at 1e-16 before the log and reports 0 from there on.
    if (p < 1e-16) zeroed = true;
    else logS += Math.log(p);
    const s = zeroed ? 0 : Math.exp(logS);
    if (n === d) greenUndefined = true;
    else green += d / Math.max(n * (n - d), 1e-12);
    const se = greenUndefined ? Number.NaN : s * Math.sqrt(green);
    const band = logLogBand(s, se, z);
    steps.push({ tDays: times[k], atRisk: n, churned: d, survival: s, se, lower: band.lower, upper: band.upper });
  }
  const med = medianWithInterval(steps, z);
  return { users: durations.length, churned: nChurned, censored: durations.length - nChurned, steps, ...med };
}

/**
 * The median (p = 0.5) as statsmodels' `quantile` (first step with S < 0.5) and its interval as `quantile_ci`
 * with the default cloglog method: the steps whose z-statistic |g(S) - g(0.5)| / (g'(S) se) <= z, with
 * g(x) = ln(-ln x); lower = the first such time, upper = the time after the last such (unbounded if last).
 */
function medianWithInterval(steps: SurvivalStep[], z: number): { medianDays: number | null; medianLower: number | null; medianUpper: number | null } {
  // S exactly 0.5 (29 of 58 left) comes out of exp(sum log) as 0.49999999999999994 in one library and 0.5 in another:
  // a value within 1e-12 of 0.5 counts as 0.5, which the strict rule does not pass.
  const first = steps.find((s) => s.survival < 0.5 - 1e-12);
  const g = (x: number) => Math.log(-Math.log(x));
  const gPrime = (x: number) => -1 / (x * Math.log(x));
  const inside: number[] = [];
  steps.forEach((s, i) => {
    const r = (g(s.survival) - g(0.5)) / (gPrime(s.survival) * s.se);
    if (Math.abs(r) <= z) inside.push(i);
  });
  let lower: number | null = null;
  let upper: number | null = null;
  if (inside.length) {
    lower = steps[inside[0]].tDays;
    const last = inside[inside.length - 1];
    upper = last === steps.length - 1 ? null : steps[last + 1].tDays;
  }
  return { medianDays: first ? first.tDays : null, medianLower: lower, medianUpper: upper };
}

/** Solves A x = b (A symmetric positive definite in practice) by Gaussian elimination with partial pivoting. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    if (Math.abs(m[c][c]) < 1e-300) throw new CohortlabError('BAD_ARGUMENT', 'the log-rank variance matrix is singular: a group has no user at risk at any churn time.');
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let k = r + 1; k < n; k++) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return x;
}

/**
 * The log-rank test of equal survival across groups, as statsmodels' `survdiff` (weight_type None): at each
 * distinct time with more than one user at risk, O - E per group and the hypergeometric covariance; the first
 * group (in sorted order) is the reference; chi-square = (O - E)' V^-1 (O - E) on groups - 1 degrees of freedom.
 */
export function logRank(durations: ArrayLike<number>, churned: ArrayLike<number>, groups: readonly string[], opts: { entry?: ArrayLike<number> } = {}): LogRankResult {
  checkInputs(durations, churned);
  sortedEntries(opts.entry, durations);
  if (groups.length !== durations.length) throw new CohortlabError('BAD_ARGUMENT', `groups (${groups.length}) and durations (${durations.length}) differ in length.`);
  const names = [...new Set(groups)].sort();
  if (names.length < 2) throw new CohortlabError('BAD_ARGUMENT', `the log-rank test needs at least 2 groups, got ${names.length} (${names.join(', ') || 'none'}).`);
  const gi = new Map(names.map((g, i) => [g, i]));
  const groupIndex = Int32Array.from(groups, (g) => gi.get(g) as number);
  const k = names.length;
  const times = Float64Array.from(tally(durations, churned).times);
  const ml = times.length;
  // Per group: users ending and churns at each time.
  const ending = names.map(() => new Float64Array(ml));
  const obs = names.map(() => new Float64Array(ml));
  for (let i = 0; i < durations.length; i++) {
    const g = groupIndex[i];
    const t = indexOf(times, durations[i]);
    ending[g][t]++;
    obs[g][t] += churned[i];
  }
  // Not yet entered (delayed entry): user i is out of the risk set at every time <= entry[i].
  const waiting = names.map(() => new Float64Array(ml + 1));
  if (opts.entry) {
    for (let i = 0; i < durations.length; i++) {
      const e = opts.entry[i];
      if (!Number.isFinite(e)) continue;
      // times[0..j) are <= e
      let lo = 0;
      let hi = ml;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (times[mid] <= e) lo = mid + 1;
        else hi = mid;
      }
      waiting[groupIndex[i]][0]++;
      waiting[groupIndex[i]][lo]--;
    }
  }
  const risk = ending.map((e, g) => {
    const r = new Float64Array(ml);
    let acc = 0;
    for (let t = ml - 1; t >= 0; t--) r[t] = acc += e[t];
    let w = 0;
    for (let t = 0; t < ml; t++) r[t] -= w += waiting[g][t];
    return r;
  });
  const observed = new Array<number>(k).fill(0);
  const expected = new Array<number>(k).fill(0);
  const oe = new Array<number>(k - 1).fill(0);
  const v = Array.from({ length: k - 1 }, () => new Array<number>(k - 1).fill(0));
  for (let t = 0; t < ml; t++) {
    let nTot = 0;
    let dTot = 0;
    for (let g = 0; g < k; g++) {
      nTot += risk[g][t];
      dTot += obs[g][t];
    }
    for (let g = 0; g < k; g++) {
      observed[g] += obs[g][t];
      expected[g] += nTot > 0 ? (risk[g][t] / nTot) * dTot : 0;
    }
    if (nTot <= 1) continue;
    const scalar = (dTot * (nTot - dTot)) / Math.max(nTot - 1, 1e-10);
    for (let a = 1; a < k; a++) {
      const ra = risk[a][t] / nTot;
      oe[a - 1] += obs[a][t] - ra * dTot;
      for (let b = 1; b < k; b++) {
        const rb = risk[b][t] / nTot;
        v[a - 1][b - 1] += rb * ((a === b ? 1 : 0) - ra) * scalar;
      }
    }
  }
  const x = solve(v, oe);
  const chiSquare = oe.reduce((s, o, i) => s + o * x[i], 0);
  const df = k - 1;
  return { groups: names, chiSquare, df, pValue: chiSquareSurvival(chiSquare, df), observed, expected };
}
