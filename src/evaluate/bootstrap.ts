/**
 * Seeded, paired bootstrap of every metric for several scorers on the same users.
 *
 * One resample = n draws with replacement of test users, kept as a count per user. Every scorer is
 * measured on the same counts, so the interval of "model AUC - rule AUC" is a paired interval (the
 * users that make one score look good are the same for the other). Percentile intervals (2.5%, 97.5%).
 */
import { CohortlabError } from '../shared/errors.js';
import { createRng } from '../shared/rng.js';
import { quantileSorted } from '../shared/preprocess.js';
import {
  averagePrecisionFromCounts,
  brierScore,
  checkScores,
  groupCounts,
  logLoss,
  LOG_LOSS_EPS,
  rankScores,
  rocAucFromCounts,
  topShareFromCounts,
  type GroupCounts,
  type Labels,
  type RankedScores,
} from './metrics.js';

export interface MetricInterval {
  value: number;
  /** 2.5% percentile of the bootstrap distribution. */
  lo: number;
  /** 97.5% percentile. */
  hi: number;
}

export interface ScorerInput {
  name: string;
  scores: ArrayLike<number>;
  /** True when scores are probabilities (then log loss and Brier are measured too). */
  isProbability: boolean;
}

export const METRIC_NAMES = [
  'rocAuc',
  'prAuc',
  'logLoss',
  'brier',
  'liftTop10',
  'captureTop10',
  'liftTop20',
  'captureTop20',
  'precisionAtHighRiskShare',
  'recallAtHighRiskShare',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** null when not defined for the scorer (log loss of a 0-100 rule score) or not computable (no churner). */
export type ScorerMetrics = Record<MetricName, MetricInterval | null>;

export interface MetricDifference {
  a: string;
  b: string;
  metric: 'rocAuc' | 'prAuc';
  /** metric(a) - metric(b) on the full test set, with its paired interval. */
  value: number;
  lo: number;
  hi: number;
}

export interface BootstrapResult {
  scorers: Record<string, ScorerMetrics>;
  differences: MetricDifference[];
  resamples: number;
  /** Resamples left out because they drew no churner or no non-churner. */
  skipped: number;
  seed: number;
  highRiskShare: number;
}

export interface BootstrapOptions {
  seed: number;
  /** Default 1000. */
  resamples?: number;
  /** Share of test users in the rule's "high risk" tier (playbook §4.4: churn_risk_score >= 70). */
  highRiskShare: number;
  /** Pairs [a, b] whose ROC-AUC and PR-AUC difference a - b gets a paired interval. */
  differences?: [string, string][];
}

/**
 * A probability scorer's per-user log-loss and squared-error terms, computed once: every resample only weights
 * them (the same terms in the same order as logLoss and brierScore, so the same bits).
 */
interface ProbabilityTerms {
  loss: Float64Array;
  /** p - y (squared in the sum as brierScore does: w * d * d). */
  diff: Float64Array;
}

function probabilityTerms(p: ArrayLike<number>, y: Labels): ProbabilityTerms {
  const loss = new Float64Array(p.length);
  const diff = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const q = Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, p[i]));
    loss[i] = y[i] === 1 ? Math.log(q) : Math.log(1 - q);
    diff[i] = p[i] - y[i];
  }
  return { loss, diff };
}

/** logLoss and brierScore of a resample from the terms (users with weight 0 left out, as there). */
function weightedTerms(t: ProbabilityTerms, w: Float64Array): { logLoss: number; brier: number } {
  let s = 0;
  let b = 0;
  let n = 0;
  for (let i = 0; i < w.length; i++) {
    const wi = w[i];
    if (wi === 0) continue;
    s -= wi * t.loss[i];
    const d = t.diff[i];
    b += wi * d * d;
    n += wi;
  }
  return n > 0 ? { logLoss: s / n, brier: b / n } : { logLoss: NaN, brier: NaN };
}

function pointMetrics(c: GroupCounts, s: ScorerInput, y: Labels, highRiskShare: number, w?: Float64Array, terms?: ProbabilityTerms | null): Record<MetricName, number> {
  const probability = s.isProbability ? (w && terms ? weightedTerms(terms, w) : { logLoss: logLoss(s.scores, y, w), brier: brierScore(s.scores, y, w) }) : null;
  const t10 = topShareFromCounts(c, 0.1);
  const t20 = topShareFromCounts(c, 0.2);
  const hr = topShareFromCounts(c, highRiskShare);
  return {
    rocAuc: rocAucFromCounts(c),
    prAuc: averagePrecisionFromCounts(c),
    logLoss: probability ? probability.logLoss : NaN,
    brier: probability ? probability.brier : NaN,
    liftTop10: t10.lift,
    captureTop10: t10.recall,
    liftTop20: t20.lift,
    captureTop20: t20.recall,
    precisionAtHighRiskShare: highRiskShare > 0 ? hr.precision : NaN,
    recallAtHighRiskShare: highRiskShare > 0 ? hr.recall : NaN,
  };
}

/**
 * A scorer's tie groups seen from the users: the group of each user, so a resample's counts are one pass over the
 * users in their own order (the weights and labels read in sequence) instead of a walk through the ranking.
 */
interface UserGroups {
  groupOf: Uint32Array;
  /** Scratch counts, refilled by every resample. */
  counts: GroupCounts;
}

function userGroups(r: RankedScores): UserGroups {
  const groupOf = new Uint32Array(r.n);
  const g = r.groupScores.length;
  for (let k = 0; k < g; k++) for (let j = r.groupStarts[k]; j < r.groupStarts[k + 1]; j++) groupOf[r.order[j]] = k;
  return { groupOf, counts: { pos: new Float64Array(g), neg: new Float64Array(g), totalPos: 0, totalNeg: 0 } };
}

/** groupCounts(r, y, w) for integer weights (resample counts): the same sums, as integers add exactly in any order. */
function resampleCounts(u: UserGroups, y: Labels, w: Float64Array, totalPos: number, totalNeg: number): GroupCounts {
  const { pos, neg } = u.counts;
  const groupOf = u.groupOf;
  pos.fill(0);
  neg.fill(0);
  for (let i = 0; i < w.length; i++) {
    const wi = w[i];
    if (wi === 0) continue;
    if (y[i] === 1) pos[groupOf[i]] += wi;
    else neg[groupOf[i]] += wi;
  }
  u.counts.totalPos = totalPos;
  u.counts.totalNeg = totalNeg;
  return u.counts;
}

function interval(value: number, draws: Float64Array): MetricInterval | null {
  if (!Number.isFinite(value)) return null;
  const finite = draws.filter(Number.isFinite).sort();
  return { value, lo: quantileSorted(finite, 0.025), hi: quantileSorted(finite, 0.975) };
}

export function bootstrapMetrics(y: Labels, scorers: ScorerInput[], opts: BootstrapOptions): BootstrapResult {
  const n = y.length;
  if (n === 0) throw new CohortlabError('EMPTY_INPUT', 'bootstrapMetrics: no test users; the test cutoff has no eligible (not yet churned) users.');
  const names = new Set<string>();
  for (const s of scorers) {
    if (names.has(s.name)) throw new CohortlabError('BAD_ARGUMENT', `bootstrapMetrics: scorer name "${s.name}" is used twice; give each scorer its own name.`);
    names.add(s.name);
    checkScores(s.scores, y, `scorer "${s.name}"`);
  }
  const diffs = opts.differences ?? [];
  for (const [a, b] of diffs) {
    if (!names.has(a) || !names.has(b)) throw new CohortlabError('BAD_ARGUMENT', `bootstrapMetrics: difference "${a}" - "${b}" names a scorer that was not passed (have: ${[...names].join(', ')}).`);
  }
  const resamples = opts.resamples ?? 1000;
  if (!Number.isInteger(resamples) || resamples < 0) throw new CohortlabError('BAD_ARGUMENT', `bootstrapMetrics: resamples must be a non-negative integer, got ${resamples}.`);
  const ranked = scorers.map((s) => rankScores(s.scores));
  const groups = ranked.map(userGroups);
  const terms = scorers.map((s) => (s.isProbability ? probabilityTerms(s.scores, y) : null));
  const point = scorers.map((s, k) => pointMetrics(groupCounts(ranked[k], y), s, y, opts.highRiskShare));
  // draws[k][m][b]: metric m of scorer k in the b-th kept resample
  const draws = scorers.map(() => METRIC_NAMES.map(() => new Float64Array(resamples)));
  const diffIndex = diffs.map(([a, b]) => [scorers.findIndex((s) => s.name === a), scorers.findIndex((s) => s.name === b)]);
  const diffDraws = diffs.map(() => ({ rocAuc: new Float64Array(resamples), prAuc: new Float64Array(resamples) }));
  const ms: Record<MetricName, number>[] = new Array(scorers.length);
  const rng = createRng(opts.seed);
  const w = new Float64Array(n);
  const drawn = new Uint32Array(n);
  let skipped = 0;
  for (let b = 0; b < resamples; b++) {
    w.fill(0);
    rng.ints(n, drawn);
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const j = drawn[i];
      w[j] += 1;
      pos += y[j];
    }
    if (pos === 0 || pos === n) {
      skipped++;
      continue;
    }
    const kept = b - skipped;
    for (let k = 0; k < scorers.length; k++) {
      ms[k] = pointMetrics(resampleCounts(groups[k], y, w, pos, n - pos), scorers[k], y, opts.highRiskShare, w, terms[k]);
      for (let m = 0; m < METRIC_NAMES.length; m++) draws[k][m][kept] = ms[k][METRIC_NAMES[m]];
    }
    for (let d = 0; d < diffs.length; d++) {
      const [ia, ib] = diffIndex[d];
      diffDraws[d].rocAuc[kept] = ms[ia].rocAuc - ms[ib].rocAuc;
      diffDraws[d].prAuc[kept] = ms[ia].prAuc - ms[ib].prAuc;
    }
  }
  const kept = resamples - skipped;
  const out: Record<string, ScorerMetrics> = {};
  scorers.forEach((s, k) => {
    out[s.name] = Object.fromEntries(METRIC_NAMES.map((m, j) => [m, interval(point[k][m], draws[k][j].subarray(0, kept))])) as ScorerMetrics;
  });
  const differences: MetricDifference[] = [];
  diffs.forEach(([a, b], d) => {
    const [ia, ib] = diffIndex[d];
    for (const metric of ['rocAuc', 'prAuc'] as const) {
      const iv = interval(point[ia][metric] - point[ib][metric], diffDraws[d][metric].subarray(0, kept));
      differences.push({ a, b, metric, value: iv?.value ?? NaN, lo: iv?.lo ?? NaN, hi: iv?.hi ?? NaN });
    }
  });
  return { scorers: out, differences, resamples, skipped, seed: opts.seed, highRiskShare: opts.highRiskShare };
}

/** The part of a bootstrap about `names`: their metrics, and the differences between two of them. */
export function pickScorers(r: BootstrapResult, names: string[]): BootstrapResult {
  const keep = new Set(names);
  for (const name of names) if (!r.scorers[name]) throw new CohortlabError('BAD_ARGUMENT', `pickScorers: the bootstrap measured no scorer "${name}" (it has: ${Object.keys(r.scorers).join(', ')}).`);
  return {
    ...r,
    scorers: Object.fromEntries(names.map((name) => [name, r.scorers[name]])),
    differences: r.differences.filter((d) => keep.has(d.a) && keep.has(d.b)),
  };
}
