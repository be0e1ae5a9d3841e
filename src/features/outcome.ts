import type { TargetSpec } from './target.js';

/**
 * How a report names its outcome and baselines (issue 20 part 5): churn by default; a propensity target
 * (`train --target upgrade|event:NAME`) is compared with the §4.3 expansion-readiness score as the rule
 * score, RFM as a value score (R + F + M, higher = better customer) and recency reversed (fewer days since the
 * last activity = more likely), so no baseline is silently scored in the churn direction.
 */
export interface OutcomeNames {
  /** The target of the model ("churn", "upgrade", or the event name). */
  target: string;
  /** Plural nouns of the two classes: "churners" / "stayers", "upgraders" / "non-upgraders". */
  positive: string;
  negative: string;
  /** Baseline labels by scorer name (rule, rfm, recency, majority). */
  baselines: Record<string, string>;
  /** Short labels for one-line summaries (the CLI's scorer line). */
  short: Record<string, string>;
  /** The rule score's top tier, whose share of test users sets the top-share metrics: §4.4 70+ (high risk) or §4.3 75+ (high readiness). */
  topTier: number;
}

export const CHURN_OUTCOME: OutcomeNames = {
  target: 'churn',
  positive: 'churners',
  negative: 'stayers',
  baselines: {
    rule: 'the rule churn-risk score (playbook §4.4)',
    rfm: 'RFM (playbook §6.3)',
    recency: 'recency (days since last activity)',
    majority: 'the majority class (the training churn rate for everyone)',
    bgnbd: 'BG/NBD (the probability of no purchase within the horizon)',
  },
  short: { model: 'model', rule: 'rule churn-risk (4.4)', rfm: 'RFM (6.3)', recency: 'recency', majority: 'majority', bgnbd: 'BG/NBD P(no purchase)' },
  topTier: 70, // playbook §4.4: 70-100 = High risk
};

export function outcomeNames(target: TargetSpec | null | undefined): OutcomeNames {
  if (!target || target.kind === 'churn') return CHURN_OUTCOME;
  const upgrade = target.kind === 'upgrade';
  const name = upgrade ? 'upgrade' : `"${target.event}"`;
  return {
    target: upgrade ? 'upgrade' : (target.event as string),
    positive: upgrade ? 'upgraders' : `users with ${name}`,
    negative: upgrade ? 'non-upgraders' : `users without ${name}`,
    baselines: {
      rule: 'the rule expansion-readiness score (playbook §4.3)',
      rfm: 'RFM value (playbook §6.3, R + F + M)',
      recency: 'recency (fewer days since last activity = more likely)',
      majority: `the majority class (the training ${upgrade ? 'upgrade' : name} rate for everyone)`,
    },
    short: { model: 'model', rule: 'rule expansion readiness (4.3)', rfm: 'RFM value (6.3)', recency: 'recency (recent = likely)', majority: 'majority' },
    topTier: 75, // playbook §4.3: 75-100 = High readiness
  };
}
