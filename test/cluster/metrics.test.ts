import { describe, expect, it } from 'vitest';
import { adjustedRandIndex, jaccard, silhouetteScore } from '../../src/cluster/metrics.js';
import { sampleIndices } from '../../src/cluster/sample.js';
import { createRng } from '../../src/shared/rng.js';

describe('adjustedRandIndex', () => {
  it('adjustedRandIndex matches the hand-computed (and sklearn) values', () => {
    // sklearn.metrics.adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714285714285715
    expect(adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 2])).toBeCloseTo(0.5714285714285715, 12);
    // adjusted_rand_score([0,0,1,1],[0,1,0,1]) = -0.5
    expect(adjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1])).toBeCloseTo(-0.5, 12);
    // renaming does not matter, strings work
    expect(adjustedRandIndex(Int32Array.from([2, 2, 0, 0, 1]), ['a', 'a', 'b', 'b', 'c'])).toBe(1);
  });
});

describe('silhouetteScore', () => {
  it('silhouetteScore([0,1,4,5] in two clusters) = mean of 1 - 1/4.5 and 1 - 1/3.5', () => {
    const x = { data: Float64Array.from([0, 1, 4, 5]), rows: 4, cols: 1 };
    const expected = ((1 - 1 / 4.5) + (1 - 1 / 3.5)) / 2;
    expect(silhouetteScore(x, Int32Array.from([0, 0, 1, 1]), 2)).toBeCloseTo(expected, 12);
    // a wrong split scores lower
    expect(silhouetteScore(x, Int32Array.from([0, 1, 1, 1]), 2)).toBeLessThan(expected);
  });
});

describe('jaccard and sampleIndices', () => {
  it('jaccard counts intersection over union', () => {
    expect(jaccard(Uint8Array.from([1, 1, 0, 0]), Uint8Array.from([0, 1, 1, 0]))).toBeCloseTo(1 / 3, 12);
  });
  it('sampleIndices is seeded, sorted and distinct', () => {
    const a = sampleIndices(1000, 50, createRng(4));
    const b = sampleIndices(1000, 50, createRng(4));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(new Set(a).size).toBe(50);
    for (let i = 1; i < a.length; i++) expect(a[i]).toBeGreaterThan(a[i - 1]);
  });
});
