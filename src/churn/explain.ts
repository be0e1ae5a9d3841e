/**
 * Per-user reason codes: which features push this user's churn score up or down.
 *
 * Method: occlusion against the training mean. For each feature j, replace the user's standardized
 * value by 0 (= the training mean after the scaler) and re-score; contribution = logit(user) -
 * logit(user with j at the mean), in log-odds of the raw network. For logistic regression this is
 * exactly coefficient x standardized value; for the MLP it also captures interactions at the user's
 * own point. Calibration is monotone, so the direction carries over to `churn_probability`.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Matrix } from './dataset.js';
import { predictLogits } from './model.js';

export interface ReasonCode {
  feature: string;
  direction: 'increases_risk' | 'decreases_risk';
  /** Log-odds change against the training-mean value of the feature. */
  contribution: number;
  /** The user's raw value of the feature. */
  value: number;
}

/** Contributions of every feature for every row: rows x features, row-major. */
export function occlusionContributions(net: tf.LayersModel, scaled: Matrix, batchSize = 8192, chunkRows = 2048): Float64Array {
  const d = scaled.cols;
  const out = new Float64Array(scaled.rows * d);
  for (let s = 0; s < scaled.rows; s += chunkRows) {
    const e = Math.min(scaled.rows, s + chunkRows);
    const m = e - s;
    // Block layout: the m original rows, then m rows with feature 0 at the mean, then feature 1, ...
    const data = new Float32Array(m * (d + 1) * d);
    const orig = scaled.data.subarray(s * d, e * d);
    for (let k = 0; k <= d; k++) {
      data.set(orig, k * m * d);
      if (k > 0) for (let i = 0; i < m; i++) data[k * m * d + i * d + (k - 1)] = 0;
    }
    const z = predictLogits(net, { data, rows: m * (d + 1), cols: d }, batchSize);
    for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) out[(s + i) * d + j] = z[i] - z[(j + 1) * m + i];
  }
  return out;
}

/** The `top` largest |contribution| features of each row, largest first (ties by feature name). */
export function topReasons(contrib: Float64Array, raw: Matrix, features: string[], top: number): ReasonCode[][] {
  const d = features.length;
  const out: ReasonCode[][] = [];
  for (let i = 0; i < raw.rows; i++) {
    const idx = Array.from({ length: d }, (_, j) => j).filter((j) => contrib[i * d + j] !== 0);
    idx.sort((a, b) => Math.abs(contrib[i * d + b]) - Math.abs(contrib[i * d + a]) || features[a].localeCompare(features[b]));
    out.push(
      idx.slice(0, top).map((j) => ({
        feature: features[j],
        direction: contrib[i * d + j] > 0 ? 'increases_risk' : 'decreases_risk',
        contribution: contrib[i * d + j],
        value: Number(raw.data[i * d + j].toPrecision(7)),
      })),
    );
  }
  return out;
}
