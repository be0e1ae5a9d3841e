import { describe, expect, it } from 'vitest';
import { digamma, hyp2f1, logGamma } from '../../src/ltv/index.js';

const EULER_GAMMA = 0.5772156649015329;

describe('logGamma / digamma', () => {
  it('logGamma matches factorials and Γ(1/2) = √π', () => {
    expect(logGamma(1)).toBeCloseTo(0, 14);
    expect(logGamma(2)).toBeCloseTo(0, 14);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 14);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 12);
    // ln(170!) = ln Γ(171), summed directly.
    let s = 0;
    for (let k = 2; k <= 170; k++) s += Math.log(k);
    expect(Math.abs(logGamma(171) - s) / s).toBeLessThan(1e-14);
    // Small argument: ln Γ(x) ≈ -ln x - γ x.
    expect(logGamma(1e-8)).toBeCloseTo(-Math.log(1e-8) - EULER_GAMMA * 1e-8, 10);
  });

  it('digamma: ψ(1) = -γ, ψ(1/2) = -γ - 2 ln 2, ψ(x+1) = ψ(x) + 1/x', () => {
    expect(digamma(1)).toBeCloseTo(-EULER_GAMMA, 14);
    expect(digamma(0.5)).toBeCloseTo(-EULER_GAMMA - 2 * Math.LN2, 14);
    for (const x of [0.03, 0.7, 3.2, 14.9, 40]) expect(digamma(x + 1)).toBeCloseTo(digamma(x) + 1 / x, 12);
    // The derivative of logGamma, by central differences.
    for (const x of [0.2, 1.7, 25]) expect(digamma(x)).toBeCloseTo((logGamma(x + 1e-5) - logGamma(x - 1e-5)) / 2e-5, 7);
  });
});

describe('hyp2f1', () => {
  it('equals its closed forms', () => {
    for (const z of [0, 0.1, 0.5, 0.9, 0.99]) {
      // 2F1(1, 1; 2; z) = -ln(1 - z) / z
      expect(hyp2f1(1, 1, 2, z)).toBeCloseTo(z === 0 ? 1 : -Math.log(1 - z) / z, 12);
      // 2F1(a, b; b; z) = (1 - z)^-a
      expect(hyp2f1(0.7, 3.1, 3.1, z)).toBeCloseTo(Math.pow(1 - z, -0.7), 11);
    }
  });

  it('refuses z outside [0, 1)', () => {
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(/z must be in \[0, 1\), got 1/);
  });
});
