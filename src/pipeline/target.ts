import { computeTargetLabels, CHURN_TARGET, withTargetLabels, type FeatureTable, type TargetSpec } from '../features/index.js';
import { asSource, type EventSource } from '../engine/source.js';
import type { EventConfig, EventStore } from '../ingest/index.js';
import { applyRules } from '../rules/index.js';
import { editDistance } from '../shared/names.js';
import { CohortlabError } from '../shared/errors.js';

/**
 * `train --target churn|upgrade|event:NAME` (issue 20 part 5): which outcome a model predicts, checked
 * against the log; the relabelled backtest tables; the rule score and baselines it is compared with; and
 * the name of its probability column in `score` and `/v1/predict`.
 */

/** `churn_probability`, `upgrade_probability`, or `<event in snake_case>_probability` ("Add Friend" -> add_friend_probability). */
export function probabilityColumn(target: Pick<TargetSpec, 'kind' | 'event'> | null | undefined): string {
  if (!target || target.kind === 'churn') return 'churn_probability';
  if (target.kind === 'upgrade') return 'upgrade_probability';
  const snake = String(target.event).normalize('NFKD').replace(/[^A-Za-z0-9]+/g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().replace(/^_+|_+$/g, '');
  return `${snake || 'event'}_probability`;
}

/** Event names of the log that look like `name` (edit distance, or one contains the other), most frequent first. */
export function nearEventNames(name: string, counts: Map<string, number>, max = 5): string[] {
  const n = name.toLowerCase();
  return [...counts.keys()]
    .map((e) => ({ e, d: editDistance(n, e.toLowerCase()), c: counts.get(e) as number }))
    .filter((x) => x.d <= Math.max(2, Math.floor(n.length / 3)) || x.e.toLowerCase().includes(n) || n.includes(x.e.toLowerCase()))
    .sort((a, b) => a.d - b.d || b.c - a.c || a.e.localeCompare(b.e))
    .slice(0, max)
    .map((x) => x.e);
}

async function eventCounts(src: EventSource): Promise<Map<string, number>> {
  const d = src.dialect;
  const r = await src.query(`SELECT event, ${d.double('count(*)')} AS n FROM ${src.relation} AS src GROUP BY event ORDER BY event`);
  const names = r.columns[0] as string[];
  const n = r.columns[1] as Float64Array;
  return new Map(names.map((e, i) => [e, n[i]]));
}

/**
 * Parses `--target` and checks its events against the log: `upgrade` needs the config's `taxonomy.upgrade`
 * with at least one of its events in the log; `event:NAME` needs NAME in the log (else the near names).
 */
export async function resolveTarget(text: string | undefined, config: EventConfig, events: EventStore | EventSource): Promise<TargetSpec> {
  const t = (text ?? 'churn').trim();
  if (t === 'churn') return CHURN_TARGET;
  const src = asSource(events);
  if (t === 'upgrade') {
    const listed = config.taxonomy.upgrade ?? [];
    if (!listed.length) throw new CohortlabError('BAD_CONFIG', `--target upgrade: config "${config.name}" names no upgrade events (taxonomy.upgrade is empty); list them there (e.g. "upgrade": ["Submit Upgrade"]) or give --target event:NAME.`);
    const counts = await eventCounts(src);
    const present = listed.filter((e) => counts.has(e));
    if (!present.length) {
      const near = [...new Set(listed.flatMap((e) => nearEventNames(e, counts)))];
      throw new CohortlabError('TARGET_EVENT_ABSENT', `--target upgrade: none of the upgrade events of config "${config.name}" (${listed.map((e) => JSON.stringify(e)).join(', ')}) occurs in the log${near.length ? `; near names in the log: ${near.map((e) => JSON.stringify(e)).join(', ')}` : ''}; fix taxonomy.upgrade or give --target event:NAME.`);
    }
    return { kind: 'upgrade', event: present.join(', '), events: present };
  }
  if (t.startsWith('event:')) {
    const name = t.slice('event:'.length);
    if (!name) throw new CohortlabError('BAD_ARGUMENT', '--target event:NAME needs an event name after "event:", e.g. --target "event:Add Friend".');
    const counts = await eventCounts(src);
    if (!counts.has(name)) {
      const near = nearEventNames(name, counts);
      throw new CohortlabError('TARGET_EVENT_ABSENT', `--target event:${name}: the event "${name}" does not occur in the log (${counts.size.toLocaleString('en-US')} distinct event names)${near.length ? `; near names: ${near.map((e) => JSON.stringify(e)).join(', ')}` : ''}; event names are case-sensitive.`);
    }
    return { kind: 'event', event: name, events: [name] };
  }
  throw new CohortlabError('BAD_ARGUMENT', `--target must be churn, upgrade or event:NAME, got "${t}".`);
}

/** The backtest tables with the target's labels and its prior doers marked (features/target.ts). */
export async function labelForTarget(events: EventStore | EventSource, tables: FeatureTable[], target: TargetSpec): Promise<FeatureTable[]> {
  if (target.kind === 'churn') return tables;
  const out: FeatureTable[] = [];
  for (const t of tables) out.push(withTargetLabels(t, await computeTargetLabels(events, t, target)));
  return out;
}

/**
 * What a propensity model is compared with on the test users, higher = more likely for both: the §4.3
 * expansion-readiness score and RFM as value (R + F + M; playbook §6.3: 555 = Champions). Recency is turned
 * the right way in trainChurn from the target. (Churn keeps the §4.4 score and rfmRisk in train.ts.)
 */
export function propensityBaselines(rules: ReturnType<typeof applyRules>): { rule: Float64Array; rfm: Float64Array } {
  const [r, f, m] = ['rfm_recency', 'rfm_frequency', 'rfm_monetary'].map((c) => rules.columns[c] as Float64Array);
  // playbook §4.3: expansion readiness 75-100 = "High readiness (proactive outreach, upgrade prompts)"
  return { rule: rules.columns.expansion_readiness_score as Float64Array, rfm: Float64Array.from(r, (_, i) => r[i] + f[i] + m[i]) };
}
