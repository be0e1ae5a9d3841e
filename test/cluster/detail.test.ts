import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { churnIntervalOf, describeCluster, distributionOf, featureScale, mixOf, reasonSharesOf, topFeatures, wilsonInterval, type ClusterProfile } from '../../src/cluster/index.js';
import { clusterDistributionsSpec, clusterMixSpec, clusterReasonsSpec } from '../../src/cluster/index.js';
import { renderSvg } from '../../src/shared/charts.js';

// numpy / statsmodels values: test/fixtures/cluster-detail/reference.py (its output is reference.json)
const ref = JSON.parse(readFileSync(new URL('../fixtures/cluster-detail/reference.json', import.meta.url), 'utf8'));

const profile = (over: Partial<ClusterProfile> = {}): ClusterProfile => ({
  cluster: 1, label: 'many sessions', size: 357, share: 0.1, means: {}, z: { a: 0.5, b: -2, c: 1.2, d: 0, e: 3 }, top: [], churnRate: 224 / 357, alreadyChurnedRate: 0, meanChurnRisk: null, ...over,
});

describe('distributionOf', () => {
  it('gives numpy\'s count, mean and type-7 quantiles of the non-NaN values', () => {
    const d = distributionOf(Float64Array.from(ref.values, (v: number | null) => (v === null ? NaN : v)));
    expect(d.n).toBe(ref.n);
    for (const k of ['mean', 'min', 'p05', 'q1', 'median', 'q3', 'p95', 'max'] as const) expect(d[k]).toBeCloseTo(ref[k], 10);
  });

  it('summarizes only the given rows, and nulls for none', () => {
    expect(distributionOf([5, 1, 9, 3], [0, 2])).toEqual({ n: 2, mean: 7, min: 5, p05: 5.2, q1: 6, median: 7, q3: 8, p95: 8.8, max: 9 });
    expect(distributionOf([NaN, 2], [0])).toEqual({ n: 0, mean: null, min: null, p05: null, q1: null, median: null, q3: null, p95: null, max: null });
  });
});

describe('wilsonInterval', () => {
  it('equals statsmodels proportion_confint(method="wilson")', () => {
    for (const [k, n, lo, hi] of ref.wilson as [number, number, number, number][]) {
      const w = wilsonInterval(k, n);
      expect(w.lo).toBeCloseTo(lo, 12);
      expect(w.hi).toBeCloseTo(hi, 12);
    }
  });

  it('counts the churn of a profile with its interval', () => {
    expect(churnIntervalOf(profile(), '1998-05-30')).toEqual({ as_of: '1998-05-30', users: 357, churned: 224, rate: 224 / 357, ...wilsonInterval(224, 357) });
    expect(churnIntervalOf(profile({ churnRate: null }), null)).toBeNull();
  });
});

describe('featureScale', () => {
  it('is symlog for a non-negative population with p95 > 10 x median or max > 10 x p95, linear otherwise', () => {
    const d = (min: number, median: number, p95: number, max = p95) => ({ n: 9, mean: 0, min, p05: min, q1: min, median, q3: p95, p95, max });
    expect(featureScale(d(0, 2, 155))).toBe('symlog');
    expect(featureScale(d(0, 0, 1))).toBe('symlog');
    expect(featureScale(d(0, 2, 20))).toBe('linear');
    // CDNOW at 1998-06-30: revenue (monetary_value) and purchase days (total_sessions) of all 23,570 customers
    expect(featureScale(d(0, 43.395, 380.92, 13990.93))).toBe('symlog');
    expect(featureScale(d(1, 1, 9, 171))).toBe('symlog');
    expect(featureScale(d(0, 472, 536, 546))).toBe('linear');
    expect(featureScale(d(-1, 0, 50))).toBe('linear');
    expect(featureScale(d(0, 0, 0))).toBe('linear');
  });
});

describe('topFeatures', () => {
  it('ranks the clustered features by |z|, ties by name', () => {
    expect(topFeatures(profile(), ['a', 'b', 'c', 'd', 'e'], 3)).toEqual(['e', 'b', 'c']);
    expect(topFeatures(profile({ z: { x: 1, y: -1, w: 1 } }), ['y', 'x', 'w'], 6)).toEqual(['w', 'x', 'y']);
  });
});

describe('mixOf and reasonSharesOf', () => {
  const seg = ['A', 'B', 'A', 'C', 'A', 'B'];
  it('counts the values of the members beside the population shares, every value listed', () => {
    expect(mixOf(seg, [1, 3])).toEqual([
      { value: 'A', users: 0, share: 0, population_share: 0.5 },
      { value: 'B', users: 1, share: 0.5, population_share: 2 / 6 },
      { value: 'C', users: 1, share: 0.5, population_share: 1 / 6 },
    ]);
  });

  it('counts a reason code once per member, most common first', () => {
    const r = (...codes: [string, string][]) => JSON.stringify(codes.map(([feature, direction]) => ({ feature, direction, contribution: 0.1, value: 1 })));
    const reasons = [r(['x', 'increases_risk'], ['x', 'increases_risk'], ['y', 'decreases_risk']), r(['y', 'decreases_risk']), '', r(['x', 'decreases_risk'])];
    expect(reasonSharesOf(reasons, [0, 1, 2, 3])).toEqual([
      { feature: 'y', direction: 'decreases_risk', users: 2, share: 0.5 },
      { feature: 'x', direction: 'decreases_risk', users: 1, share: 0.25 },
      { feature: 'x', direction: 'increases_risk', users: 1, share: 0.25 },
    ]);
    expect(reasonSharesOf(reasons, [0, 1, 2, 3], 1)).toHaveLength(1);
  });
});

describe('cluster detail charts', () => {
  const cols = { e: Float64Array.from([0, 1, 2, 400, 0, 1, 3, 900]), b: Float64Array.from([5, 4, 6, 5, 4, 5, 6, 5]) };
  const detail = (k: number, rows: number[]) =>
    describeCluster({
      profile: profile({ cluster: k, label: `c${k}` }),
      testCutoff: '2026-01-31',
      rows,
      populationUsers: 8,
      mixColumns: { behavioral_segment: ['A', 'A', 'B', 'B', 'A', 'B', 'A', 'A'] },
      reasons: null,
      probability: Float64Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, NaN]),
      features: { names: ['e', 'b'], columns: cols, featureRows: rows, population: (f) => distributionOf(cols[f as 'e' | 'b']) },
    });

  it('describes a cluster from its rows: users, share, mean probability (NaN left out), features on their scale', () => {
    const d = detail(1, [3, 7]);
    expect(d).toMatchObject({ cluster: 1, users: 2, share: 0.25, mean_churn_probability: 0.4, reasons: null });
    expect(d.features.map((f) => [f.feature, f.scale, f.cluster.median])).toEqual([['e', 'symlog', 650], ['b', 'linear', 5]]);
    expect(d.mix.behavioral_segment).toEqual([{ value: 'A', users: 1, share: 0.5, population_share: 5 / 8 }, { value: 'B', users: 1, share: 0.5, population_share: 3 / 8 }]);
  });

  it('draws one box-plot row per feature (symlog where skewed), the mix and no reasons chart without reasons; each compiles and has a description', async () => {
    const a = detail(1, [3, 7]);
    const b = detail(2, [0, 1, 2]);
    const dist = clusterDistributionsSpec(a, b, 8) as any;
    expect(dist.vconcat).toHaveLength(2);
    expect(dist.vconcat[0].layer[0].encoding.x.scale).toEqual({ type: 'symlog', padding: 8 });
    expect(dist.vconcat[1].layer[0].encoding.x.scale).toEqual({ zero: false, padding: 8 });
    expect(dist.resolve).toEqual({ scale: { x: 'independent' } });
    expect(dist.vconcat[0].data.values.map((v: { group: string }) => v.group)).toEqual(['1: c1', '2: c2', 'all users']);
    expect(dist.description).toMatch(/^Box plots \(5th-95th percentile whiskers, quartile boxes, median dots\) of 2 features for cluster 1 \(2 users\), cluster 2 \(3 users\) and all 8 users: e median 650 \(p95 875\) vs 1.5 \(p95 725\) for all users; b median 5 \(p95 5\) vs 5 \(p95 6\)/);
    const mix = clusterMixSpec(a, b) as any;
    expect(mix.data.values.filter((v: { group: string }) => v.group === 'all users').map((v: { share: number }) => v.share)).toEqual([5 / 8, 3 / 8]);
    expect(mix.description).toMatch(/behavioral_segment mostly "A" \(50.0% of the cluster vs 62.5% of all users\)/);
    expect(clusterReasonsSpec(a, b)).toBeNull();
    for (const s of [dist, mix]) expect(await renderSvg(s)).toMatch(/^<svg/);
  });
});
