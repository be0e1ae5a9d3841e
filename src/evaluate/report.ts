/**
 * The evaluation report: the model and the rule churn-risk score (playbook §4.4) measured on the
 * SAME test users, with bootstrap intervals, baselines, calibration and a plain verdict.
 *
 *   y, model probabilities, rule score, baselines
 *     -> bootstrapMetrics (paired resamples, one seed)
 *     -> verdict (decideVerdict): evidence minimum, in-sample guard, paired ROC-AUC differences to every baseline
 *     -> curves, reliability before/after calibration, permutation importance (given)
 *     -> EvaluationReport (JSON) -> renderEvaluationHtml (html.ts)
 */
import type { DriftReport } from './drift-report.js';
import type { DataSetSize } from '../churn/index.js';
import { CohortlabError } from '../shared/errors.js';
import { bootstrapMetrics, pickScorers, type BootstrapOptions, type BootstrapResult, type MetricDifference, type ScorerInput, type ScorerMetrics } from './bootstrap.js';
import type { FeatureImportance } from './importance.js';
import { brierScore, logLoss, reliabilityCurve, scoreCurve, type CurvePoint, type ReliabilityBin } from './metrics.js';
import { CHURN_OUTCOME, outcomeNames, type OutcomeNames } from '../features/index.js';
import type { TargetSpec } from '../features/index.js';

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

/** What was trained on what: filled in by evaluate/churn.ts, kept verbatim in the report. */
export interface EvaluationContext {
  model?: { kind: string; /** What `--model` asked for (auto or a kind). */ requested?: string; backend: string; features: string[]; params: Record<string, unknown>; calibration: string; seed: number };
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
    /** Users and churners of every set, per cutoff (what `train` and `evaluate` print). */
    sets?: DataSetSize[];
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
  verdict: Verdict;
  evidence: Evidence;
  /** Label-window overlaps with the model's own training/validation outcomes (evaluate); empty when out of sample. */
  inSample: InSampleOverlap[];
  /** Data and evidence warnings (CONTRACT.md: `[{ code, message }]`, codes in docs/errors.md). */
  warnings: ReportWarning[];
  /** The AUC of the true churn probability on the same users (synthetic data): the best any model can do. */
  ceiling: { truthAuc: number; modelGap: number } | null;
  calibration: CalibrationSummary | null;
  curves: Record<string, CurvePoint[]>;
  importance: { baseAuc: number; importances: FeatureImportance[] } | null;
  /** The model kinds fitted by train and how the one in `metrics.model` was chosen (absent for evaluate). */
  candidates?: ModelCandidate[];
  /** What the label is (issue 20 part 5); absent = churn. report.json `target: { kind, event }`. */
  target?: { kind: TargetSpec['kind']; event: string | null };
  /** evaluate on new data: the evaluated users' drift against the version's training snapshot (issue 21); null when it has no reference. */
  drift?: DriftReport | null;
  context: EvaluationContext;
}

/**
 * One churn model kind fitted by `train` (all three with --model auto, one when forced): its validation
 * log loss (what the choice used), its calibration, and its metrics on the SAME test users as the verdict
 * (seeded bootstrap intervals). The verdict is about the chosen one only (`metrics.model`).
 */
export interface ModelCandidate {
  kind: string;
  chosen: boolean;
  /** Log loss on the validation users of the training-only fit: raw probabilities, and after its calibration (cross-validated inside the validation users; null when no CV was possible). */
  validLogLoss: { raw: number; calibrated: number | null };
  /** The number the choice compared: calibrated when available, else raw. */
  choiceLogLoss: number;
  calibration: string;
  fitSeconds: number;
  details: Record<string, unknown>;
  test: ScorerMetrics;
}

export interface ReportWarning {
  code: string;
  message: string;
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
  /** Overlaps of the evaluated label window with the model's training/validation ones (`evaluate`). */
  inSample?: InSampleOverlap[] | null;
  /** Per-class evidence minimum (default EVIDENCE_MINIMUM). */
  minimum?: number;
  warnings?: ReportWarning[];
  candidates?: ModelCandidate[];
  /** The label's target (default churn): names the classes and baselines in the verdict (outcome.ts). */
  target?: TargetSpec | null;
}

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
const sf3 = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(3)}` : 'n/a');

/**
 * Evidence minimum (docs/churn.md "Evidence minimums"): a verdict needs at least this many test churners AND
 * this many test stayers. Chosen by simulation (test/evaluate/evidence.test.ts): at 50 of each the paired
 * bootstrap's 95% interval of ROC-AUC covers the true value in >= 90% of draws, calls an equal model "better"
 * in <= 5%, and is about 0.20 wide, so a 0.1 gain can show; at 10 churners the interval is 0.3-0.5 wide.
 */
export const EVIDENCE_MINIMUM = 50;

export type VerdictKind = 'better' | 'not_better' | 'insufficient_evidence' | 'in_sample';

/** What a reader and a script act on (CONTRACT.md: report.json `verdict`). */
export interface Verdict {
  kind: VerdictKind;
  text: string;
  /** The alternative with the highest ROC-AUC on the same users: rule, rfm, recency, majority (or another rule score). */
  strongest_baseline: string | null;
  /** Whether the model's ROC-AUC is above the rule churn-risk score's with a paired interval above 0; null without a rule score or without evidence. */
  model_beats_rule: boolean | null;
  /** Baselines whose whole ROC-AUC interval lies below 0.5 (they rank stayers above churners). */
  inverted: string[];
}

/** CONTRACT.md: report.json `evidence`. `minimum` is per class (churners and stayers each). */
export interface Evidence {
  test_users: number;
  test_churners: number;
  test_stayers: number;
  minimum: number;
}

/** A label window of the evaluated users overlaps one the model was fitted or calibrated on. */
export interface InSampleOverlap {
  role: 'train' | 'validation';
  cutoff: string;
  /** Label window of that cutoff, and of the evaluated one (ISO dates, end exclusive). */
  window: [string, string];
  evaluated: [string, string];
  days: number;
}

export function baselineLabel(name: string, outcome: OutcomeNames = CHURN_OUTCOME): string {
  return outcome.baselines[name] ?? `the "${name}" score`;
}

const ci = (x: { value: number; lo: number; hi: number }) => `${f3(x.value)} (95% CI ${f3(x.lo)} to ${f3(x.hi)})`;
const dci = (x: { value: number; lo: number; hi: number }) => `${sf3(x.value)} (95% CI ${sf3(x.lo)} to ${sf3(x.hi)})`;

export interface VerdictArgs {
  evidence: Evidence;
  model: ScorerMetrics;
  /** Every alternative measured on the same users (not the truth). */
  baselines: Record<string, ScorerMetrics>;
  /** model - baseline ROC-AUC, paired, for every baseline. */
  differences: Record<string, MetricDifference>;
  inSample?: InSampleOverlap[] | null;
  /** Class and baseline names (default churn). */
  outcome?: OutcomeNames;
}

/**
 * The verdict (docs/churn.md "Verdicts"): in_sample when the evaluated outcomes overlap the model's own
 * training or validation outcomes; insufficient_evidence below EVIDENCE_MINIMUM churners or stayers;
 * better only when the paired interval of model - baseline ROC-AUC lies above 0 for EVERY baseline;
 * otherwise not_better, naming the alternative that holds the model back. Never advises keeping the rule
 * score when another baseline beats it; an inverted baseline (AUC interval below 0.5) is called so.
 */
export function decideVerdict(args: VerdictArgs): Verdict {
  const { evidence: ev } = args;
  const o = args.outcome ?? CHURN_OUTCOME;
  const m = args.model.rocAuc;
  if (!m) throw new CohortlabError('ONE_CLASS', `the ${ev.test_users} test users are all ${ev.test_churners ? 'churners' : 'stayers'}: ROC-AUC is undefined and nothing can be concluded; pick a cutoff or horizon where both outcomes occur.`);
  const aucs = Object.entries(args.baselines)
    .filter(([, v]) => v.rocAuc)
    .map(([k, v]) => ({ name: k, auc: v.rocAuc! }))
    .sort((a, b) => b.auc.value - a.auc.value || a.name.localeCompare(b.name));
  const strongest = aucs[0]?.name ?? null;
  const inverted = aucs.filter((a) => a.auc.hi < 0.5).map((a) => a.name);
  const invertedText = inverted.map((n) => {
    const a = aucs.find((x) => x.name === n)!.auc;
    const label = baselineLabel(n, o);
    return ` ${label[0].toUpperCase()}${label.slice(1)} is inverted on these users: it ranks ${o.negative} above ${o.positive} (ROC-AUC ${ci(a)}).`;
  }).join('');
  const sizes = `${ev.test_users.toLocaleString('en-US')} test users (${ev.test_churners.toLocaleString('en-US')} ${o.positive}, ${ev.test_stayers.toLocaleString('en-US')} ${o.negative})`;
  const strongestText = strongest ? `${baselineLabel(strongest, o)} ${ci(aucs[0].auc)}` : 'no alternative';
  const ruleDiff = args.differences.rule;
  const modelBeatsRule = ruleDiff && Number.isFinite(ruleDiff.lo) ? ruleDiff.lo > 0 : null;
  const measured = `model ROC-AUC ${ci(m)} vs the strongest alternative, ${strongestText}`;
  if (args.inSample?.length) {
    const o = args.inSample[0];
    const more = args.inSample.length > 1 ? ` (and ${args.inSample.length - 1} more cutoff${args.inSample.length > 2 ? 's' : ''})` : '';
    return {
      kind: 'in_sample',
      text: `In-sample: the outcomes of these ${sizes} (${o.evaluated[0]} to ${o.evaluated[1]}) overlap by ${o.days} day(s) the outcomes the model was fitted on at its ${o.role} cutoff ${o.cutoff} (${o.window[0]} to ${o.window[1]})${more}, so the figures are not evidence of how it does on new data: ${measured}.${invertedText}`,
      strongest_baseline: strongest,
      model_beats_rule: null,
      inverted,
    };
  }
  if (ev.test_churners < ev.minimum || ev.test_stayers < ev.minimum) {
    return {
      kind: 'insufficient_evidence',
      text: `Insufficient evidence: ${sizes}; a verdict needs at least ${ev.minimum} ${o.positive} and ${ev.minimum} ${o.negative} (docs/churn.md), so this says neither better nor worse. Measured anyway: ${measured}.${invertedText}`,
      strongest_baseline: strongest,
      model_beats_rule: null,
      inverted,
    };
  }
  const diffs = aucs.map((a) => ({ name: a.name, d: args.differences[a.name] })).filter((x) => x.d && Number.isFinite(x.d.value));
  const blocking = diffs.filter((x) => !(x.d.lo > 0)).sort((a, b) => a.d.lo - b.d.lo);
  const others = (skip: string | null) => diffs.filter((x) => x.name !== skip).map((x) => `${x.name} ${sf3(x.d.value)}`).join(', ');
  if (blocking.length === 0 && strongest) {
    const d = args.differences[strongest];
    const rest = others(strongest);
    return {
      kind: 'better',
      text: `The model beats every alternative on the same ${sizes}: ${measured}; difference ${dci(d)}${rest ? `; against the others: ${rest}` : ''}.${invertedText}`,
      strongest_baseline: strongest,
      model_beats_rule: modelBeatsRule,
      inverted,
    };
  }
  const b = blocking[0] ?? { name: strongest as string, d: args.differences[strongest as string] };
  const label = baselineLabel(b.name, o);
  const bAuc = args.baselines[b.name]?.rocAuc;
  const advice = b.name === 'majority'
    ? `the model does not rank ${o.positive} better than chance here`
    : b.d.hi < 0
      ? `${label} ranks ${o.positive} better; keep ${label}`
      : `the interval includes 0, so these data do not show the model to be better than ${label}, which does as well and is simpler`;
  return {
    kind: 'not_better',
    text: `The model does NOT beat ${label} on the same ${sizes}: model ROC-AUC ${ci(m)} vs ${bAuc ? ci(bAuc) : 'n/a'}; difference ${dci(b.d)}: ${advice}.${strongest && strongest !== b.name ? ` The strongest alternative by ROC-AUC is ${strongestText}.` : ''}${invertedText}`,
    strongest_baseline: strongest,
    model_beats_rule: modelBeatsRule,
    inverted,
  };
}

/** What evaluatePredictions measures: its scorers (model, baselines, truth) and the bootstrap's options, checked. */
export interface EvaluationPlan {
  scorers: ScorerInput[];
  options: BootstrapOptions;
  churners: number;
  threshold: number;
  highRiskShare: number;
  /** The scorers the model is compared with (every one but the model and the truth). */
  baselineNames: string[];
}

export function evaluationPlan(input: EvaluationInput): EvaluationPlan {
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
  const threshold = input.highRiskThreshold ?? (input.target && input.target.kind !== 'churn' ? outcomeNames(input.target).topTier : HIGH_RISK_THRESHOLD);
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
  if (churners === 0 || churners === n) {
    throw new CohortlabError('ONE_CLASS', `the ${n} test users are all ${churners ? 'churners' : 'stayers'}: ROC-AUC is undefined and nothing can be concluded; pick a cutoff or horizon where both outcomes occur (cohortlab profile shows the churn share).`);
  }
  const baselineNames = scorers.map((s) => s.name).filter((k) => k !== 'model' && k !== 'truth');
  const options: BootstrapOptions = {
    seed: input.seed,
    resamples: input.resamples,
    highRiskShare,
    differences: baselineNames.map((b) => ['model', b] as [string, string]),
  };
  return { scorers, options, churners, threshold, highRiskShare, baselineNames };
}

/**
 * The evaluation report of `input`. `boot` is bootstrapMetrics of evaluationPlan(input)'s scorers and options, when
 * the caller measured it already (in a worker thread, possibly beside scorers of its own: only the plan's are read).
 */
export function evaluatePredictions(input: EvaluationInput, boot?: BootstrapResult): EvaluationReport {
  const { y } = input;
  const n = y.length;
  const { scorers, churners, threshold, highRiskShare, baselineNames, options } = evaluationPlan(input);
  const measured = pickScorers(boot ?? bootstrapMetrics(y, scorers, options), scorers.map((s) => s.name));
  const rocDiffs = Object.fromEntries(measured.differences.filter((d) => d.a === 'model' && d.metric === 'rocAuc').map((d) => [d.b, d]));
  const evidence: Evidence = { test_users: n, test_churners: churners, test_stayers: n - churners, minimum: input.minimum ?? EVIDENCE_MINIMUM };
  const outcome = outcomeNames(input.target);
  const verdict = decideVerdict({
    outcome,
    evidence,
    model: measured.scorers.model,
    baselines: Object.fromEntries(baselineNames.map((b) => [b, measured.scorers[b]])),
    differences: rocDiffs,
    inSample: input.inSample,
  });
  const warnings = [...(input.warnings ?? [])];
  if (verdict.kind === 'insufficient_evidence') warnings.push({ code: 'INSUFFICIENT_EVIDENCE', message: `${churners} test ${outcome.positive} and ${n - churners} test ${outcome.negative}; a verdict needs ${evidence.minimum} of each.` });
  if (verdict.kind === 'in_sample') warnings.push({ code: 'IN_SAMPLE', message: `the evaluated outcomes overlap the model's own training/validation outcomes (${(input.inSample ?? []).map((o) => `${o.role} cutoff ${o.cutoff}: ${o.days} day(s)`).join('; ')}).` });
  for (const b of verdict.inverted) warnings.push({ code: 'INVERTED_BASELINE', message: `${baselineLabel(b, outcome)} ranks ${outcome.negative} above ${outcome.positive} on these users (ROC-AUC ${ci(measured.scorers[b].rocAuc!)}).` });
  const truthAuc = measured.scorers.truth?.rocAuc?.value;
  const ceiling = truthAuc !== undefined && measured.scorers.model.rocAuc ? { truthAuc, modelGap: truthAuc - measured.scorers.model.rocAuc.value } : null;
  if (ceiling) verdict.text += ` The true ${outcome.target} probability reaches ROC-AUC ${f3(ceiling.truthAuc)} on these users (the ceiling); the model is ${f3(ceiling.modelGap)} below it.`;
  const curves: Record<string, CurvePoint[]> = {};
  for (const s of scorers) if (s.name !== 'majority' && churners > 0 && churners < n) curves[s.name] = scoreCurve(s.scores, y);
  return {
    version: 1,
    title: input.title ?? 'Churn model vs rule churn-risk score',
    testUsers: n,
    testChurners: churners,
    testChurnRate: n > 0 ? churners / n : NaN,
    highRisk: input.ruleScore ? { threshold, share: highRiskShare } : null,
    metrics: measured.scorers,
    differences: measured.differences,
    bootstrap: { resamples: measured.resamples, skipped: measured.skipped, seed: measured.seed },
    verdict,
    evidence,
    inSample: input.inSample ?? [],
    warnings,
    ceiling,
    calibration: input.calibration ?? null,
    curves,
    importance: input.importance ?? null,
    ...(input.candidates ? { candidates: input.candidates } : {}),
    ...(input.target && input.target.kind !== 'churn' ? { target: { kind: input.target.kind, event: input.target.event } } : {}),
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
