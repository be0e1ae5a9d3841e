import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEvents, CDNOW_PRESET } from '../../src/ingest/index.js';
import { purchaseSummary, summarizePurchaseDays } from '../../src/ltv/index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

describe('summarizePurchaseDays', () => {
  it('counts purchase days, not purchases, and leaves the first day out of monetary', () => {
    // u1: days 0 (twice), 3, 3, 10; u2: day 5 only. Calibration ends on day 14, unit 7 days.
    const s = summarizePurchaseDays({ userIds: ['u1', 'u1', 'u1', 'u2'], day: [0, 3, 10, 5], value: [30, 8, 4, 9] }, 14, 7);
    expect(s.userIds).toEqual(['u1', 'u2']);
    expect(Array.from(s.frequency)).toEqual([2, 0]);
    expect(Array.from(s.recency)).toEqual([10 / 7, 0]);
    expect(Array.from(s.T)).toEqual([2, 9 / 7]);
    expect(Array.from(s.monetary!)).toEqual([6, 0]);
  });

  it('sums the values of several rows of one day (rows not pre-aggregated)', () => {
    const s = summarizePurchaseDays({ userIds: ['u', 'u', 'u', 'u'], day: [1, 1, 4, 4], value: [5, 5, 2, 3] }, 4, 1);
    expect(Array.from(s.frequency)).toEqual([1]);
    expect(Array.from(s.monetary!)).toEqual([5]);
    expect(Array.from(s.recency)).toEqual([3]);
    expect(Array.from(s.T)).toEqual([3]);
  });

  it('names the customer whose days are unsorted or after the calibration end', () => {
    expect(() => summarizePurchaseDays({ userIds: ['a', 'a'], day: [4, 2], value: null }, 9, 7)).toThrow(/customer "a" are not sorted/);
    expect(() => summarizePurchaseDays({ userIds: ['b'], day: [12], value: null }, 9, 7)).toThrow(/customer "b" has a purchase on day 12, after the calibration end/);
  });
});

describe('purchaseSummary on real CDNOW rows (test/fixtures/cdnow-sample.txt)', () => {
  it('gives the hand-counted frequency, recency, T and monetary as of 1997-09-30', async () => {
    const store = await loadEvents([join(FIXTURES, 'cdnow-sample.txt')], CDNOW_PRESET);
    try {
      const s = await purchaseSummary(store, { asOf: '1997-09-30' });
      const at = (u: string) => s.userIds.indexOf(u);
      expect(s.userIds).toEqual(['00001', '00002', '00003', '00004', '00005', '00006', '00007', '00008']);
      // 00002 bought twice on 1997-01-12: one purchase day, no repeat.
      expect(s.frequency[at('00002')]).toBe(0);
      expect(s.T[at('00002')]).toBeCloseTo(261 / 7, 12);
      // 00003: 01-02, 03-30, 04-02 before the end (later ones are holdout): x = 2, t_x = 90 days, T = 271 days.
      expect(s.frequency[at('00003')]).toBe(2);
      expect(s.recency[at('00003')]).toBeCloseTo(90 / 7, 12);
      expect(s.T[at('00003')]).toBeCloseTo(271 / 7, 12);
      expect(s.monetary![at('00003')]).toBeCloseTo((20.76 + 19.54) / 2, 10);
      // 00005: 8 days up to 09-15: x = 7, t_x = 257 days, monetary = mean of the 7 repeat days.
      expect(s.frequency[at('00005')]).toBe(7);
      expect(s.recency[at('00005')]).toBeCloseTo(257 / 7, 12);
      expect(s.monetary![at('00005')]).toBeCloseTo(231.88 / 7, 10);
      expect(s.T[at('00001')]).toBeCloseTo(272 / 7, 12);
    } finally {
      store.close();
    }
  });
});
