import { describe, expect, it } from 'vitest';
import { roundSignificant } from '../../src/shared/precision.js';
import { createRng } from '../../src/shared/rng.js';

const text = (v: number, d: number): number => Number(v.toPrecision(d));

describe('roundSignificant', () => {
  it('is Number(v.toPrecision(d)) bit for bit: random magnitudes, float32 values, decimal ties and their neighbours', () => {
    const rng = createRng(3);
    const values: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      const v = (rng.next() - 0.5) * 10 ** (Math.floor(rng.next() * 40) - 20);
      const tie = (Math.floor(rng.next() * 9000) + 1000 + 0.5) * 10 ** (Math.floor(rng.next() * 12) - 8);
      values.push(v, Math.fround(v), tie, -tie, tie * (1 + 1e-15), tie * (1 - 1e-15));
    }
    let wrong = 0;
    for (const v of values) for (const d of [4, 7]) if (!Object.is(roundSignificant(v, d), text(v, d))) wrong++;
    expect(wrong).toBe(0);
  });

  it('edge cases: zero and -0 (shown as 0), powers of ten, the ends of the double range, NaN and infinities', () => {
    for (const v of [0, -0, 1, -1, 9.9995, 0.00099995, 999.95, 99995, 1234.5, 1e21, 1e22, 1e23, 1e-300, 5e-324, 1.7976931348623157e308, NaN, Infinity, -Infinity]) {
      for (const d of [1, 4, 7]) expect(Object.is(roundSignificant(v, d), text(v, d)), `${v} to ${d} digits`).toBe(true);
    }
    expect(Object.is(roundSignificant(-0, 4), 0)).toBe(true);
  });
});
