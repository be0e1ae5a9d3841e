import { describe, expect, it } from 'vitest';
import { decideVerdict } from '../../src/evaluate/index.js';

const iv = (value: number, lo: number, hi: number) => ({ value, lo, hi });
const metrics = (auc: number, lo: number, hi: number) => ({ rocAuc: iv(auc, lo, hi) }) as never;
const diff = (b: string, value: number, lo: number, hi: number) => ({ a: 'model', b, metric: 'rocAuc' as const, value, lo, hi });

/**
 * The BG/NBD baseline (issue 20 part 3) in the verdict, with the figures measured on the full CDNOW log at a 90-day
 * horizon (docs/ltv.md): model 0.723 [0.711, 0.735], bgnbd 0.720 [0.707, 0.732], difference +0.003 [-0.003, 0.009].
 */
describe('the bgnbd baseline in the verdict', () => {
  const args = {
    evidence: { test_users: 7616, test_churners: 4998, test_stayers: 2618, minimum: 50 },
    model: metrics(0.723, 0.711, 0.735),
    baselines: { rule: metrics(0.402, 0.392, 0.414), rfm: metrics(0.655, 0.643, 0.667), recency: metrics(0.666, 0.654, 0.678), majority: metrics(0.5, 0.5, 0.5), bgnbd: metrics(0.72, 0.707, 0.732) },
    differences: {
      rule: diff('rule', 0.321, 0.301, 0.34), rfm: diff('rfm', 0.068, 0.058, 0.077), recency: diff('recency', 0.057, 0.048, 0.065),
      majority: diff('majority', 0.223, 0.211, 0.235), bgnbd: diff('bgnbd', 0.003, -0.003, 0.009),
    },
  };

  it('holds the model back when its paired interval includes 0, named in words', () => {
    const v = decideVerdict(args);
    expect(v.kind).toBe('not_better');
    expect(v.strongest_baseline).toBe('bgnbd');
    expect(v.text).toMatch(/^The model does NOT beat BG\/NBD \(the probability of no purchase within the horizon\) on the same 7,616 test users .*difference \+0\.003 \(95% CI -0\.003 to \+0\.009\): the interval includes 0/);
    expect(v.inverted).toEqual(['rule']);
  });

  it('without it the same figures are "better" (what the report said before the baseline existed)', () => {
    const { bgnbd: _b, ...baselines } = args.baselines;
    const { bgnbd: _d, ...differences } = args.differences;
    expect(decideVerdict({ ...args, baselines, differences }).kind).toBe('better');
  });
});
