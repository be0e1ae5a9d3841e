/**
 * churn: the churn-propensity model and its honest evaluation against the rule score.
 *
 *   trainChurn
 *     1. initBackend (tfjs-node > wasm > cpu), logged and recorded (the MLP uses it)
 *     2. check the split: train cutoffs < validation cutoff < test cutoff (events), or a
 *        stratified split of one snapshot (per-user table); already-churned users excluded, counted
 *     3. designMatrix + fitScaler on training rows only; applyScaler to all
 *     4. fitCandidate for each kind asked for ('auto': logistic, mlp and gbdt on the same training users;
 *        candidates.ts): each makes its own choices on the validation users (C, trees, epochs), and
 *        logistic and gbdt are then refitted on training + validation users
 *     5. per candidate, selectCalibration on the validation predictions of its TRAINING-ONLY fit:
 *        none / Platt / isotonic by cross-validated log loss inside the validation users ('auto', default)
 *     6. the choice ('auto'): the lowest validation log loss after calibration (the cross-validated log
 *        loss of the chosen calibration, so every kind is judged on probabilities it would serve); raw
 *        when no cross-validation was possible; ties go to logistic, then gbdt, then mlp
 *     7. evaluatePredictions on test users: the chosen model vs rule score vs baselines (+ truth), bootstrap,
 *        permutation importance, calibration before/after; every candidate's test metrics beside it
 *        (`candidates`) -> EvaluationReport
 */
import type { FeatureTable } from '../features/types.js';
import type { TargetSpec } from '../features/target.js';
import { CohortlabError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { bootstrapMetrics, calibrationSummary, evaluatePredictions, formatSetSizes, outcomeNames, permutationImportance, type DataSetSize, type EvaluationContext, type EvaluationReport, type InSampleOverlap, type ModelCandidate, type ReportWarning } from '../evaluate/index.js';
import { initBackend, type BackendName, type BackendPreference } from './backend.js';
import { applyCalibrator, type CalibrationChoice, type Calibrator } from './calibrate.js';
import { calibrationWarnings, selectCalibration, type CalibrationSelection } from './calibrate-select.js';
import { estimatorContributions, estimatorInput, estimatorRaw, fitCandidate, type CandidateFit, type ChurnEstimator, type DesignPair } from './candidates.js';
import { applyScaler, designMatrix, eligibleRows, fitScaler, labelledRows, type Matrix, type ScalerState } from './dataset.js';
import type { TableEncoding } from './encode.js';
import { topReasons, type ReasonCode } from './explain.js';
import { GradientBoostedTrees, type GbdtJson } from './gbdt.js';
import { LogisticExact, logLossFromMargins, type LogisticExactJson } from './logistic-exact.js';
import { CHURN_MODEL_KINDS, loadNetwork, resolveChurnParams, saveNetwork, type ChurnModelKind, type ChurnModelParams, type ChurnModelRequest, type FitHistory, type NetworkArtifacts } from './model.js';

export { initBackend } from './backend.js';
export { applyCalibrator } from './calibrate.js';
export { selectCalibration } from './calibrate-select.js';
export { estimatorInput, estimatorRaw, fitCandidate } from './candidates.js';
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

export interface TrainChurnInput {
  /** One table per training cutoff (events), or the training rows of a per-user table. */
  train: FeatureTable[];
  valid: FeatureTable;
  test: FeatureTable;
  features: string[];
  /** kind 'auto' fits logistic, mlp and gbdt and keeps the one with the lowest validation log loss. */
  params: Partial<Omit<ChurnModelParams, 'kind'>> & { kind: ChurnModelRequest; seed: number };
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
  /**
   * A propensity target (`train --target upgrade|event:NAME`): the tables' labels are the target's, the rule
   * score is the §4.3 expansion readiness, and recency is reversed (fewer days since last activity = more likely).
   */
  target?: TargetSpec | null;
  logger?: Logger;
}

export interface TrainChurnResult {
  model: ChurnModel;
  calibrator: Calibrator;
  scaler: ScalerState;
  report: EvaluationReport;
  /** The MLP's epochs (empty for logistic and gbdt). */
  history: FitHistory;
  /** Every kind fitted, in CHURN_MODEL_KINDS order, with its validation log loss and test metrics. */
  candidates: ModelCandidate[];
  /** The test users that were scored (eligible ones): calibrated probabilities, labels and raw outputs. */
  test: { userIds: string[]; probability: Float64Array; label: Uint8Array; raw: Float64Array };
}

const DAY_MS = 86_400_000;

function setSize(role: DataSetSize['role'], t: FeatureTable, source: 'events' | 'table'): DataSetSize {
  const { rows, alreadyChurned, priorTarget } = eligibleRows(t);
  let churners = 0;
  if (t.label) for (const i of rows) churners += t.label[i];
  return { role, cutoff: source === 'events' ? t.asOf : role, users: rows.length, churners, alreadyChurned, ...(t.priorTarget ? { priorTarget } : {}) };
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
  // the tfjs settings (and seed) shared by every kind; the kind itself is decided below
  const params = resolveChurnParams({ ...input.params, kind: input.params.kind === 'auto' ? 'mlp' : input.params.kind });
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
  const outcome = outcomeNames(input.target);
  for (const s of sets.slice(-2)) {
    if (s.churners === 0 || s.churners === s.users) {
      throw new CohortlabError('ONE_CLASS', `the ${s.role} users ${source === 'events' ? `as of ${s.cutoff} ` : ''}(${s.users}) are all ${s.churners ? outcome.positive : outcome.negative}: ${outcome.target === 'churn' ? 'a churn' : `a propensity (${outcome.target})`} model cannot be ${s.role === 'test' ? 'evaluated' : 'calibrated'} on one outcome, and nothing was registered; pick a cutoff or horizon where both occur (cohortlab profile shows the churn share).`);
    }
  }
  for (const line of formatSetSizes(sets, outcome)) logger.info(line);
  const scaler = fitScaler(tr.x, input.features);
  const design = (x: Matrix): DesignPair => ({ raw: x, scaled: applyScaler(scaler, x) });
  const xs = { train: design(tr.x), valid: design(va.x), test: design(te.x) };
  const requested = input.params.kind;
  const kinds: ChurnModelKind[] = requested === 'auto' ? [...CHURN_MODEL_KINDS] : [requested];
  for (const k of kinds) if (!CHURN_MODEL_KINDS.includes(k)) throw new CohortlabError('BAD_ARGUMENT', `churn model kind ${JSON.stringify(k)} is unknown; use auto, logistic, mlp or gbdt.`);
  const fits = new Map<ChurnModelKind, CandidateFit & { calibrator: Calibrator; selection: CalibrationSelection; rawLoss: number; calLoss: number | null; choiceLoss: number }>();
  for (const kind of kinds) {
    const fit = fitCandidate(kind, { ...xs.train, y: tr.y }, { ...xs.valid, y: va.y }, { ...params, kind }, logger);
    const { calibrator, selection } = selectCalibration(fit.validRaw, va.y, { requested: input.calibration ?? 'auto', seed: params.seed });
    const rawLoss = logLossFromMargins(logitsOf(fit.validRaw), va.y);
    const calLoss = selection.cvLogLoss ? selection.cvLogLoss[selection.chosen] : null;
    fits.set(kind, { ...fit, calibrator, selection, rawLoss, calLoss, choiceLoss: calLoss ?? rawLoss });
    logger.info(`${kind}: validation log loss ${rawLoss.toFixed(4)} raw${calLoss === null ? '' : `, ${calLoss.toFixed(4)} after ${selection.chosen} calibration (cross-validated)`}; fitted in ${fit.seconds.toFixed(1)} s`);
  }
  let chosenKind = kinds[0];
  // ties: the simpler model (CHURN_MODEL_KINDS order is logistic, mlp, gbdt; logistic first, then gbdt, then mlp)
  const tieOrder: ChurnModelKind[] = ['logistic', 'gbdt', 'mlp'];
  for (const k of tieOrder) {
    const f = fits.get(k);
    if (f && f.choiceLoss < fits.get(chosenKind)!.choiceLoss - 1e-12) chosenKind = k;
  }
  if (kinds.length > 1) logger.info(`model choice: ${chosenKind} (lowest validation log loss: ${kinds.map((k) => `${k} ${fits.get(k)!.choiceLoss.toFixed(4)}`).join(', ')})`);
  const chosen = fits.get(chosenKind)!;
  const calibrator = chosen.calibrator;
  const calibrationSelection = chosen.selection;
  const calibrationKind = calibrator.kind;
  logger.info(`calibration: ${calibrationSelection.reason}`);
  const modelParams: ChurnModelParams = { ...params, kind: chosenKind };
  const model = { features: [...input.features], params: modelParams, scaler, calibrator, backend, encoding: input.encoding ?? null, ...chosen.estimator } as ChurnModel;
  const history: FitHistory = chosen.history ?? { epochs: [], bestEpoch: 0, stoppedEarly: false, classWeights: [1, 1] };
  const seconds = chosen.seconds;

  const rawTest = estimatorRaw(model, estimatorInput(model, xs.test), params.predictBatchSize);
  const probTest = applyCalibrator(calibrator, rawTest);
  const candidates: ModelCandidate[] = kinds.map((kind) => {
    const f = fits.get(kind)!;
    const prob = kind === chosenKind ? probTest : applyCalibrator(f.calibrator, estimatorRaw(f.estimator, estimatorInput(f.estimator, xs.test), params.predictBatchSize));
    const boot = bootstrapMetrics(te.y, [{ name: kind, scores: prob, isProbability: true }], { seed: params.seed, resamples: input.resamples, highRiskShare: 0 });
    return {
      kind, chosen: kind === chosenKind, validLogLoss: { raw: f.rawLoss, calibrated: f.calLoss }, choiceLogLoss: f.choiceLoss,
      calibration: f.calibrator.kind, fitSeconds: f.seconds, details: f.details, test: boot.scorers[kind],
    };
  });
  for (const c of candidates) if (kinds.length > 1) logger.info(`  ${c.kind.padEnd(8)} test ROC-AUC ${c.test.rocAuc ? `${c.test.rocAuc.value.toFixed(3)} [${c.test.rocAuc.lo.toFixed(3)}, ${c.test.rocAuc.hi.toFixed(3)}]` : 'n/a'}${c.chosen ? ' (chosen)' : ''}`);
  const rule = rowsOf(input.ruleScoreTest, testEligible.rows, 'ruleScoreTest', input.test);
  const truth = rowsOf(input.truthTest, testEligible.rows, 'truthTest', input.test);
  const otherRules = Object.fromEntries(Object.entries(input.otherRulesTest ?? {}).map(([k, v]) => [k, rowsOf(v, testEligible.rows, `otherRulesTest.${k}`, input.test) as number[]]));
  const recencyCol = input.test.columns.days_since_last_activity;
  // higher = more likely: days since last activity for churn, its negative for a propensity target
  const recencySign = input.target && input.target.kind !== 'churn' ? -1 : 1;
  const recency = recencyCol ? Array.from(testEligible.rows, (i) => recencySign * recencyCol[i]) : null;
  let trainPos = 0;
  for (let i = 0; i < tr.y.length; i++) trainPos += tr.y[i];
  const importance = permutationImportance((x) => applyCalibrator(calibrator, estimatorRaw(model, x as Matrix, params.predictBatchSize)), estimatorInput(model, xs.test), te.y, input.features, {
    seed: params.seed,
    repeats: input.importanceRepeats ?? 3,
  });
  const context: EvaluationContext = {
    model: { kind: chosenKind, requested, backend, features: model.features, params: { ...modelParams, ...chosen.details }, calibration: calibrationKind, seed: params.seed },
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
    training: chosen.history
      ? { epochs: history.epochs.length, bestEpoch: history.bestEpoch, stoppedEarly: history.stoppedEarly, seconds, history: history.epochs }
      : { epochs: 0, bestEpoch: 0, stoppedEarly: false, seconds, history: [] },
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
    candidates,
    target: input.target,
  });
  logger.info(report.verdict.text);
  for (const w of report.warnings) logger.warn(`${w.code}: ${w.message}`);
  return { model, calibrator, scaler, report, history, candidates, test: { userIds: te.userIds, probability: probTest, label: te.y, raw: rawTest } };
}

/** Log-odds of probabilities (clamped away from 0 and 1 so an estimator's exact 0/1 stays finite). */
function logitsOf(p: Float64Array): Float64Array {
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const q = Math.min(Math.max(p[i], 1e-15), 1 - 1e-15);
    out[i] = Math.log(q / (1 - q));
  }
  return out;
}

function matrixFromColumns(model: ChurnModel, columns: Record<string, Float64Array>, rows?: ArrayLike<number>): DesignPair {
  const first = columns[model.features[0]];
  const n = first ? first.length : 0;
  const table: FeatureTable = { asOf: 'scoring', cutoffMs: NaN, userIds: Array.from({ length: n }, (_, i) => `row ${i + 1}`), columns, plan: [], alreadyChurned: new Uint8Array(n) };
  const raw = designMatrix(table, model.features, rows);
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

/** Probabilities and reason codes from one design matrix (what scoring needs: the matrix is built and scaled once). */
export function predictWithReasons(model: ChurnModel, columns: Record<string, Float64Array>, top: number): { probability: Float64Array; reasons: ReasonCode[][] } {
  const x = matrixFromColumns(model, columns);
  const probability = applyCalibrator(model.calibrator, predictChurnRaw(model, x));
  const reasons = top > 0 ? topReasons(estimatorContributions(model, x, model.params.predictBatchSize), x.raw, model.features, top) : Array.from({ length: x.raw.rows }, () => []);
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
    /** A `train --target` model: `table` carries the target's labels (features/target.ts); recency is reversed. */
    target?: TargetSpec | null;
    logger?: Logger;
  },
): EvaluationReport {
  const logger = opts.logger ?? silentLogger;
  const sets = [setSize('test', table, model.encoding ? 'table' : 'events')];
  for (const line of formatSetSizes(sets, outcomeNames(opts.target))) logger.info(line);
  const te = labelledRows([table], model.features);
  const el = eligibleRows(table);
  const x: DesignPair = { raw: te.x, scaled: applyScaler(model.scaler, te.x) };
  const input = estimatorInput(model, x);
  const raw = estimatorRaw(model, input, model.params.predictBatchSize);
  const prob = applyCalibrator(model.calibrator, raw);
  const rec = table.columns.days_since_last_activity;
  let pos = 0;
  for (let i = 0; i < te.y.length; i++) pos += te.y[i];
  const importance = permutationImportance((m) => applyCalibrator(model.calibrator, estimatorRaw(model, m as Matrix, model.params.predictBatchSize)), input, te.y, model.features, { seed: opts.seed });
  const report = evaluatePredictions({
    title: opts.title ?? `Churn model on new data as of ${table.asOf}`,
    y: te.y,
    modelProbability: prob,
    ruleScore: rowsOf(opts.ruleScore, el.rows, 'ruleScore', table),
    truth: rowsOf(opts.truth, el.rows, 'truth', table),
    otherRules: Object.fromEntries(Object.entries(opts.otherRules ?? {}).map(([k, v]) => [k, rowsOf(v, el.rows, `otherRules.${k}`, table) as number[]])),
    inSample: opts.inSample,
    warnings: opts.warnings,
    recency: rec ? Array.from(el.rows, (i) => (opts.target && opts.target.kind !== 'churn' ? -rec[i] : rec[i])) : null,
    target: opts.target,
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
