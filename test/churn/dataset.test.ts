import { describe, expect, it } from 'vitest';
import { applyScaler, assembleBacktest, designMatrix, fitScaler, labelledRows, planBacktest, suggestCutoffs } from '../../src/churn/dataset.js';
import type { FeatureTable } from '../../src/features/types.js';

function table(asOf: string, rows: { id: string; a: number; b: number; churned?: 0 | 1; y: 0 | 1 }[]): FeatureTable {
  return {
    asOf,
    cutoffMs: Date.parse(`${asOf}T00:00:00Z`) + 86_400_000,
    userIds: rows.map((r) => r.id),
    columns: { a: Float64Array.from(rows, (r) => r.a), b: Float64Array.from(rows, (r) => r.b) },
    plan: rows.map(() => ''),
    alreadyChurned: Uint8Array.from(rows, (r) => r.churned ?? 0),
    label: Uint8Array.from(rows, (r) => r.y),
    horizonDays: 30,
  };
}

describe('designMatrix / scaler', () => {
  const t = table('2024-01-31', [
    { id: 'u1', a: 1, b: 10, y: 0 },
    { id: 'u2', a: 3, b: 10, y: 1 },
    { id: 'u3', a: 5, b: 10, churned: 1, y: 1 },
  ]);
  it('designMatrix lays rows out row-major in feature order', () => {
    expect(Array.from(designMatrix(t, ['b', 'a']).data)).toEqual([10, 1, 10, 3, 10, 5]);
  });
  it('labelledRows drops users already churned at the cutoff and counts them', () => {
    const r = labelledRows([t], ['a']);
    expect(r.userIds).toEqual(['u1', 'u2']);
    expect(r.excludedAlreadyChurned).toBe(1);
  });
  it('fitScaler z-scores with training mean/std and maps constant columns to 0', () => {
    const x = designMatrix(t, ['a', 'b']);
    const s = fitScaler(x, ['a', 'b']);
    expect(s.mean).toEqual([3, 10]);
    expect(s.std[0]).toBeCloseTo(Math.sqrt(8 / 3), 12);
    expect(s.std[1]).toBe(1);
    const z = applyScaler(s, x);
    expect(z.data[0]).toBeCloseTo(-2 / Math.sqrt(8 / 3), 6);
    expect(z.data[1]).toBe(0);
  });
  it('fitScaler log-transforms a heavily skewed count column', () => {
    const vals = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 500];
    const x = { data: Float32Array.from(vals), rows: vals.length, cols: 1 };
    expect(fitScaler(x, ['c']).log1p).toEqual([true]);
  });
  it('designMatrix names a misspelt feature and a NaN value', () => {
    expect(() => designMatrix(t, ['aa'])).toThrow(/feature "aa" is not a column/);
    const bad = table('2024-01-31', [{ id: 'u9', a: NaN, b: 1, y: 0 }]);
    expect(() => designMatrix(bad, ['a'])).toThrow(/"a" of user "u9".*NaN/);
  });
});

describe('planBacktest', () => {
  it('planBacktest puts the latest cutoff in test, the one before in validation', () => {
    const p = planBacktest(['2024-03-01', '2024-01-01', '2024-01-31', '2024-04-01'], 28);
    expect(p).toMatchObject({ train: ['2024-01-01', '2024-01-31'], valid: '2024-03-01', test: '2024-04-01', labelOverlapDays: 0 });
  });
  it('planBacktest refuses validation labels that reach into the test period', () => {
    expect(() => planBacktest(['2024-01-01', '2024-02-01', '2024-02-15'], 30)).toThrow(/labels look into the test period/);
    expect(planBacktest(['2024-01-01', '2024-02-01', '2024-02-15'], 30, { allowLabelOverlap: true }).labelOverlapDays).toBe(16);
  });
  it('planBacktest needs three cutoffs', () => {
    expect(() => planBacktest(['2024-01-01', '2024-02-01'], 30)).toThrow(/at least 3/);
  });
  it('suggestCutoffs spaces cutoffs one horizon apart, the last one horizon before the data ends', () => {
    // Last event day 06-30: as-of 05-31 has cutoff 06-01 and horizon [06-01, 07-01), covered.
    expect(suggestCutoffs({ firstEventDay: '2024-01-01', lastEventDay: '2024-06-30', horizonDays: 30 })).toEqual(['2024-04-01', '2024-05-01', '2024-05-31']);
  });
  it('assembleBacktest excludes already churned users per cutoff', () => {
    const mk = (d: string) => table(d, [{ id: 'x', a: 1, b: 1, y: 0 }, { id: 'z', a: 2, b: 1, churned: 1, y: 1 }, { id: 'w', a: 3, b: 2, y: 1 }]);
    const b = assembleBacktest([mk('2024-03-01'), mk('2024-01-01'), mk('2024-01-31')], ['a', 'b'], 28);
    expect(b.plan.test).toBe('2024-03-01');
    expect(b.test.userIds).toEqual(['x', 'w']);
    expect(b.excludedAlreadyChurned).toEqual({ '2024-01-01': 1, '2024-01-31': 1, '2024-03-01': 1 });
  });
});
