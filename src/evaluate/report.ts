/**
 * The evaluation report: the model and the rule churn-risk score (playbook §4.4) measured on the
 * SAME test users, with bootstrap intervals, baselines, calibration and a plain verdict.
 *
 *   y, model probabilities, rule score, baselines
 *     -> bootstrapMetrics (paired resamples, one seed)
 *     -> verdict from the interval of ROC-AUC(model) - ROC-AUC(rule)
 *     -> curves, reliability before/after calibration, permutation importance (given)
 *     -> EvaluationReport (JSON) -> renderEvaluationHtml (html.ts)
 */
import { CohortlabError } from '../shared/errors.js';
import { bootstrapMetrics, type BootstrapResult, type MetricDifference, type ScorerInput, type ScorerMetrics } from './bootstrap.js';
import type { FeatureImportance } from './importance.js';
import { brierScore, logLoss, reliabilityCurve, scoreCurve, type CurvePoint, type ReliabilityBin } from './metrics.js';

/** playbook §4.4: churn_risk_score 70-100 = "High risk (immediate intervention)". */
export const HIGH_RISK_THRESHOLD = 70;


export interface CalibrationSummary {
  kind: string;
  /** Measured on the test users; the calibrator was fitted on the validation users. */
  before: { brier: number; logLoss: number; reliability: ReliabilityBin[] };
  after: { brier: number; logLoss: number; reliability: ReliabilityBin[] };
  /**
   * How trainChurn chose the calibration (src/churn/calibrate.ts selectCalibration): the pooled held-out log loss of
   * each candidate over stratified folds of the validation users (null when a class had fewer than 2), and why.
   */
  selection?: { requested: string; chosen: string; cvLogLoss: { none: number; platt: number; isotonic: number } | null; folds: number; reason: string; rejected: { kind: string; reason: string }[]; plattSlopeBounded?: boolean };
}

/** What was trained on what: filled in by churn/index.ts, kept verbatim in the report. */
export interface EvaluationContext {
  model?: { kind: string; backend: string; features: string[]; params: Record<string, unknown>; calibration: string; seed: number };
  data?: {
    source: 'events' | 'table';
    trainCutoffs?: string[];
    validCutoff?: string;
    testCutoff?: string;
    horizonDays?: number;
    trainUsers: number;
    validUsers: number;
    testUsers: number;
    /** Users already churned at each cutoff, left out of every set. */
    excludedAlreadyChurned?: Record<string, number>;
    notes: string[];
  };
  training?: { epochs: number; bestEpoch: number; stoppedEarly: boolean; seconds: number; history: { epoch: number; trainLoss: number; validLoss: number }[] };
}

export interface EvaluationReport {
  version: 1;
  title: string;
  testUsers: number;
  testChurners: number;
  testChurnRate: number;
  /** Share of test users in the rule's high-risk tier; null without a rule score. */
  highRisk: { threshold: number; share: number } | null;
  /** Scorers: "model", "rule" (when given), "majority", "recency" (when given), "truth" (synthetic only). */
  metrics: Record<string, ScorerMetrics>;
  /** model - rule (ROC-AUC and PR-AUC), paired bootstrap. */
  differences: MetricDifference[];
  bootstrap: { resamples: number; skipped: number; seed: number };
  verdict: { modelBeatsRule: boolean | null; sentence: string };
  /** The AUC of the true churn probability on the same users (synthetic data): the best any model can do. */
  ceiling: { truthAuc: number; modelGap: number } | null;
  calibration: CalibrationSummary | null;
  curves: Record<string, CurvePoint[]>;
  importance: { baseAuc: number; importances: FeatureImportance[] } | null;
  context: EvaluationContext;
}

export interface EvaluationInput {
  title?: string;
  y: Uint8Array;
  /** Calibrated churn probabilities of the model. */
  modelProbability: ArrayLike<number>;
  /** The rule churn_risk_score (0-100) of the same users, or null when there is none (per-user table input). */
  ruleScore?: ArrayLike<number> | null;
  highRiskThreshold?: number;
  /** days_since_last_activity of the same users: the single-feature recency baseline. */
  recency?: ArrayLike<number> | null;
  /** True churn probabilities (synthetic data only): the ceiling. */
  truth?: ArrayLike<number> | null;
  /** Further rule scores to compare with, higher = riskier (e.g. "rfm": 15 - R - F - M of playbook §6.3), with model - score differences. */
  otherRules?: Record<string, ArrayLike<number>>;
  /** Churn rate of the training users: the majority-class baseline predicts it for everyone. */
  trainChurnRate: number;
  seed: number;
  resamples?: number;
  calibration?: CalibrationSummary | null;
  importance?: { baseAuc: number; importances: FeatureImportance[] } | null;
  context?: EvaluationContext;
}

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
const sf3 = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(3)}` : 'n/a');

/** The sentence a reader acts on. Says plainly when the model does not beat the rule score. */
export function verdictSentence(args: { testUsers: number; model: ScorerMetrics; rule: ScorerMetrics | null; diff: MetricDifference | null; baselines: Record<string, ScorerMetrics> }): { modelBeatsRule: boolean | null; sentence: string } {
  const m = args.model.rocAuc;
  if (!m) return { modelBeatsRule: null, sentence: 'ROC-AUC is undefined: the test users contain only one class, so nothing can be concluded.' };
  const mAuc = `ROC-AUC ${f3(m.value)} (95% CI ${f3(m.lo)} to ${f3(m.hi)})`;
  if (!args.rule || !args.rule.rocAuc || !args.diff) {
    const base = Object.entries(args.baselines)
      .filter(([, v]) => v.rocAuc)
      .map(([k, v]) => `${k} ${f3(v.rocAuc!.value)}`)
      .join(', ');
    return { modelBeatsRule: null, sentence: `No rule churn-risk score was available for these ${args.testUsers} test users, so the model (${mAuc}) is compared with baselines only${base ? ` (${base})` : ''}.` };
  }
  const r = args.rule.rocAuc;
  const d = args.diff;
  const body = `on the same ${args.testUsers} test users: model ${mAuc} vs rule churn-risk score (playbook §4.4) ${f3(r.value)}; difference ${sf3(d.value)} (95% CI ${sf3(d.lo)} to ${sf3(d.hi)})`;
  if (d.lo > 0) return { modelBeatsRule: true, sentence: `The model beats the rule churn-risk score ${body}.` };
  if (d.hi < 0) return { modelBeatsRule: false, sentence: `The model does NOT beat the rule churn-risk score: it ranks churners worse ${body}. Keep the rule score.` };
  return { modelBeatsRule: false, sentence: `The model does NOT beat the rule churn-risk score ${body}; the interval includes 0, so these data do not show the model to be better. Keep the rule score.` };
}

export function evaluatePredictions(input: EvaluationInput): EvaluationReport {
  const { y } = input;
  const n = y.length;
  const check = (what: string, a: ArrayLike<number> | null | undefined) => {
    if (a && a.length !== n) throw new CohortlabError('BAD_ARGUMENT', `evaluatePredictions: ${what} has ${a.length} values for ${n} test users; pass it for the same users in the same order.`);
  };
  check('modelProbability', input.modelProbability);
  check('ruleScore', input.ruleScore);
  check('recency', input.recency);
  check('truth', input.truth);
  for (const [name, scores] of Object.entries(input.otherRules ?? {})) check(`otherRules.${name}`, scores);
  let churners = 0;
  for (let i = 0; i < n; i++) churners += y[i];
  const threshold = input.highRiskThreshold ?? HIGH_RISK_THRESHOLD;
  let highRiskShare = 0;
  if (input.ruleScore) {
    let hr = 0;
    for (let i = 0; i < n; i++) if (input.ruleScore[i] >= threshold) hr++;
    highRiskShare = n > 0 ? hr / n : 0;
  }
  const scorers: ScorerInput[] = [{ name: 'model', scores: input.modelProbability, isProbability: true }];
  if (input.ruleScore) scorers.push({ name: 'rule', scores: input.ruleScore, isProbability: false });
  scorers.push({ name: 'majority', scores: new Float64Array(n).fill(input.trainChurnRate), isProbability: true });
  if (input.recency) scorers.push({ name: 'recency', scores: input.recency, isProbability: false });
  if (input.truth) scorers.push({ name: 'truth', scores: input.truth, isProbability: true });
  const others = Object.entries(input.otherRules ?? {});
  for (const [name, scores] of others) scorers.push({ name, scores, isProbability: false });
  const boot: BootstrapResult = bootstrapMetrics(y, scorers, {
    seed: input.seed,
    resamples: input.resamples,
    highRiskShare,
    differences: [...(input.ruleScore ? [['model', 'rule'] as [string, string]] : []), ...others.map(([name]) => ['model', name] as [string, string])],
  });
  const diff = boot.differences.find((d) => d.a === 'model' && d.b === 'rule' && d.metric === 'rocAuc') ?? null;
  const baselines = Object.fromEntries(Object.entries(boot.scorers).filter(([k]) => k === 'majority' || k === 'recency'));
  const verdict = verdictSentence({ testUsers: n, model: boot.scorers.model, rule: boot.scorers.rule ?? null, diff, baselines });
  const truthAuc = boot.scorers.truth?.rocAuc?.value;
  const ceiling = truthAuc !== undefined && boot.scorers.model.rocAuc ? { truthAuc, modelGap: truthAuc - boot.scorers.model.rocAuc.value } : null;
  if (ceiling) verdict.sentence += ` The true churn probability reaches ROC-AUC ${f3(ceiling.truthAuc)} on these users (the ceiling); the model is ${f3(ceiling.modelGap)} below it.`;
  const curves: Record<string, CurvePoint[]> = {};
  for (const s of scorers) if (s.name !== 'majority' && churners > 0 && churners < n) curves[s.name] = scoreCurve(s.scores, y);
  return {
    version: 1,
    title: input.title ?? 'Churn model vs rule churn-risk score',
    testUsers: n,
    testChurners: churners,
    testChurnRate: n > 0 ? churners / n : NaN,
    highRisk: input.ruleScore ? { threshold, share: highRiskShare } : null,
    metrics: boot.scorers,
    differences: boot.differences,
    bootstrap: { resamples: boot.resamples, skipped: boot.skipped, seed: boot.seed },
    verdict,
    ceiling,
    calibration: input.calibration ?? null,
    curves,
    importance: input.importance ?? null,
    context: input.context ?? {},
  };
}

/** Brier and log loss of raw and calibrated probabilities on the same users, with reliability bins. */
export function calibrationSummary(kind: string, y: Uint8Array, raw: ArrayLike<number>, calibrated: ArrayLike<number>, bins = 10): CalibrationSummary {
  const reliability = (p: ArrayLike<number>, lab: Uint8Array) => reliabilityCurve(p, lab, bins);
  return {
    kind,
    before: { brier: brierScore(raw, y), logLoss: logLoss(raw, y), reliability: reliability(raw, y) },
    after: { brier: brierScore(calibrated, y), logLoss: logLoss(calibrated, y), reliability: reliability(calibrated, y) },
  };
}
