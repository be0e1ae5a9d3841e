import { describe, expect, it } from 'vitest';
import { evaluatePredictions, renderEvaluationHtml, verdictSentence } from '../../src/evaluate/index.js';
import { createRng } from '../../src/shared/rng.js';

const iv = (value: number, lo: number, hi: number) => ({ value, lo, hi });
const metrics = (auc: number) => ({ rocAuc: iv(auc, auc - 0.02, auc + 0.02) }) as never;

describe('verdictSentence', () => {
  it('verdictSentence says the model beats the rule only when the whole interval is above 0', () => {
    const v = verdictSentence({ testUsers: 500, model: metrics(0.8), rule: metrics(0.7), diff: { a: 'model', b: 'rule', metric: 'rocAuc', value: 0.1, lo: 0.05, hi: 0.15 }, baselines: {} });
    expect(v).toEqual({ modelBeatsRule: true, sentence: expect.stringMatching(/^The model beats the rule churn-risk score on the same 500 test users: .*difference \+0\.100 \(95% CI \+0\.050 to \+0\.150\)/) });
  });
  it('verdictSentence says plainly when the interval includes 0', () => {
    const v = verdictSentence({ testUsers: 500, model: metrics(0.71), rule: metrics(0.7), diff: { a: 'model', b: 'rule', metric: 'rocAuc', value: 0.01, lo: -0.02, hi: 0.04 }, baselines: {} });
    expect(v.modelBeatsRule).toBe(false);
    expect(v.sentence).toMatch(/does NOT beat the rule churn-risk score.*includes 0.*Keep the rule score/);
  });
  it('verdictSentence says the model is worse when the interval is below 0', () => {
    const v = verdictSentence({ testUsers: 50, model: metrics(0.6), rule: metrics(0.7), diff: { a: 'model', b: 'rule', metric: 'rocAuc', value: -0.1, lo: -0.15, hi: -0.05 }, baselines: {} });
    expect(v.sentence).toMatch(/does NOT beat.*ranks churners worse/);
  });
});

describe('evaluatePredictions', () => {
  const rng = createRng(2);
  const n = 300;
  const y = Uint8Array.from({ length: n }, () => (rng.next() < 0.3 ? 1 : 0));
  const model = Float64Array.from(y, (v) => 1 / (1 + Math.exp(-(1.5 * v - 1 + rng.normal()))));
  const rule = Float64Array.from(y, (v) => Math.min(100, Math.max(0, Math.round(40 + 25 * v + 20 * rng.normal()))));
  const report = evaluatePredictions({ y, modelProbability: model, ruleScore: rule, recency: rule.map((r) => r / 5), trainChurnRate: 0.3, seed: 1, resamples: 100 });

  it('evaluatePredictions measures the high-risk share from the rule score (>= 70)', () => {
    const share = Array.from(rule).filter((r) => r >= 70).length / n;
    expect(report.highRisk).toEqual({ threshold: 70, share });
    // At its own tier share, the rule's precision is the churn rate inside the tier.
    const inTier = Array.from(rule).map((r, i) => [r, y[i]]).filter(([r]) => r >= 70);
    expect(report.metrics.rule.precisionAtHighRiskShare!.value).toBeCloseTo(inTier.filter(([, v]) => v === 1).length / inTier.length, 12);
  });
  it('evaluatePredictions gives the majority baseline ROC-AUC 0.5 and no rule log loss', () => {
    expect(report.metrics.majority.rocAuc!.value).toBe(0.5);
    expect(report.metrics.rule.logLoss).toBeNull();
    expect(report.metrics.model.logLoss!.value).toBeGreaterThan(0);
  });
  it('renderEvaluationHtml inlines the charts as SVG and states the verdict', async () => {
    const html = await renderEvaluationHtml(report);
    expect(html).toContain(report.verdict.sentence.slice(0, 40));
    expect((html.match(/<svg/g) ?? []).length).toBe(4);
    expect(html).not.toMatch(/<script src=/);
  });
});

describe('evaluatePredictions with further rule scores', () => {
  it('scores an extra rule (e.g. RFM) on the same users with a paired model - rule difference', () => {
    const y = Uint8Array.from([0, 0, 0, 1, 1, 1, 0, 1]);
    const model = Float64Array.from([0.1, 0.2, 0.3, 0.8, 0.7, 0.9, 0.4, 0.6]);
    // A perfectly inverted extra score: AUC 0, so the model beats it by 1.
    const rfm = Float64Array.from([9, 8, 7, 1, 2, 0, 6, 3]);
    const r = evaluatePredictions({ y, modelProbability: model, trainChurnRate: 0.5, seed: 1, resamples: 50, otherRules: { rfm } });
    expect(r.metrics.rfm.rocAuc?.value).toBe(0);
    expect(r.metrics.model.rocAuc?.value).toBe(1);
    const d = r.differences.find((x) => x.a === 'model' && x.b === 'rfm' && x.metric === 'rocAuc');
    expect(d?.value).toBe(1);
    expect(() => evaluatePredictions({ y, modelProbability: model, trainChurnRate: 0.5, seed: 1, otherRules: { rfm: rfm.subarray(1) } })).toThrow(/otherRules\.rfm has 7 values for 8 test users/);
  });
});
