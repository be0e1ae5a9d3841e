import { sqlNumber, type Dialect } from '../engine/index.js';
import { CohortlabError } from '../shared/errors.js';
import { PROBABILITY_FLOOR, type Calibrator } from './calibrate.js';
import type { ChurnModel } from './index.js';

/**
 * The churn stage's part of the warehouse scoring statement (assembled by pipeline/score-sql.ts): the churn
 * probability as SQL over the feature columns. Of a logistic model, its saved scaler (log1p, z-score),
 * coefficients and intercept; of a gbdt model, one nested CASE per tree summed into the margin
 * (gbdtRawProbabilityExpr); then the sigmoid and the saved calibration. The MLP stays in-process (its hidden
 * layers are not worth compiling to SQL).
 */

const num = sqlNumber;

/** Refuses a model the warehouse cannot score: an MLP, or a model trained on a per-user table. */
export function assertWarehouseChurnModel(model: ChurnModel): void {
  if (model.kind === 'mlp') throw new CohortlabError('MODEL_INCOMPATIBLE', mlpMessage(model.kind));
  if (model.encoding) throw new CohortlabError('MODEL_INCOMPATIBLE', 'this model was trained on a per-user table (train --table): warehouse scoring computes features from events; score it with --table FILE.');
}

/** The logistic model's raw (uncalibrated) probability as an expression over the feature columns. */
function rawProbabilityExpr(model: ChurnModel, d: Dialect, weights: LogisticWeights): string {
  const s = model.scaler;
  const terms = model.features.map((f, j) => {
    const x = d.quoteIdent(f);
    const v = s.log1p[j] ? `${d.ln(`1 + greatest(0.0, ${x})`)}` : x;
    return `${num(weights.kernel[j])} * ((${v} - ${num(s.mean[j])}) / ${num(s.std[j])})`;
  });
  const z = `(${num(weights.bias)} + ${terms.join(' + ')})`;
  return `(1 / (1 + exp(-${z})))`;
}

/**
 * A saved calibration (src/churn/calibrate.ts `applyCalibrator`) applied to the raw probability `raw`, clipped like it.
 * Exact up to the last bit of Platt's sigmoid (the test feeds it the in-process raw outputs); the
 * probability as a whole differs from tfjs's by the raw output's float32 rounding times the calibration's slope.
 */
export function calibrationSql(c: Calibrator, raw: string, d: Dialect): string {
  // calibrate.ts applyCalibrator: served probabilities are clipped to [PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR].
  return `least(greatest(${calibrationMapSql(c, raw, d)}, ${num(PROBABILITY_FLOOR)}), ${num(1 - PROBABILITY_FLOOR)})`;
}

function calibrationMapSql(c: Calibrator, raw: string, d: Dialect): string {
  switch (c.kind) {
    case 'none':
      return raw;
    case 'platt': {
      // calibrate.ts: sigmoid(a * logit(clamp(raw, 1e-7, 1 - 1e-7)) + b)
      const q = `least(greatest(${raw}, ${num(1e-7)}), ${num(1 - 1e-7)})`;
      return `(1 / (1 + exp(-(${num(c.a)} * ${d.ln(`${q} / (1 - ${q})`)} + ${num(c.b)}))))`;
    }
    case 'isotonic': {
      // calibrate.ts interpolate(): flat outside [x0, xn], linear between breakpoints.
      const parts: string[] = [`WHEN ${raw} <= ${num(c.x[0])} THEN ${num(c.y[0])}`];
      for (let k = 0; k + 1 < c.x.length; k++) {
        const span = c.x[k + 1] - c.x[k];
        const seg = span > 0 ? `${num(c.y[k])} + (${num(c.y[k + 1] - c.y[k])}) * (${raw} - ${num(c.x[k])}) / ${num(span)}` : num(c.y[k]);
        parts.push(`WHEN ${raw} < ${num(c.x[k + 1])} THEN ${seg}`);
      }
      return `(CASE ${parts.join(' ')} ELSE ${num(c.y[c.y.length - 1])} END)`;
    }
  }
}

/** One weight per (scaled) feature and the bias. */
export interface LogisticWeights {
  kernel: ArrayLike<number>;
  bias: number;
}

/** The coefficients of a logistic model (exact LR, on the scaled design): one weight per feature and the bias. */
export function logisticWeights(model: ChurnModel): LogisticWeights {
  if (model.kind !== 'logistic') throw new CohortlabError('MODEL_INCOMPATIBLE', mlpMessage(model.kind));
  const s = model.logistic.fitted;
  return { kernel: Float64Array.from(s.coef), bias: s.intercept };
}

const mlpMessage = (kind: string) =>
  `scoring in the warehouse needs a logistic or gbdt churn model; this one is "${kind}" (it stays in-process): train with --model logistic or --model gbdt, or score without --emit-sql/--into.`;

/**
 * The trees' raw (uncalibrated) probability: sigmoid(baseline + sum over trees of a nested CASE per tree).
 * A node sends x[feature] <= threshold left, NaN left iff missingGoesLeft (gbdt.ts); the feature is rounded to
 * float32 first, because the in-process design matrix holds float32 (dataset.ts designMatrix), so the
 * comparison sees the same number on both sides. Leaf values and thresholds are exact double literals.
 */
export function gbdtRawProbabilityExpr(model: ChurnModel, d: Dialect, inputs: 'inline' | 'columns' = 'inline'): string {
  if (model.kind !== 'gbdt') throw new CohortlabError('MODEL_INCOMPATIBLE', `gbdtRawProbabilityExpr needs a gbdt model, not "${model.kind}".`);
  const s = model.gbdt.fitted;
  if (s.nFeatures !== model.features.length) throw new CohortlabError('MODEL_CORRUPT', `the gbdt model has trees over ${s.nFeatures} features for ${model.features.length} names.`);
  // 'columns': the float32-rounded features are the columns cl_x<j> of gbdtInputColumns (a short name per node keeps the statement small)
  const x = model.features.map((f, j) => (inputs === 'columns' ? `cl_x${j}` : d.float32(d.double(d.quoteIdent(f)))));
  const tree = (t: typeof s.trees[number], i: number): string => {
    const nd = t[i];
    if (nd.feature < 0) return num(nd.value);
    const v = x[nd.feature];
    const goLeft = nd.missingGoesLeft ? `(${v} <= ${num(nd.threshold)} OR ${d.isNaN(v)})` : `${v} <= ${num(nd.threshold)}`;
    return `CASE WHEN ${goLeft} THEN ${tree(t, nd.left)} ELSE ${tree(t, nd.right)} END`;
  };
  const z = [num(s.baseline), ...s.trees.map((t) => tree(t, 0))].join('\n    + ');
  return `(1 / (1 + exp(-(${z}))))`;
}

/** The features the trees split on, rounded to float32 once, as columns cl_x<j> (what gbdtRawProbabilityExpr 'columns' reads). */
export function gbdtInputColumns(model: ChurnModel, d: Dialect): string[] {
  if (model.kind !== 'gbdt') return [];
  const used = new Set<number>();
  for (const t of model.gbdt.fitted.trees) for (const nd of t) if (nd.feature >= 0) used.add(nd.feature);
  return [...used].sort((a, b) => a - b).map((j) => `${d.float32(d.double(d.quoteIdent(model.features[j])))} AS cl_x${j}`);
}

/** The churn model's raw probability as SQL over the feature columns: logistic or gbdt (the MLP is refused). */
export function churnRawSql(model: ChurnModel, d: Dialect, weights?: LogisticWeights): string {
  switch (model.kind) {
    case 'logistic':
      return rawProbabilityExpr(model, d, weights ?? logisticWeights(model));
    case 'gbdt':
      return gbdtRawProbabilityExpr(model, d, 'columns');
    default:
      throw new CohortlabError('MODEL_INCOMPATIBLE', mlpMessage(model.kind));
  }
}
