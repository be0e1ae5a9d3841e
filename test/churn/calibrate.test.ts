import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  PLATT_MAX_SLOPE,
  PROBABILITY_FLOOR,
  applyCalibrator,
  calibratorOutput,
  fitIsotonic,
  fitPlatt,
  fitPlattDetailed,
  logit,
} from '../../src/churn/calibrate.js';
import { calibrationWarnings, collapseReason, selectCalibration, stratifiedFolds } from '../../src/churn/calibrate-select.js';
import { predictChurn, simulateChurn, simulatedFeatureTable, trainChurn } from '../../src/churn/index.js';
import { silentLogger } from '../../src/shared/log.js';
import { createRng, permutation } from '../../src/shared/rng.js';

/** scikit-learn 1.2.1 values: test/fixtures/sklearn/make_fixtures.py wrote them (see the script for each input). */
interface PlattCase { name: string; raw: number[]; y: number[]; a: number; b: number; aTight: number; bTight: number; grid: number[]; predictions: number[]; aBounded?: number; bBounded?: number }
interface IsoCase { name: string; raw: number[]; y: number[]; x: number[]; yThresholds: number[]; grid: number[]; predictions: number[]; predictionsCalibratedCV: number[] }
interface AutoCase { name: string; raw: number[]; y: number[]; expect: 'none' | 'platt' | 'isotonic'; sklearnCvLogLoss: Record<'none' | 'platt' | 'isotonic', number> }
const fx = JSON.parse(readFileSync(new URL('../fixtures/sklearn/sklearn-reference.json', import.meta.url), 'utf8')) as { platt: PlattCase[]; isotonic: IsoCase[]; auto: AutoCase[] };
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('fitIsotonic equals sklearn IsotonicRegression(out_of_bounds="clip")', () => {
  it('fitIsotonic pools a tie group before comparing it (issue 16: x=[1,1,2,2,2], y=[0,1,0,1,1] -> 0.5, 0.667)', () => {
    const c = fitIsotonic([1, 1, 2, 2, 2], [0, 1, 0, 1, 1]);
    expect(c).toEqual({ kind: 'isotonic', x: [1, 2], y: [0.5, 2 / 3] });
  });
  for (const k of fx.isotonic) {
    it(`fitIsotonic(${k.name}): thresholds and predictions (between and outside too) equal sklearn's to 1e-12`, () => {
      const c = fitIsotonic(k.raw, k.y);
      if (c.kind !== 'isotonic') throw new Error('expected isotonic');
      expect(c.x.length).toBe(k.x.length);
      expect(maxDiff(c.x, k.x)).toBeLessThan(1e-12);
      expect(maxDiff(c.y, k.yThresholds)).toBeLessThan(1e-12);
      expect(maxDiff(calibratorOutput(c, k.grid), k.predictions)).toBeLessThan(1e-12);
      expect(maxDiff(calibratorOutput(c, k.grid), k.predictionsCalibratedCV)).toBeLessThan(1e-12);
    });
  }
  it('fitIsotonic(permuted rows) gives identical output (row order cannot matter)', () => {
    const k = fx.isotonic.find((c) => c.name === 'tied-80')!;
    const base = fitIsotonic(k.raw, k.y);
    const rng = createRng(5);
    for (let r = 0; r < 5; r++) {
      const p = permutation(k.raw.length, rng);
      const again = fitIsotonic(Array.from(p, (i) => k.raw[i]), Array.from(p, (i) => k.y[i]));
      expect(again).toEqual(base);
      expect(Array.from(calibratorOutput(again, k.grid))).toEqual(Array.from(calibratorOutput(base, k.grid)));
    }
  });
});

describe('fitPlatt equals sklearn CalibratedClassifierCV(method="sigmoid") on logit(raw)', () => {
  for (const k of fx.platt.filter((c) => c.aBounded === undefined)) {
    it(`fitPlatt(${k.name}): a, b and predictions within 1e-4 of sklearn (and 1e-6 of the tight optimum)`, () => {
      const fit = fitPlattDetailed(k.raw, k.y);
      expect(fit.slopeBounded).toBe(false);
      expect(Math.abs(fit.a - k.a)).toBeLessThan(1e-4);
      expect(Math.abs(fit.b - k.b)).toBeLessThan(1e-4);
      expect(Math.abs(fit.a - k.aTight)).toBeLessThan(1e-6);
      expect(Math.abs(fit.b - k.bTight)).toBeLessThan(1e-6);
      expect(maxDiff(calibratorOutput({ kind: 'platt', a: fit.a, b: fit.b }, k.grid), k.predictions)).toBeLessThan(1e-4);
    });
  }
  it('fitPlatt(near-separable, saturated near 1) stays finite where the undamped Newton fit ran to a = 2.2e10', () => {
    const k = fx.platt.find((c) => c.name === 'near-separable')!;
    const c = fitPlatt(k.raw, k.y);
    if (c.kind !== 'platt') throw new Error('expected platt');
    expect(c.a).toBeGreaterThan(1);
    expect(c.a).toBeLessThan(2);
    // served probabilities spread out: not the 0/1 wall the old fit produced
    const p = applyCalibrator(c, k.raw);
    expect(p.filter((v) => v > 0.01 && v < 0.99).length).toBeGreaterThan(10);
    expect(collapseReason(c, k.raw)).toBeNull();
  });
  it(`fitPlatt(beyond-bound) stops at |a| = ${PLATT_MAX_SLOPE} with the best intercept for that slope (sklearn's a is 76)`, () => {
    const k = fx.platt.find((c) => c.aBounded !== undefined)!;
    expect(k.a).toBeGreaterThan(PLATT_MAX_SLOPE);
    const fit = fitPlattDetailed(k.raw, k.y);
    expect(fit.slopeBounded).toBe(true);
    expect(fit.a).toBe(PLATT_MAX_SLOPE);
    expect(Math.abs(fit.b - k.bBounded!)).toBeLessThan(1e-6);
  });
  it('fitPlatt is deterministic and finite on constant, one-class and extreme inputs', () => {
    const cases: [number[], number[]][] = [
      [[0.3, 0.3, 0.3, 0.3], [0, 1, 0, 0]],
      [[0.1, 0.5, 0.9], [1, 1, 1]],
      [[0, 0, 1, 1], [0, 0, 1, 1]],
      [[1e-300, 1 - 1e-16, 0.5, 0.5], [0, 1, 0, 1]],
    ];
    for (const [raw, y] of cases) {
      const f = fitPlattDetailed(raw, y);
      expect(Number.isFinite(f.a) && Number.isFinite(f.b)).toBe(true);
      expect(fitPlattDetailed(raw, y)).toEqual(f);
    }
    // constant scores: the slope cannot be identified, the intercept is the log-odds of the mean Platt target
    const f = fitPlattDetailed([0.3, 0.3, 0.3, 0.3], [0, 1, 0, 0]);
    const meanTarget = (2 / 3 + 3 * (1 / 5)) / 4;
    expect(f.a).toBe(0);
    expect(f.b).toBeCloseTo(logit(meanTarget), 10);
  });
  it('fitPlatt recovers a known logit map on simulated data', () => {
    // Truth: p = sigmoid(0.5 * logit(raw) - 1); raw uniform on (0.02, 0.98).
    const rng = createRng(9);
    const n = 20000;
    const raw = new Float64Array(n);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      raw[i] = 0.02 + 0.96 * rng.next();
      const z = 0.5 * Math.log(raw[i] / (1 - raw[i])) - 1;
      y[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    }
    const c = fitPlatt(raw, y);
    if (c.kind !== 'platt') throw new Error('expected platt');
    expect(c.a).toBeGreaterThan(0.42);
    expect(c.a).toBeLessThan(0.58);
    expect(c.b).toBeGreaterThan(-1.08);
    expect(c.b).toBeLessThan(-0.92);
  });
  it('fitPlatt rejects an empty validation set and a NaN score with a fix', () => {
    expect(() => fitPlatt([], [])).toThrow(/validation set is empty/);
    expect(() => fitPlatt([0.2, NaN], [0, 1])).toThrow(/validation row 1 is NaN/);
  });
});

describe('applyCalibrator never serves exactly 0 or 1', () => {
  it('applyCalibrator clips every kind to [1e-6, 1 - 1e-6]; calibratorOutput is the unclipped map', () => {
    const iso = fitIsotonic([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]);
    expect(Array.from(calibratorOutput(iso, [0.1, 0.9]))).toEqual([0, 1]);
    const raw = [0, 1e-9, 0.1, 0.9, 1 - 1e-9, 1];
    for (const c of [iso, { kind: 'none' as const }, { kind: 'platt' as const, a: 50, b: 0 }]) {
      const p = applyCalibrator(c, raw);
      expect(Math.min(...p)).toBe(PROBABILITY_FLOOR);
      expect(Math.max(...p)).toBe(1 - PROBABILITY_FLOOR);
    }
  });
});

describe('selectCalibration', () => {
  for (const k of fx.auto) {
    it(`selectCalibration(auto, ${k.name}) chooses ${k.expect}, as sklearn's own folds and calibrators do`, () => {
      // the case is built so the answer is clear: sklearn's CV (other folds) picks the same
      const sk = k.sklearnCvLogLoss;
      const skBest = (['none', 'platt', 'isotonic'] as const).reduce((b, c) => (sk[c] < sk[b] ? c : b), 'none' as 'none' | 'platt' | 'isotonic');
      expect(skBest).toBe(k.expect);
      const { calibrator, selection } = selectCalibration(k.raw, k.y, { seed: 7 });
      expect(calibrator.kind).toBe(k.expect);
      expect(selection.chosen).toBe(k.expect);
      expect(selection.folds).toBe(5);
      const cv = selection.cvLogLoss!;
      // 'none' has nothing to fit: the same figure; the others agree up to the fold split (isotonic varies most: a step per fold)
      expect(cv.none).toBeCloseTo(sk.none, 12);
      expect(Math.abs(cv.platt - sk.platt)).toBeLessThan(0.01);
      expect(Math.abs(cv.isotonic - sk.isotonic)).toBeLessThan(0.06);
      expect(selection.reason).toMatch(k.expect === 'none' ? /^No calibration: cross-validated log loss over 5 stratified folds .*; neither Platt nor isotonic lowers it; the raw scores are served/ : k.expect === 'platt' ? /^Platt calibration chosen/ : /^Isotonic calibration chosen/);
      // the final calibrator is the one fitted on all validation users
      if (k.expect === 'platt') expect(calibrator).toEqual(fitPlatt(k.raw, k.y));
      if (k.expect === 'isotonic') expect(calibrator).toEqual(fitIsotonic(k.raw, k.y));
    });
  }
  it('selectCalibration keeps none when a calibration is lower only by less than one standard error (one-standard-error rule)', () => {
    // 200 users whose raw score is their true probability; on these folds Platt is lower by chance, by 0.0042 < SE 0.0069
    const rng = createRng(6);
    const raw: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 200; i++) {
      const p = 0.05 + 0.9 * rng.next();
      raw.push(p);
      y.push(rng.next() < p ? 1 : 0);
    }
    const r = selectCalibration(raw, y, { seed: 1 });
    expect(r.selection.cvLogLoss!.platt).toBeLessThan(r.selection.cvLogLoss!.none);
    expect(r.calibrator).toEqual({ kind: 'none' });
    expect(r.selection.reason).toMatch(/; Platt is lower by 0\.0042 per user, within one standard error of the paired difference \(0\.0069\), so the simpler none is kept; the raw scores are served/);
  });
  it('selectCalibration is seeded: same seed same folds and figures; the folds are stratified', () => {
    const k = fx.auto[1];
    expect(selectCalibration(k.raw, k.y, { seed: 3 })).toEqual(selectCalibration(k.raw, k.y, { seed: 3 }));
    const folds = stratifiedFolds(k.y, 5, 3);
    const churners = k.y.reduce((s, v) => s + v, 0);
    for (let f = 0; f < 5; f++) {
      const pos = k.y.filter((v, i) => v === 1 && folds[i] === f).length;
      expect(Math.abs(pos - churners / 5)).toBeLessThanOrEqual(1);
    }
  });
  it('selectCalibration uses fewer folds when a class is small and none when it has fewer than 2 users', () => {
    const raw = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
    expect(selectCalibration(raw, [0, 0, 0, 0, 0, 0, 0, 1, 1, 1], { seed: 1 }).selection.folds).toBe(3);
    const one = selectCalibration(raw, [0, 0, 0, 0, 0, 0, 0, 0, 0, 1], { seed: 1 });
    expect(one.calibrator).toEqual({ kind: 'none' });
    expect(one.selection.cvLogLoss).toBeNull();
    expect(one.selection.reason).toMatch(/hold 1 churner\(s\) and 9 stayer\(s\), and cross-validation needs at least 2 of each/);
  });
  it('selectCalibration fits an explicit kind as asked and reports the CV figures beside it', () => {
    const k = fx.auto[0];
    const r = selectCalibration(k.raw, k.y, { seed: 7, requested: 'isotonic' });
    expect(r.calibrator).toEqual(fitIsotonic(k.raw, k.y));
    expect(r.selection.requested).toBe('isotonic');
    expect(r.selection.cvLogLoss!.isotonic).toBeGreaterThan(r.selection.cvLogLoss!.none);
  });
  it('the collapse guard refuses a calibrator that turns spread raw scores into 0/1 (and auto falls back)', () => {
    // 40 spread raw scores; a steep Platt map sends 36 of them below 0.01 or above 0.99
    const raw = Array.from({ length: 40 }, (_, i) => 0.3 + (0.4 * i) / 39);
    expect(collapseReason({ kind: 'platt', a: 50, b: 0 }, raw)).toMatch(/^platt put 90% of the 40 validation users below 0.01 or above 0.99 while only 0% of their raw scores are/);
    expect(collapseReason({ kind: 'platt', a: 40, b: 0 }, raw)).toBeNull(); // 85%: below the 90% line
    expect(collapseReason({ kind: 'platt', a: 1, b: 0 }, raw)).toBeNull();
    // labels a perfect threshold at 0.5: isotonic learns a 0/1 step; CV prefers it, the guard refuses it, Platt is next
    const y = raw.map((v) => (v >= 0.5 ? 1 : 0));
    const r = selectCalibration(raw, y, { seed: 2 });
    expect(r.selection.cvLogLoss!.isotonic).toBeLessThan(r.selection.cvLogLoss!.platt);
    expect(r.selection.rejected).toEqual([{ kind: 'isotonic', reason: expect.stringMatching(/^isotonic put 100% of the 40 validation users/) }]);
    expect(r.calibrator.kind).toBe('platt');
    expect(r.selection.reason).toMatch(/^Platt calibration chosen: .*; refused: isotonic put 100%/);
    const p = applyCalibrator(r.calibrator, raw);
    expect(p.every((v) => v > 0 && v < 1)).toBe(true);
  });
});

describe('calibrationWarnings', () => {
  it('calibrationWarnings names a refused calibrator, a slope on its bound and a validation set too small to cross-validate', () => {
    const raw = Array.from({ length: 40 }, (_, i) => 0.3 + (0.4 * i) / 39);
    const refused = selectCalibration(raw, raw.map((v) => (v >= 0.5 ? 1 : 0)), { seed: 2 }).selection;
    expect(calibrationWarnings(refused)).toEqual([{ code: 'CALIBRATION_REFUSED', message: expect.stringMatching(/^isotonic put 100% of the 40 validation users .*; it was not used\.$/) }]);
    const k = fx.platt.find((c) => c.aBounded !== undefined)!;
    const bounded = selectCalibration(k.raw, k.y, { seed: 1, requested: 'platt' }).selection;
    expect(bounded.plattSlopeBounded).toBe(true);
    expect(calibrationWarnings(bounded).map((w) => w.code)).toEqual(['PLATT_SLOPE_BOUNDED']);
    const tiny = selectCalibration([0.1, 0.2, 0.3, 0.9], [0, 0, 0, 1], { seed: 1 }).selection;
    expect(calibrationWarnings(tiny)).toEqual([{ code: 'CALIBRATION_NOT_CROSS_VALIDATED', message: tiny.reason }]);
    // a normal choice warns about nothing
    expect(calibrationWarnings(selectCalibration(fx.auto[1].raw, fx.auto[1].y, { seed: 7 }).selection)).toEqual([]);
  });
});

describe('trainChurn calibration (auto by default)', () => {
  // Seeded simulated users (logistic truth) cut into train / validation / test "cutoffs", as in model.test.ts.
  const sim = simulateChurn({ rows: 1500, cols: 6, seed: 21, nonlinear: 0 });
  const tables = [
    simulatedFeatureTable(sim, '2024-01-01', { start: 0, end: 900 }),
    simulatedFeatureTable(sim, '2024-01-31', { start: 900, end: 1200 }),
    simulatedFeatureTable(sim, '2024-03-01', { start: 1200, end: 1500 }),
  ];
  // the class-weighted tfjs network (the exact logistic regression is unweighted and needs no calibration here)
  const run = (calibration?: 'auto' | 'platt') =>
    trainChurn({ train: [tables[0]], valid: tables[1], test: tables[2], features: sim.features, params: { kind: 'mlp', hiddenUnits: [4], seed: 3, maxEpochs: 40 }, calibration, resamples: 50, importanceRepeats: 1, logger: silentLogger });

  it('trainChurn records the choice, the CV log loss of each candidate and why; the served probabilities are never 0 or 1', async () => {
    const r = await run();
    const c = r.report.calibration!;
    const s = c.selection!;
    expect(s.requested).toBe('auto');
    expect(s.chosen).toBe(r.calibrator.kind);
    expect(c.kind).toBe(r.calibrator.kind);
    expect(r.report.context.model!.calibration).toBe(r.calibrator.kind);
    expect(s.folds).toBe(5);
    const cv = s.cvLogLoss!;
    // the class-weighted network is over-confident for the minority class: a calibration wins and beats none in CV
    expect(s.chosen).not.toBe('none');
    expect(cv[s.chosen as 'platt' | 'isotonic']).toBeLessThan(cv.none);
    expect(s.reason).toMatch(/calibration chosen: cross-validated log loss over 5 stratified folds of the 300 validation users: none [0-9.]+, Platt [0-9.]+, isotonic [0-9.]+; it lowers the log loss of the raw scores by/);
    // and on the test users it does not make things worse
    expect(c.after.logLoss).toBeLessThan(c.before.logLoss);
    for (const p of r.test.probability) expect(p > 0 && p < 1).toBe(true);
    // the same calibrator is what the saved model applies
    expect(r.model.calibrator).toEqual(r.calibrator);
    expect(Array.from(predictChurn(r.model, tables[2].columns)).every((p) => p >= PROBABILITY_FLOOR && p <= 1 - PROBABILITY_FLOOR)).toBe(true);
  }, 60_000);

  it("trainChurn(calibration: 'platt') still fits Platt as asked, with the CV figures beside it", async () => {
    const r = await run('platt');
    expect(r.calibrator.kind).toBe('platt');
    expect(r.report.calibration!.selection!.requested).toBe('platt');
    expect(r.report.calibration!.selection!.reason).toMatch(/^Calibration 'platt' was requested; cross-validated log loss/);
  }, 60_000);
});
