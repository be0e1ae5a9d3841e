import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/shared/rng.js';

describe('createRng ints', () => {
  it('gives the numbers of as many int(n) calls and leaves the stream where they would', () => {
    for (const n of [1, 2, 7, 51_694, 2 ** 31 + 11]) {
      const a = createRng(123);
      const b = createRng(123);
      const expected = Array.from({ length: 1000 }, () => a.int(n));
      const got = b.ints(n, new Uint32Array(1000));
      expect(Array.from(got)).toEqual(expected);
      expect(b.next()).toBe(a.next());
      expect(b.int(n)).toBe(a.int(n));
    }
  });

  it('draws every value of [0, n) and nothing outside it', () => {
    const out = createRng(9).ints(5, new Uint32Array(500));
    expect(new Set(out)).toEqual(new Set([0, 1, 2, 3, 4]));
  });
});
