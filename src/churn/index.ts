/**
 * churn: the tfjs churn-propensity model and its honest evaluation against the rule score.
 *
 *   trainChurn
 *     1. initBackend (tfjs-node > wasm > cpu), logged and recorded
 *     2. check the split: train cutoffs < validation cutoff < test cutoff (events), or a
 *        stratified split of one snapshot (per-user table); already-churned users excluded, counted
 *     3. designMatrix + fitScaler on training rows only; applyScaler to all
 *     4. fitNetwork (seeded init and shuffles, class weights, early stopping on validation)
 *     5. selectCalibration on validation predictions: none / Platt / isotonic by cross-validated log loss ('auto', default)
 *     6. evaluatePredictions on test users: model vs rule score vs baselines (+ truth), bootstrap,
 *        permutation importance, calibration before/after -> EvaluationReport
 */
import type * as tf from '@tensorflow/tfjs';
import type { FeatureTable } from '../features/types.js';
import { CohortlabError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { calibrationSummary, evaluatePredictions, formatSetSizes, permutationImportance, type DataSetSize, type EvaluationContext, type EvaluationReport, type InSampleOverlap, type ReportWarning } from '../evaluate/index.js';
import { initBackend, type BackendName, type BackendPreference } from './backend.js';
import { applyCalibrator, calibrationWarnings, selectCalibration, type CalibrationChoice, type Calibrator } from './calibrate.js';
import { applyScaler, designMatrix, eligibleRows, fitScaler, labelledRows, type Matrix, type ScalerState } from './dataset.js';
import type { TableEncoding } from './encode.js';
import { occlusionContributions, topReasons, type ReasonCode } from './explain.js';
import { fitNetwork, loadNetwork, predictRaw, resolveChurnParams, saveNetwork, type ChurnModelKind, type ChurnModelParams, type FitHistory, type NetworkArtifacts } from './model.js';

export * from './backend.js';
export * from './calibrate.js';
export * from './dataset.js';
export * from './encode.js';
export * from './explain.js';
export * from './model.js';
export * from './simulate.js';
export * from './table.js';
export * from './real-matrix.js';
export * from './logistic-exact.js';
export * from './gbdt.js';
export * from './treeshap.js';

/** A fitted churn model: everything needed to go from feature columns to a calibrated probability. */
export interface ChurnModel {
  kind: ChurnModelKind;
  features: string[];
  params: ChurnModelParams;
  scaler: ScalerState;
  calibrator: Calibrator;
  /** The backend it was trained on (numbers can differ in the last digits on another one). */
  backend: BackendName;
  net: tf.LayersModel;
  /** For models trained on a per-user table: how raw columns became `features`. */
  encoding: TableEncoding | null;
}

export interface TrainChurnInput {
  /** One table per training cutoff (events), or the training rows of a per-user table. */
  train: FeatureTable[];
  valid: FeatureTable;
  test: FeatureTable;
  features: string[];
  params: Partial<ChurnModelParams> & { kind: ChurnModelKind; seed: number };
  /** The rule churn_risk_score (playbook §4.4) for EVERY row of `test` (table order), or null (per-user tables have none). */
  ruleScoreTest?: Float64Array | null;
  /** True churn probability for every row of `test` (synthetic data: the ceiling). */
  truthTest?: Float64Array | null;
  /** Other rule scores for every row of `test` (higher = riskier), compared with the model like the §4.4 score. */
  otherRulesTest?: Record<string, Float64Array>;
  /** Default 'auto': none, Platt or isotonic, chosen by cross-validated log loss inside the validation users (calibrate.ts). */
  calibration?: CalibrationChoice;
  /** 'events' (default) checks that cutoffs are ordered in time; 'table' is one snapshot split at random (stratified). */
  source?: 'events' | 'table';
  encoding?: TableEncoding | null;
  /** Extra lines for the report's data section (e.g. imputation notes of a table). */
  notes?: string[];
  /** Accept validation labels that reach into the test period (short histories); reported. */
  allowLabelOverlap?: boolean;
  /** Training/validation label windows that overlap the test one: the verdict is then in_sample. */
  inSample?: InSampleOverlap[] | null;
  backend?: BackendPreference;
  /** Bootstrap resamples (default 1000) and permutation-importance repeats (default 3). */
  resamples?: number;
  importanceRepeats?: number;
  title?: string;
  logger?: Logger;
}

export interface TrainChurnResult {
  model: ChurnModel;
  calibrator: Calibrator;
  scaler: ScalerState;
  report: EvaluationReport;
  history: FitHistory;
  /** The test users that were scored (eligible ones): calibrated probabilities, labels and raw outputs. */
  test: { userIds: string[]; probability: Float64Array; label: Uint8Array; raw: Float64Array };
}

const DAY_MS = 86_400_000;

function setSize(role: DataSetSize['role'], t: FeatureTable, source: 'events' | 'table'): DataSetSize {
  const { rows, alreadyChurned } = eligibleRows(t);
  let churners = 0;
  if (t.label) for (const i of rows) churners += t.label[i];
  return { role, cutoff: source === 'events' ? t.asOf : role, users: rows.length, churners, alreadyChurned };
}

function checkTimeOrder(input: TrainChurnInput): { notes: string[] } {
  const notes: string[] = [];
  const t = input.test.cutoffMs;
  const v = input.valid.cutoffMs;
  for (const tr of input.train) {
    if (!(tr.cutoffMs < v)) throw new CohortlabError('BAD_ARGUMENT', `training cutoff ${tr.asOf} is not before the validation cutoff ${input.valid.asOf}; train on earlier cutoffs only (a random split across time leaks the future).`);
  }
  if (!(v < t)) throw new CohortlabError('BAD_ARGUMENT', `validation cutoff ${input.valid.asOf} is not before the test cutoff ${input.test.asOf}; the test cutoff must be the latest.`);
  const h = input.valid.horizonDays ?? input.test.horizonDays;
  if (h) {
    const overlap = Math.round((v + h * DAY_MS - t) / DAY_MS);
    if (overlap > 0) {
      const msg = `validation labels (cutoff ${input.valid.asOf} + ${h} days) reach ${overlap} day(s) into the test period after ${input.test.asOf}`;
      if (!input.allowLabelOverlap) throw new CohortlabError('BAD_ARGUMENT', `${msg}; space the cutoffs at least ${h} days apart or pass allowLabelOverlap.`);
      notes.push(`${msg} (accepted: short history).`);
    }
  }
  return { notes };
}

function rowsOf<T>(full: ArrayLike<T> | null | undefined, rows: Uint32Array, what: string, table: FeatureTable): T[] | null {
  if (!full) return null;
  if (full.length !== table.userIds.length) {
    throw new CohortlabError('BAD_ARGUMENT', `${what} has ${full.length} values but the test table (as of ${table.asOf}) has ${table.userIds.length} users; pass one value per row of the test table, in its order.`);
  }
  return Array.from(rows, (i) => full[i]);
}

/** Train, calibrate and evaluate in one call: the entry point of `cohortlab train`. */
export async function trainChurn(input: TrainChurnInput): Promise<TrainChurnResult> {
  const logger = input.logger ?? silentLogger;
  const params = resolveChurnParams(input.params);
  const backend = await initBackend(logger, input.backend ?? 'auto');
  const source = input.source ?? 'events';
  const notes = [...(input.notes ?? [])];
  if (source === 'events') notes.push(...checkTimeOrder(input).notes);
  if (input.train.length === 0) throw new CohortlabError('BAD_ARGUMENT', 'trainChurn: no training tables; pass at least one cutoff earlier than the validation cutoff.');

  const tr = labelledRows(input.train, input.features);
  const va = labelledRows([input.valid], input.features);
  const testEligible = eligibleRows(input.test);
  const te = labelledRows([input.test], input.features);
  const excluded: Record<string, number> = {};
  for (const t of [...input.train, input.valid, input.test]) excluded[t.asOf] = eligibleRows(t).alreadyChurned;

  const sets: DataSetSize[] = [
    ...input.train.map((t) => setSize('train', t, source)),
    setSize('validation', input.valid, source),
    setSize('test', input.test, source),
  ];
  for (const s of sets.slice(-2)) {
    if (s.churners === 0 || s.churners === s.users) {
      throw new CohortlabError('ONE_CLASS', `the ${s.role} users ${source === 'events' ? `as of ${s.cutoff} ` : ''}(${s.users}) are all ${s.churners ? 'churners' : 'stayers'}: a churn model cannot be ${s.role === 'test' ? 'evaluated' : 'calibrated'} on one outcome, and nothing was registered; pick a cutoff or horizon where both occur (cohortlab profile shows the churn share).`);
    }
  }
  for (const line of formatSetSizes(sets)) logger.info(line);
  const scaler = fitScaler(tr.x, input.features);
  const xs = { train: applyScaler(scaler, tr.x), valid: applyScaler(scaler, va.x), test: applyScaler(scaler, te.x) };
  const started = performance.now();
  const { net, history } = fitNetwork({ x: xs.train, y: tr.y }, { x: xs.valid, y: va.y }, params, logger);
  const seconds = (performance.now() - started) / 1000;
  const { calibrator, selection: calibrationSelection } = selectCalibration(predictRaw(net, xs.valid, params.predictBatchSize), va.y, { requested: input.calibration ?? 'auto', seed: params.seed });
  const calibrationKind = calibrator.kind;
  logger.info(`calibration: ${calibrationSelection.reason}`);
  const model: ChurnModel = { kind: params.kind, features: [...input.features], params, scaler, calibrator, backend, net, encoding: input.encoding ?? null };

  const rawTest = predictRaw(net, xs.test, params.predictBatchSize);
  const probTest = applyCalibrator(calibrator, rawTest);
  const rule = rowsOf(input.ruleScoreTest, testEligible.rows, 'ruleScoreTest', input.test);
  const truth = rowsOf(input.truthTest, testEligible.rows, 'truthTest', input.test);
  const otherRules = Object.fromEntries(Object.entries(input.otherRulesTest ?? {}).map(([k, v]) => [k, rowsOf(v, testEligible.rows, `otherRulesTest.${k}`, input.test) as number[]]));
  const recencyCol = input.test.columns.days_since_last_activity;
  const recency = recencyCol ? Array.from(testEligible.rows, (i) => recencyCol[i]) : null;
  let trainPos = 0;
  for (let i = 0; i < tr.y.length; i++) trainPos += tr.y[i];
  const importance = permutationImportance((x) => applyCalibrator(calibrator, predictRaw(net, x as Matrix, params.predictBatchSize)), xs.test, te.y, input.features, {
    seed: params.seed,
    repeats: input.importanceRepeats ?? 3,
  });
  const context: EvaluationContext = {
    model: { kind: params.kind, backend, features: model.features, params: { ...params }, calibration: calibrationKind, seed: params.seed },
    data: {
      source,
      ...(source === 'events'
        ? { trainCutoffs: input.train.map((t) => t.asOf), validCutoff: input.valid.asOf, testCutoff: input.test.asOf, horizonDays: input.test.horizonDays }
        : {}),
      trainUsers: tr.y.length,
      validUsers: va.y.length,
      testUsers: te.y.length,
      excludedAlreadyChurned: source === 'events' ? excluded : undefined,
      sets,
      notes,
    },
    training: { epochs: history.epochs.length, bestEpoch: history.bestEpoch, stoppedEarly: history.stoppedEarly, seconds, history: history.epochs },
  };
  const report = evaluatePredictions({
    title: input.title,
    y: te.y,
    modelProbability: probTest,
    ruleScore: rule,
    recency,
    truth,
    otherRules,
    trainChurnRate: trainPos / tr.y.length,
    seed: params.seed,
    resamples: input.resamples,
    calibration: { ...calibrationSummary(calibrationKind, te.y, rawTest, probTest), selection: calibrationSelection },
    importance,
    context,
    inSample: input.inSample,
    warnings: calibrationWarnings(calibrationSelection),
  });
  logger.info(report.verdict.text);
  for (const w of report.warnings) logger.warn(`${w.code}: ${w.message}`);
  return { model, calibrator, scaler, report, history, test: { userIds: te.userIds, probability: probTest, label: te.y, raw: rawTest } };
}

function matrixFromColumns(model: ChurnModel, columns: Record<string, Float64Array>, rows?: ArrayLike<number>): { raw: Matrix; scaled: Matrix } {
  const first = columns[model.features[0]];
  const n = first ? first.length : 0;
  const table: FeatureTable = { asOf: 'scoring', cutoffMs: NaN, userIds: Array.from({ length: n }, (_, i) => `row ${i + 1}`), columns, plan: [], alreadyChurned: new Uint8Array(n) };
  const raw = designMatrix(table, model.features, rows);
  return { raw, scaled: applyScaler(model.scaler, raw) };
}

/** Calibrated churn probabilities for every row of `columns` (feature name -> column). */
export function predictChurn(model: ChurnModel, columns: Record<string, Float64Array>): Float64Array {
  const { scaled } = matrixFromColumns(model, columns);
  return applyCalibrator(model.calibrator, predictRaw(model.net, scaled, model.params.predictBatchSize));
}

/** The `top` features pushing each row's churn score up or down (occlusion against the training mean). */
export function reasonCodes(model: ChurnModel, columns: Record<string, Float64Array>, opts: { top?: number; rows?: ArrayLike<number> } = {}): ReasonCode[][] {
  const { raw, scaled } = matrixFromColumns(model, columns, opts.rows);
  const contrib = occlusionContributions(model.net, scaled, model.params.predictBatchSize);
  return topReasons(contrib, raw, model.features, opts.top ?? 3);
}

/** Probabilities and reason codes from one design matrix (what scoring needs: the matrix is built and scaled once). */
export function predictWithReasons(model: ChurnModel, columns: Record<string, Float64Array>, top: number): { probability: Float64Array; reasons: ReasonCode[][] } {
  const { raw, scaled } = matrixFromColumns(model, columns);
  const probability = applyCalibrator(model.calibrator, predictRaw(model.net, scaled, model.params.predictBatchSize));
  const reasons = top > 0 ? topReasons(occlusionContributions(model.net, scaled, model.params.predictBatchSize), raw, model.features, top) : Array.from({ length: raw.rows }, () => []);
  return { probability, reasons };
}

/**
 * Re-evaluates a saved model on a new labelled feature table (`cohortlab evaluate`): no refitting;
 * calibration is the saved one, measured before/after on these users.
 */
export function evaluateChurn(
  model: ChurnModel,
  table: FeatureTable,
  opts: {
    ruleScore?: Float64Array | null;
    truth?: Float64Array | null;
    /** Other rule scores (higher = riskier) for every row of `table`, e.g. rfm. */
    otherRules?: Record<string, Float64Array>;
    seed: number;
    resamples?: number;
    title?: string;
    trainChurnRate?: number;
    /** Overlaps of this table's label window with the model's own (evaluate computes them from the manifest). */
    inSample?: InSampleOverlap[] | null;
    warnings?: ReportWarning[];
    logger?: Logger;
  },
): EvaluationReport {
  const logger = opts.logger ?? silentLogger;
  const sets = [setSize('test', table, model.encoding ? 'table' : 'events')];
  for (const line of formatSetSizes(sets)) logger.info(line);
  const te = labelledRows([table], model.features);
  const el = eligibleRows(table);
  const scaled = applyScaler(model.scaler, te.x);
  const raw = predictRaw(model.net, scaled, model.params.predictBatchSize);
  const prob = applyCalibrator(model.calibrator, raw);
  const rec = table.columns.days_since_last_activity;
  let pos = 0;
  for (let i = 0; i < te.y.length; i++) pos += te.y[i];
  const importance = permutationImportance((x) => applyCalibrator(model.calibrator, predictRaw(model.net, x as Matrix, model.params.predictBatchSize)), scaled, te.y, model.features, { seed: opts.seed });
  const report = evaluatePredictions({
    title: opts.title ?? `Churn model on new data as of ${table.asOf}`,
    y: te.y,
    modelProbability: prob,
    ruleScore: rowsOf(opts.ruleScore, el.rows, 'ruleScore', table),
    truth: rowsOf(opts.truth, el.rows, 'truth', table),
    otherRules: Object.fromEntries(Object.entries(opts.otherRules ?? {}).map(([k, v]) => [k, rowsOf(v, el.rows, `otherRules.${k}`, table) as number[]])),
    inSample: opts.inSample,
    warnings: opts.warnings,
    recency: rec ? Array.from(el.rows, (i) => rec[i]) : null,
    // The majority baseline should use the training rate; without it, the best constant is this set's own rate (optimistic).
    trainChurnRate: opts.trainChurnRate ?? pos / Math.max(1, te.y.length),
    seed: opts.seed,
    resamples: opts.resamples,
    calibration: calibrationSummary(model.calibrator.kind, te.y, raw, prob),
    importance,
    context: {
      model: { kind: model.kind, backend: model.backend, features: model.features, params: { ...model.params }, calibration: model.calibrator.kind, seed: model.params.seed },
      data: { source: model.encoding ? 'table' : 'events', testCutoff: table.asOf, horizonDays: table.horizonDays, trainUsers: 0, validUsers: 0, testUsers: te.y.length, excludedAlreadyChurned: { [table.asOf]: el.alreadyChurned }, sets, notes: [] },
    },
  });
  logger.info(report.verdict.text);
  for (const w of report.warnings) logger.warn(`${w.code}: ${w.message}`);
  return report;
}

// ---------------------------------------------------------------------------------------------
// Persistence: plain JSON + one weights buffer, so the registry decides where the bytes go.

export const CHURN_MODEL_FORMAT = 'cohortlab-churn';
export const CHURN_MODEL_FORMAT_VERSION = 1;

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
  /** tfjs LayersModel topology and weight manifest (the bytes are in `weights`). */
  network: { modelTopology: object; weightSpecs: NetworkArtifacts['weightSpecs'] };
}

export interface SerializedChurnModel {
  json: ChurnModelJson;
  weights: ArrayBuffer;
}

export async function serializeModel(model: ChurnModel): Promise<SerializedChurnModel> {
  const a = await saveNetwork(model.net);
  return {
    json: {
      format: CHURN_MODEL_FORMAT,
      formatVersion: CHURN_MODEL_FORMAT_VERSION,
      kind: model.kind,
      features: model.features,
      params: model.params,
      scaler: model.scaler,
      calibrator: model.calibrator,
      backend: model.backend,
      encoding: model.encoding,
      network: { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs },
    },
    weights: a.weightData,
  };
}

export async function loadModel(s: SerializedChurnModel, opts: { logger?: Logger; backend?: BackendPreference; path?: string } = {}): Promise<ChurnModel> {
  const j = s.json as Partial<ChurnModelJson> | undefined;
  const where = opts.path ? ` (${opts.path})` : '';
  if (!j || j.format !== CHURN_MODEL_FORMAT) throw new CohortlabError('MODEL_CORRUPT', `the churn model file${where} is not a ${CHURN_MODEL_FORMAT} model (format ${JSON.stringify(j?.format)}); point to a model saved by cohortlab train.`, { path: opts.path });
  if (j.formatVersion !== CHURN_MODEL_FORMAT_VERSION) throw new CohortlabError('MODEL_INCOMPATIBLE', `the churn model${where} has format version ${j.formatVersion}, this cohortlab reads version ${CHURN_MODEL_FORMAT_VERSION}; re-train it with this version.`, { path: opts.path });
  if (!j.network || !j.features || !j.scaler || !j.calibrator || !j.params || !j.kind || !j.backend) throw new CohortlabError('MODEL_CORRUPT', `the churn model${where} lacks network, features, scaler, calibrator or params; re-train it.`, { path: opts.path });
  await initBackend(opts.logger ?? silentLogger, opts.backend ?? 'auto');
  const net = await loadNetwork({ modelTopology: j.network.modelTopology, weightSpecs: j.network.weightSpecs, weightData: s.weights });
  return { kind: j.kind, features: j.features, params: j.params, scaler: j.scaler, calibrator: j.calibrator, backend: j.backend, net, encoding: j.encoding ?? null };
}
