import { describe, expect, it } from 'vitest';
import { clusterLabel, crosstab, featureWord, profileClusters, wholePercent } from '../../src/cluster/explain.js';

describe('profileClusters', () => {
  it('profileClusters(two clusters) gives sizes, means, standard-unit differences and a label in words', () => {
    // cluster 0: breadth high, inactive; cluster 1: breadth low, recent. Neither column is heavy-tailed
    // except days_since_last_activity (log1p): values chosen as e^t - 1.
    const e = Math.E;
    const columns = {
      feature_breadth_30d: Float64Array.from([0.9, 0.7, 0.1, 0.3]),
      days_since_last_activity: Float64Array.from([e * e - 1, e * e - 1, 0, 0]),
      tenure_days: Float64Array.from([10, 10, 10, 11]),
    };
    const labels = Int32Array.from([0, 0, 1, 1]);
    const p = profileClusters({ labels, k: 2, columns, clustered: ['feature_breadth_30d', 'days_since_last_activity', 'tenure_days'], churnLabel: Uint8Array.from([1, 0, 0, 0]), churnRisk: Float64Array.from([80, 60, 10, 20]) });
    expect(p[0].size).toBe(2);
    expect(p[0].share).toBe(0.5);
    expect(p[0].means.feature_breadth_30d).toBeCloseTo(0.8, 12);
    // breadth: population mean 0.5, std sqrt(((.4^2+.2^2)*2)/4) = sqrt(0.1); cluster 0 at +0.3
    expect(p[0].z.feature_breadth_30d).toBeCloseTo(0.3 / Math.sqrt(0.1), 12);
    // days since (log1p): 2,2,0,0 -> mean 1, std 1: cluster 0 at +1
    expect(p[0].z.days_since_last_activity).toBeCloseTo(1, 12);
    // tenure: 10,10,10,11 -> mean 10.25, std sqrt(0.1875); cluster 0 at -0.25
    expect(p[0].z.tenure_days).toBeCloseTo(-0.25 / Math.sqrt(0.1875), 12);
    expect(p[0].label).toBe('inactive, high breadth, new');
    expect(p[1].label).toBe('recent, low breadth, long tenure');
    expect(p[0].churnRate).toBe(0.5);
    expect(p[1].churnRate).toBe(0);
    expect(p[0].meanChurnRisk).toBe(70);
    expect(p[1].meanChurnRisk).toBe(15);
  });

  it('says the same thing once: two columns of one dimension give one word', () => {
    const columns = {
      sessions_7d: Float64Array.from([10, 12, 0, 1]),
      avg_weekly_sessions_28d: Float64Array.from([9, 11, 0, 1]),
      feature_breadth_30d: Float64Array.from([0.9, 0.7, 0.1, 0.3]),
    };
    const p = profileClusters({ labels: Int32Array.from([0, 0, 1, 1]), k: 2, columns, clustered: Object.keys(columns) });
    expect(p[0].label.split(', ').filter((w) => w === 'many sessions').length).toBe(1);
    expect(p[0].top.length).toBe(2);
  });

  it('never calls a mostly-churned cluster "typical": it names the churn share first', () => {
    // cluster 0: 5 of 6 already churned, cluster 1: 1 of 6; the feature does not separate them (|z| < 0.25)
    const columns = { feature_breadth_30d: Float64Array.from([0.5, 0.5, 0.5, 0.5, 0.5, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.6]) };
    const labels = Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    const alreadyChurned = Uint8Array.from([1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0]);
    const p = profileClusters({ labels, k: 2, columns, clustered: ['feature_breadth_30d'], alreadyChurned });
    expect(p[0].alreadyChurnedRate).toBeCloseTo(5 / 6, 12);
    expect(p[0].label).toBe('mostly churned (83%)');
    expect(p[1].label).toBe('typical users');
    // most members churn within the horizon (label), none before the cutoff
    const q = profileClusters({ labels, k: 2, columns, clustered: ['feature_breadth_30d'], churnLabel: Uint8Array.from([1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0]) });
    expect(q[0].label).toBe('typical users');
    expect(q[1].label).toBe('typical activity, mostly churned within the horizon (66%)');
  });

  it('clusterLabel and wholePercent: 99.6% is not "100%", 50% is "mostly"', () => {
    expect(wholePercent(0.996)).toBe('99%');
    expect(wholePercent(1)).toBe('100%');
    expect(clusterLabel(['inactive', 'few sessions'], 0.5, 0.9)).toBe('mostly churned (50%): inactive, few sessions');
    expect(clusterLabel(['inactive'], 0.49, 0.9)).toBe('inactive');
    expect(clusterLabel([], 0.2, null)).toBe('typical users');
  });

  it('featureWord maps names and milestones, with a fallback', () => {
    expect(featureWord('invites_14d', 1)).toBe('many invites');
    expect(featureWord('days_since_last_activity', -1)).toBe('recent');
    expect(featureWord('milestone_created_project', 1)).toBe('did created project');
    expect(featureWord('custom_score', -1)).toBe('low custom score');
  });
});

describe('crosstab', () => {
  it('crosstab counts clusters x rule values, lists the segments each cluster spans, and 0/1 columns read in/out', () => {
    const labels = Int32Array.from([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const seg = ['power', 'power', 'casual', 'casual', 'casual', 'casual', 'casual', 'casual', 'casual', 'casual', 'casual', 'at_risk'];
    const t = crosstab('behavioral_segment', labels, 2, seg);
    expect(t.values).toEqual(['power', 'casual', 'at_risk']);
    expect(t.counts).toEqual([[2, 1, 0], [0, 8, 1]]);
    expect(t.spans).toEqual([['power', 'casual'], ['casual', 'at_risk']]);
    const flag = crosstab('segment_x', labels, 2, Float64Array.from([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    expect(flag.counts).toEqual([[3, 0], [0, 9]]);
    expect(flag.ari).toBe(1);
  });
});
