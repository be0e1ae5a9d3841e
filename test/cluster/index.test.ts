import { describe, expect, it } from 'vitest';
import { adjustedRandIndex, assignClusters, fitClusters, truthAgreement, type ClusterModel } from '../../src/cluster/index.js';
import type { FeatureTable } from '../../src/features/types.js';
import type { RuleOutput } from '../../src/rules/types.js';
import { collectingLogger } from '../../src/shared/log.js';
import { plantedBlobs } from './helpers.js';

const FEATURES = ['feature_breadth_30d', 'active_days_30d', 'tenure_days'];
// Four planted user groups in three non-heavy-tailed features, 150 users each
const CENTERS = [
  [0.8, 25, 300],
  [0.2, 3, 300],
  [0.5, 12, 30],
  [0.2, 25, 30],
];
const SCALE = [0.05, 2, 20];

function plantedTable(seed: number): { table: FeatureTable; truth: Int32Array } {
  const unit = CENTERS.map((c) => c.map((v, j) => v / SCALE[j]));
  const { x, truth } = plantedBlobs(unit, 150, 1, seed);
  const columns: Record<string, Float64Array> = {};
  FEATURES.forEach((f, j) => (columns[f] = Float64Array.from({ length: x.n }, (_, i) => x.data[i * x.d + j] * SCALE[j])));
  const n = x.n;
  const table: FeatureTable = {
    asOf: '2026-01-31',
    cutoffMs: Date.UTC(2026, 1, 1),
    userIds: Array.from({ length: n }, (_, i) => `u${i}`),
    columns,
    plan: new Array(n).fill('free'),
    alreadyChurned: new Uint8Array(n),
    label: Uint8Array.from(truth, (t) => (t === 1 ? 1 : 0)),
  };
  return { table, truth };
}

describe('fitClusters', () => {
  it('fitClusters(planted 4 groups) picks k = 4, recovers them (ARI 1), labels them in words and is reproducible', () => {
    const { table, truth } = plantedTable(3);
    const params = { features: FEATURES, kMin: 2, kMax: 6, seed: 5, stabilityBootstraps: 3, stabilitySeeds: 2 };
    const a = fitClusters(table, params);
    const b = fitClusters(table, params);
    expect(a.report.k).toBe(4);
    expect(a.report.kSelection.chosen).toBe(4);
    expect(adjustedRandIndex(a.assignments, truth)).toBe(1);
    expect(Array.from(b.assignments)).toEqual(Array.from(a.assignments));
    expect(b.model).toEqual(a.model);
    // the low-breadth, few-active-days, long-tenure group (truth 1) has the churners
    const c1 = a.assignments[truth.indexOf(1)];
    expect(a.report.profiles[c1].churnRate).toBe(1);
    expect(a.report.profiles[c1].label).toBe('few active days, long tenure, low breadth');
    expect(a.report.stability.seedAri).toEqual([1, 1]);
    expect(a.report.stability.unstable).toEqual([]);
    expect(a.report.pca.explainedVariance[0]).toBeGreaterThan(a.report.pca.explainedVariance[1]);
    expect(a.labels[0]).toBe(a.report.profiles[a.assignments[0]].label);
  });

  it('assignClusters(model from JSON) puts users where fitClusters did', () => {
    const { table } = plantedTable(4);
    const r = fitClusters(table, { features: FEATURES, k: 4, kMin: 3, kMax: 4, seed: 1, stabilityBootstraps: 1, stabilitySeeds: 1 });
    const model = JSON.parse(JSON.stringify(r.model)) as ClusterModel;
    const again = assignClusters(model, table.columns);
    expect(Array.from(again.cluster)).toEqual(Array.from(r.assignments));
    expect(again.labels).toEqual(r.labels);
    expect(Array.from(assignClusters(model, table).cluster)).toEqual(Array.from(r.assignments));
    expect(model.k).toBe(4);
    for (let i = 0; i < 10; i++) expect(again.pc1[i]).toBeCloseTo(r.pc1[i], 9);
    // a new user with a missing feature: imputed with the training median and reported
    const one = assignClusters(model, { feature_breadth_30d: Float64Array.from([0.8]), active_days_30d: Float64Array.from([25]), tenure_days: Float64Array.from([NaN]) });
    expect(one.imputed).toEqual({ tenure_days: 1 });
    expect(() => assignClusters(model, { feature_breadth_30d: new Float64Array(1) })).toThrow(/needs feature "active_days_30d"/);
    expect(() => assignClusters({ ...model, version: 2 as 1 }, table.columns)).toThrow(/version 2 is not supported/);
  });

  it('crosstabs every rule segment column, reads the rule churn risk, and warns about small clusters', () => {
    const { table, truth } = plantedTable(5);
    const n = table.userIds.length;
    // rule output listed in reverse user order, to check the alignment by user id
    const order = Array.from({ length: n }, (_, i) => n - 1 - i);
    const rules: RuleOutput = {
      userIds: order.map((i) => table.userIds[i]),
      columns: {
        churn_risk_score: Float64Array.from(order, (i) => (truth[i] === 1 ? 80 : 20)),
        behavioral_segment: order.map((i) => (truth[i] === 0 ? 'power' : 'casual')),
        segment_trial_push: Float64Array.from(order, (i) => (truth[i] === 2 ? 1 : 0)),
        rfm_code: order.map((i) => `r${i}`),
      },
      components: {},
    };
    const log = collectingLogger();
    const r = fitClusters(table, { features: FEATURES, k: 4, kMin: 3, kMax: 4, seed: 2, minClusterSize: 151, stabilityBootstraps: 1, stabilitySeeds: 1 }, { rules, logger: log });
    expect(r.report.crosstabs.map((c) => c.column)).toEqual(['behavioral_segment', 'segment_trial_push']);
    const power = r.assignments[truth.indexOf(0)];
    const seg = r.report.crosstabs[0];
    expect(seg.counts[power][seg.values.indexOf('power')]).toBe(150);
    expect(r.report.profiles[r.assignments[truth.indexOf(1)]].meanChurnRisk).toBe(80);
    expect(log.lines.filter((l) => /under the playbook §10 minimum of 151/.test(l)).length).toBe(4);
  });

  it('skips a constant default feature with a note, but stops on a constant feature asked for by name', () => {
    const { table } = plantedTable(6);
    const n = table.userIds.length;
    const columns = { feature_breadth_30d: table.columns.feature_breadth_30d, active_days_30d: table.columns.active_days_30d, cancel_page_views_30d: new Float64Array(n) };
    const t2 = { ...table, columns };
    const r = fitClusters(t2, { k: 4, kMin: 3, kMax: 4, stabilityBootstraps: 1, stabilitySeeds: 1 });
    expect(r.report.features).toEqual(['active_days_30d', 'feature_breadth_30d']);
    expect(r.report.skippedFeatures).toContain('cancel_page_views_30d');
    expect(() => fitClusters(t2, { features: ['active_days_30d', 'cancel_page_views_30d'], k: 4, kMin: 3, kMax: 4 })).toThrow(/feature "cancel_page_views_30d" is constant \(0\)/);
  });

  it('truthAgreement gives ARI against latent types', () => {
    const t = truthAgreement(['a', 'b', 'c', 'd', 'e'], Int32Array.from([0, 0, 1, 1, 1]), 2, new Map([['a', 'x'], ['b', 'x'], ['c', 'y'], ['d', 'y']]));
    expect(t.ari).toBe(1);
    expect(t.matched).toBe(4);
    expect(t.counts).toEqual([[2, 0], [0, 2]]);
  });
});
