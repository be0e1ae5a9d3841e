import { describe, expect, it } from 'vitest';
import { checkMatrix, takeRows } from '../../src/shared/matrix.js';
import { fitFeatureColumn, matrixColumn, meanStd, minAndSkewness, quantiles, quantileSorted, robustCenterScale } from '../../src/shared/preprocess.js';
import { createRng, sampleWithoutReplacement } from '../../src/shared/rng.js';

describe('quantiles', () => {
  it('quantiles([3, 1, NaN, 2, 4]) skip the NaN and interpolate linearly (numpy default)', () => {
    // sorted 1 2 3 4: q = 0.25 sits at position 0.75 -> 1.75; the median between 2 and 3 -> 2.5
    expect(quantiles(Float64Array.from([3, 1, NaN, 2, 4]), [0, 0.25, 0.5, 1])).toEqual([1, 1.75, 2.5, 4]);
    expect(quantiles([NaN, NaN], [0.5])).toEqual([NaN]);
    expect(quantileSorted([], 0.5)).toBeNaN();
  });

  it('quantileSorted at an exact order statistic returns it even next to an infinity', () => {
    expect(quantileSorted([1, 2, Infinity], 0.5)).toBe(2);
  });
});

describe('moments', () => {
  it('meanStd([2, 4, 4, 4, 5, 5, 7, 9]) is the population mean 5 and std 2', () => {
    expect(meanStd([2, 4, 4, 4, 5, 5, 7, 9])).toEqual({ mean: 5, std: 2 });
  });

  it('minAndSkewness: a symmetric column has skewness 0, one large value makes it positive, a constant column 0', () => {
    expect(minAndSkewness([1, 2, 3])).toEqual({ min: 1, skewness: 0 });
    // values 0, 0, 0, 4: mean 1, m2 = 3, m3 = 6, skewness = 6 / 3^1.5
    expect(minAndSkewness([0, 0, 0, 4]).skewness).toBeCloseTo(6 / 3 ** 1.5, 12);
    expect(minAndSkewness([5, 5]).skewness).toBe(0);
  });

  it('robustCenterScale: median and IQR / 1.349, the fallback when the IQR is 0', () => {
    // 1..5: q1 = 2, median 3, q3 = 4
    expect(robustCenterScale([5, 1, 4, 2, 3], 9)).toEqual({ center: 3, scale: 2 / 1.349 });
    expect(robustCenterScale([0, 0, 0, 0, 7], 9)).toEqual({ center: 0, scale: 9 });
  });
});

describe('fitFeatureColumn', () => {
  it('imputes the median, log1p-transforms, then standardises', () => {
    // raw [0, NaN, 3] -> imputed [0, 1.5, 3] -> log1p [0, log 2.5, log 4]
    const t = [0, Math.log1p(1.5), Math.log1p(3)];
    const { mean, std } = meanStd(t);
    expect(fitFeatureColumn(Float64Array.from([0, NaN, 3]), 'f', true, 'standard')).toEqual({ impute: 1.5, center: mean, scale: std });
  });

  it('refuses an all-missing, a constant and a negative log1p column, naming the feature', () => {
    expect(() => fitFeatureColumn(Float64Array.from([NaN, NaN]), 'gone', false, 'standard')).toThrow(/feature "gone" is missing \(empty\/NaN\) for all 2 users/);
    expect(() => fitFeatureColumn(Float64Array.from([3, 3, 3]), 'flat', false, 'robust')).toThrow(/feature "flat" is constant \(3\) over all 3 users/);
    expect(() => fitFeatureColumn(Float64Array.from([1, -2, 3]), 'neg', true, 'standard')).toThrow(/feature "neg" is marked heavy-tailed \(log1p\) but has value -2 at row 2/);
  });
});

describe('matrix', () => {
  const x = { data: Float32Array.from([1, 2, 3, 4, 5, 6]), rows: 3, cols: 2 };

  it('checkMatrix names the shape, the labels and the first non-finite value', () => {
    expect(() => checkMatrix({ data: new Float64Array(5), rows: 3, cols: 2 }, 'here')).toThrow(/here: the matrix has 5 values but rows x cols = 3 x 2/);
    expect(() => checkMatrix(x, 'here', { y: [0, 1] })).toThrow(/here: 2 labels for 3 rows/);
    expect(() => checkMatrix({ data: Float64Array.from([1, NaN]), rows: 1, cols: 2 }, 'here', { finite: true })).toThrow(/row 0, column 1 is NaN/);
    expect(() => checkMatrix(x, 'here', { cols: 3 })).toThrow(/x has 2 columns but the model was fitted on 3/);
  });

  it('takeRows keeps the element type and the given order; matrixColumn reads one column', () => {
    const t = takeRows(x, [2, 0]);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t.data)).toEqual([5, 6, 1, 2]);
    expect(t).toMatchObject({ rows: 2, cols: 2 });
    expect(Array.from(matrixColumn(x, 1))).toEqual([2, 4, 6]);
  });
});

describe('sampleWithoutReplacement', () => {
  it('draws m distinct indices, the same for the same seed, the partial Fisher-Yates sequence', () => {
    const a = sampleWithoutReplacement(10, 4, createRng(9));
    expect(new Set(a).size).toBe(4);
    expect(Array.from(a)).toEqual(Array.from(sampleWithoutReplacement(10, 4, createRng(9))));
    // the same draws written out: swap position i with i + rng.int(n - i)
    const rng = createRng(9);
    const p = Array.from({ length: 10 }, (_, i) => i);
    for (let i = 0; i < 4; i++) {
      const j = i + rng.int(10 - i);
      [p[i], p[j]] = [p[j], p[i]];
    }
    expect(Array.from(a)).toEqual(p.slice(0, 4));
  });
});
