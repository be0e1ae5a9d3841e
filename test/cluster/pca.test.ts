import { describe, expect, it } from 'vitest';
import { fitPca, projectPca } from '../../src/cluster/pca.js';
import type { DenseMatrix } from '../../src/shared/matrix.js';
import { createRng } from '../../src/shared/rng.js';
import { sparkifyColumns } from '../fixtures/load.js';

// scikit-learn 1.2.1 PCA(n_components=3) on seven standardised behavioural columns of the 91 real Sparkify
// users of test/fixtures/sparkify-features-2018-11-23.csv, printed by `/usr/bin/python3 test/fixtures/pca-sparkify.py`.
const SKLEARN = {
  components: [
    [0.486688233587, 0.497816177638, -0.350908004566, 0.511524593178, 0.029010454718, 0.017211810427, -0.359696992723],
    [-0.047289743807, -0.003686118425, 0.024399212767, 0.036465509754, 0.704557394984, 0.704961842885, 0.04952489199],
    [0.309941148246, 0.376519589392, 0.642626080667, 0.177306893137, -0.021863258403, -0.026330839985, 0.562665224017],
  ],
  explainedVarianceRatio: [0.491847871848, 0.286324844129, 0.11490548235],
  firstFiveProjected: [
    [2.468096988333, -0.697731572581, 0.278518659585],
    [0.221583361043, -0.560791330582, -0.391253111321],
    [2.347933855562, -0.670449546128, 0.376200247899],
    [-3.245269990064, -0.489070568474, 2.245024927842],
    [0.08359412576, -0.672172338096, -0.54845364776],
  ],
};
const COLUMNS = ['sessions_7d', 'avg_weekly_sessions_28d', 'typical_gap_days', 'active_days_30d', 'avg_session_minutes_30d', 'actions_per_session_30d', 'days_since_last_activity'];

/** The fixture's columns, each standardised with the population std, as the Python script does. */
function standardisedFixture(): DenseMatrix {
  const columns = sparkifyColumns();
  const d = COLUMNS.length;
  const n = columns[COLUMNS[0]].length;
  const data = new Float64Array(n * d);
  COLUMNS.forEach((name, j) => {
    const col = columns[name];
    const mean = col.reduce((s, v) => s + v, 0) / n;
    const std = Math.sqrt(col.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    col.forEach((v, i) => (data[i * d + j] = (v - mean) / std));
  });
  return { data, rows: n, cols: d };
}

describe('fitPca against scikit-learn', () => {
  const x = standardisedFixture();
  const state = fitPca(x, 3, createRng(1));
  const projected = projectPca(state, x);

  it('fitPca(91 Sparkify users x 7) gives sklearn components up to sign (1e-9) and its explained variance ratios', () => {
    expect(x.rows).toBe(91);
    expect(state.fittedRows).toBe(91);
    for (let c = 0; c < 3; c++) {
      const ours = state.components[c];
      const ref = SKLEARN.components[c];
      // a component's sign is arbitrary: flip ours onto the reference by their dot product
      const sign = Math.sign(ours.reduce((s, v, j) => s + v * ref[j], 0));
      expect(Math.abs(sign)).toBe(1);
      for (let j = 0; j < ours.length; j++) expect(Math.abs(sign * ours[j] - ref[j])).toBeLessThan(1e-9);
      expect(state.explainedVariance[c]).toBeCloseTo(SKLEARN.explainedVarianceRatio[c], 10);
    }
  });

  it('projectPca gives sklearn transform() of the first five users up to each component sign', () => {
    for (let c = 0; c < 3; c++) {
      const sign = Math.sign(state.components[c].reduce((s, v, j) => s + v * SKLEARN.components[c][j], 0));
      for (let i = 0; i < 5; i++) expect(Math.abs(sign * projected[c][i] - SKLEARN.firstFiveProjected[i][c])).toBeLessThan(1e-9);
    }
  });

  it('fixes each sign so the largest loading is positive (reruns draw the same map)', () => {
    for (const comp of state.components) {
      const big = comp.reduce((m, v) => (Math.abs(v) > Math.abs(m) ? v : m), 0);
      expect(big).toBeGreaterThan(0);
    }
  });
});
