/**
 * The rule stage: every model of the segmentation playbook (scores, tiers, segments), the §6.1
 * segment-rule language, and the §8-§10 analyses. Other stages and the server import from here only.
 */
export type { RuleOutput, RuleColumn, SegmentRule, Expr, Band, BandTable, Tier, SourcePos, Refresh } from './types.js';
export { applyRules, explainUser, CONTRACT_RULE_COLUMNS, SEGMENT_COLUMN_PREFIX, type ApplyRulesOptions } from './engine.js';
export {
  fitRuleReference, parseRuleReference, describeRuleReference, alreadyChurnedFlags, monetaryCutsFor, topShareThreshold, quintileCuts,
  type RuleReference,
} from './reference.js';
export { loadSegmentRules, defaultRulesDir, RULE_FILE_EXTENSION } from './load.js';
export { parseSegmentRules, slugify, REFRESH_VALUES } from './dsl/parse.js';
export { evaluateCondition, evaluateSegment, formatExpr } from './dsl/evaluate.js';
export { FUNCTIONS as RULE_FUNCTIONS, NAMES as RULE_NAMES, type EvalContext } from './dsl/functions.js';
export { engagementScore, activationScore, expansionReadinessScore, churnRiskScore, type RuleScore } from './scores.js';
export {
  atRiskSignals, behavioralSegments, lifecycleStages, dormantSubsegments, champions, intentSegments, planSegments,
  salesTiers, campaigns, rfm, inactivityThreshold,
} from './segments.js';
export { bandIndex, bandValue, bandPoints, bandLabels, bandInterval } from './bands.js';
export { ENGAGEMENT_TIERS, ACTIVATION_TIERS, EXPANSION_TIERS, CHURN_TIERS } from './tables/scores.js';
export { RFM_SEGMENTS, rfmSegmentTables } from './tables/rfm.js';
export {
  segmentDashboard, formatDashboard, transitionMatrix, formatTransitions, antiPatternWarnings, GONE, NEW, ANTI_PATTERN,
  type Dashboard, type DashboardRow, type TransitionMatrix, type AntiPatternWarning, type AntiPatternCode,
} from './analysis.js';
export {
  icpRefinement, formatIcp, featureAffinity, percentileRanks, AFFINITY_MIN_LIFT, type IcpReport, type IcpAttribute, type AffinityReport,
} from './icp.js';
export { renderRulesDoc } from './docs.js';
export { compileCondition, ruleColumnsSql, RULE_EXTRA_COLUMNS, type RuleColumnsSql } from './sql.js';
export { ladderColumns, ladderLabels, ladderSql, type Ladder, type LadderParam, type LadderParams, type LadderRung, type LadderTest } from './ladder.js';
export { SEGMENT_LADDERS } from './tables/ladders.js';
export { segmentChanges, type Snapshot, type SegmentChange } from './changes.js';
