import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildNetwork,
  initBackend,
  resolveChurnParams,
  tfSeed,
  loadChurnModel,
  predictChurn,
  reasonCodes,
  serializeModel,
  simulateChurn,
  simulatedFeatureTable,
  trainChurn,
  type TrainChurnResult,
} from '../../src/churn/index.js';
import { rocAuc } from '../../src/evaluate/index.js';
import { collectingLogger, silentLogger } from '../../src/shared/log.js';
import { createRng } from '../../src/shared/rng.js';

// Seeded simulated users with a known logistic truth (no non-linear terms), cut into three
// "cutoffs" 30 days apart: train, validation, test. The rule score is a noisy, coarse copy of the
// truth on a 0-100 scale (ties like a real rule score).
const sim = simulateChurn({ rows: 3000, cols: 8, seed: 5, nonlinear: 0 });
const tables = [
  simulatedFeatureTable(sim, '2024-01-01', { start: 0, end: 1800 }),
  simulatedFeatureTable(sim, '2024-01-31', { start: 1800, end: 2400 }),
  simulatedFeatureTable(sim, '2024-03-01', { start: 2400, end: 3000 }),
];
const rng = createRng(77);
const truthTest = sim.truthProbability.slice(2400, 3000);
const ruleScore = Float64Array.from(truthTest, (p) => Math.round(Math.min(100, Math.max(0, 100 * p + 35 * rng.normal())) / 10) * 10);

async function train(kind: 'logistic' | 'mlp', seed: number): Promise<TrainChurnResult> {
  return trainChurn({
    train: [tables[0]],
    valid: tables[1],
    test: tables[2],
    features: sim.features,
    params: { kind, seed, maxEpochs: 60 },
    ruleScoreTest: ruleScore,
    truthTest,
    resamples: 200,
    importanceRepeats: 1,
    logger: silentLogger,
  });
}

let lr: TrainChurnResult;
beforeAll(async () => {
  lr = await train('logistic', 11);
}, 60_000);

describe('trainChurn (logistic, simulated logistic truth)', () => {
  it('trainChurn logs the backend it runs on', async () => {
    const log = collectingLogger();
    const b = await initBackend(log);
    expect(['tensorflow', 'wasm', 'cpu']).toContain(b);
    expect(lr.model.backend).toBe(b);
  });
  it('trainChurn reaches the truth ceiling within 0.03 ROC-AUC and beats the noisy rule score', () => {
    const m = lr.report.metrics.model.rocAuc!.value;
    const ceiling = rocAuc(truthTest, tables[2].label!);
    expect(lr.report.ceiling!.truthAuc).toBeCloseTo(ceiling, 12);
    expect(m).toBeGreaterThan(ceiling - 0.03);
    expect(lr.report.verdict.model_beats_rule).toBe(true);
    expect(lr.report.verdict.kind).toBe('better');
    expect(lr.report.verdict.text).toMatch(/^The model beats every alternative on the same 600 test users/);
  });
  it('trainChurn: the exact (unweighted) logistic regression needs no calibration on logistic truth, and none is chosen', () => {
    const c = lr.report.calibration!;
    expect(c.kind).toBe('none');
    expect(c.after.brier).toBe(c.before.brier);
  });
  it('trainChurn calibration lowers the Brier score of the class-weighted network', async () => {
    const c = (await train('mlp', 11)).report.calibration!;
    expect(c.after.brier).toBeLessThan(c.before.brier);
  });
  it('trainChurn ranks the strongest true coefficient first in permutation importance', () => {
    // beta_0 = 1.2 is the largest |beta| of the simulation.
    expect(lr.report.importance!.importances[0].feature).toBe(sim.features[0]);
  });
  it('trainChurn with the same seed gives the same metrics to the printed digit', async () => {
    const again = await train('logistic', 11);
    expect(again.report.metrics).toEqual(lr.report.metrics);
    expect(Array.from(again.test.probability)).toEqual(Array.from(lr.test.probability));
  }, 60_000);
  it('trainChurn refuses a test cutoff that is not the latest', async () => {
    await expect(trainChurn({ train: [tables[2]], valid: tables[1], test: tables[0], features: sim.features, params: { kind: 'logistic', seed: 1 } })).rejects.toThrow(/is not before the validation cutoff/);
  });
});

describe('model persistence and explanations', () => {
  it('serializeModel/loadChurnModel round-trips to identical predictions', async () => {
    const s = await serializeModel(lr.model);
    const json = JSON.parse(JSON.stringify(s.json));
    expect(s.weights).toBeNull(); // the exact logistic model is JSON only
    const back = await loadChurnModel({ json, weights: null });
    const a = predictChurn(lr.model, tables[2].columns);
    const b = predictChurn(back, tables[2].columns);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(back.calibrator).toEqual(lr.model.calibrator);
  });
  it('loadChurnModel refuses another format version', async () => {
    const s = await serializeModel(lr.model);
    await expect(loadChurnModel({ json: { ...s.json, formatVersion: 3 }, weights: s.weights }, { path: 'models/x/1' })).rejects.toThrow(/format version 3.*re-train/);
  });
  it('reasonCodes of logistic regression equal coefficient x standardized value', () => {
    if (lr.model.kind !== 'logistic') throw new Error('expected a logistic model');
    const w = lr.model.logistic.fitted.coef;
    const [codes] = reasonCodes(lr.model, tables[2].columns, { top: 2, rows: [0] });
    const s = lr.model.scaler;
    const j = sim.features.indexOf(codes[0].feature);
    let v = tables[2].columns[codes[0].feature][0];
    if (s.log1p[j]) v = Math.log1p(v);
    expect(codes[0].contribution).toBeCloseTo(w[j] * ((v - s.mean[j]) / s.std[j]), 3);
    expect(codes[0].direction).toBe(codes[0].contribution > 0 ? 'increases_risk' : 'decreases_risk');
    expect(Math.abs(codes[0].contribution)).toBeGreaterThanOrEqual(Math.abs(codes[1].contribution));
  });
});

describe('buildNetwork seeds', () => {
  it('seed 0 initializes the same weights every time (tfjs draws from Math.random for a falsy seed)', () => {
    const weights = () => {
      const net = buildNetwork(resolveChurnParams({ kind: 'mlp', seed: 0, hiddenUnits: [8, 4] }), 5);
      const w = net.getWeights().map((t) => Array.from(t.dataSync()));
      net.dispose();
      return w;
    };
    const a = weights();
    expect(a[0].some((v) => v !== 0)).toBe(true);
    expect(weights()).toEqual(a);
    expect(tfSeed(0)).toBe(-1);
    expect(tfSeed(3)).toBe(3);
  });
});

describe('trainChurn (mlp)', () => {
  it('trainChurn mlp is seeded: same seed, same probabilities; another seed differs', async () => {
    const a = await train('mlp', 3);
    const b = await train('mlp', 3);
    const c = await train('mlp', 4);
    expect(Array.from(b.test.probability)).toEqual(Array.from(a.test.probability));
    expect(Array.from(c.test.probability)).not.toEqual(Array.from(a.test.probability));
    expect(a.report.metrics.model.rocAuc!.value).toBeGreaterThan(a.report.ceiling!.truthAuc - 0.04);
  }, 120_000);
});
