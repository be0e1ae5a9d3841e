import { describe, expect, it } from 'vitest';
import { DEFAULT_CLUSTER_FEATURES, FeatureScaler, selectFeatures, unscaleValue } from '../../src/cluster/scale.js';

describe('FeatureScaler', () => {
  it('standard: (x - mean) / std, log1p on heavy-tailed counts (hand-computed)', () => {
    const e = Math.E;
    const cols = {
      tenure_days: Float64Array.from([1, 2, 3, 4]), // not heavy-tailed: mean 2.5, std sqrt(1.25)
      sessions_7d: Float64Array.from([0, e - 1, e * e - 1, e - 1]), // heavy-tailed: log1p -> 0,1,2,1: mean 1, std sqrt(0.5)
    };
    const s = new FeatureScaler({ kind: 'standard', features: ['tenure_days', 'sessions_7d'] }).fit(cols);
    const x = s.transform(cols);
    const sd = Math.sqrt(1.25);
    const expected = [-1.5 / sd, -1 / Math.sqrt(0.5), -0.5 / sd, 0, 0.5 / sd, 1 / Math.sqrt(0.5), 1.5 / sd, 0];
    expect(x.rows).toBe(4);
    expect(x.cols).toBe(2);
    Array.from(x.data).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
    expect(s.state?.log1p).toEqual([0, 1]);
    expect(unscaleValue(s.state!, 1, x.data[5])).toBeCloseTo(e * e - 1, 10);
  });

  it('robust: (x - median) / (IQR / 1.349); a sparse count with IQR 0 falls back to the std', () => {
    const cols = { tenure_days: Float64Array.from([1, 2, 3, 4, 100]), wow_trend: Float64Array.from([0, 0, 0, 0, 5]) };
    const s = new FeatureScaler({ kind: 'robust', features: ['tenure_days', 'wow_trend'] }).fit(cols);
    // numpy-style quantiles of 1,2,3,4,100: q1 = 2, median 3, q3 = 4
    expect(s.state?.center).toEqual([3, 0]);
    expect(s.state?.scale[0]).toBeCloseTo(2 / 1.349, 12);
    expect(s.state?.scale[1]).toBeCloseTo(2, 12); // std of 0,0,0,0,5 = 2
  });

  it('imputes NaN with the training median and counts it', () => {
    const cols = { tenure_days: Float64Array.from([10, NaN, 30, 20]), active_days_30d: Float64Array.from([1, 2, 3, 4]) };
    const s = new FeatureScaler({ kind: 'standard', features: ['tenure_days', 'active_days_30d'] }).fit(cols);
    expect(s.state?.impute[0]).toBe(20);
    const x = s.transform(cols);
    expect(x.imputed).toEqual({ tenure_days: 1 });
    expect(x.data[1 * 2 + 0]).toBeCloseTo(x.data[3 * 2 + 0], 12); // the NaN user sits at the median user's value
  });

  it('names a constant or all-missing feature', () => {
    const n = 5;
    expect(() => new FeatureScaler({ kind: 'standard', features: ['tenure_days'] }).fit({ tenure_days: new Float64Array(n).fill(7) })).toThrow(/feature "tenure_days" is constant \(7\) over all 5 users.*--features-list/);
    expect(() => new FeatureScaler({ kind: 'standard', features: ['tenure_days'] }).fit({ tenure_days: new Float64Array(n).fill(NaN) })).toThrow(/feature "tenure_days" is missing \(empty\/NaN\) for all 5 users/);
  });

  it('round-trips through JSON and refuses use before fit', () => {
    const cols = { tenure_days: Float64Array.from([1, 5, 9]), invites_14d: Float64Array.from([0, 3, 1]) };
    const s = new FeatureScaler({ kind: 'standard', features: ['tenure_days', 'invites_14d'] }).fit(cols);
    const loaded = FeatureScaler.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    expect(Array.from(loaded.transform(cols).data)).toEqual(Array.from(s.transform(cols).data));
    expect(() => new FeatureScaler({ kind: 'standard', features: ['x'] }).transform(cols)).toThrow(/before fit/);
  });
});

describe('selectFeatures', () => {
  it('uses the defaults present and reports the others', () => {
    const r = selectFeatures(['user_x', 'sessions_7d', 'feature_breadth_30d', 'tenure_days']);
    expect(r.features).toEqual(['sessions_7d', 'feature_breadth_30d']);
    expect(r.skipped).toEqual(DEFAULT_CLUSTER_FEATURES.filter((f) => f !== 'sessions_7d' && f !== 'feature_breadth_30d'));
  });
  it('checks a requested list and suggests a near name', () => {
    expect(() => selectFeatures(['sessions_7d', 'tenure_days'], ['sesions_7d'])).toThrow(/"sesions_7d" is not a column.*did you mean "sessions_7d"/);
    expect(selectFeatures(['sessions_7d', 'tenure_days'], ['tenure_days']).features).toEqual(['tenure_days']);
  });
});
