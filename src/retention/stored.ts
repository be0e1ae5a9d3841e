import type { FeatureTable } from '../features/index.js';
import type { EventSource } from '../engine/index.js';
import type { EventStore } from '../ingest/index.js';
import type { Logger } from '../shared/log.js';
import { computeRetentionViews, retentionSummary, type RetentionBy, type RetentionResult } from './index.js';

/**
 * What a model version holds for `GET /v1/retention`: `retention.json`, the curves by every grouping the server
 * offers, computed once from the events when the version is written (the scored snapshot has no durations:
 * it keeps scores and segments, not first-seen and last-event days). Groups are assigned at `landmark` (train:
 * the test cutoff) and time runs from it to `as_of` (train: the snapshot date), so the groups are not read off
 * the outcome; with no landmark (or one not before as_of) they are assigned at as_of and the view carries the
 * GROUPS_FROM_OUTCOME warning. No cohort table (the server does not serve it), so any engine works.
 */
export const RETENTION_FILE = 'retention.json';
export const RETENTION_VIEWS = ['all', 'segment', 'lifecycle', 'cluster'] as const;
export type RetentionView = (typeof RETENTION_VIEWS)[number];

export interface StoredCurveStep {
  t_days: number;
  at_risk: number;
  churned: number;
  survival: number;
  lower: number;
  upper: number;
}

export interface StoredRetention {
  format: 1;
  as_of: string;
  landmark: string | null;
  /** By view: retentionSummary (groups with medians, log_rank, warnings) plus each group's curve. */
  views: Partial<Record<RetentionView, Record<string, unknown> & { curves: { group: string; steps: StoredCurveStep[] }[] }>>;
}

function view(r: RetentionResult): Record<string, unknown> & { curves: { group: string; steps: StoredCurveStep[] }[] } {
  return {
    ...retentionSummary(r),
    curves: r.curves.map(({ group, curve }) => ({
      group,
      steps: curve.steps.map((s) => ({ t_days: s.tDays, at_risk: s.atRisk, churned: s.churned, survival: s.survival, lower: s.lower, upper: s.upper })),
    })),
  };
}

export async function storedRetention(
  events: EventStore | EventSource,
  opts: { asOf: string; landmark?: string; clusterLabels?: (t: FeatureTable) => Promise<string[]>; features?: FeatureTable[]; logger?: Logger },
): Promise<StoredRetention> {
  const landmark = opts.landmark && opts.landmark < opts.asOf ? opts.landmark : undefined;
  const bys: [RetentionView, RetentionBy][] = [
    ['all', { kind: 'all' }],
    ['segment', { kind: 'segment' }],
    ['lifecycle', { kind: 'lifecycle' }],
  ];
  if (opts.clusterLabels) bys.push(['cluster', { kind: 'labels', name: 'cluster', labels: opts.clusterLabels }]);
  const results = await computeRetentionViews(events, { asOf: opts.asOf, landmark, bys: bys.map((b) => b[1]), withCohorts: false, features: opts.features, logger: opts.logger });
  const views: StoredRetention['views'] = {};
  bys.forEach(([name], i) => (views[name] = view(results[i])));
  return { format: 1, as_of: opts.asOf, landmark: landmark ?? null, views };
}
