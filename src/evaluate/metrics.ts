/**
 * Pure ranking and probability metrics for a binary label (1 = churned).
 *
 * Every ranking metric works on a `RankedScores`: the users sorted once by score (descending) and
 * cut into groups of tied scores. A metric is then one O(n) pass over the groups with optional
 * per-user weights, which is how the bootstrap resamples (a resample = how many times each user
 * was drawn) without sorting again. Ties are treated as one threshold everywhere: a tied group is
 * never split by user order, so a rule score with many equal values is not favoured or hurt by the
 * order users happen to be in.
 */
import { CohortlabError } from '../shared/errors.js';

export type Labels = Uint8Array | ArrayLike<number>;

export interface RankedScores {
  /** Users by descending score (stable: equal scores keep index order). */
  order: Uint32Array;
  /** Start of each tie group in `order`, plus a final entry = n. */
  groupStarts: Uint32Array;
  /** The score of each tie group. */
  groupScores: Float64Array;
  n: number;
}

export function checkScores(scores: ArrayLike<number>, y: Labels, what: string): void {
  if (scores.length !== y.length) {
    throw new CohortlabError('BAD_ARGUMENT', `${what}: ${scores.length} scores but ${y.length} labels; pass one score per labelled user.`);
  }
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) {
      throw new CohortlabError('BAD_ARGUMENT', `${what}: score of row ${i} is ${scores[i]}; scores must be finite numbers (impute or drop the row first).`);
    }
    if (y[i] !== 0 && y[i] !== 1) {
      throw new CohortlabError('BAD_ARGUMENT', `${what}: label of row ${i} is ${y[i]}; labels must be 0 or 1.`);
    }
  }
}

export function rankScores(scores: ArrayLike<number>): RankedScores {
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  const order = Uint32Array.from(idx);
  const starts: number[] = [];
  const values: number[] = [];
  for (let k = 0; k < n; k++) {
    if (k === 0 || scores[order[k]] !== scores[order[k - 1]]) {
      starts.push(k);
      values.push(scores[order[k]]);
    }
  }
  starts.push(n);
  return { order, groupStarts: Uint32Array.from(starts), groupScores: Float64Array.from(values), n };
}

/** Weighted positives and negatives per tie group (weights = bootstrap counts, or 1). */
export interface GroupCounts {
  pos: Float64Array;
  neg: Float64Array;
  totalPos: number;
  totalNeg: number;
}

export function groupCounts(r: RankedScores, y: Labels, w?: ArrayLike<number>): GroupCounts {
  const g = r.groupScores.length;
  const pos = new Float64Array(g);
  const neg = new Float64Array(g);
  let totalPos = 0;
  let totalNeg = 0;
  for (let k = 0; k < g; k++) {
    let p = 0;
    let q = 0;
    for (let j = r.groupStarts[k]; j < r.groupStarts[k + 1]; j++) {
      const i = r.order[j];
      const wi = w ? w[i] : 1;
      if (y[i] === 1) p += wi;
      else q += wi;
    }
    pos[k] = p;
    neg[k] = q;
    totalPos += p;
    totalNeg += q;
  }
  return { pos, neg, totalPos, totalNeg };
}

/** ROC-AUC = P(score of a churner > score of a non-churner) + 0.5 P(tie). NaN when a class is absent. */
export function rocAucRanked(r: RankedScores, y: Labels, w?: ArrayLike<number>): number {
  return rocAucFromCounts(groupCounts(r, y, w));
}

export function rocAucFromCounts(c: GroupCounts): number {
  if (c.totalPos === 0 || c.totalNeg === 0) return NaN;
  let posAbove = 0;
  let sum = 0;
  for (let k = 0; k < c.pos.length; k++) {
    sum += c.neg[k] * posAbove + 0.5 * c.neg[k] * c.pos[k];
    posAbove += c.pos[k];
  }
  return sum / (c.totalPos * c.totalNeg);
}

/** Average precision (sklearn's definition, the usual PR-AUC estimate): sum over thresholds of recall step x precision. */
export function averagePrecisionRanked(r: RankedScores, y: Labels, w?: ArrayLike<number>): number {
  return averagePrecisionFromCounts(groupCounts(r, y, w));
}

export function averagePrecisionFromCounts(c: GroupCounts): number {
  if (c.totalPos === 0) return NaN;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  for (let k = 0; k < c.pos.length; k++) {
    tp += c.pos[k];
    fp += c.neg[k];
    if (c.pos[k] > 0) ap += (c.pos[k] / c.totalPos) * (tp / (tp + fp));
  }
  return ap;
}

export interface TopShareStats {
  /** Share of users targeted (0-1). */
  share: number;
  /** Churners among the targeted / targeted users. */
  precision: number;
  /** Churners among the targeted / all churners (the capture rate). */
  recall: number;
  /** precision / base churn rate. */
  lift: number;
}

/**
 * Target the top `share` of users by score. A tie group straddling the cut is taken in proportion
 * (its expected outcome under random tie-breaking), so the result does not depend on row order.
 */
export function topShareRanked(r: RankedScores, y: Labels, share: number, w?: ArrayLike<number>): TopShareStats {
  return topShareFromCounts(groupCounts(r, y, w), share);
}

export function topShareFromCounts(c: GroupCounts, share: number): TopShareStats {
  const total = c.totalPos + c.totalNeg;
  const target = share * total;
  let taken = 0;
  let tp = 0;
  for (let k = 0; k < c.pos.length && taken < target - 1e-12; k++) {
    const size = c.pos[k] + c.neg[k];
    if (size === 0) continue;
    const f = Math.min(1, (target - taken) / size);
    taken += f * size;
    tp += f * c.pos[k];
  }
  const base = total > 0 ? c.totalPos / total : NaN;
  const precision = taken > 0 ? tp / taken : NaN;
  return { share, precision, recall: c.totalPos > 0 ? tp / c.totalPos : NaN, lift: precision / base };
}

/** Probabilities are clipped to [LOG_LOSS_EPS, 1 - LOG_LOSS_EPS] in the log loss. */
export const LOG_LOSS_EPS = 1e-15;
const EPS = LOG_LOSS_EPS;

/** Mean negative log-likelihood of probabilities p (clipped to [1e-15, 1 - 1e-15]). */
export function logLoss(p: ArrayLike<number>, y: Labels, w?: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < p.length; i++) {
    const wi = w ? w[i] : 1;
    if (wi === 0) continue;
    const q = Math.min(1 - EPS, Math.max(EPS, p[i]));
    s -= wi * (y[i] === 1 ? Math.log(q) : Math.log(1 - q));
    n += wi;
  }
  return n > 0 ? s / n : NaN;
}

/** Mean squared error of probabilities against the 0/1 outcome. */
export function brierScore(p: ArrayLike<number>, y: Labels, w?: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < p.length; i++) {
    const wi = w ? w[i] : 1;
    if (wi === 0) continue;
    const d = p[i] - y[i];
    s += wi * d * d;
    n += wi;
  }
  return n > 0 ? s / n : NaN;
}

/**
 * rocAucRanked(rankScores(scores), y) without the index sort: churners' and stayers' scores sorted apart (numeric
 * typed-array sorts), then walked from the top a tie group at a time, with the same sums in the same group order as
 * rocAucFromCounts, so the same bits. Permutation importance measures it a few hundred times per model.
 */
export function rocAuc(scores: ArrayLike<number>, y: Labels): number {
  checkScores(scores, y, 'rocAuc');
  let nPos = 0;
  for (let i = 0; i < y.length; i++) nPos += y[i];
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(y.length - nPos);
  for (let i = 0, a = 0, b = 0; i < y.length; i++) {
    if (y[i] === 1) pos[a++] = scores[i];
    else neg[b++] = scores[i];
  }
  if (pos.length === 0 || neg.length === 0) return NaN;
  pos.sort();
  neg.sort();
  let i = pos.length - 1;
  let j = neg.length - 1;
  let posAbove = 0;
  let sum = 0;
  while (i >= 0 || j >= 0) {
    const v = i < 0 ? neg[j] : j < 0 ? pos[i] : Math.max(pos[i], neg[j]);
    let p = 0;
    let q = 0;
    // === joins -0 and 0 into one group, as rankScores does
    while (i >= 0 && pos[i] === v) {
      p++;
      i--;
    }
    while (j >= 0 && neg[j] === v) {
      q++;
      j--;
    }
    sum += q * posAbove + 0.5 * q * p;
    posAbove += p;
  }
  return sum / (pos.length * neg.length);
}

export function averagePrecision(scores: ArrayLike<number>, y: Labels): number {
  checkScores(scores, y, 'averagePrecision');
  return averagePrecisionRanked(rankScores(scores), y);
}

export function topShare(scores: ArrayLike<number>, y: Labels, share: number): TopShareStats {
  checkScores(scores, y, 'topShare');
  return topShareRanked(rankScores(scores), y, share);
}

export interface CurvePoint {
  /** Score threshold: users with score >= threshold are flagged. */
  threshold: number;
  fpr: number;
  tpr: number;
  precision: number;
  recall: number;
  /** Share of users flagged at this threshold. */
  share: number;
}

/**
 * ROC / PR / gain points, one per tie group (thinned to about `maxPoints` evenly in share), starting at (0,0).
 */
export function scoreCurve(scores: ArrayLike<number>, y: Labels, maxPoints = 200): CurvePoint[] {
  checkScores(scores, y, 'scoreCurve');
  const r = rankScores(scores);
  const c = groupCounts(r, y);
  const n = c.totalPos + c.totalNeg;
  const pts: CurvePoint[] = [{ threshold: Infinity, fpr: 0, tpr: 0, precision: 1, recall: 0, share: 0 }];
  let tp = 0;
  let fp = 0;
  let lastShare = 0;
  const step = 1 / maxPoints;
  for (let k = 0; k < c.pos.length; k++) {
    tp += c.pos[k];
    fp += c.neg[k];
    const share = (tp + fp) / n;
    if (share - lastShare >= step || k === c.pos.length - 1) {
      pts.push({
        threshold: r.groupScores[k],
        fpr: c.totalNeg > 0 ? fp / c.totalNeg : NaN,
        tpr: c.totalPos > 0 ? tp / c.totalPos : NaN,
        precision: tp / (tp + fp),
        recall: c.totalPos > 0 ? tp / c.totalPos : NaN,
        share,
      });
      lastShare = share;
    }
  }
  return pts;
}

export interface ReliabilityBin {
  /** Bin edges on the predicted probability, [lo, hi). The last bin includes 1. */
  lo: number;
  hi: number;
  count: number;
  /** Mean predicted probability in the bin (NaN when empty). */
  meanPredicted: number;
  /** Observed churn rate in the bin (NaN when empty). */
  observedRate: number;
}

/** Reliability (calibration) curve: equal-width bins of predicted probability. */
export function reliabilityCurve(p: ArrayLike<number>, y: ArrayLike<number>, bins = 10): ReliabilityBin[] {
  const count = new Float64Array(bins);
  const sp = new Float64Array(bins);
  const sy = new Float64Array(bins);
  for (let i = 0; i < p.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p[i] * bins)));
    count[b] += 1;
    sp[b] += p[i];
    sy[b] += y[i];
  }
  return Array.from({ length: bins }, (_, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count: count[b],
    meanPredicted: count[b] > 0 ? sp[b] / count[b] : NaN,
    observedRate: count[b] > 0 ? sy[b] / count[b] : NaN,
  }));
}
