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
 * A probability scorer's per-user log-loss term and p - y, computed once (the same terms in the same order as
 * logLoss and brierScore, so the same bits): every resample only weights them.
 */
function probabilityTerms(p: ArrayLike<number>, y: Labels): { loss: Float64Array; diff: Float64Array } {
  const loss = new Float64Array(p.length);
  const diff = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const q = Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, p[i]));
    loss[i] = y[i] === 1 ? Math.log(q) : Math.log(1 - q);
    diff[i] = p[i] - y[i];
  }
  return { loss, diff };
}

function pointMetrics(c: GroupCounts, probability: { logLoss: number; brier: number } | null, highRiskShare: number): Record<MetricName, number> {
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
 * What a resample needs of every scorer, laid out user by user so that one pass over the users fills all of them:
 * each user's tie group in each scorer (an index into one array of counts for all scorers, `group[i * K + k]`), and
 * each probability scorer's log-loss term and p - y (`loss[i * P + p]`). One pass reads a user's weight and label
 * once instead of once per scorer (five scorers on 51,694 synthetic users, 1,000 resamples: 3.5 -> 1.7 s, the same bits).
 */
interface ResampleLayout {
  scorers: number;
  group: Uint32Array;
  /** Counts of every scorer's groups, scorer after scorer; `counts[k]` views its part. */
  pos: Float64Array;
  neg: Float64Array;
  counts: GroupCounts[];
  /** Probability scorers: their indices among the scorers, and their terms user by user. */
  probability: number[];
  loss: Float64Array;
  diff: Float64Array;
  /** Scratch sums of one resample, per probability scorer. */
  lossSum: Float64Array;
  sqSum: Float64Array;
}

function resampleLayout(ranked: RankedScores[], scorers: ScorerInput[], y: Labels): ResampleLayout {
  const n = y.length;
  const K = ranked.length;
  const offsets = [0];
  for (const r of ranked) offsets.push(offsets[offsets.length - 1] + r.groupScores.length);
  const group = new Uint32Array(n * K);
  ranked.forEach((r, k) => {
    for (let g = 0; g < r.groupScores.length; g++) for (let j = r.groupStarts[g]; j < r.groupStarts[g + 1]; j++) group[r.order[j] * K + k] = offsets[k] + g;
  });
  const pos = new Float64Array(offsets[K]);
  const neg = new Float64Array(offsets[K]);
  const counts = ranked.map((_, k) => ({ pos: pos.subarray(offsets[k], offsets[k + 1]), neg: neg.subarray(offsets[k], offsets[k + 1]), totalPos: 0, totalNeg: 0 }));
  const probability = scorers.flatMap((s, k) => (s.isProbability ? [k] : []));
  const P = probability.length;
  const loss = new Float64Array(n * P);
  const diff = new Float64Array(n * P);
  probability.forEach((k, p) => {
    const t = probabilityTerms(scorers[k].scores, y);
    for (let i = 0; i < n; i++) {
      loss[i * P + p] = t.loss[i];
      diff[i * P + p] = t.diff[i];
    }
  });
  return { scorers: K, group, pos, neg, counts, probability, loss, diff, lossSum: new Float64Array(P), sqSum: new Float64Array(P) };
}

/**
 * One resample's group counts of every scorer (groupCounts(r, y, w) for integer weights: integers add exactly in any
 * order) and the weighted log-loss and squared-error sums of every probability scorer (users with weight 0 left out,
 * each sum over the users in their order, as logLoss and brierScore add them: the same bits). Returns the total weight.
 */
function resampleAll(L: ResampleLayout, y: Labels, w: Float64Array, totalPos: number, totalNeg: number): number {
  const { group, pos, neg, loss, diff, lossSum, sqSum } = L;
  const K = L.scorers;
  const P = L.probability.length;
  pos.fill(0);
  neg.fill(0);
  lossSum.fill(0);
  sqSum.fill(0);
  let total = 0;
  for (let i = 0; i < w.length; i++) {
    const wi = w[i];
    if (wi === 0) continue;
    const g = i * K;
    const into = y[i] === 1 ? pos : neg;
    for (let k = 0; k < K; k++) into[group[g + k]] += wi;
    const t = i * P;
    for (let p = 0; p < P; p++) {
      lossSum[p] -= wi * loss[t + p];
      const d = diff[t + p];
      sqSum[p] += wi * d * d;
    }
    total += wi;
  }
  for (const c of L.counts) {
    c.totalPos = totalPos;
    c.totalNeg = totalNeg;
  }
  return total;
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
  const layout = resampleLayout(ranked, scorers, y);
  const point = scorers.map((s, k) => pointMetrics(groupCounts(ranked[k], y), s.isProbability ? { logLoss: logLoss(s.scores, y), brier: brierScore(s.scores, y) } : null, opts.highRiskShare));
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
    const total = resampleAll(layout, y, w, pos, n - pos);
    for (let k = 0; k < scorers.length; k++) {
      const p = layout.probability.indexOf(k);
      const probability = p < 0 ? null : { logLoss: layout.lossSum[p] / total, brier: layout.sqSum[p] / total };
      ms[k] = pointMetrics(layout.counts[k], probability, opts.highRiskShare);
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
