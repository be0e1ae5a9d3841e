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
