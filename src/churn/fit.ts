import { CHURN_OUTCOME, outcomeNames, type FeatureTable, type OutcomeNames, type TargetSpec } from '../features/index.js';
import { CohortlabError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { initBackend, type BackendName, type BackendPreference } from './backend.js';
import { applyCalibrator, type CalibrationChoice, type Calibrator } from './calibrate.js';
import type { CalibrationSelection } from './calibrate-select.js';
import { fitCandidates, type CalibratedCandidate } from './candidate-threads.js';
import { estimatorInput, estimatorRaw, type DesignPair } from './candidates.js';
import { applyScaler, eligibleRows, fitScaler, labelledRows, type Matrix, type ScalerState } from './dataset.js';
import type { TableEncoding } from './encode.js';
import type { ChurnModel } from './index.js';
import { logLossFromMargins } from './logistic-exact.js';
import { CHURN_MODEL_KINDS, resolveChurnParams, type ChurnModelKind, type ChurnModelParams, type ChurnModelRequest, type FitHistory } from './model.js';

/**
 * fitChurn: the churn model fitted and chosen, then applied to the test users (the evaluation of those
 * predictions is the evaluate stage's: evaluate/churn.ts `evaluateChurnFit`, `trainChurn`).
 *
 *     1. initBackend (tfjs-node > wasm > cpu), logged and recorded (the MLP uses it)
 *     2. check the split: train cutoffs < validation cutoff < test cutoff (events), or a
 *        stratified split of one snapshot (per-user table); already-churned users excluded, counted
 *     3. designMatrix + fitScaler on training rows only; applyScaler to all
 *     4. fitCandidate for each kind asked for ('auto': logistic, mlp and gbdt on the same training users;
 *        candidates.ts): each makes its own choices on the validation users (C, trees, epochs), and
 *        logistic and gbdt are then refitted on training + validation users; with several kinds, logistic and
 *        gbdt are fitted each in a worker thread while the MLP trains (candidate-threads.ts: the same bits)
 *     5. per candidate, selectCalibration on the validation predictions of its TRAINING-ONLY fit:
 *        none / Platt / isotonic by cross-validated log loss inside the validation users ('auto', default)
 *     6. the choice ('auto'): the lowest validation log loss after calibration (the cross-validated log
 *        loss of the chosen calibration, so every kind is judged on probabilities it would serve); raw
 *        when no cross-validation was possible; ties go to logistic, then gbdt, then mlp
 *     7. every candidate's calibrated probabilities on the test users
 */
export interface FitChurnInput {
  /** One table per training cutoff (events), or the training rows of a per-user table. */
  train: FeatureTable[];
  valid: FeatureTable;
  test: FeatureTable;
  features: string[];
  /** kind 'auto' fits logistic, mlp and gbdt and keeps the one with the lowest validation log loss. */
  params: Partial<Omit<ChurnModelParams, 'kind'>> & { kind: ChurnModelRequest; seed: number };
  /** Default 'auto': none, Platt or isotonic, chosen by cross-validated log loss inside the validation users (calibrate.ts). */
  calibration?: CalibrationChoice;
  /** 'events' (default) checks that cutoffs are ordered in time; 'table' is one snapshot split at random (stratified). */
  source?: 'events' | 'table';
  encoding?: TableEncoding | null;
  /** Extra lines for the report's data section (e.g. imputation notes of a table). */
  notes?: string[];
  /** Accept validation labels that reach into the test period (short histories); reported. */
  allowLabelOverlap?: boolean;
  backend?: BackendPreference;
  /** A propensity target (`train --target upgrade|event:NAME`): the tables' labels are the target's; names the outcome in messages. */
  target?: TargetSpec | null;
  logger?: Logger;
}

/** Users and churners of one set (what `train` and `evaluate` print, and the report keeps). */
export interface DataSetSize {
  role: 'train' | 'validation' | 'test';
  /** The cutoff date (events) or the split's name (tables). */
  cutoff: string;
  users: number;
  churners: number;
  /** Left out: already churned at the cutoff. */
  alreadyChurned: number;
  /** Propensity targets: left out because they already did the target before the cutoff. */
  priorTarget?: number;
}

/** One line per set: "train 2026-01-01: 4,210 users, 612 churners (14.5%), 88 already churned left out". */
export function formatSetSizes(sets: DataSetSize[], outcome: OutcomeNames = CHURN_OUTCOME): string[] {
  return sets.map((s) => `${s.role.padEnd(10)}${s.cutoff === s.role ? '' : ` ${s.cutoff}`}: ${s.users.toLocaleString('en-US')} users, ${s.churners.toLocaleString('en-US')} ${outcome.positive} (${s.users ? ((100 * s.churners) / s.users).toFixed(1) : 'n/a'}%)${s.alreadyChurned ? `, ${s.alreadyChurned.toLocaleString('en-US')} already churned left out` : ''}${s.priorTarget ? `, ${s.priorTarget.toLocaleString('en-US')} who did ${outcome.target} before the cutoff left out` : ''}`);
}

/** One fitted kind: its validation log losses, calibration and calibrated test probabilities. */
export interface FittedCandidate {
  kind: ChurnModelKind;
  chosen: boolean;
  /** Log loss on the validation users of the training-only fit: raw, and after its calibration (cross-validated; null without CV). */
  validLogLoss: { raw: number; calibrated: number | null };
  /** The number the choice compared: calibrated when available, else raw. */
  choiceLogLoss: number;
  calibration: Calibrator['kind'];
  fitSeconds: number;
  details: Record<string, unknown>;
  /** Calibrated probabilities of the test users (eligible rows, table order). */
  testProbability: Float64Array;
}

export interface ChurnFit {
  model: ChurnModel;
  calibrator: Calibrator;
  scaler: ScalerState;
  calibrationSelection: CalibrationSelection;
  /** The MLP's epochs (empty for logistic and gbdt); `trained` is false when the chosen kind has no epochs. */
  history: FitHistory;
  trainedEpochs: boolean;
  fitSeconds: number;
  requested: ChurnModelRequest;
  backend: BackendName;
  /** The resolved tfjs settings and seed shared by every kind. */
  params: ChurnModelParams;
  /** Every kind fitted, in CHURN_MODEL_KINDS order. */
  candidates: FittedCandidate[];
  source: 'events' | 'table';
  sets: DataSetSize[];
  notes: string[];
  /** Users already churned at each cutoff, left out of every set. */
  excludedAlreadyChurned: Record<string, number>;
  trainUsers: number;
  validUsers: number;
  trainChurnRate: number;
  /**
   * The test users that were scored (eligible ones): their rows in the test table, ids, labels, the chosen model's raw and
   * calibrated probabilities, and the design (what permutation importance perturbs).
   */
  test: { rows: Uint32Array; userIds: string[]; label: Uint8Array; raw: Float64Array; probability: Float64Array; design: DesignPair };
}

const DAY_MS = 86_400_000;

export function setSize(role: DataSetSize['role'], t: FeatureTable, source: 'events' | 'table'): DataSetSize {
  const { rows, alreadyChurned, priorTarget } = eligibleRows(t);
  let churners = 0;
  if (t.label) for (const i of rows) churners += t.label[i];
  return { role, cutoff: source === 'events' ? t.asOf : role, users: rows.length, churners, alreadyChurned, ...(t.priorTarget ? { priorTarget } : {}) };
}

/**
 * The validation and test users (`sets`, their setSize) must hold both outcomes: a model cannot be calibrated, nor
 * evaluated, on one (ONE_CLASS). fitChurn checks its sets; train checks them before its other work on the events, so
 * that is the error a one-outcome log gets.
 */
export function checkBothOutcomes(sets: DataSetSize[], source: 'events' | 'table', target?: TargetSpec | null): void {
  const outcome = outcomeNames(target);
  for (const s of sets) {
    if (s.churners === 0 || s.churners === s.users) {
      throw new CohortlabError('ONE_CLASS', `the ${s.role} users ${source === 'events' ? `as of ${s.cutoff} ` : ''}(${s.users}) are all ${s.churners ? outcome.positive : outcome.negative}: ${outcome.target === 'churn' ? 'a churn' : `a propensity (${outcome.target})`} model cannot be ${s.role === 'test' ? 'evaluated' : 'calibrated'} on one outcome, and nothing was registered; pick a cutoff or horizon where both occur (cohortlab profile shows the churn share).`);
    }
  }
}

function checkTimeOrder(input: FitChurnInput): { notes: string[] } {
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

/** Fit every kind asked for, choose one, calibrate it, and predict the test users (steps 1-7 above). */
export async function fitChurn(input: FitChurnInput): Promise<ChurnFit> {
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
  checkBothOutcomes(sets.slice(-2), source, input.target);
  for (const line of formatSetSizes(sets, outcome)) logger.info(line);
  const scaler = fitScaler(tr.x, input.features);
  const design = (x: Matrix): DesignPair => ({ raw: x, scaled: applyScaler(scaler, x, { shared: true }) });
  const xs = { train: design(tr.x), valid: design(va.x), test: design(te.x) };
  const requested = input.params.kind;
  const kinds: ChurnModelKind[] = requested === 'auto' ? [...CHURN_MODEL_KINDS] : [requested];
  for (const k of kinds) if (!CHURN_MODEL_KINDS.includes(k)) throw new CohortlabError('BAD_ARGUMENT', `churn model kind ${JSON.stringify(k)} is unknown; use auto, logistic, mlp or gbdt.`);
  const fits = new Map<ChurnModelKind, CalibratedCandidate & { rawLoss: number; calLoss: number | null; choiceLoss: number }>();
  const job = { train: { ...xs.train, y: tr.y }, valid: { ...xs.valid, y: va.y }, params, calibration: input.calibration ?? 'auto' };
  await fitCandidates(kinds, job, logger, (kind, fit) => {
    const { selection } = fit;
    const rawLoss = logLossFromMargins(logitsOf(fit.validRaw), va.y);
    const calLoss = selection.cvLogLoss ? selection.cvLogLoss[selection.chosen] : null;
    fits.set(kind, { ...fit, rawLoss, calLoss, choiceLoss: calLoss ?? rawLoss });
    logger.info(`${kind}: validation log loss ${rawLoss.toFixed(4)} raw${calLoss === null ? '' : `, ${calLoss.toFixed(4)} after ${selection.chosen} calibration (cross-validated)`}; fitted in ${fit.seconds.toFixed(1)} s`);
  });
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
  logger.info(`calibration: ${chosen.selection.reason}`);
  const modelParams: ChurnModelParams = { ...params, kind: chosenKind };
  const model = { features: [...input.features], params: modelParams, scaler, calibrator, backend, encoding: input.encoding ?? null, ...chosen.estimator } as ChurnModel;
  const history: FitHistory = chosen.history ?? { epochs: [], bestEpoch: 0, stoppedEarly: false, classWeights: [1, 1] };

  const rawTest = estimatorRaw(model, estimatorInput(model, xs.test), params.predictBatchSize);
  const probTest = applyCalibrator(calibrator, rawTest);
  const candidates: FittedCandidate[] = kinds.map((kind) => {
    const f = fits.get(kind)!;
    const prob = kind === chosenKind ? probTest : applyCalibrator(f.calibrator, estimatorRaw(f.estimator, estimatorInput(f.estimator, xs.test), params.predictBatchSize));
    return {
      kind, chosen: kind === chosenKind, validLogLoss: { raw: f.rawLoss, calibrated: f.calLoss }, choiceLogLoss: f.choiceLoss,
      calibration: f.calibrator.kind, fitSeconds: f.seconds, details: f.details, testProbability: prob,
    };
  });
  let trainPos = 0;
  for (let i = 0; i < tr.y.length; i++) trainPos += tr.y[i];
  return {
    model, calibrator, scaler, calibrationSelection: chosen.selection, history, trainedEpochs: Boolean(chosen.history), fitSeconds: chosen.seconds,
    requested, backend, params, candidates, source, sets, notes, excludedAlreadyChurned: excluded,
    trainUsers: tr.y.length, validUsers: va.y.length, trainChurnRate: trainPos / tr.y.length,
    test: { rows: testEligible.rows, userIds: te.userIds, label: te.y, raw: rawTest, probability: probTest, design: xs.test },
  };
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
