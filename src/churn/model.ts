/**
 * The two churn networks in @tensorflow/tfjs: logistic regression (one dense unit) and a small
 * MLP (dense-relu layers, then one unit). Both output a logit; the probability is its sigmoid.
 *
 * Training is an explicit loop rather than `model.fit`, because we need all of:
 * - class weighting as a weighted binary cross-entropy (tfjs `fit` handles class weights only for
 *   some output shapes),
 * - L2 on kernels, early stopping on the validation loss with the best epoch's weights restored,
 * - every random choice seeded: initializers get `seed`, the row order of each epoch is our own
 *   seeded permutation (never tfjs' shuffle). Same seed + same data + same backend = same weights.
 *
 * Prediction always uses a large explicit batch: tfjs' default (32) costs one kernel launch per 32
 * rows, which on wasm is ~30x slower than 8192-row batches (bench/churn.js measures it).
 */
import { jsStack, logitsJs, SMALL_BATCH_ROWS } from './dense-js.js';
import { tf, tfl } from './tf.js';
import { CohortlabError, internalError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { createRng, permutation } from '../shared/rng.js';
import type { Matrix } from './dataset.js';
import { sigmoidArray } from './link.js';

/**
 * The churn model kinds (docs/churn.md "Model choice"): 'logistic' = exact L2 logistic regression
 * (logistic-exact.ts, Newton/IRLS), 'gbdt' = histogram gradient-boosted trees (gbdt.ts), 'mlp' = the
 * tfjs network of this file. (This file's one-unit tfjs network, `buildNetwork` with kind 'logistic',
 * is no longer trained by trainChurn; models saved with it load as exact-logistic coefficients.)
 */
export type ChurnModelKind = 'logistic' | 'mlp' | 'gbdt';

/** What `train --model` accepts: one kind, or 'auto' (all three fitted, chosen on validation log loss). */
export type ChurnModelRequest = ChurnModelKind | 'auto';

export const CHURN_MODEL_KINDS: readonly ChurnModelKind[] = ['logistic', 'mlp', 'gbdt'];

export interface ChurnModelParams {
  kind: ChurnModelKind;
  seed: number;
  /** MLP hidden layer widths (ignored for logistic). Default [32, 16]. */
  hiddenUnits: number[];
  /** Maximum epochs. Default 200. */
  maxEpochs: number;
  /** Rows per gradient step. Default 512. */
  batchSize: number;
  /** Adam learning rate. Default 0.01. */
  learningRate: number;
  /** L2 penalty on kernels (sum of squares x l2). Default 1e-4. */
  l2: number;
  /** Epochs without a validation-loss improvement of at least 1e-4 before stopping. Default 10. */
  patience: number;
  /** 'balanced' weighs each class by n / (2 n_class). Default 'balanced'. */
  classWeight: 'balanced' | 'none';
  /** Rows per predict call. Default 8192. */
  predictBatchSize: number;
}

export const DEFAULT_CHURN_PARAMS: Omit<ChurnModelParams, 'kind'> = {
  seed: 42,
  hiddenUnits: [32, 16],
  maxEpochs: 200,
  batchSize: 512,
  learningRate: 0.01,
  l2: 1e-4,
  patience: 10,
  classWeight: 'balanced',
  predictBatchSize: 8192,
};

/** Merges defaults once and checks every value; the message names the parameter and its allowed range. */
export function resolveChurnParams(p: Partial<ChurnModelParams> & { kind?: ChurnModelKind }): ChurnModelParams {
  const r: ChurnModelParams = { kind: p.kind ?? 'mlp', ...DEFAULT_CHURN_PARAMS, ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) } as ChurnModelParams;
  const bad = (name: string, value: unknown, rule: string) =>
    new CohortlabError('BAD_ARGUMENT', `churn model parameter ${name} = ${JSON.stringify(value)} is invalid; it must be ${rule}.`);
  if (!CHURN_MODEL_KINDS.includes(r.kind)) throw bad('kind', r.kind, '"logistic", "mlp" or "gbdt"');
  if (!Number.isInteger(r.seed)) throw bad('seed', r.seed, 'an integer');
  if (!Array.isArray(r.hiddenUnits) || r.hiddenUnits.length === 0 || r.hiddenUnits.some((u) => !Number.isInteger(u) || u < 1 || u > 4096)) throw bad('hiddenUnits', r.hiddenUnits, 'a non-empty list of integers in 1..4096');
  if (!Number.isInteger(r.maxEpochs) || r.maxEpochs < 1) throw bad('maxEpochs', r.maxEpochs, 'an integer >= 1');
  if (!Number.isInteger(r.batchSize) || r.batchSize < 1) throw bad('batchSize', r.batchSize, 'an integer >= 1');
  if (!(r.learningRate > 0 && r.learningRate < 10)) throw bad('learningRate', r.learningRate, 'in (0, 10)');
  if (!(r.l2 >= 0)) throw bad('l2', r.l2, '>= 0');
  if (!Number.isInteger(r.patience) || r.patience < 1) throw bad('patience', r.patience, 'an integer >= 1');
  if (r.classWeight !== 'balanced' && r.classWeight !== 'none') throw bad('classWeight', r.classWeight, '"balanced" or "none"');
  if (!Number.isInteger(r.predictBatchSize) || r.predictBatchSize < 1) throw bad('predictBatchSize', r.predictBatchSize, 'an integer >= 1');
  return r;
}

/**
 * A seed as tfjs' initializers need it: they draw from Math.random when `seed` is falsy (tfjs-core
 * random_util: `seed ? seed : Math.random()`), so seed 0 would make `--seed 0` networks differ on every run.
 * Seeds here are integers >= 0, so -1 is free for 0.
 */
export function tfSeed(seed: number): number {
  return seed === 0 ? -1 : seed;
}

export function buildNetwork(params: ChurnModelParams, inputs: number): tfl.Sequential {
  const net = tfl.sequential();
  let width = inputs;
  let layer = 0;
  if (params.kind === 'mlp') {
    for (const units of params.hiddenUnits) {
      net.add(tfl.layers.dense({
        units,
        activation: 'relu',
        inputShape: layer === 0 ? [width] : undefined,
        kernelInitializer: tfl.initializers.heNormal({ seed: tfSeed(params.seed + layer) }),
        biasInitializer: 'zeros',
        name: `hidden_${layer}`,
      }));
      width = units;
      layer++;
    }
  }
  net.add(tfl.layers.dense({
    units: 1,
    inputShape: layer === 0 ? [width] : undefined,
    kernelInitializer: params.kind === 'logistic' ? 'zeros' : tfl.initializers.glorotUniform({ seed: tfSeed(params.seed + layer) }),
    biasInitializer: 'zeros',
    name: 'logit',
  }));
  return net;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validLoss: number;
}

export interface FitHistory {
  epochs: EpochRecord[];
  /** Epoch (1-based) whose weights were kept. */
  bestEpoch: number;
  stoppedEarly: boolean;
  classWeights: [number, number];
}

function classWeights(y: Uint8Array, mode: ChurnModelParams['classWeight']): [number, number] {
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i];
  const neg = y.length - pos;
  if (pos === 0 || neg === 0) {
    throw new CohortlabError('EMPTY_INPUT', `the training set has ${pos} churners and ${neg} non-churners; a churn model needs both (use more users, another cutoff, or a longer horizon).`);
  }
  return mode === 'balanced' ? [y.length / (2 * neg), y.length / (2 * pos)] : [1, 1];
}

/** Weighted binary cross-entropy from logits: w * (softplus(z) - y z). */
function weightedBce(logits: tf.Tensor, y: tf.Tensor, w: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.mul(w, tf.sub(tf.softplus(logits), tf.mul(y, logits)))) as tf.Scalar);
}

function kernelsOf(net: tfl.LayersModel): tf.Variable[] {
  return net.trainableWeights.filter((w) => w.name.includes('kernel')).map((w) => w.read() as tf.Variable);
}

function validLoss(net: tfl.LayersModel, x: Matrix, y: Uint8Array, cw: [number, number], batch: number): number {
  let total = 0;
  for (let s = 0; s < x.rows; s += batch) {
    const e = Math.min(x.rows, s + batch);
    total += tf.tidy(() => {
      const xb = tf.tensor2d(x.data.subarray(s * x.cols, e * x.cols), [e - s, x.cols]);
      const yb = tf.tensor2d(Float32Array.from(y.subarray(s, e)), [e - s, 1]);
      const wb = tf.tensor2d(Float32Array.from(y.subarray(s, e), (v) => cw[v]), [e - s, 1]);
      return weightedBce(net.apply(xb) as tf.Tensor, yb, wb).dataSync()[0] * (e - s);
    });
  }
  return total / x.rows;
}

/** Trains a fresh network; returns it with the weights of the best validation epoch. */
export function fitNetwork(
  train: { x: Matrix; y: Uint8Array },
  valid: { x: Matrix; y: Uint8Array },
  params: ChurnModelParams,
  logger: Logger,
): { net: tfl.Sequential; history: FitHistory } {
  if (train.x.rows !== train.y.length) throw new CohortlabError('BAD_ARGUMENT', `fitNetwork: ${train.x.rows} training rows but ${train.y.length} labels.`);
  if (valid.x.rows === 0) throw new CohortlabError('EMPTY_INPUT', 'fitNetwork: the validation set is empty; early stopping needs validation users.');
  const cw = classWeights(train.y, params.classWeight);
  const net = buildNetwork(params, train.x.cols);
  const optimizer = tf.train.adam(params.learningRate);
  const rng = createRng(params.seed);
  const d = train.x.cols;
  const n = train.x.rows;
  const xs = new Float32Array(n * d);
  const ys = new Float32Array(n);
  const ws = new Float32Array(n);
  const history: EpochRecord[] = [];
  let best = Infinity;
  let bestEpoch = 0;
  let bestWeights: tf.Tensor[] | null = null;
  let sinceBest = 0;
  const vars = net.trainableWeights.map((w) => w.read() as tf.Variable);
  const kernels = kernelsOf(net);
  try {
    for (let epoch = 1; epoch <= params.maxEpochs; epoch++) {
      const order = permutation(n, rng);
      for (let r = 0; r < n; r++) {
        const i = order[r];
        xs.set(train.x.data.subarray(i * d, i * d + d), r * d);
        ys[r] = train.y[i];
        ws[r] = cw[train.y[i]];
      }
      let lossSum = 0;
      for (let s = 0; s < n; s += params.batchSize) {
        const e = Math.min(n, s + params.batchSize);
        const cost = tf.tidy(() => {
          const xb = tf.tensor2d(xs.subarray(s * d, e * d), [e - s, d]);
          const yb = tf.tensor2d(ys.subarray(s, e), [e - s, 1]);
          const wb = tf.tensor2d(ws.subarray(s, e), [e - s, 1]);
          const c = optimizer.minimize(() => {
            const data = weightedBce(net.apply(xb) as tf.Tensor, yb, wb);
            if (params.l2 === 0) return data;
            const penalty = kernels.reduce((acc, k) => tf.add(acc, tf.sum(tf.square(k))), tf.scalar(0));
            return tf.add(data, tf.mul(params.l2, penalty)) as tf.Scalar;
          }, true, vars);
          return (c as tf.Scalar).dataSync()[0];
        });
        lossSum += cost * (e - s);
      }
      const vl = validLoss(net, valid.x, valid.y, cw, params.predictBatchSize);
      history.push({ epoch, trainLoss: lossSum / n, validLoss: vl });
      logger.progress(`training ${params.kind}`, epoch, params.maxEpochs);
      if (vl < best - 1e-4) {
        best = vl;
        bestEpoch = epoch;
        sinceBest = 0;
        bestWeights?.forEach((t) => t.dispose());
        bestWeights = net.getWeights().map((t) => t.clone());
      } else if (++sinceBest >= params.patience) {
        break;
      }
    }
    if (bestWeights) net.setWeights(bestWeights);
  } finally {
    bestWeights?.forEach((t) => t.dispose());
    optimizer.dispose();
  }
  const stoppedEarly = history.length < params.maxEpochs;
  logger.info(`${params.kind}: ${history.length} epochs, best validation loss ${best.toFixed(5)} at epoch ${bestEpoch}${stoppedEarly ? ' (early stop)' : ''}`);
  return { net, history: { epochs: history, bestEpoch, stoppedEarly, classWeights: cw } };
}

/** Raw logits for every row, `batchSize` rows per call. */
export function predictLogits(net: tfl.LayersModel, x: Matrix, batchSize = DEFAULT_CHURN_PARAMS.predictBatchSize): Float64Array {
  const stack = x.rows <= SMALL_BATCH_ROWS ? jsStack(net) : null;
  if (stack) return logitsJs(stack, x);
  const out = new Float64Array(x.rows);
  for (let s = 0; s < x.rows; s += batchSize) {
    const e = Math.min(x.rows, s + batchSize);
    const vals = tf.tidy(() => {
      const xb = tf.tensor2d(x.data.subarray(s * x.cols, e * x.cols), [e - s, x.cols]);
      return (net.predict(xb, { batchSize: e - s }) as tf.Tensor).dataSync();
    });
    out.set(vals, s);
  }
  return out;
}

/** Uncalibrated probabilities (sigmoid of the logits). */
export function predictRaw(net: tfl.LayersModel, x: Matrix, batchSize?: number): Float64Array {
  return sigmoidArray(predictLogits(net, x, batchSize));
}

/** A network as plain JSON (topology + weight specs) plus one binary buffer, via a tfjs save handler. */
export interface NetworkArtifacts {
  modelTopology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
}

export async function saveNetwork(net: tfl.LayersModel): Promise<NetworkArtifacts> {
  let captured: tf.io.ModelArtifacts | null = null;
  await net.save(tf.io.withSaveHandler(async (artifacts) => {
    captured = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
  }));
  const a = captured as tf.io.ModelArtifacts | null;
  if (!a || !a.modelTopology || !a.weightSpecs || !a.weightData) throw internalError('tfjs save handler received no topology or weights');
  const wd = a.weightData;
  const weightData = Array.isArray(wd) ? tf.io.concatenateArrayBuffers(wd) : wd;
  return { modelTopology: a.modelTopology as object, weightSpecs: a.weightSpecs, weightData };
}

export async function loadNetwork(artifacts: NetworkArtifacts): Promise<tfl.LayersModel> {
  try {
    return await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, weightData: artifacts.weightData }));
  } catch (e) {
    throw new CohortlabError('MODEL_CORRUPT', `the saved churn network could not be loaded (${(e as Error).message}); re-train the model or restore its weights file.`, { cause: e });
  }
}
