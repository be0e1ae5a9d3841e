import {
  applyCalibrator, applyScaler, calibrationWarnings, eligibleRows, estimatorColumnChange, estimatorInput, estimatorRaw, fitChurn, formatSetSizes, labelledRows, setSize,
  type Calibrator, type ChurnFit, type ChurnModel, type DesignPair, type FitChurnInput, type FitHistory, type Matrix, type ScalerState,
} from '../churn/index.js';
import { outcomeNames, type FeatureTable, type TargetSpec } from '../features/index.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { CohortlabError } from '../shared/errors.js';
import { pickScorers } from './bootstrap.js';
import { bootstrapInThread } from './bootstrap-thread.js';
import { permutationImportance } from './importance.js';
import { calibrationSummary, evaluatePredictions, evaluationPlan, type EvaluationContext, type EvaluationInput, type EvaluationReport, type InSampleOverlap, type ModelCandidate, type ReportWarning } from './report.js';

/**
 * The churn model's honest evaluation against the rule score, on held-out users: the evaluate stage's part of
 * `train` (the churn stage only fits and predicts, churn/fit.ts) and of `cohortlab evaluate`.
 *
 *   trainChurn = fitChurn (churn/fit.ts: steps 1-7, the chosen model and every candidate's test probabilities)
 *     -> evaluateChurnFit: every candidate's test metrics (bootstrap), permutation importance, calibration before/after,
 *        evaluatePredictions on the test users: the chosen model vs rule score vs baselines (+ truth) -> EvaluationReport
 */
export interface ChurnEvaluationInput {
  /** The rule churn_risk_score (playbook §4.4) for EVERY row of `test` (table order), or null (per-user tables have none). */
  ruleScoreTest?: Float64Array | null;
  /** True churn probability for every row of `test` (synthetic data: the ceiling). */
  truthTest?: Float64Array | null;
  /** Other rule scores for every row of `test` (higher = riskier), compared with the model like the §4.4 score. */
  otherRulesTest?: Record<string, Float64Array>;
  /** Training/validation label windows that overlap the test one: the verdict is then in_sample. */
  inSample?: InSampleOverlap[] | null;
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
  /**
   * Work of the caller's that needs none of the evaluation (train: scoring the snapshot), run on this thread while
   * the bootstrap runs in a worker one (bootstrap-thread.ts), after permutation importance.
   */
  meanwhile?: () => Promise<void>;
}

export type TrainChurnInput = FitChurnInput & ChurnEvaluationInput;

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

/** Fit (churn stage), then evaluate on the held-out test users (this stage) in one call: the entry point of `cohortlab train`. */
export async function trainChurn(input: TrainChurnInput): Promise<TrainChurnResult> {
  const fit = await fitChurn(input);
  return await evaluateChurnFit(fit, input.test, input);
}

function rowsOf<T>(full: ArrayLike<T> | null | undefined, rows: Uint32Array, what: string, table: FeatureTable): T[] | null {
  if (!full) return null;
  if (full.length !== table.userIds.length) {
    throw new CohortlabError('BAD_ARGUMENT', `${what} has ${full.length} values but the test table (as of ${table.asOf}) has ${table.userIds.length} users; pass one value per row of the test table, in its order.`);
  }
  return Array.from(rows, (i) => full[i]);
}

/** The recency baseline of `rows`, higher = more likely: days since last activity for churn, its negative for a propensity target. */
function recencyBaseline(table: FeatureTable, rows: Uint32Array, target: TargetSpec | null | undefined): number[] | null {
  const col = table.columns.days_since_last_activity;
  if (!col) return null;
  const sign = target && target.kind !== 'churn' ? -1 : 1;
  return Array.from(rows, (i) => sign * col[i]);
}

/** The evaluation of a fit on its test users (`test`, the table fitChurn predicted): the report and every candidate's metrics. */
export async function evaluateChurnFit(fit: ChurnFit, test: FeatureTable, opts: ChurnEvaluationInput = {}): Promise<TrainChurnResult> {
  const logger = opts.logger ?? silentLogger;
  const { model, calibrator, params } = fit;
  const y = fit.test.label;
  const rows = fit.test.rows;
  const rule = rowsOf(opts.ruleScoreTest, rows, 'ruleScoreTest', test);
  const truth = rowsOf(opts.truthTest, rows, 'truthTest', test);
  const otherRules = Object.fromEntries(Object.entries(opts.otherRulesTest ?? {}).map(([k, v]) => [k, rowsOf(v, rows, `otherRulesTest.${k}`, test) as number[]]));
  const recency = recencyBaseline(test, rows, opts.target);
  const base: EvaluationInput = {
    title: opts.title,
    y,
    modelProbability: fit.test.probability,
    ruleScore: rule,
    recency,
    truth,
    otherRules,
    trainChurnRate: fit.trainChurnRate,
    seed: params.seed,
    resamples: opts.resamples,
    inSample: opts.inSample,
    target: opts.target,
  };
  const plan = evaluationPlan(base);
  // The report's bootstrap and every candidate's test metrics, in one bootstrap in a worker thread while importance
  // and `meanwhile` run here. The candidates ride on the report's resamples (the same seed, users and count): each
  // gets the intervals a bootstrap of its own gives, in one pass over the users per resample instead of one per
  // candidate as well. Their share-at-high-risk metrics are not theirs (the rule tier's share): left out.
  const candidateName = (kind: string) => `candidate ${kind}`;
  const booted = bootstrapInThread([
    { y, scorers: [...plan.scorers, ...fit.candidates.map((c) => ({ name: candidateName(c.kind), scores: c.testProbability, isProbability: true }))], opts: plan.options },
  ]);
  // settled below, after this thread's work (which may throw first)
  booted.catch(() => {});
  const importanceInput = estimatorInput(model, fit.test.design);
  const changedRaw = estimatorColumnChange(model, importanceInput);
  const importance = permutationImportance((x) => applyCalibrator(calibrator, estimatorRaw(model, x as Matrix, params.predictBatchSize)), importanceInput, y, model.features, {
    seed: params.seed,
    repeats: opts.importanceRepeats ?? 3,
    predictChanged: changedRaw ? (x, j) => applyCalibrator(calibrator, changedRaw(x as Matrix, j)) : null,
  });
  if (opts.meanwhile) await opts.meanwhile();
  const [boot] = await booted;
  const candidates: ModelCandidate[] = fit.candidates.map((c) => ({
    kind: c.kind, chosen: c.chosen, validLogLoss: c.validLogLoss, choiceLogLoss: c.choiceLogLoss,
    calibration: c.calibration, fitSeconds: c.fitSeconds, details: c.details,
    test: { ...boot.scorers[candidateName(c.kind)], precisionAtHighRiskShare: null, recallAtHighRiskShare: null },
  }));
  for (const c of candidates) if (candidates.length > 1) logger.info(`  ${c.kind.padEnd(8)} test ROC-AUC ${c.test.rocAuc ? `${c.test.rocAuc.value.toFixed(3)} [${c.test.rocAuc.lo.toFixed(3)}, ${c.test.rocAuc.hi.toFixed(3)}]` : 'n/a'}${c.chosen ? ' (chosen)' : ''}`);
  const chosen = fit.candidates.find((c) => c.chosen)!;
  const source = fit.source;
  const history = fit.history;
  const context: EvaluationContext = {
    model: { kind: model.kind, requested: fit.requested, backend: fit.backend, features: model.features, params: { ...model.params, ...chosen.details }, calibration: calibrator.kind, seed: params.seed },
    data: {
      source,
      ...(source === 'events'
        ? { trainCutoffs: fit.sets.filter((s) => s.role === 'train').map((s) => s.cutoff), validCutoff: fit.sets[fit.sets.length - 2].cutoff, testCutoff: test.asOf, horizonDays: test.horizonDays }
        : {}),
      trainUsers: fit.trainUsers,
      validUsers: fit.validUsers,
      testUsers: y.length,
      excludedAlreadyChurned: source === 'events' ? fit.excludedAlreadyChurned : undefined,
      sets: fit.sets,
      notes: fit.notes,
    },
    training: fit.trainedEpochs
      ? { epochs: history.epochs.length, bestEpoch: history.bestEpoch, stoppedEarly: history.stoppedEarly, seconds: fit.fitSeconds, history: history.epochs }
      : { epochs: 0, bestEpoch: 0, stoppedEarly: false, seconds: fit.fitSeconds, history: [] },
  };
  const report = evaluatePredictions({
    ...base,
    calibration: { ...calibrationSummary(calibrator.kind, y, fit.test.raw, fit.test.probability), selection: fit.calibrationSelection },
    importance,
    context,
    warnings: calibrationWarnings(fit.calibrationSelection),
    candidates,
  }, pickScorers(boot, plan.scorers.map((x) => x.name)));
  logger.info(report.verdict.text);
  for (const w of report.warnings) logger.warn(`${w.code}: ${w.message}`);
  return {
    model, calibrator, scaler: fit.scaler, report, history, candidates,
    test: { userIds: fit.test.userIds, probability: fit.test.probability, label: y, raw: fit.test.raw },
  };
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
  let pos = 0;
  for (let i = 0; i < te.y.length; i++) pos += te.y[i];
  const changedRaw = estimatorColumnChange(model, input);
  const importance = permutationImportance((m) => applyCalibrator(model.calibrator, estimatorRaw(model, m as Matrix, model.params.predictBatchSize)), input, te.y, model.features, {
    seed: opts.seed,
    predictChanged: changedRaw ? (m, j) => applyCalibrator(model.calibrator, changedRaw(m as Matrix, j)) : null,
  });
  const report = evaluatePredictions({
    title: opts.title ?? `Churn model on new data as of ${table.asOf}`,
    y: te.y,
    modelProbability: prob,
    ruleScore: rowsOf(opts.ruleScore, el.rows, 'ruleScore', table),
    truth: rowsOf(opts.truth, el.rows, 'truth', table),
    otherRules: Object.fromEntries(Object.entries(opts.otherRules ?? {}).map(([k, v]) => [k, rowsOf(v, el.rows, `otherRules.${k}`, table) as number[]])),
    inSample: opts.inSample,
    warnings: opts.warnings,
    recency: recencyBaseline(table, el.rows, opts.target),
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
