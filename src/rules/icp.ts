import type { FeatureTable } from '../features/index.js';
import { MILESTONE_PREFIX } from '../features/index.js';
import type { EventConfig } from '../ingest/index.js';
import { textTable } from './analysis.js';
import type { RuleOutput } from './types.js';

/**
 * Who to target, from playbook §8 (ICP refinement: best vs worst users) and §5.2 (feature affinity: which
 * features power users combine, and what to recommend to each user). Pure functions over the feature table
 * and the rule output.
 */

// ------------------------------------------------------------------ §8 ICP refinement

/** Mid-ranks in [0, 1] (ties share the mean rank), so composites of different units can be added. */
export function percentileRanks(x: Float64Array): Float64Array {
  const n = x.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const out = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && x[idx[j + 1]] === x[idx[i]]) j++;
    const r = n > 1 ? (i + j) / 2 / (n - 1) : 0.5;
    for (let k = i; k <= j; k++) out[idx[k]] = r;
    i = j + 1;
  }
  return out;
}

export interface IcpAttribute {
  feature: string;
  best: number;
  worst: number;
  /** (best - worst) / standard deviation of the two groups taken together. */
  effect: number;
}

export interface IcpReport {
  users: number;
  bestUsers: number;
  worstUsers: number;
  /** What retention was measured from. */
  retentionSource: 'label' | 'churn_risk_score';
  attributes: IcpAttribute[];
  plans: { plan: string; best: number; worst: number }[];
}

/**
 * playbook §8: best customers = top 20% by retention + revenue + engagement (mean of the three percentile
 * ranks), worst = bottom 20% by retention (ties broken by the same composite); the attributes that differ
 * most between them (mean difference over the standard deviation of both groups together). Retention is the label when present, else 100 - churn risk.
 */
export function icpRefinement(table: FeatureTable, out: RuleOutput, opts: { share?: number; top?: number } = {}): IcpReport {
  const n = table.userIds.length;
  const share = opts.share ?? 0.2;
  const retention = new Float64Array(n);
  const risk = out.columns.churn_risk_score as Float64Array;
  for (let i = 0; i < n; i++) retention[i] = table.label ? 1 - table.label[i] : 100 - risk[i];
  const money = table.columns.monetary_value ?? new Float64Array(n);
  const rr = percentileRanks(retention);
  const mr = percentileRanks(money);
  const er = percentileRanks(out.columns.engagement_score as Float64Array);
  const composite = new Float64Array(n);
  for (let i = 0; i < n; i++) composite[i] = (rr[i] + mr[i] + er[i]) / 3;
  const m = Math.max(1, Math.floor(share * n));
  const ids = Array.from({ length: n }, (_, i) => i);
  const best = [...ids].sort((a, b) => composite[b] - composite[a] || a - b).slice(0, m);
  const worst = [...ids].sort((a, b) => retention[a] - retention[b] || composite[a] - composite[b] || a - b).slice(0, m);
  const attributes: IcpAttribute[] = [];
  for (const [feature, col] of Object.entries(table.columns)) {
    const mb = mean(col, best);
    const mw = mean(col, worst);
    const all = [...best, ...worst];
    const sd = Math.sqrt(variance(col, all, mean(col, all)));
    if (!(sd > 0)) continue;
    attributes.push({ feature, best: mb, worst: mw, effect: (mb - mw) / sd });
  }
  attributes.sort((a, b) => Math.abs(b.effect) - Math.abs(a.effect) || (a.feature < b.feature ? -1 : 1));
  const planNames = [...new Set(table.plan)].sort();
  const plans = planNames.map((p) => ({
    plan: p,
    best: best.filter((i) => table.plan[i] === p).length / best.length,
    worst: worst.filter((i) => table.plan[i] === p).length / worst.length,
  }));
  return { users: n, bestUsers: best.length, worstUsers: worst.length, retentionSource: table.label ? 'label' : 'churn_risk_score', attributes: attributes.slice(0, opts.top ?? 10), plans };
}

function mean(x: Float64Array, idx: number[]): number {
  let s = 0;
  for (const i of idx) s += x[i];
  return idx.length > 0 ? s / idx.length : 0;
}
function variance(x: Float64Array, idx: number[], mu: number): number {
  let s = 0;
  for (const i of idx) s += (x[i] - mu) ** 2;
  return idx.length > 1 ? s / (idx.length - 1) : 0;
}

export function formatIcp(r: IcpReport): string {
  const rows = r.attributes.map((a) => [a.feature, a.best.toFixed(2), a.worst.toFixed(2), a.effect.toFixed(2)]);
  return [
    `ICP refinement (playbook §8): best ${r.bestUsers} users (top 20% by retention + revenue + engagement) vs worst ${r.worstUsers} (bottom 20% by retention, from ${r.retentionSource === 'label' ? 'the churn label' : '100 - churn_risk_score'})`,
    textTable(['attribute', 'best mean', 'worst mean', 'effect (sd)'], rows),
  ].join('\n');
}

// ------------------------------------------------------------------ §5.2 feature affinity

export interface AffinityReport {
  /** Features (activation milestones, the per-feature 0/1 columns the feature table keeps). */
  features: string[];
  powerUsers: number;
  /** cooccurrence[a][b] = share of power users using a who also use b. */
  cooccurrence: number[][];
  /** lift[a][b] = retention of a-users with b / retention of a-users without b - 1; null without a label or users. */
  retentionLift: (number | null)[][];
  /** Per user, up to `top` features to recommend (milestone names). */
  recommendations: string[][];
}

/** playbook §5.2 "feature A users who also use B have 30% higher retention". */
export const AFFINITY_MIN_LIFT = 0.3;

/**
 * playbook §5.2: 1. which features power users combine (co-occurrence among §2.1 Power users); 2. for each
 * user, the features they lack that power users using the same features also use; 3. the top 1-2. With a
 * churn label, a pair (A, B) counts only when A-users with B retain 30%+ better than A-users without B.
 */
export function featureAffinity(table: FeatureTable, out: RuleOutput, config: EventConfig, opts: { top?: number; powerSegment?: string } = {}): AffinityReport {
  const n = table.userIds.length;
  const top = opts.top ?? 2;
  const features = config.activation.milestones.map((m) => m.name).filter((f) => table.columns[MILESTONE_PREFIX + f]);
  const cols = features.map((f) => table.columns[MILESTONE_PREFIX + f]);
  const seg = out.columns.behavioral_segment as string[];
  const power = opts.powerSegment ?? 'Power';
  const k = features.length;
  const both = features.map(() => new Float64Array(k));
  const has = new Float64Array(k);
  let powerUsers = 0;
  for (let i = 0; i < n; i++) {
    if (seg[i] !== power) continue;
    powerUsers++;
    for (let a = 0; a < k; a++) {
      if (cols[a][i] < 0.5) continue;
      has[a]++;
      for (let b = 0; b < k; b++) if (cols[b][i] >= 0.5) both[a][b]++;
    }
  }
  const cooccurrence = both.map((row, a) => Array.from(row, (v) => (has[a] > 0 ? v / has[a] : 0)));
  const label = table.label;
  const retentionLift = features.map((_, a) =>
    features.map((__, b) => {
      if (!label || a === b) return null;
      let withB = 0, withBRet = 0, without = 0, withoutRet = 0;
      for (let i = 0; i < n; i++) {
        if (cols[a][i] < 0.5) continue;
        if (cols[b][i] >= 0.5) {
          withB++;
          withBRet += label[i] === 0 ? 1 : 0;
        } else {
          without++;
          withoutRet += label[i] === 0 ? 1 : 0;
        }
      }
      if (withB === 0 || without === 0 || withoutRet === 0) return null;
      return withBRet / withB / (withoutRet / without) - 1;
    }),
  );
  const base = has.map((h) => (powerUsers > 0 ? h / powerUsers : 0));
  const recommendations: string[][] = new Array(n);
  const score = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    score.fill(0);
    let used = 0;
    for (let a = 0; a < k; a++) {
      if (cols[a][i] < 0.5) continue;
      used++;
      for (let b = 0; b < k; b++) {
        if (cols[b][i] >= 0.5) continue;
        const lift = retentionLift[a][b];
        if (label && (lift === null || lift < AFFINITY_MIN_LIFT)) continue;
        score[b] += cooccurrence[a][b];
      }
    }
    const cand: number[] = [];
    for (let b = 0; b < k; b++) {
      if (cols[b][i] >= 0.5) continue;
      if (used > 0) score[b] /= used;
      else score[b] = base[b]; // a user with no feature yet: what most power users use
      if (score[b] > 0) cand.push(b);
    }
    cand.sort((x, y) => score[y] - score[x] || base[y] - base[x] || x - y);
    recommendations[i] = cand.slice(0, top).map((b) => features[b]);
  }
  return { features, powerUsers, cooccurrence, retentionLift, recommendations };
}
