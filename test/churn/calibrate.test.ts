import { describe, expect, it } from 'vitest';
import { applyCalibrator, fitIsotonic, fitPlatt } from '../../src/churn/calibrate.js';
import { createRng } from '../../src/shared/rng.js';

describe('fitIsotonic', () => {
  it('fitIsotonic pools adjacent violators (hand-computed)', () => {
    // Sorted scores .1 .2 .3 .4 with labels 0 1 0 1: blocks {.1:0}, {.2,.3: 0.5}, {.4: 1}.
    const c = fitIsotonic([0.3, 0.1, 0.4, 0.2], [0, 0, 1, 1]);
    expect(c).toEqual({ kind: 'isotonic', x: [0.1, 0.2, 0.3, 0.4], y: [0, 0.5, 0.5, 1] });
    const p = applyCalibrator(c, [0.05, 0.25, 0.35, 0.9]);
    [0, 0.5, 0.75, 1].forEach((v, i) => expect(p[i]).toBeCloseTo(v, 12));
  });
  it('fitIsotonic treats equal scores as one block', () => {
    const c = fitIsotonic([0.5, 0.5, 0.5, 0.9], [1, 0, 0, 1]);
    expect(c).toEqual({ kind: 'isotonic', x: [0.5, 0.9], y: [1 / 3, 1] });
  });
});

describe('fitPlatt', () => {
  it('fitPlatt recovers a known logit map on simulated data', () => {
    // Truth: p = sigmoid(0.5 * logit(raw) - 1); raw uniform on (0.02, 0.98).
    const rng = createRng(9);
    const n = 20000;
    const raw = new Float64Array(n);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      raw[i] = 0.02 + 0.96 * rng.next();
      const z = 0.5 * Math.log(raw[i] / (1 - raw[i])) - 1;
      y[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    }
    const c = fitPlatt(raw, y);
    if (c.kind !== 'platt') throw new Error('expected platt');
    expect(c.a).toBeGreaterThan(0.42);
    expect(c.a).toBeLessThan(0.58);
    expect(c.b).toBeGreaterThan(-1.08);
    expect(c.b).toBeLessThan(-0.92);
  });
  it('fitPlatt rejects an empty validation set with a fix', () => {
    expect(() => fitPlatt([], [])).toThrow(/validation set is empty/);
  });
});
