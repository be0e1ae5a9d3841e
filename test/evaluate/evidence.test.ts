import { describe, expect, it } from 'vitest';
import { bootstrapMetrics, EVIDENCE_MINIMUM } from '../../src/evaluate/index.js';
import { createRng } from '../../src/shared/rng.js';

/**
 * Why a verdict needs EVIDENCE_MINIMUM (50) churners and 50 stayers (docs/churn.md "Evidence minimums").
 * Two scorers of equal true ROC-AUC 0.70 (binormal, d = 0.7416, correlated 0.5 like a model and a rule that
 * see the same users) are compared with the paired bootstrap of the evaluation. At the minimum, the 95%
 * interval of ROC-AUC covers the truth in >= 90% of draws, an equal model is called "better" in <= 5%,
 * and the interval is narrow enough (about 0.2) for a real 0.1 gain to show; at 10 churners it is not.
 */
function simulate(churners: number, stayers: number, reps: number, seed: number) {
  const rng = createRng(seed);
  const d = 0.7416;
  let cover = 0;
  let falseBetter = 0;
  let width = 0;
  for (let r = 0; r < reps; r++) {
    const n = churners + stayers;
    const y = new Uint8Array(n);
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i < churners ? 1 : 0;
      const common = rng.normal();
      const mu = y[i] ? d : 0;
      a[i] = mu + Math.SQRT1_2 * common + Math.SQRT1_2 * rng.normal();
      b[i] = mu + Math.SQRT1_2 * common + Math.SQRT1_2 * rng.normal();
    }
    const res = bootstrapMetrics(y, [{ name: 'model', scores: a, isProbability: false }, { name: 'rule', scores: b, isProbability: false }], { seed: r, resamples: 300, highRiskShare: 0, differences: [['model', 'rule']] });
    const iv = res.scorers.model.rocAuc!;
    if (iv.lo <= 0.7 && 0.7 <= iv.hi) cover++;
    width += iv.hi - iv.lo;
    if (res.differences.find((x) => x.metric === 'rocAuc')!.lo > 0) falseBetter++;
  }
  return { coverage: cover / reps, falseBetter: falseBetter / reps, width: width / reps };
}

describe('the evidence minimum', () => {
  it('EVIDENCE_MINIMUM is 50 churners and 50 stayers', () => {
    expect(EVIDENCE_MINIMUM).toBe(50);
  });
  it('at the minimum the paired bootstrap covers the truth, rarely calls an equal model better, and is about 0.2 wide', () => {
    const s = simulate(EVIDENCE_MINIMUM, EVIDENCE_MINIMUM, 160, 11);
    expect(s.coverage).toBeGreaterThanOrEqual(0.88);
    expect(s.falseBetter).toBeLessThanOrEqual(0.05);
    expect(s.width).toBeLessThan(0.22);
  });
  it('below it (10 churners among 400 stayers) the interval is too wide to tell a 0.1 gain from none', () => {
    const s = simulate(10, 400, 120, 12);
    expect(s.width).toBeGreaterThan(0.28);
  });
});
