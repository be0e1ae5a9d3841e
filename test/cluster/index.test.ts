import { describe, expect, it } from 'vitest';
import { adjustedRandIndex, assignClusters, clusterCharts, fitClusters, truthAgreement, type ClusterModel } from '../../src/cluster/index.js';
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
  FEATURES.forEach((f, j) => (columns[f] = Float64Array.from({ length: x.rows }, (_, i) => x.data[i * x.cols + j] * SCALE[j])));
  const n = x.rows;
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

  it('fits on the users live at the cutoff; too few live users stop with TOO_FEW_LIVE_USERS, or (train) fit on everyone with a warning', () => {
    const { table, truth } = plantedTable(7);
    const n = table.userIds.length;
    // all of group 1 (few active days) and 100 of group 3 churned before the cutoff: 250 churned, 350 live
    let extra = 0;
    const churned = Uint8Array.from(truth, (t) => (t === 1 || (t === 3 && extra++ < 100) ? 1 : 0));
    const t2: FeatureTable = { ...table, alreadyChurned: churned };
    const base = { features: FEATURES, k: 3, kMin: 3, kMax: 3, seed: 2, stabilityBootstraps: 1, stabilitySeeds: 1 } as const;

    const live = fitClusters(t2, { ...base, minClusterSize: 100 });
    expect(live.report.fittedOn).toBe('live');
    expect(live.report.fittedUsers).toBe(350);
    expect(live.report.alreadyChurnedUsers).toBe(250);
    expect(live.report.users).toBe(n);
    expect(live.assignments.length).toBe(n);
    expect(live.report.warnings.map((w) => w.code)).not.toContain('CLUSTER_FIT_ON_ALL_USERS');

    // 350 live < 2 x 200: the cluster command stops with one sentence naming both numbers and the fixes
    expect(() => fitClusters(t2, { ...base, minClusterSize: 200 })).toThrow(
      /^only 350 of 600 users are live at the cutoff 2026-01-31 \(250 already churned\); clustering fits on live users and needs at least 400 \(2 clusters of the playbook §10 minimum of 200\): use an earlier --as-of, a smaller --min-size, or --include-churned to fit on everyone\.$/,
    );
    try {
      fitClusters(t2, { ...base, minClusterSize: 200 });
    } catch (e) {
      expect((e as { code?: string }).code).toBe('TOO_FEW_LIVE_USERS');
    }

    // train's fallback: everyone, with a coded warning; the cluster of churned users says so in its label
    const all = fitClusters(t2, { ...base, k: 4, kMin: 4, kMax: 4, minClusterSize: 200, whenFewLive: 'fit-all' });
    expect(all.report.fittedOn).toBe('all');
    expect(all.report.fittedUsers).toBe(n);
    const w = all.report.warnings.find((x) => x.code === 'CLUSTER_FIT_ON_ALL_USERS');
    expect(w?.message).toMatch(/^only 350 of 600 users are live .* so the clusters are fitted on all 600 users, churned ones included/);
    const gone = all.assignments[truth.indexOf(1)];
    expect(all.report.profiles[gone].alreadyChurnedRate).toBe(1);
    expect(all.report.profiles[gone].label).toBe('mostly churned (100%): few active days, long tenure, low breadth');
    // --include-churned: everyone on purpose, no warning
    const asked = fitClusters(t2, { ...base, minClusterSize: 200, excludeAlreadyChurned: false });
    expect(asked.report.fittedOn).toBe('all');
    expect(asked.report.warnings.map((x) => x.code)).not.toContain('CLUSTER_FIT_ON_ALL_USERS');
  });

  it('truthAgreement gives ARI against latent types', () => {
    const t = truthAgreement(['a', 'b', 'c', 'd', 'e'], Int32Array.from([0, 0, 1, 1, 1]), 2, new Map([['a', 'x'], ['b', 'x'], ['c', 'y'], ['d', 'y']]));
    expect(t.ari).toBe(1);
    expect(t.matched).toBe(4);
    expect(t.counts).toEqual([[2, 0], [0, 2]]);
  });
});

describe('clusterCharts', () => {
  it('draws a seeded sample of at most 3000 users on the PCA map by default, and as many as asked (the explorer: 20,000 on a canvas)', () => {
    const { table } = plantedTable(3);
    const { report } = fitClusters(table, { features: FEATURES, kMin: 4, kMax: 4, seed: 5, stabilityBootstraps: 0, stabilitySeeds: 0 });
    const n = 25_000;
    const pts = { userIds: Array.from({ length: n }, (_, i) => `u${i}`), assignments: Int32Array.from({ length: n }, (_, i) => i % 4), labels: Array.from({ length: n }, (_, i) => report.profiles[i % 4].label), pc1: Float64Array.from({ length: n }, (_, i) => i), pc2: new Float64Array(n) };
    const values = (c: ReturnType<typeof clusterCharts>) => (c.pca[0].data as { values: { pc1: number }[] }).values;
    expect(values(clusterCharts(report, pts, 1))).toHaveLength(3000);
    const big = values(clusterCharts(report, pts, 1, { mapPoints: 20_000 }));
    expect(big).toHaveLength(20_000);
    expect(new Set(big.map((v) => v.pc1)).size).toBe(20_000);
    expect(values(clusterCharts(report, pts, 1, { mapPoints: 20_000 }))).toEqual(big);
    expect(values(clusterCharts(report, pts, 1, { mapPoints: 50_000 }))).toHaveLength(n);
  });
});
