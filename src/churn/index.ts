/**
 * churn: the churn-propensity model. It fits (fit.ts `fitChurn`: candidates, calibration, the choice) and
 * predicts (`predictChurn`, `predictWithReasons`, `reasonCodes`); its honest evaluation against the rule score
 * is the evaluate stage's (evaluate/churn.ts `trainChurn`, `evaluateChurn`), which the pipeline calls.
 */
import type { FeatureTable } from '../features/index.js';
import { CohortlabError, internalError } from '../shared/errors.js';
import type { Matrix } from '../shared/matrix.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { initBackend, type BackendName, type BackendPreference } from './backend.js';
import { applyCalibrator, type Calibrator } from './calibrate.js';
import { estimatorContributions, estimatorExplained, estimatorInput, estimatorRaw, type ChurnEstimator, type DesignPair } from './candidates.js';
import { applyScaler, designFromColumns, type ScalerState } from './dataset.js';
import type { TableEncoding } from './encode.js';
import { topReasons, type ReasonCode } from './explain.js';
import { GradientBoostedTrees, type GbdtJson } from './gbdt.js';
import { sigmoidArray } from './link.js';
import type { PrecomputedShap } from './shap-thread.js';
import { LogisticExact, type LogisticExactJson } from './logistic-exact.js';
import { loadNetwork, saveNetwork, type ChurnModelKind, type ChurnModelParams, type NetworkArtifacts } from './model.js';

export { initBackend } from './backend.js';
export { applyCalibrator } from './calibrate.js';
export { selectCalibration } from './calibrate-select.js';
export { estimatorColumnChange, estimatorInput, estimatorRaw, fitCandidate } from './candidates.js';
export { designMatrix, planBacktest, suggestCutoffs } from './dataset.js';
export { type TableColumnReport, type DuplicateReport, inspectTable, fitTableEncoding, applyTableEncoding } from './encode.js';
export { LEAK_AUC, LEAK_MIN_CLASS, NEAR_UNIQUE_SHARE, columnAuc, looksLikeKeyName, parseLabel, readLabel } from './encode-columns.js';
export { stratifiedSplit } from './table-split.js';
export { type ReasonCode, occlusionContributions, rescoredOcclusion, topReasons } from './explain.js';
export {
  type ChurnModelKind, type ChurnModelRequest, CHURN_MODEL_KINDS, type ChurnModelParams, DEFAULT_CHURN_PARAMS,
  resolveChurnParams, tfSeed, buildNetwork, fitNetwork, predictLogits, saveNetwork,
} from './model.js';
export { simulateChurn, simulatedFeatureTable } from './simulate.js';
export { splitChurnTable, readPerUserTable, readChurnTable, encodeTableForScoring } from './table.js';
export { LogisticExact } from './logistic-exact.js';
export { GradientBoostedTrees } from './gbdt.js';
export { treeShap } from './treeshap.js';
export { startShapThread, type PrecomputedShap, type ShapShare, type ShapThread } from './shap-thread.js';
export { applyScaler, eligibleRows, fitScaler, labelledRows, type Matrix, type ScalerState } from './dataset.js';
export { calibrationWarnings, type CalibrationSelection } from './calibrate-select.js';
export type { CalibrationChoice, Calibrator } from './calibrate.js';
export type { DesignPair } from './candidates.js';
export type { FitHistory } from './model.js';
export { checkBothOutcomes, fitChurn, formatSetSizes, setSize, type ChurnFit, type DataSetSize, type FitChurnInput, type FittedCandidate } from './fit.js';
export { assertWarehouseChurnModel, calibrationSql, churnRawSql, gbdtInputColumns, gbdtRawProbabilityExpr, logisticWeights, type LogisticWeights } from './sql.js';

interface ChurnModelCommon {
  features: string[];
  params: ChurnModelParams;
  scaler: ScalerState;
  calibrator: Calibrator;
  /** The backend it was trained on (an MLP's numbers can differ in the last digits on another one). */
  backend: BackendName;
  /** For models trained on a per-user table: how raw columns became `features`. */
  encoding: TableEncoding | null;
}

/**
 * A fitted churn model: everything needed to go from feature columns to a calibrated probability.
 * `kind` says which estimator it holds: `net` (mlp), `logistic` (exact LR on the scaled design) or
 * `gbdt` (trees on the unscaled design).
 */
export type ChurnModel = ChurnModelCommon & ChurnEstimator;

function matrixFromColumns(model: ChurnModel, columns: Record<string, Float64Array>, rows?: ArrayLike<number>): DesignPair {
  const first = columns[model.features[0]];
  const raw = designFromColumns(columns, first ? first.length : 0, model.features, { asOf: 'scoring', rows });
  // the trees read the unscaled design: skip the scaling pass for them
  return { raw, scaled: model.kind === 'gbdt' ? raw : applyScaler(model.scaler, raw) };
}

/** Uncalibrated probabilities of a model for a design (raw + scaled). */
export function predictChurnRaw(model: ChurnModel, x: DesignPair): Float64Array {
  return estimatorRaw(model, estimatorInput(model, x), model.params.predictBatchSize);
}

/** Calibrated churn probabilities for every row of `columns` (feature name -> column). */
export function predictChurn(model: ChurnModel, columns: Record<string, Float64Array>): Float64Array {
  return applyCalibrator(model.calibrator, predictChurnRaw(model, matrixFromColumns(model, columns)));
}

/**
 * The `top` features pushing each row's churn score up or down, in log-odds: occlusion against the training
 * mean (mlp), coefficient x standardized value (logistic), exact TreeSHAP (gbdt); candidates.ts.
 */
export function reasonCodes(model: ChurnModel, columns: Record<string, Float64Array>, opts: { top?: number; rows?: ArrayLike<number> } = {}): ReasonCode[][] {
  const x = matrixFromColumns(model, columns, opts.rows);
  return topReasons(estimatorContributions(model, x, model.params.predictBatchSize), x.raw, model.features, opts.top ?? 3);
}

/**
 * Probabilities and reason codes from one design matrix (what scoring needs: the matrix is built and scaled once;
 * a gbdt's trees are read once, by TreeSHAP, which gives the margins too). `shap`: a gbdt's TreeSHAP of these rows
 * computed beforehand (in a ShapThread, from shapInput's matrix of the same columns), instead of computing it here.
 */
export function predictWithReasons(model: ChurnModel, columns: Record<string, Float64Array>, top: number, shap?: PrecomputedShap): { probability: Float64Array; reasons: ReasonCode[][] } {
  // a gbdt reads the unscaled design: the one TreeSHAP was computed from, when given
  const given = shap?.x && model.kind === 'gbdt' && shap.x.data instanceof Float32Array ? { data: shap.x.data, rows: shap.x.rows, cols: shap.x.cols } : null;
  const x = given ? { raw: given, scaled: given } : matrixFromColumns(model, columns);
  const { rows, cols } = x.raw;
  const n = columns[model.features[0]]?.length ?? 0;
  if (shap && (model.kind !== 'gbdt' || rows !== n || cols !== model.features.length || shap.contributions.length !== rows * cols || shap.margin.length !== rows)) {
    throw internalError(`predictWithReasons: TreeSHAP of ${shap.margin.length} rows (${shap.contributions.length} contributions, a ${rows} x ${cols} design) given for a ${model.kind} model of ${n} rows x ${model.features.length} features`);
  }
  const explained = shap ? { raw: sigmoidArray(shap.margin), contributions: shap.contributions } : top > 0 ? estimatorExplained(model, x, model.params.predictBatchSize) : null;
  const probability = applyCalibrator(model.calibrator, explained ? explained.raw : predictChurnRaw(model, x));
  const reasons = explained && top > 0 ? topReasons(explained.contributions, x.raw, model.features, top) : Array.from({ length: rows }, () => []);
  return { probability, reasons };
}

/** The matrix a gbdt model's TreeSHAP reads for `columns` (its unscaled design), for a ShapThread; null for the other kinds. */
export function shapInput(model: ChurnModel, columns: Record<string, Float64Array>): Matrix | null {
  return model.kind === 'gbdt' ? matrixFromColumns(model, columns).raw : null;
}

// ---------------------------------------------------------------------------------------------
// Persistence: plain JSON (+ one weights buffer for the MLP), so the registry decides where the bytes go.

export const CHURN_MODEL_FORMAT = 'cohortlab-churn';
/**
 * 2: the estimator is one of `network` (mlp, with weights), `logistic` (LogisticExactJson) or `gbdt`
 * (GbdtJson); 1 (still read): always a tfjs network, kind mlp or logistic (the latter is read as an exact
 * logistic model with the network's float32 weights as coefficients: the same function).
 */
export const CHURN_MODEL_FORMAT_VERSION = 2;

export interface ChurnModelJson {
  format: typeof CHURN_MODEL_FORMAT;
  formatVersion: number;
  kind: ChurnModelKind;
  features: string[];
  params: ChurnModelParams;
  scaler: ScalerState;
  calibrator: Calibrator;
  backend: BackendName;
  encoding: TableEncoding | null;
  /** mlp: tfjs LayersModel topology and weight manifest (the bytes are in `weights`). */
  network?: { modelTopology: object; weightSpecs: NetworkArtifacts['weightSpecs'] };
  /** logistic: coefficients on the scaled design. */
  logistic?: LogisticExactJson;
  /** gbdt: the trees, on the unscaled design. */
  gbdt?: GbdtJson;
}

export interface SerializedChurnModel {
  json: ChurnModelJson;
  /** The MLP's weights; null for logistic and gbdt (no weights file). */
  weights: ArrayBuffer | null;
}

export async function serializeModel(model: ChurnModel): Promise<SerializedChurnModel> {
  const common = {
    format: CHURN_MODEL_FORMAT,
    formatVersion: CHURN_MODEL_FORMAT_VERSION,
    kind: model.kind,
    features: model.features,
    params: model.params,
    scaler: model.scaler,
    calibrator: model.calibrator,
    backend: model.backend,
    encoding: model.encoding,
  } as const;
  switch (model.kind) {
    case 'mlp': {
      const a = await saveNetwork(model.net);
      return { json: { ...common, network: { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs } }, weights: a.weightData };
    }
    case 'logistic':
      return { json: { ...common, logistic: model.logistic.toJSON() }, weights: null };
    case 'gbdt':
      return { json: { ...common, gbdt: model.gbdt.toJSON() }, weights: null };
  }
}

/** Whether a saved model (its churn-model.json) keeps its weights in a separate binary file. */
export function modelNeedsWeights(json: Partial<ChurnModelJson> | undefined): boolean {
  return !!json && (json.formatVersion === 1 || json.kind === 'mlp');
}

export async function loadChurnModel(s: { json: ChurnModelJson; weights: ArrayBuffer | null }, opts: { logger?: Logger; backend?: BackendPreference; path?: string } = {}): Promise<ChurnModel> {
  const j = s.json as Partial<ChurnModelJson> | undefined;
  const where = opts.path ? ` (${opts.path})` : '';
  const path = opts.path ?? 'churn model';
  if (!j || j.format !== CHURN_MODEL_FORMAT) throw new CohortlabError('MODEL_CORRUPT', `the churn model file${where} is not a ${CHURN_MODEL_FORMAT} model (format ${JSON.stringify(j?.format)}); point to a model saved by cohortlab train.`, { path: opts.path });
  if (j.formatVersion !== CHURN_MODEL_FORMAT_VERSION && j.formatVersion !== 1) throw new CohortlabError('MODEL_INCOMPATIBLE', `the churn model${where} has format version ${j.formatVersion}, this cohortlab reads versions 1 and ${CHURN_MODEL_FORMAT_VERSION}; re-train it with this version.`, { path: opts.path });
  if (!j.features || !j.scaler || !j.calibrator || !j.params || !j.kind || !j.backend) throw new CohortlabError('MODEL_CORRUPT', `the churn model${where} lacks features, scaler, calibrator, params, kind or backend; re-train it.`, { path: opts.path });
  const common: ChurnModelCommon = { features: j.features, params: j.params, scaler: j.scaler, calibrator: j.calibrator, backend: j.backend, encoding: j.encoding ?? null };
  const network = async () => {
    if (!j.network || !s.weights) throw new CohortlabError('MODEL_CORRUPT', `the churn model${where} is a tfjs network but lacks its topology or weights file; re-train it.`, { path: opts.path });
    await initBackend(opts.logger ?? silentLogger, opts.backend ?? 'auto');
    return loadNetwork({ modelTopology: j.network.modelTopology, weightSpecs: j.network.weightSpecs, weightData: s.weights });
  };
  if (j.formatVersion === 1) {
    const net = await network();
    if (j.kind === 'mlp') return { ...common, kind: 'mlp', net };
    // a one-unit tfjs network is logistic regression: its kernel and bias are the coefficients on the scaled design
    const [kernel, bias] = net.getWeights();
    const coef = Array.from(kernel.dataSync());
    const intercept = bias.dataSync()[0];
    net.dispose();
    const logistic = LogisticExact.fromJSON({ kind: 'logistic-exact', version: 1, params: { C: 1, fitIntercept: true, tol: 1e-10, maxIter: 100 }, state: { coef, intercept, nIter: 0, gradMaxRel: NaN, converged: false, maxDamping: 0 } }, path);
    return { ...common, params: { ...common.params, kind: 'logistic' }, kind: 'logistic', logistic };
  }
  switch (j.kind) {
    case 'mlp':
      return { ...common, kind: 'mlp', net: await network() };
    case 'logistic': {
      if (!j.logistic) throw new CohortlabError('MODEL_CORRUPT', `the churn model${where} is logistic but has no "logistic" coefficients; re-train it.`, { path: opts.path });
      const logistic = LogisticExact.fromJSON(j.logistic, path);
      if (logistic.fitted.coef.length !== j.features.length) throw new CohortlabError('MODEL_CORRUPT', `the churn model${where} has ${logistic.fitted.coef.length} coefficients for ${j.features.length} features; re-train it.`, { path: opts.path });
      return { ...common, kind: 'logistic', logistic };
    }
    case 'gbdt': {
      if (!j.gbdt) throw new CohortlabError('MODEL_CORRUPT', `the churn model${where} is gbdt but has no "gbdt" trees; re-train it.`, { path: opts.path });
      const gbdt = GradientBoostedTrees.fromJSON(j.gbdt, path);
      if (gbdt.fitted.nFeatures !== j.features.length) throw new CohortlabError('MODEL_CORRUPT', `the churn model${where} has trees over ${gbdt.fitted.nFeatures} features but lists ${j.features.length}; re-train it.`, { path: opts.path });
      return { ...common, kind: 'gbdt', gbdt };
    }
    default:
      throw new CohortlabError('MODEL_CORRUPT', `the churn model${where} has unknown kind ${JSON.stringify(j.kind)}; this cohortlab reads logistic, mlp and gbdt.`, { path: opts.path });
  }
}
