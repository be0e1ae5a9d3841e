/**
 * Permutation importance on held-out users: shuffle one feature column (seeded), re-score, and
 * record how much ROC-AUC drops. A drop near 0 means the model does not rely on the feature (or
 * another feature carries the same information). Model-agnostic: it takes a predict function.
 */
import { createRng, permutation } from '../shared/rng.js';
import type { Labels } from './metrics.js';
import { rocAuc } from './metrics.js';

/** Row-major rows x cols, the layout of churn/dataset Matrix. */
export interface MatrixLike {
  data: Float32Array;
  rows: number;
  cols: number;
}

export interface FeatureImportance {
  feature: string;
  /** Mean ROC-AUC drop over the repeats (base AUC - permuted AUC). */
  aucDrop: number;
  /** Standard deviation of the drop over the repeats. */
  std: number;
}

export function permutationImportance(
  predict: (x: MatrixLike) => ArrayLike<number>,
  x: MatrixLike,
  y: Labels,
  features: string[],
  opts: {
    seed: number;
    repeats?: number;
    /**
     * `predict` of a matrix that differs from `x` in column j only, when the model can do that faster than
     * `predict` (the same values: churn/candidates.ts estimatorColumnChange); `predict` otherwise.
     */
    predictChanged?: ((changed: MatrixLike, column: number) => ArrayLike<number>) | null;
  },
): { baseAuc: number; importances: FeatureImportance[] } {
  const repeats = opts.repeats ?? 3;
  const rng = createRng(opts.seed);
  const base = rocAuc(predict(x), y);
  const work = new Float32Array(x.data);
  const d = x.cols;
  const importances = features.map((feature, j) => {
    const drops: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const p = permutation(x.rows, rng);
      for (let i = 0; i < x.rows; i++) work[i * d + j] = x.data[p[i] * d + j];
      const changed = { data: work, rows: x.rows, cols: d };
      drops.push(base - rocAuc(opts.predictChanged ? opts.predictChanged(changed, j) : predict(changed), y));
    }
    for (let i = 0; i < x.rows; i++) work[i * d + j] = x.data[i * d + j];
    const mean = drops.reduce((a, b) => a + b, 0) / repeats;
    const std = Math.sqrt(drops.reduce((a, b) => a + (b - mean) * (b - mean), 0) / repeats);
    return { feature, aucDrop: mean, std };
  });
  importances.sort((a, b) => b.aucDrop - a.aucDrop || a.feature.localeCompare(b.feature));
  return { baseAuc: base, importances };
}
