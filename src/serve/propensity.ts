import { rocChartSpec, SCORER_LABELS, type EvaluationReport } from '../evaluate/index.js';
import { outcomeNames } from '../features/index.js';
import { readEventsModel, type ModelStore } from '../registry/index.js';
import { CohortlabError } from '../shared/errors.js';
import type { ChartSpec } from '../shared/charts.js';

/**
 * The upgrade (or event) propensity model the server shows beside the churn model it serves (serve
 * --propensity-model REF; docs/propensity.md "In the explorer"): its stored report.json reduced to what the
 * explorer's "Upgrade model" panel reads (GET /v1/propensity). Read once at startup; /v1/models/reload
 * leaves it as loaded.
 */
export interface RocInterval {
  value: number;
  lo: number;
  hi: number;
}

export interface PropensityAnswer {
  model: { name: string; version: number };
  target: { kind: 'upgrade' | 'event'; event: string | null };
  /** The test cutoff and the label window of the report (null in versions that did not record them). */
  as_of: string | null;
  horizon_days: number | null;
  verdict: { kind: string; text: string; strongest_baseline: string | null };
  evidence: { test_users: number; test_churners: number; test_stayers: number; minimum: number } | null;
  /** ROC-AUC with its 95% bootstrap interval by scorer on the same test users: model, rule (§4.3), recency, rfm, majority. */
  metrics: Record<string, RocInterval>;
  /** ROC-AUC of the true probability on the same users (synthetic data only), else null. */
  ceiling: number | null;
  charts: { roc: ChartSpec };
}

/** Scorer names of a propensity report's charts (features/outcome.ts), the truth's as for churn. */
export function propensityLabels(target: { kind: 'upgrade' | 'event'; event: string | null; events?: string[] }): Record<string, string> {
  return { ...outcomeNames({ kind: target.kind, event: target.event, events: target.events ?? [] }).short, truth: SCORER_LABELS.truth };
}

/** Loads a registry version's report for the panel; a churn model (or one without an evaluation) is refused. */
export async function loadPropensity(ref: string, store: ModelStore): Promise<PropensityAnswer> {
  const data = await readEventsModel(store, ref);
  const ev = data.report.evaluation as EvaluationReport | undefined;
  const target = data.params.target ?? (ev?.target ? { kind: ev.target.kind, event: ev.target.event } : undefined);
  const kind = target?.kind;
  if (!target || !kind || kind === 'churn') {
    throw new CohortlabError('BAD_ARGUMENT', `--propensity-model ${ref} (${data.label}) is a churn model; pass a version trained with train --target upgrade or --target event:NAME (docs/propensity.md).`);
  }
  if (!ev?.verdict || !ev.metrics?.model) throw new CohortlabError('MODEL_CORRUPT', `${data.label} has no evaluation in its report.json; re-train it.`);
  const metrics: Record<string, RocInterval> = {};
  const shown = { kind, event: target.event ?? null, events: data.params.target?.events ?? [] };
  for (const [scorer, m] of Object.entries(ev.metrics)) {
    if (scorer === 'truth' || !m.rocAuc) continue;
    metrics[scorer] = { value: m.rocAuc.value, lo: m.rocAuc.lo, hi: m.rocAuc.hi };
  }
  return {
    model: { name: data.name, version: data.version },
    target: { kind, event: shown.event },
    as_of: ev.context?.data?.testCutoff ?? null,
    horizon_days: ev.context?.data?.horizonDays ?? null,
    verdict: { kind: ev.verdict.kind, text: ev.verdict.text, strongest_baseline: ev.verdict.strongest_baseline ?? null },
    evidence: ev.evidence ?? null,
    metrics,
    ceiling: ev.ceiling ? ev.ceiling.truthAuc : null,
    // The churn panel's ROC builder with the target's scorer names (§4.3 readiness, value RFM, recent = likely);
    // only the ROC: the gain and lift charts' axes name churners (src/evaluate/charts.ts).
    charts: { roc: rocChartSpec(ev.curves, propensityLabels(shown)) },
  };
}
