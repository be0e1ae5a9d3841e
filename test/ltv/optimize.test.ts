import { describe, expect, it } from 'vitest';
import { fitLtv, minimizeBfgs, simulateBgNbd } from '../../src/ltv/index.js';
import { createRng } from '../../src/shared/rng.js';

describe('minimizeBfgs', () => {
  it('finds the minimum of the Rosenbrock function (1, 1) by the gradient test', () => {
    const res = minimizeBfgs((x, g) => {
      g[0] = -2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] * x[0]);
      g[1] = 200 * (x[1] - x[0] * x[0]);
      return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] * x[0]) ** 2;
    }, [-1.2, 1]);
    expect(res.converged).toBe(true);
    expect(res.stop).toBe('gradient below tolerance');
    expect(res.x[0]).toBeCloseTo(1, 8);
    expect(res.x[1]).toBeCloseTo(1, 8);
  });

  it('stops on a boundary approached forever (f = 1 + exp(x), infimum at x -> -infinity) by the objective test', () => {
    const res = minimizeBfgs((x, g) => {
      g[0] = Math.exp(x[0]);
      return 1 + Math.exp(x[0]);
    }, [0], { gradTol: 1e-30, maxIter: 10_000 });
    expect(res.converged).toBe(true);
    expect(res.stop).toMatch(/objective changed by less than 1e-13 relative in 10 iterations/);
    expect(res.iterations).toBeLessThan(10_000);
    expect(res.value).toBeCloseTo(1, 12);
  });
});

describe('fitLtv on customers who never drop out (an NBD process)', () => {
  it('warns LTV_NO_DROPOUT and still converges', () => {
    const rng = createRng(3);
    const T = Float64Array.from({ length: 4000 }, () => 20 + 30 * rng.next());
    // a tiny, b huge: dropout probability about 1e-9 per purchase.
    const sim = simulateBgNbd({ r: 0.8, alpha: 6, a: 1e-3, b: 1e6 }, T, rng);
    const n = T.length;
    const m = fitLtv({ userIds: Array.from({ length: n }, (_, i) => `u${i}`), ...sim, monetary: null, firstDay: new Float64Array(n), timeUnitDays: 7, endDay: 0 });
    expect(m.bgnbd.fitted.optimizer.converged).toBe(true);
    expect(m.warnings.map((w) => w.code)).toEqual(['LTV_NO_DROPOUT', 'LTV_NO_VALUE_COLUMN']);
    expect(m.bgnbd.fitted.r).toBeGreaterThan(0.6);
    expect(m.bgnbd.fitted.r).toBeLessThan(1);
  });
});
