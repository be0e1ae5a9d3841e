/**
 * The three churn estimators behind one interface, and how each is fitted for `train --model`
 * (docs/churn.md "Model choice"):
 *
 *   logistic  exact L2 logistic regression (logistic-exact.ts) on the standardized design: C chosen by
 *             chooseC on the validation users' log loss from CHURN_C_GRID, then REFITTED with that C on
 *             training + validation users (same scaler, fitted on training users only)
 *   gbdt      histogram gradient-boosted trees (gbdt.ts) on the UNSCALED design (trees do not care
 *             about monotone transforms, and raw thresholds compile to plain SQL): early stopping on the
 *             validation log loss, then REFITTED on training + validation users with the number of trees
 *             at which the validation log loss was lowest
 *   mlp       the tfjs network (model.ts fitNetwork), early stopping on validation; not refitted (its
 *             stopping point is an epoch count of a stochastic optimizer on a different row count)
 *
 * Every candidate also returns the raw probabilities of its TRAINING-ONLY fit on the validation users:
 * the model choice and the calibration are made on those (never on a refit that has seen them).
 */
import type { tfl } from './tf.js';
import { CohortlabError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { Matrix } from './dataset.js';
import { GradientBoostedTrees, type GbdtParams } from './gbdt.js';
import { chooseC, LogisticExact } from './logistic-exact.js';
import { sigmoidArray } from './link.js';
import { fitNetwork, predictRaw, type ChurnModelKind, type ChurnModelParams, type FitHistory } from './model.js';
import { treeShap } from './treeshap.js';
import { occlusionContributions } from './explain.js';

/** The fitted estimator of a churn model, by kind. */
export type ChurnEstimator =
  | { kind: 'mlp'; net: tfl.LayersModel }
  | { kind: 'logistic'; logistic: LogisticExact }
  | { kind: 'gbdt'; gbdt: GradientBoostedTrees };

/** The C values tried for the exact logistic regression (sklearn's C: larger = weaker penalty). */
export const CHURN_C_GRID = [0.001, 0.01, 0.1, 1, 10, 100];

/** GBDT settings for churn: scikit-learn HistGradientBoostingClassifier's defaults, with more iterations allowed (early stopping ends them). */
export const CHURN_GBDT_PARAMS: Partial<GbdtParams> = { learningRate: 0.1, maxIter: 500, maxLeafNodes: 31, minSamplesLeaf: 20, l2Regularization: 0, nIterNoChange: 10, tol: 1e-7 };

/** The design as each estimator reads it: `raw` (designMatrix) for trees, `scaled` (applyScaler) for the others. */
export interface DesignPair {
  raw: Matrix;
  scaled: Matrix;
}

/** The matrix an estimator consumes. */
export function estimatorInput(e: ChurnEstimator, x: DesignPair): Matrix {
  return e.kind === 'gbdt' ? x.raw : x.scaled;
}

/** Uncalibrated churn probabilities from the estimator's own input matrix (estimatorInput). */
export function estimatorRaw(e: ChurnEstimator, input: Matrix, predictBatchSize?: number): Float64Array {
  switch (e.kind) {
    case 'mlp':
      return predictRaw(e.net, input, predictBatchSize);
    case 'logistic':
      return e.logistic.predictProba(input);
    case 'gbdt':
      return e.gbdt.predictProba(input);
  }
}

/**
 * For permutation importance: estimatorRaw of matrices that differ from `input` in one column only, computed from
 * what does not change (the trees that do not split on the column keep their leaves), with estimatorRaw's bits;
 * null when the estimator has no such shortcut (the logistic model and the MLP are re-run whole).
 */
export function estimatorColumnChange(e: ChurnEstimator, input: Matrix): ((changed: Matrix, column: number) => Float64Array) | null {
  return e.kind === 'gbdt' ? e.gbdt.columnChangeProba(input) : null;
}

/**
 * Per-row, per-feature contributions to the log-odds (rows x features, row-major): occlusion against
 * the training mean for the MLP, coefficient x standardized value for the logistic model (the same
 * thing, exactly), exact TreeSHAP (training-row cover) for the trees.
 */
export function estimatorContributions(e: ChurnEstimator, x: DesignPair, predictBatchSize?: number): Float64Array {
  switch (e.kind) {
    case 'mlp':
      return occlusionContributions(e.net, x.scaled, predictBatchSize);
    case 'logistic': {
      const { coef } = e.logistic.fitted;
      const d = x.scaled.cols;
      const out = new Float64Array(x.scaled.rows * d);
      const s = x.scaled.data;
      for (let k = 0; k < out.length; k++) out[k] = coef[k % d] * s[k];
      return out;
    }
    case 'gbdt':
      return treeShap(e.gbdt.fitted, x.raw).contributions;
  }
}

/**
 * estimatorRaw and estimatorContributions of one design together (scoring with reason codes): a gbdt's TreeSHAP
 * names each row's leaves, so its margins come with the contributions and the trees are not walked again.
 */
export function estimatorExplained(e: ChurnEstimator, x: DesignPair, predictBatchSize?: number): { raw: Float64Array; contributions: Float64Array } {
  if (e.kind === 'gbdt') {
    const shap = treeShap(e.gbdt.fitted, x.raw);
    return { raw: sigmoidArray(shap.margin), contributions: shap.contributions };
  }
  return { raw: estimatorRaw(e, estimatorInput(e, x), predictBatchSize), contributions: estimatorContributions(e, x, predictBatchSize) };
}

export interface CandidateFit {
  estimator: ChurnEstimator;
  /** Raw probabilities of the training-only fit on the validation users. */
  validRaw: Float64Array;
  /** The MLP's epoch history (null for the others). */
  history: FitHistory | null;
  seconds: number;
  /** What was chosen inside the kind: C and its path, the number of trees, epochs; for the report. */
  details: Record<string, unknown>;
}

function stack(a: Matrix, b: Matrix): Matrix {
  const data = new Float32Array(a.data.length + b.data.length);
  data.set(a.data, 0);
  data.set(b.data, a.data.length);
  return { data, rows: a.rows + b.rows, cols: a.cols };
}

function concatLabels(a: Uint8Array, b: Uint8Array): Uint8Array {
  const y = new Uint8Array(a.length + b.length);
  y.set(a, 0);
  y.set(b, a.length);
  return y;
}

/** Fits one kind on the training users (choices on the validation users), then refits as the file comment says. */
export function fitCandidate(
  kind: ChurnModelKind,
  train: DesignPair & { y: Uint8Array },
  valid: DesignPair & { y: Uint8Array },
  params: ChurnModelParams,
  logger: Logger,
): CandidateFit {
  const started = performance.now();
  const done = (estimator: ChurnEstimator, validRaw: Float64Array, history: FitHistory | null, details: Record<string, unknown>): CandidateFit => {
    const seconds = (performance.now() - started) / 1000;
    return { estimator, validRaw, history, seconds, details };
  };
  switch (kind) {
    case 'mlp': {
      const { net, history } = fitNetwork({ x: train.scaled, y: train.y }, { x: valid.scaled, y: valid.y }, { ...params, kind: 'mlp' }, logger);
      return done({ kind: 'mlp', net }, predictRaw(net, valid.scaled, params.predictBatchSize), history, { epochs: history.epochs.length, bestEpoch: history.bestEpoch, refit: false });
    }
    case 'logistic': {
      const chosen = chooseC(CHURN_C_GRID, { x: train.scaled, y: train.y }, { x: valid.scaled, y: valid.y });
      const validRaw = chosen.model.predictProba(valid.scaled);
      const logistic = new LogisticExact({ C: chosen.C }).fit(stack(train.scaled, valid.scaled), concatLabels(train.y, valid.y), {
        init: { coef: chosen.model.fitted.coef, intercept: chosen.model.fitted.intercept },
      });
      if (!logistic.fitted.converged) logger.warn(`logistic: Newton stopped after ${logistic.fitted.nIter} iterations with gradient ${logistic.fitted.gradMaxRel.toExponential(2)} (tolerance 1e-10).`);
      logger.info(`logistic: C = ${chosen.C} (validation log loss ${chosen.path.map((p) => `C ${p.C}: ${p.validLogLoss.toFixed(4)}`).join(', ')}); refitted on ${train.y.length + valid.y.length} training + validation users in ${logistic.fitted.nIter} Newton steps`);
      return done({ kind: 'logistic', logistic }, validRaw, null, { C: chosen.C, cPath: chosen.path, newtonSteps: logistic.fitted.nIter, refit: true });
    }
    case 'gbdt': {
      const gp: Partial<GbdtParams> = { ...CHURN_GBDT_PARAMS, seed: params.seed };
      const first = new GradientBoostedTrees(gp).fit(train.raw, train.y, { valid: { x: valid.raw, y: valid.y } });
      const loss = first.fitted.validLoss; // loss[t] = validation log loss with t trees
      let best = 1;
      for (let t = 1; t < loss.length; t++) if (loss[t] < loss[best]) best = t;
      const validRaw = sigmoidArray(first.predictRaw(valid.raw, best));
      const gbdt = new GradientBoostedTrees({ ...gp, maxIter: best }).fit(stack(train.raw, valid.raw), concatLabels(train.y, valid.y));
      logger.info(`gbdt: ${first.fitted.trees.length} trees grown on training users, validation log loss lowest at ${best} (${loss[best].toFixed(4)}); refitted with ${best} trees on ${train.y.length + valid.y.length} training + validation users`);
      return done({ kind: 'gbdt', gbdt }, validRaw, null, { treesGrown: first.fitted.trees.length, trees: best, validLogLossAtBest: loss[best], refit: true });
    }
    default:
      throw new CohortlabError('BAD_ARGUMENT', `unknown churn model kind ${JSON.stringify(kind)}; use logistic, mlp or gbdt.`);
  }
}
