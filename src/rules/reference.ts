import type { FeatureTable } from '../features/index.js';
import type { EventConfig } from '../ingest/index.js';
import { CohortlabError } from '../shared/errors.js';
import { featureColumn } from './columns.js';
import { DORMANT_DAYS, LIFECYCLE } from './tables/segments.js';

/**
 * Reference thresholds: the playbook rules that compare a user with the user base, fitted once on a
 * reference table and then applied unchanged to any set of users, so a user's rule columns do not depend
 * on who else is scored with them (no train/serve skew):
 *
 *   - §2.3 Power User "Top 10% usage": the avg_weekly_sessions_28d at the top 10% of the reference's
 *     live users (not already churned);
 *   - §6.3 RFM monetary, for logs valued by spend (`monetary: sum_value`): the spend quintile cut points
 *     among the reference's spenders (every user with spend > 0, churned or not: RFM ranks the customer base).
 *
 * `train` fits them on the test cutoff's users (the users the rules are evaluated on) and saves them in
 * the model version (`rules-reference.json`); `score`, `/v1/predict`, `evaluate` and the SQL of
 * `score --emit-sql` use the model's. `rules --features F` fits them on F unless given `--reference MODEL`.
 * No other rule reads the population: the §4 scores and every other segment are per-user bands.
 */
export interface RuleReference {
  kind: 'cohortlab-rule-reference';
  version: 1;
  /**
   * §2.3 "Top 10% usage": a live user needs avg_weekly_sessions_28d >= this (and > 0) to be a Power User;
   * null when the reference had no live user (then nobody is a Power User).
   */
  powerUserMinWeeklySessions: number | null;
  /**
   * §6.3 monetary quintiles of spend among spenders: 4 ascending cut points (spend >= cut k scores k + 1 more);
   * [] when the reference had no spender (every spender then scores 1), null when the config is not valued by spend.
   */
  rfmMonetaryCuts: number[] | null;
  /** Where the thresholds come from. */
  fittedOn: {
    /** What the table was, e.g. "test cutoff of train" or "the features file data/x.parquet". */
    table: string;
    asOf: string;
    users: number;
    liveUsers: number;
    spenders: number;
  };
}

/** playbook §3.4: the inactivity threshold of the product's cadence, or the config's `inactivity_days`. */
export function inactivityThreshold(config: EventConfig): number {
  return config.inactivity_days ?? DORMANT_DAYS[config.cadence];
}

/**
 * 1 for a user already churned at the cutoff: the features' flag (explicit churn event, or idle past the
 * §3.4 threshold of the features' config) or idle past the §3.4 threshold of `config`, so a table built
 * without the flag (a /v1/predict request of features) still marks idle users.
 */
export function alreadyChurnedFlags(table: FeatureTable, threshold: number): Uint8Array {
  const days = featureColumn(table, 'days_since_last_activity', 'the already_churned flag');
  const out = new Uint8Array(table.userIds.length);
  for (let i = 0; i < out.length; i++) out[i] = table.alreadyChurned[i] === 1 || days[i] >= threshold ? 1 : 0;
  return out;
}

/** The value at the top `share` of a column (the smallest value among the top ceil(share*n)); null for an empty column. */
export function topShareThreshold(x: ArrayLike<number>, share: number): number | null {
  if (x.length === 0) return null;
  const sorted = Float64Array.from(x).sort();
  const k = Math.max(1, Math.ceil(share * x.length));
  return sorted[x.length - k];
}

/** Quintile cut points of the positive values: sorted[floor(k n / 5)], k = 1..4; [] without positive values. */
export function quintileCuts(x: ArrayLike<number>): number[] {
  const pos = Float64Array.from(Array.from(x).filter((v) => v > 0)).sort();
  return pos.length > 0 ? [1, 2, 3, 4].map((k) => pos[Math.floor((k * pos.length) / 5)]) : [];
}

/** Fits the reference thresholds on `table` (see RuleReference); `what` says which table it is, for the record. */
export function fitRuleReference(table: FeatureTable, config: EventConfig, what: string): RuleReference {
  const n = table.userIds.length;
  const need = 'the rule reference thresholds';
  const weekly = featureColumn(table, 'avg_weekly_sessions_28d', need);
  const churned = alreadyChurnedFlags(table, inactivityThreshold(config));
  const live: number[] = [];
  for (let i = 0; i < n; i++) if (churned[i] === 0) live.push(weekly[i]);
  // playbook §2.3 "Top 10% usage": of the users still here (users long gone would pull the bar down to 0)
  const top = topShareThreshold(live, LIFECYCLE.powerUser.topShare);
  let cuts: number[] | null = null;
  let spenders = 0;
  if (config.monetary === 'sum_value') {
    const value = featureColumn(table, 'monetary_value', need);
    cuts = quintileCuts(value); // playbook §6.3 "usage volume": quintiles of spend
    for (let i = 0; i < n; i++) if (value[i] > 0) spenders++;
  }
  return {
    kind: 'cohortlab-rule-reference',
    version: 1,
    powerUserMinWeeklySessions: top,
    rfmMonetaryCuts: cuts,
    fittedOn: { table: what, asOf: table.asOf, users: n, liveUsers: live.length, spenders },
  };
}

/** A saved reference, checked: a hand-edited or foreign file fails with a sentence naming it. */
export function parseRuleReference(json: unknown, where: string): RuleReference {
  const bad = (what: string) => new CohortlabError('MODEL_CORRUPT', `${where}: ${what}; re-train the model (or fit the thresholds again with "cohortlab rules --features F").`, { path: where });
  if (typeof json !== 'object' || json === null) throw bad('not a JSON object');
  const r = json as Partial<RuleReference>;
  if (r.kind !== 'cohortlab-rule-reference' || r.version !== 1) throw bad(`kind ${JSON.stringify(r.kind)} version ${JSON.stringify(r.version)} is not a cohortlab-rule-reference version 1`);
  const top = r.powerUserMinWeeklySessions;
  if (top !== null && (typeof top !== 'number' || !Number.isFinite(top))) throw bad(`powerUserMinWeeklySessions is ${JSON.stringify(top)}, not a finite number or null`);
  const cuts = r.rfmMonetaryCuts;
  if (cuts !== null) {
    if (!Array.isArray(cuts) || (cuts.length !== 0 && cuts.length !== 4) || !cuts.every((c) => typeof c === 'number' && Number.isFinite(c))) {
      throw bad(`rfmMonetaryCuts is ${JSON.stringify(cuts)}, not null or a list of 0 or 4 finite numbers`);
    }
    for (let k = 1; k < cuts.length; k++) if (cuts[k] < cuts[k - 1]) throw bad(`rfmMonetaryCuts ${JSON.stringify(cuts)} are not ascending`);
  }
  if (typeof r.fittedOn !== 'object' || r.fittedOn === null) throw bad('fittedOn is missing');
  return r as RuleReference;
}

/** The reference's spend quintiles for a config, or an error when the reference was fitted for a config not valued by spend. */
export function monetaryCutsFor(reference: RuleReference, config: EventConfig): number[] {
  if (config.monetary !== 'sum_value') return [];
  if (reference.rfmMonetaryCuts === null) {
    throw new CohortlabError(
      'MODEL_INCOMPATIBLE',
      `config "${config.name}" values users by spend (monetary: sum_value), but the rule reference thresholds (fitted on ${reference.fittedOn.table}, as of ${reference.fittedOn.asOf}) were fitted for a config that does not, so they hold no §6.3 spend quintiles; fit them with this config (train with it, or "cohortlab rules" without --reference).`,
    );
  }
  return reference.rfmMonetaryCuts;
}

/** One line for logs: what the thresholds are and where they come from. */
export function describeRuleReference(r: RuleReference): string {
  const top = r.powerUserMinWeeklySessions === null ? 'none (no live user)' : `${Number(r.powerUserMinWeeklySessions.toPrecision(4))} sessions/week`;
  const cuts = r.rfmMonetaryCuts === null ? '' : `; §6.3 spend quintile cuts ${r.rfmMonetaryCuts.length ? r.rfmMonetaryCuts.map((c) => Number(c.toPrecision(6))).join(', ') : '(no spender)'} over ${r.fittedOn.spenders} spenders`;
  return `rule reference thresholds fitted on ${r.fittedOn.table} as of ${r.fittedOn.asOf} (${r.fittedOn.liveUsers} live of ${r.fittedOn.users} users): §2.3 Power User top 10% usage >= ${top}${cuts}`;
}
