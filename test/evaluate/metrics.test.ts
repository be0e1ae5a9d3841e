import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { averagePrecision, averagePrecisionRanked, brierScore, logLoss, rankScores, rocAuc, rocAucRanked, scoreCurve, topShare, topShareRanked } from '../../src/evaluate/metrics.js';
import { bootstrapMetrics } from '../../src/evaluate/bootstrap.js';
import { createRng } from '../../src/shared/rng.js';

// Hand-computed: positives score 0.9 and 0.8, negatives 0.8 and 0.3.
// Pairs: 0.9>0.8, 0.9>0.3, 0.8=0.8 (half), 0.8>0.3 -> 3.5 / 4.
const s = [0.9, 0.8, 0.8, 0.3];
const y = Uint8Array.from([1, 0, 1, 0]);

function bruteAuc(sc: number[], lab: number[]): number {
  let num = 0, den = 0;
  for (let i = 0; i < sc.length; i++) for (let j = 0; j < sc.length; j++) {
    if (lab[i] === 1 && lab[j] === 0) { den++; num += sc[i] > sc[j] ? 1 : sc[i] === sc[j] ? 0.5 : 0; }
  }
  return num / den;
}

describe('rocAuc', () => {
  it('rocAuc(ties) counts a tied pair as one half', () => expect(rocAuc(s, y)).toBeCloseTo(0.875, 12));
  it('rocAuc equals the pairwise definition on random scores with many ties', () => {
    const rng = createRng(3);
    const sc = Array.from({ length: 300 }, () => rng.int(12));
    const lab = Array.from({ length: 300 }, (_, i) => (rng.next() < 0.2 + sc[i] / 30 ? 1 : 0));
    expect(rocAuc(sc, lab)).toBeCloseTo(bruteAuc(sc, lab), 12);
  });
  it('rocAuc gives rocAucRanked(rankScores(...))\'s bits (ties, -0 beside 0, one-user groups)', () => {
    const rng = createRng(11);
    for (let t = 0; t < 20; t++) {
      const n = 50 + rng.int(2000);
      const sc = Array.from({ length: n }, () => (t % 2 ? rng.normal() : rng.int(5) - 2) * (rng.next() < 0.5 ? -1 : 1) * 0.1);
      const lab = Array.from({ length: n }, () => (rng.next() < 0.3 ? 1 : 0));
      expect(rocAuc(sc, lab)).toBe(rocAucRanked(rankScores(sc), lab));
    }
    expect(rocAuc([-0, 0, 0.5, -0], [1, 0, 1, 0])).toBe(rocAucRanked(rankScores([-0, 0, 0.5, -0]), [1, 0, 1, 0]));
    expect(Number.isNaN(rocAuc([0.2, 0.4], [1, 1]))).toBe(true);
  });
  it('rocAuc of a constant score is 0.5 and of a reversed score is 1 - auc', () => {
    expect(rocAuc([1, 1, 1, 1], y)).toBe(0.5);
    expect(rocAuc(s.map((v) => -v), y)).toBeCloseTo(0.125, 12);
  });
  it('rocAuc rejects a NaN score and names the row', () => {
    expect(() => rocAuc([0.1, NaN, 0.2, 0.3], y)).toThrow(/row 1 is NaN/);
  });
});

describe('averagePrecision / topShare / logLoss / brier', () => {
  // AP: after 0.9: recall .5 at precision 1; after the 0.8 tie: recall 1 at precision 2/3 -> .5 + 1/3 (sklearn gives 0.8333).
  it('averagePrecision treats a tie group as one threshold', () => expect(averagePrecision(s, y)).toBeCloseTo(0.5 + 1 / 3, 12));
  it('topShare(0.5) takes half of the straddling tie group', () => {
    const t = topShare(s, y, 0.5);
    expect(t.precision).toBeCloseTo(0.75, 12);
    expect(t.recall).toBeCloseTo(0.75, 12);
    expect(t.lift).toBeCloseTo(1.5, 12);
  });
  it('logLoss and brierScore match hand sums', () => {
    expect(logLoss(s, y)).toBeCloseTo((-Math.log(0.9) - Math.log(0.2) - Math.log(0.8) - Math.log(0.7)) / 4, 12);
    expect(brierScore(s, y)).toBeCloseTo((0.01 + 0.64 + 0.04 + 0.09) / 4, 12);
  });
  it('scoreCurve ends at (1,1) and passes through the tie group', () => {
    const c = scoreCurve(s, y);
    expect(c.map((p) => [p.fpr, p.tpr])).toEqual([[0, 0], [0, 0.5], [0.5, 1], [1, 1]]);
  });
});

describe('bootstrapMetrics', () => {
  const rng = createRng(11);
  const n = 400;
  const lab = new Uint8Array(n);
  const good = new Float64Array(n);
  const weak = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    lab[i] = rng.next() < 0.3 ? 1 : 0;
    good[i] = 1 / (1 + Math.exp(-(lab[i] * 2 + rng.normal() - 1)));
    weak[i] = Math.round(10 * (lab[i] * 0.4 + rng.next()));
  }
  const run = (seed: number) => bootstrapMetrics(lab, [
    { name: 'model', scores: good, isProbability: true },
    { name: 'rule', scores: weak, isProbability: false },
  ], { seed, resamples: 300, highRiskShare: 0.15, differences: [['model', 'rule']] });

  it('bootstrapMetrics(seed) is reproducible and the point value lies in its interval', () => {
    const a = run(5);
    const b = run(5);
    expect(a).toEqual(b);
    const auc = a.scorers.model.rocAuc!;
    expect(auc.value).toBeCloseTo(rocAuc(good, lab), 12);
    expect(auc.lo).toBeLessThan(auc.value);
    expect(auc.hi).toBeGreaterThan(auc.value);
    expect(a.scorers.rule.logLoss).toBeNull();
  });
  it('bootstrapMetrics gives a paired AUC difference interval above 0 for a clearly better score', () => {
    const d = run(5).differences.find((x) => x.metric === 'rocAuc')!;
    expect(d.value).toBeCloseTo(rocAuc(good, lab) - rocAuc(weak, lab), 12);
    expect(d.lo).toBeGreaterThan(0);
  });
  it("a resample's metrics are those of the users drawn, weighted by their counts, for every scorer in one pass", () => {
    // One resample: its interval is that resample's value. Its draws are the first n integers of the seeded stream.
    const seed = 3;
    const w = new Float64Array(n);
    for (const j of createRng(seed).ints(n, new Uint32Array(n))) w[j] += 1;
    const third = Float64Array.from(good, (p, i) => (i % 3 === 0 ? 1 - p : p));
    const scorers = [
      { name: 'model', scores: good, isProbability: true },
      { name: 'rule', scores: weak, isProbability: false },
      { name: 'flipped', scores: third, isProbability: true },
    ];
    const r = bootstrapMetrics(lab, scorers, { seed, resamples: 1, highRiskShare: 0.15 });
    expect(r.skipped).toBe(0);
    for (const sc of scorers) {
      const m = r.scorers[sc.name];
      const ranked = rankScores(sc.scores);
      const expected = {
        rocAuc: rocAucRanked(ranked, lab, w),
        prAuc: averagePrecisionRanked(ranked, lab, w),
        liftTop20: topShareRanked(ranked, lab, 0.2, w).lift,
        recallAtHighRiskShare: topShareRanked(ranked, lab, 0.15, w).recall,
        ...(sc.isProbability ? { logLoss: logLoss(sc.scores, lab, w), brier: brierScore(sc.scores, lab, w) } : {}),
      };
      for (const [metric, v] of Object.entries(expected)) {
        const iv = m[metric as keyof typeof m]!;
        expect([metric, iv.lo, iv.hi]).toEqual([metric, v, v]);
      }
    }
  });
  it("a scorer's intervals do not depend on the scorers beside it (train measures every candidate in the report's bootstrap)", () => {
    const other = Float64Array.from(good, (p, i) => (p + (i % 7) / 10) / 2);
    const alone = bootstrapMetrics(lab, [{ name: 'gbdt', scores: other, isProbability: true }], { seed: 5, resamples: 200, highRiskShare: 0 });
    const beside = bootstrapMetrics(lab, [
      { name: 'model', scores: good, isProbability: true },
      { name: 'rule', scores: weak, isProbability: false },
      { name: 'gbdt', scores: other, isProbability: true },
    ], { seed: 5, resamples: 200, highRiskShare: 0.15, differences: [['model', 'rule']] });
    expect(beside.skipped).toBe(alone.skipped);
    // all but the share-at-high-risk metrics, which take the high-risk share
    const { precisionAtHighRiskShare, recallAtHighRiskShare, ...rest } = beside.scorers.gbdt;
    expect(precisionAtHighRiskShare).not.toBeNull();
    expect(recallAtHighRiskShare).not.toBeNull();
    expect({ ...rest, precisionAtHighRiskShare: null, recallAtHighRiskShare: null }).toEqual(alone.scorers.gbdt);
  });
  it('bootstrapMetrics of a score against itself gives a zero-width difference', () => {
    const r = bootstrapMetrics(lab, [
      { name: 'a', scores: weak, isProbability: false },
      { name: 'b', scores: weak, isProbability: false },
    ], { seed: 1, resamples: 50, highRiskShare: 0.1, differences: [['a', 'b']] });
    expect(r.differences[0]).toMatchObject({ value: 0, lo: 0, hi: 0 });
  });
});

describe('metrics equal scikit-learn 1.2.1 (test/fixtures/sklearn/make_fixtures.py)', () => {
  interface MetricCase { name: string; scores: number[]; y: number[]; weights?: number[]; rocAuc: number; averagePrecision: number; brier?: number; logLoss?: number; rocAucWeighted?: number; averagePrecisionWeighted?: number; brierWeighted?: number; logLossWeighted?: number }
  const fx = JSON.parse(readFileSync(new URL('../fixtures/sklearn/sklearn-reference.json', import.meta.url), 'utf8')) as { metrics: MetricCase[] };
  for (const k of fx.metrics) {
    it(`rocAuc, averagePrecision, brierScore, logLoss(${k.name}) equal roc_auc_score, average_precision_score, brier_score_loss, log_loss`, () => {
      expect(rocAuc(k.scores, k.y)).toBeCloseTo(k.rocAuc, 12);
      expect(averagePrecision(k.scores, k.y)).toBeCloseTo(k.averagePrecision, 12);
      if (k.brier !== undefined) expect(brierScore(k.scores, k.y)).toBeCloseTo(k.brier, 12);
      if (k.logLoss !== undefined) expect(logLoss(k.scores, k.y)).toBeCloseTo(k.logLoss, 12);
      if (k.weights) {
        // weights = how often the bootstrap drew each user (0 included), or real-valued
        const r = rankScores(k.scores);
        expect(rocAucRanked(r, k.y, k.weights)).toBeCloseTo(k.rocAucWeighted!, 12);
        expect(averagePrecisionRanked(r, k.y, k.weights)).toBeCloseTo(k.averagePrecisionWeighted!, 12);
        if (k.brierWeighted !== undefined) expect(brierScore(k.scores, k.y, k.weights)).toBeCloseTo(k.brierWeighted, 12);
        if (k.logLossWeighted !== undefined) expect(logLoss(k.scores, k.y, k.weights)).toBeCloseTo(k.logLossWeighted, 12);
      }
    });
  }
});
