import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { applyScaler } from '../../src/shared/preprocess.js';
import {
  designMatrix,
  fitNetwork,
  loadChurnModel,
  predictChurn,
  predictWithReasons,
  resolveChurnParams,
  saveNetwork,
  serializeModel,
  simulateChurn,
  simulatedFeatureTable,
  treeShap,
  trainChurn,
  CHURN_MODEL_FORMAT,
  type ChurnModelJson,
  type ChurnModelKind,
  type TrainChurnResult,
} from '../../src/churn/index.js';
import { silentLogger } from '../../src/shared/log.js';
import { createRng } from '../../src/shared/rng.js';

// Seeded simulated users cut into train / validation / test "cutoffs" (as model.test.ts).
function tablesOf(nonlinear: number, rows: number, seed: number) {
  const sim = simulateChurn({ rows, cols: 6, seed, nonlinear });
  const a = Math.round(rows * 0.6);
  const b = Math.round(rows * 0.8);
  return {
    sim,
    tables: [
      simulatedFeatureTable(sim, '2024-01-01', { start: 0, end: a }),
      simulatedFeatureTable(sim, '2024-01-31', { start: a, end: b }),
      simulatedFeatureTable(sim, '2024-03-01', { start: b, end: rows }),
    ],
  };
}

function run(t: ReturnType<typeof tablesOf>, kind: ChurnModelKind | 'auto', seed = 5): Promise<TrainChurnResult> {
  const [tr, va, te] = t.tables;
  return trainChurn({ train: [tr], valid: va, test: te, features: t.sim.features, params: { kind, seed, maxEpochs: 40, hiddenUnits: [16, 8] }, resamples: 100, importanceRepeats: 1, logger: silentLogger });
}

/** The same rows with labels from a staircase of thresholds (what trees represent exactly and a smooth model does not). */
function steps(rows: number, seed: number) {
  const t = tablesOf(0, rows, seed);
  const { x, truthProbability: p, y } = t.sim;
  const rng = createRng(seed + 1);
  for (let i = 0; i < x.rows; i++) {
    const a = x.data[i * x.cols];
    const c = x.data[i * x.cols + 3];
    p[i] = a > 0.8 ? (c > 3 ? 0.9 : 0.5) : a > -0.4 ? (c > 3 ? 0.3 : 0.05) : c > 6 ? 0.6 : 0.15;
    y[i] = rng.next() < p[i] ? 1 : 0;
  }
  const rowsA = Math.round(rows * 0.6);
  const rowsB = Math.round(rows * 0.8);
  t.tables = [
    simulatedFeatureTable(t.sim, '2024-01-01', { start: 0, end: rowsA }),
    simulatedFeatureTable(t.sim, '2024-01-31', { start: rowsA, end: rowsB }),
    simulatedFeatureTable(t.sim, '2024-03-01', { start: rowsB, end: rows }),
  ];
  return t;
}

const linear = tablesOf(0, 1500, 31);
const nonlinear = tablesOf(3, 6000, 32);
const stairs = steps(6000, 33);
let autoLinear: TrainChurnResult;
let autoNonlinear: TrainChurnResult;
let autoStairs: TrainChurnResult;

beforeAll(async () => {
  autoLinear = await run(linear, 'auto');
  autoNonlinear = await run(nonlinear, 'auto');
  autoStairs = await run(stairs, 'auto');
}, 240_000);

describe("trainChurn kind 'auto'", () => {
  it('fits all three kinds and keeps the one with the lowest validation log loss (calibrated, cross-validated)', () => {
    for (const r of [autoLinear, autoNonlinear, autoStairs]) {
      expect(r.candidates.map((c) => c.kind)).toEqual(['logistic', 'mlp', 'gbdt']);
      const best = [...r.candidates].sort((a, b) => a.choiceLogLoss - b.choiceLogLoss)[0];
      expect(r.model.kind).toBe(best.kind);
      expect(r.candidates.filter((c) => c.chosen).map((c) => c.kind)).toEqual([best.kind]);
      for (const c of r.candidates) {
        expect(c.choiceLogLoss).toBe(c.validLogLoss.calibrated ?? c.validLogLoss.raw);
        expect(c.test.rocAuc!.lo).toBeLessThanOrEqual(c.test.rocAuc!.value);
        expect(c.test.rocAuc!.hi).toBeGreaterThanOrEqual(c.test.rocAuc!.value);
      }
      // the verdict's model is the chosen candidate, on the same test users
      const chosen = r.candidates.find((c) => c.chosen)!;
      expect(chosen.test.rocAuc!.value).toBe(r.report.metrics.model.rocAuc!.value);
      expect(r.report.candidates).toEqual(r.candidates);
      expect(r.report.context.model!.kind).toBe(r.model.kind);
      expect(r.report.context.model!.requested).toBe('auto');
    }
  });
  it('chooses the exact logistic regression when the truth is logistic', () => {
    expect(autoLinear.model.kind).toBe('logistic');
  });
  it('chooses the MLP when the truth has smooth interactions (x0 x1, x2 squared) and a strong weight on them', () => {
    expect(autoNonlinear.model.kind).toBe('mlp');
    const lr = autoNonlinear.candidates.find((c) => c.kind === 'logistic')!;
    const mlp = autoNonlinear.candidates.find((c) => c.kind === 'mlp')!;
    expect(mlp.test.rocAuc!.value).toBeGreaterThan(lr.test.rocAuc!.value + 0.02);
  });
  it('chooses the trees when the truth is a staircase of thresholds', () => {
    expect(autoStairs.model.kind).toBe('gbdt');
    const lr = autoStairs.candidates.find((c) => c.kind === 'logistic')!;
    const gb = autoStairs.candidates.find((c) => c.kind === 'gbdt')!;
    expect(gb.test.rocAuc!.value).toBeGreaterThan(lr.test.rocAuc!.value);
  });
  it('a forced kind gives exactly the candidate row auto reported for it', async () => {
    const forced = await run(nonlinear, 'gbdt');
    expect(forced.candidates).toHaveLength(1);
    const a = autoNonlinear.candidates.find((c) => c.kind === 'gbdt')!;
    expect(forced.candidates[0].test).toEqual(a.test);
    expect(forced.candidates[0].validLogLoss).toEqual(a.validLogLoss);
  }, 60_000);
  it('refits logistic and gbdt on training + validation users (details say so), not the MLP', () => {
    const d = Object.fromEntries(autoNonlinear.candidates.map((c) => [c.kind, c.details]));
    expect(d.logistic.refit).toBe(true);
    expect([0.001, 0.01, 0.1, 1, 10, 100]).toContain(d.logistic.C);
    expect(d.gbdt.refit).toBe(true);
    expect(d.gbdt.trees).toBeGreaterThanOrEqual(1);
    expect(d.gbdt.trees).toBeLessThanOrEqual(d.gbdt.treesGrown as number);
    expect(d.mlp.refit).toBe(false);
    if (autoNonlinear.model.kind === 'gbdt') expect(autoNonlinear.model.gbdt.fitted.trees.length).toBe(d.gbdt.trees);
  });
});

describe('every kind round-trips save/load/predict identically', () => {
  for (const kind of ['logistic', 'mlp', 'gbdt'] as const) {
    it(`${kind}: JSON (and the MLP's weights) -> loadChurnModel -> same probabilities and reasons`, async () => {
      const r = await run(nonlinear, kind);
      expect(r.model.kind).toBe(kind);
      const s = await serializeModel(r.model);
      expect(s.weights === null).toBe(kind !== 'mlp');
      const json = JSON.parse(JSON.stringify(s.json)) as ChurnModelJson;
      const back = await loadChurnModel({ json, weights: s.weights ? s.weights.slice(0) : null });
      const cols = nonlinear.tables[2].columns;
      expect(Array.from(predictChurn(back, cols))).toEqual(Array.from(predictChurn(r.model, cols)));
      const a = predictWithReasons(r.model, cols, 3);
      const b = predictWithReasons(back, cols, 3);
      expect(b.reasons).toEqual(a.reasons);
      expect(Array.from(b.probability)).toEqual(Array.from(a.probability));
      // what was scored at train time is what the model predicts for the test users
      expect(Array.from(a.probability)).toEqual(Array.from(r.test.probability));
    }, 60_000);
  }

  it('gbdt reasons are TreeSHAP contributions: base value + contributions = the margin', async () => {
    const r = await run(nonlinear, 'gbdt');
    if (r.model.kind !== 'gbdt') throw new Error('expected gbdt');
    const x = designMatrix(nonlinear.tables[2], nonlinear.sim.features, [0, 1, 2]);
    const shap = treeShap(r.model.gbdt.fitted, x);
    const margin = r.model.gbdt.predictRaw(x);
    for (let i = 0; i < 3; i++) {
      let s = shap.baseValue;
      for (let j = 0; j < x.cols; j++) s += shap.contributions[i * x.cols + j];
      expect(Math.abs(s - margin[i])).toBeLessThan(1e-9);
    }
    const { reasons } = predictWithReasons(r.model, nonlinear.tables[2].columns, 2);
    const j0 = nonlinear.sim.features.indexOf(reasons[0][0].feature);
    expect(reasons[0][0].contribution).toBe(shap.contributions[j0]);
  }, 60_000);

  it('a format-1 model whose network is a one-unit tfjs logistic regression loads as exact-logistic coefficients, same function', async () => {
    const [tr, va, te] = linear.tables;
    const fs = linear.sim.features;
    const r = await run(linear, 'logistic');
    const params = resolveChurnParams({ kind: 'logistic', seed: 2, maxEpochs: 5 });
    const scaled = (t: typeof tr) => applyScaler(r.model.scaler, designMatrix(t, fs));
    const { net } = fitNetwork({ x: scaled(tr), y: tr.label! }, { x: scaled(va), y: va.label! }, params, silentLogger);
    const a = await saveNetwork(net);
    const json: ChurnModelJson = {
      format: CHURN_MODEL_FORMAT, formatVersion: 1, kind: 'logistic', features: fs, params, scaler: r.model.scaler,
      calibrator: { kind: 'none' }, backend: r.model.backend, encoding: null, network: { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs },
    };
    const back = await loadChurnModel({ json, weights: a.weightData });
    expect(back.kind).toBe('logistic');
    const mine = predictChurn(back, te.columns);
    const theirs = tf.tidy(() => (net.predict(tf.tensor2d(scaled(te).data, [te.userIds.length, fs.length])) as tf.Tensor).dataSync());
    // the network outputs the logit; served probabilities are clipped to [1e-6, 1 - 1e-6]
    for (let i = 0; i < mine.length; i++) expect(Math.abs(mine[i] - Math.min(Math.max(1 / (1 + Math.exp(-theirs[i])), 1e-6), 1 - 1e-6))).toBeLessThan(1e-6);
  }, 60_000);
});
