import type { EventConfig } from '../ingest/index.js';
import type { FeatureTable } from '../features/index.js';
import type { ReasonCode } from '../churn/index.js';

/**
 * What scoring a set of users produces: the CONTRACT `score` columns. Numeric columns are
 * Float64Array, text columns string[]; `reasons` holds each user's top contributing features.
 */
/** A feature pushing a user's churn probability up or down (log-odds against the training mean). */
export type Reason = ReasonCode;

export interface ScoreResult {
  userIds: string[];
  /** churn_probability, the rule columns (engagement_score ... at_risk_signals, segment_*), cluster, cluster_label, pc1, pc2. */
  columns: Record<string, Float64Array | string[]>;
  reasons: Reason[][];
}

/** A registry version loaded for scoring (CLI `score`, the server, notebooks). */
export interface LoadedModel {
  name: string;
  version: number;
  dir: string;
  /** manifest.json as written by the registry. */
  manifest: Record<string, unknown>;
  config: EventConfig;
  /** The features the churn model and the clustering read, in order. */
  featureNames: string[];
  /** Scores users of a feature table (rules, churn probability, cluster, reasons). */
  score(table: FeatureTable): Promise<ScoreResult>;
  /** report.json (model vs rule evaluation, clusters, dashboard) as written at training time. */
  report: Record<string, unknown>;
}
