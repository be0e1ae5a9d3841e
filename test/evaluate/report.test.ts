import { describe, expect, it } from 'vitest';
import { decideVerdict, evaluatePredictions, labelWindowOverlaps, renderEvaluationHtml } from '../../src/evaluate/index.js';
import { createRng } from '../../src/shared/rng.js';

const iv = (value: number, lo: number, hi: number) => ({ value, lo, hi });
const metrics = (auc: number) => ({ rocAuc: iv(auc, auc - 0.02, auc + 0.02) }) as never;

const ev = (churners: number, stayers: number) => ({ test_users: churners + stayers, test_churners: churners, test_stayers: stayers, minimum: 50 });
const diff = (b: string, value: number, lo: number, hi: number) => ({ a: 'model', b, metric: 'rocAuc' as const, value, lo, hi });

describe('decideVerdict', () => {
  it('decideVerdict says better only when the model beats every baseline, naming the strongest', () => {
    const v = decideVerdict({
      evidence: ev(200, 300),
      model: metrics(0.8),
      baselines: { rule: metrics(0.7), rfm: metrics(0.72), majority: metrics(0.5) },
      differences: { rule: diff('rule', 0.1, 0.05, 0.15), rfm: diff('rfm', 0.08, 0.03, 0.13), majority: diff('majority', 0.3, 0.26, 0.34) },
    });
    expect(v.kind).toBe('better');
    expect(v.strongest_baseline).toBe('rfm');
    expect(v.model_beats_rule).toBe(true);
    expect(v.text).toMatch(/^The model beats every alternative on the same 500 test users \(200 churners, 300 stayers\): .*the strongest alternative, RFM \(playbook §6\.3\) 0\.720.*difference \+0\.080 \(95% CI \+0\.030 to \+0\.130\)/);
  });
  it('decideVerdict never advises the rule score when another baseline beats the model', () => {
    // The store log of issue 16: RFM 0.753 and recency 0.703 beat the model (0.577) and the rule (0.596).
    const v = decideVerdict({
      evidence: ev(120, 400),
      model: metrics(0.577),
      baselines: { rule: metrics(0.596), rfm: metrics(0.753), recency: metrics(0.703), majority: metrics(0.5) },
      differences: { rule: diff('rule', -0.019, -0.08, 0.04), rfm: diff('rfm', -0.176, -0.24, -0.11), recency: diff('recency', -0.126, -0.19, -0.06), majority: diff('majority', 0.077, 0.02, 0.13) },
    });
    expect(v.kind).toBe('not_better');
    expect(v.strongest_baseline).toBe('rfm');
    expect(v.text).toMatch(/does NOT beat RFM \(playbook §6\.3\).*keep RFM/);
    expect(v.text).not.toMatch(/keep the rule/i);
  });
  it('decideVerdict says the interval includes 0 when the model ties the strongest alternative', () => {
    const v = decideVerdict({ evidence: ev(100, 100), model: metrics(0.71), baselines: { rule: metrics(0.7), majority: metrics(0.5) }, differences: { rule: diff('rule', 0.01, -0.02, 0.04), majority: diff('majority', 0.21, 0.15, 0.27) } });
    expect(v.kind).toBe('not_better');
    expect(v.model_beats_rule).toBe(false);
    expect(v.text).toMatch(/does NOT beat the rule churn-risk score.*interval includes 0/);
  });
  it('decideVerdict calls a baseline whose whole interval is below 0.5 inverted, and beating it is not news', () => {
    const v = decideVerdict({
      evidence: ev(80, 500),
      model: metrics(0.75),
      baselines: { rule: { rocAuc: iv(0.33, 0.285, 0.389) } as never, majority: metrics(0.5) },
      differences: { rule: diff('rule', 0.42, 0.35, 0.49), majority: diff('majority', 0.25, 0.2, 0.3) },
    });
    expect(v.kind).toBe('better');
    expect(v.strongest_baseline).toBe('majority');
    expect(v.inverted).toEqual(['rule']);
    expect(v.text).toMatch(/The rule churn-risk score \(playbook §4\.4\) is inverted on these users: it ranks stayers above churners \(ROC-AUC 0\.330/);
  });
  it('decideVerdict gives insufficient_evidence below the minimum of either class, with the counts', () => {
    // 24 test users (issue 16): the model's interval includes chance.
    const v = decideVerdict({ evidence: ev(9, 15), model: { rocAuc: iv(0.65, 0.392, 0.879) } as never, baselines: { rule: metrics(0.55), majority: metrics(0.5) }, differences: { rule: diff('rule', 0.1, 0.01, 0.3), majority: diff('majority', 0.15, 0.01, 0.3) } });
    expect(v.kind).toBe('insufficient_evidence');
    expect(v.model_beats_rule).toBeNull();
    expect(v.text).toMatch(/^Insufficient evidence: 24 test users \(9 churners, 15 stayers\); a verdict needs at least 50 churners and 50 stayers/);
    expect(decideVerdict({ evidence: ev(400, 49), model: metrics(0.9), baselines: { majority: metrics(0.5) }, differences: { majority: diff('majority', 0.4, 0.35, 0.45) } }).kind).toBe('insufficient_evidence');
  });
  it('decideVerdict labels an overlap with the training outcomes in_sample, before anything else', () => {
    const v = decideVerdict({
      evidence: ev(300, 300),
      model: metrics(0.985),
      baselines: { rule: metrics(0.7) },
      differences: { rule: diff('rule', 0.285, 0.2, 0.3) },
      inSample: [{ role: 'train', cutoff: '2026-01-01', window: ['2026-01-02', '2026-01-31'], evaluated: ['2026-01-02', '2026-01-31'], days: 29 }],
    });
    expect(v.kind).toBe('in_sample');
    expect(v.text).toMatch(/^In-sample: .*overlap by 29 day\(s\) the outcomes the model was fitted on at its train cutoff 2026-01-01/);
  });
  it('decideVerdict refuses a one-class test set', () => {
    expect(() => decideVerdict({ evidence: ev(0, 60), model: { rocAuc: null } as never, baselines: {}, differences: {} })).toThrow(/all stayers: ROC-AUC is undefined/);
  });
});

describe('labelWindowOverlaps', () => {
  it('labelWindowOverlaps counts shared label days and ignores windows that only touch', () => {
    const fitted = [
      { role: 'train' as const, cutoff: '2026-01-01', horizonDays: 30 },
      { role: 'validation' as const, cutoff: '2026-01-31', horizonDays: 30 },
    ];
    expect(labelWindowOverlaps({ cutoff: '2026-03-02', horizonDays: 30 }, fitted)).toEqual([]);
    expect(labelWindowOverlaps({ cutoff: '2026-01-31', horizonDays: 30 }, fitted)).toEqual([
      { role: 'validation', cutoff: '2026-01-31', window: ['2026-02-01', '2026-03-03'], evaluated: ['2026-02-01', '2026-03-03'], days: 30 },
    ]);
    const o = labelWindowOverlaps({ cutoff: '2026-02-20', horizonDays: 30 }, fitted);
    expect(o.map((x) => [x.cutoff, x.days])).toEqual([['2026-01-31', 10]]);
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
    expect(html).toContain(report.verdict.text.slice(0, 40));
    expect(report.verdict.kind).toBe('better');
    expect(report.evidence).toEqual({ test_users: n, test_churners: report.testChurners, test_stayers: n - report.testChurners, minimum: 50 });
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
