import type { FeatureTable } from '../features/index.js';
import { CohortlabError } from '../shared/errors.js';
import { SEGMENT_COLUMN_PREFIX } from './engine.js';
import { BEHAVIORAL_ACTIONS } from './tables/actions.js';
import { BEHAVIORAL_SEGMENTS } from './tables/segments.js';
import type { RuleOutput, SegmentRule } from './types.js';

/**
 * The segment analyses of playbook §9 (dashboard, transitions) and §10 (anti-pattern warnings); §8 ICP
 * refinement and §5.2 feature affinity are in icp.ts. Pure functions over the feature table and the rule output.
 */

// ------------------------------------------------------------------ §9.1 cross-segment dashboard

export interface DashboardRow {
  segment: string;
  users: number;
  /** users / all users (0-1). */
  share: number;
  /** Of them, users already churned at the cutoff (`already_churned`): counted apart, not in retention. */
  alreadyChurned: number;
  /** Share of the live users (not already churned) not churned within the label horizon (0-1); null without a label or live user. */
  retention: number | null;
  /** Share on a paid plan (is_paid). */
  paidConversion: number;
  /** Mean monetary_value (plan value, or spend for spend logs). */
  avgRevenue: number;
  /** §2.1 action of a behavioral segment, or the rule file's action. */
  action: string;
}

export interface Dashboard {
  by: string;
  users: number;
  /** Users already churned at the cutoff (the rest are live): the §9.1 figures count them apart. */
  alreadyChurned: number;
  rows: DashboardRow[];
  /** Horizon (days) of the label retention is measured on; null when the features carry no label. */
  retentionHorizonDays: number | null;
  /** Overlapping segments of the rule files: users and share each. */
  ruleSegments: { column: string; name: string; users: number; alreadyChurned: number; share: number; action: string }[];
}

function labelsOf(out: RuleOutput, by: string): string[] {
  const c = out.columns[by];
  if (!c) throw new CohortlabError('BAD_ARGUMENT', `the rules output has no column "${by}"; columns: ${Object.keys(out.columns).join(', ')}.`);
  return Array.isArray(c) ? c : Array.from(c, (v) => String(v));
}

/** Rows in the playbook's order for behavioral segments (all five always shown), by size otherwise. */
function orderLabels(labels: string[], by: string): string[] {
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  if (by === 'behavioral_segment') {
    const known = BEHAVIORAL_SEGMENTS.filter((s) => s !== 'Unsegmented' || counts.has(s));
    const extra = [...counts.keys()].filter((l) => !(BEHAVIORAL_SEGMENTS as readonly string[]).includes(l)).sort();
    return [...known, ...extra];
  }
  return [...counts.keys()].sort((a, b) => counts.get(b)! - counts.get(a)! || (a < b ? -1 : 1));
}

export function segmentDashboard(table: FeatureTable, out: RuleOutput, opts: { by?: string; segments?: SegmentRule[] } = {}): Dashboard {
  const by = opts.by ?? 'behavioral_segment';
  const labels = labelsOf(out, by);
  const n = labels.length;
  const order = orderLabels(labels, by);
  const index = new Map(order.map((l, k) => [l, k]));
  const k = order.length;
  const users = new Float64Array(k);
  const retained = new Float64Array(k);
  const paid = new Float64Array(k);
  const revenue = new Float64Array(k);
  const isPaid = table.columns.is_paid;
  const money = table.columns.monetary_value;
  const label = table.label;
  const flag = out.columns.already_churned;
  const gone = flag instanceof Float64Array ? flag : Float64Array.from(table.alreadyChurned);
  const churned = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const s = index.get(labels[i])!;
    users[s]++;
    if (gone[i] >= 1) churned[s]++;
    else if (label) retained[s] += label[i] === 0 ? 1 : 0;
    if (isPaid) paid[s] += isPaid[i] >= 1 ? 1 : 0;
    if (money) revenue[s] += money[i];
  }
  const rows: DashboardRow[] = order.map((segment, s) => ({
    segment,
    users: users[s],
    share: n > 0 ? users[s] / n : 0,
    alreadyChurned: churned[s],
    retention: label && users[s] - churned[s] > 0 ? retained[s] / (users[s] - churned[s]) : null,
    paidConversion: users[s] > 0 ? paid[s] / users[s] : 0,
    avgRevenue: users[s] > 0 ? revenue[s] / users[s] : 0,
    action: by === 'behavioral_segment' ? (BEHAVIORAL_ACTIONS as Record<string, { action: string }>)[segment]?.action ?? '' : '',
  }));
  const ruleSegments = (opts.segments ?? []).map((r) => {
    const c = out.columns[SEGMENT_COLUMN_PREFIX + r.slug] as Float64Array | undefined;
    let m = 0;
    let g = 0;
    if (c) for (let i = 0; i < c.length; i++) {
      m += c[i];
      if (c[i] >= 1 && gone[i] >= 1) g++;
    }
    return { column: SEGMENT_COLUMN_PREFIX + r.slug, name: r.name, users: m, alreadyChurned: g, share: n > 0 ? m / n : 0, action: r.action ?? '' };
  });
  return { by, users: n, alreadyChurned: churned.reduce((a, b) => a + b, 0), rows, retentionHorizonDays: label ? table.horizonDays ?? null : null, ruleSegments };
}

const pct = (x: number | null, digits = 1) => (x === null ? 'n/a' : `${(100 * x).toFixed(digits)}%`);
const pad = (s: string, w: number, right = false) => (right ? s.padStart(w) : s.padEnd(w));

export function textTable(header: string[], rows: string[][], rightFrom = 1): string {
  const w = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((v, c) => pad(v, w[c], c >= rightFrom)).join('  ').trimEnd();
  return [line(header), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(line)].join('\n');
}

export function formatDashboard(d: Dashboard): string {
  const retention = d.retentionHorizonDays === null ? 'retention' : `${d.retentionHorizonDays}-day retention`;
  const rows = d.rows.map((r) => [r.segment, String(r.users), String(r.alreadyChurned), pct(r.share), pct(r.retention), pct(r.paidConversion), r.avgRevenue.toFixed(2)]);
  const total = d.rows.reduce((a, r) => a + r.users, 0);
  rows.push(['Total', String(total), String(d.alreadyChurned), pct(d.users > 0 ? total / d.users : 0), '', '', '']);
  const parts = [
    `Cross-segment dashboard (playbook §9.1) by ${d.by}, ${d.users} users: ${d.users - d.alreadyChurned} live, ${d.alreadyChurned} already churned at the cutoff (retention over live users only)`,
    textTable(['segment', 'users', 'already churned', 'share', retention, 'paid conversion', 'avg revenue'], rows),
  ];
  if (d.retentionHorizonDays === null) parts.push('(retention: n/a, the features carry no churn label; compute them with --horizon-days over data that covers the horizon)');
  if (d.ruleSegments.length > 0) {
    parts.push('', 'Rule-file segments (playbook §6.1; they may overlap)');
    parts.push(textTable(['segment', 'users', 'already churned', 'share'], d.ruleSegments.map((s) => [s.name, String(s.users), String(s.alreadyChurned), pct(s.share)])));
  }
  return parts.join('\n');
}

// ------------------------------------------------------------------ §9.2 transition matrix

export const GONE = '(gone)';
export const NEW = '(new)';

export interface TransitionMatrix {
  by: string;
  /** Row labels: segments of the `from` snapshot, then NEW when users appear only in `to`. */
  from: string[];
  /** Column labels: segments of the `to` snapshot, then GONE when users of `from` are missing in `to`. */
  to: string[];
  counts: number[][];
  /** Row shares (0-1); every row with users sums to 1. */
  shares: number[][];
  matched: number;
  /** Users in `from` only (counted in the GONE column). */
  onlyInFrom: number;
  /** Users in `to` only (counted in the NEW row). */
  onlyInTo: number;
}

function labelOrder(labels: Iterable<string>): string[] {
  const set = new Set(labels);
  const known = (BEHAVIORAL_SEGMENTS as readonly string[]).filter((s) => set.has(s));
  return [...known, ...[...set].filter((s) => !known.includes(s)).sort()];
}

/**
 * playbook §9.2: how users moved between two snapshots. Users are matched by id; a user missing from
 * `to` goes to the "(gone)" column, a user only in `to` comes from the "(new)" row.
 */
export function transitionMatrix(
  from: { userIds: string[]; labels: string[] },
  to: { userIds: string[]; labels: string[] },
  by = 'behavioral_segment',
): TransitionMatrix {
  const toIndex = new Map<string, number>();
  to.userIds.forEach((id, i) => toIndex.set(id, i));
  const fromIds = new Set(from.userIds);
  const rows = labelOrder(from.labels);
  const cols = labelOrder(to.labels);
  let onlyInFrom = 0;
  let onlyInTo = 0;
  for (const id of from.userIds) if (!toIndex.has(id)) onlyInFrom++;
  for (const id of to.userIds) if (!fromIds.has(id)) onlyInTo++;
  if (onlyInFrom > 0) cols.push(GONE);
  if (onlyInTo > 0) rows.push(NEW);
  const r = new Map(rows.map((l, k) => [l, k]));
  const c = new Map(cols.map((l, k) => [l, k]));
  const counts = rows.map(() => cols.map(() => 0));
  let matched = 0;
  from.userIds.forEach((id, i) => {
    const j = toIndex.get(id);
    const row = r.get(from.labels[i])!;
    if (j === undefined) counts[row][c.get(GONE)!]++;
    else {
      counts[row][c.get(to.labels[j])!]++;
      matched++;
    }
  });
  to.userIds.forEach((id, j) => {
    if (!fromIds.has(id)) counts[r.get(NEW)!][c.get(to.labels[j])!]++;
  });
  const shares = counts.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (total > 0 ? v / total : 0));
  });
  return { by, from: rows, to: cols, counts, shares, matched, onlyInFrom, onlyInTo };
}

export function formatTransitions(m: TransitionMatrix): string {
  const header = ['From \\ To', ...m.to, 'users'];
  const rows = m.from.map((f, i) => [f, ...m.shares[i].map((s) => pct(s, 0)), String(m.counts[i].reduce((a, b) => a + b, 0))]);
  const notes = [
    `Segment transitions (playbook §9.2) by ${m.by}: ${m.matched} users in both snapshots; each row sums to 100%.`,
    textTable(header, rows),
  ];
  notes.push(`${m.onlyInFrom} users only in the first snapshot (column ${GONE}); ${m.onlyInTo} users only in the second (row ${NEW}).`);
  return notes.join('\n');
}

// ------------------------------------------------------------------ §10 anti-pattern warnings

export type AntiPatternCode = 'SMALL_SEGMENT' | 'TOO_MANY_SEGMENTS' | 'NO_ACTION' | 'STATIC_SEGMENT';
export interface AntiPatternWarning {
  code: AntiPatternCode;
  segment?: string;
  message: string;
}

/** playbook §10 thresholds. */
export const ANTI_PATTERN = {
  minSegmentUsers: 100, // §10 "Small sample segments (<100 users)"
  maxSegments: 6, // §10 "Start with 4-6 segments"
  refreshed: ['hourly', 'daily', 'weekly'] as readonly string[], // §10 "Recalculate daily or weekly"
} as const;

export function antiPatternWarnings(dashboard: Dashboard, segments: SegmentRule[] = []): AntiPatternWarning[] {
  const w: AntiPatternWarning[] = [];
  const A = ANTI_PATTERN;
  for (const r of dashboard.rows) {
    // §10 counts the users a segment can act on: the live ones (a segment of users already gone is judged by its size)
    const live = r.users - r.alreadyChurned;
    const counted = live > 0 ? live : r.users;
    if (counted < A.minSegmentUsers) {
      const what = r.alreadyChurned > 0 ? (live > 0 ? `${live} live users (and ${r.alreadyChurned} already churned)` : `${r.users} users, all already churned`) : `${r.users} users`;
      w.push({ code: 'SMALL_SEGMENT', segment: r.segment, message: `segment "${r.segment}" (${dashboard.by}) has ${what}, under the ${A.minSegmentUsers} minimum of playbook §10; treat its figures as noise or merge it.` });
    }
    if (!r.action && dashboard.by === 'behavioral_segment') {
      w.push({ code: 'NO_ACTION', segment: r.segment, message: `segment "${r.segment}" has no action plan (playbook §10: every segment must have one).` });
    }
  }
  const used = dashboard.rows.filter((r) => r.users > 0).length;
  if (used > A.maxSegments) {
    w.push({ code: 'TOO_MANY_SEGMENTS', message: `${used} ${dashboard.by} segments hold users, more than the ${A.maxSegments} playbook §10 suggests starting with; merge some.` });
  }
  if (segments.length > A.maxSegments) {
    w.push({ code: 'TOO_MANY_SEGMENTS', message: `${segments.length} rule-file segments, more than the ${A.maxSegments} playbook §10 suggests starting with; remove or merge some.` });
  }
  for (const s of dashboard.ruleSegments) {
    const live = s.users - s.alreadyChurned;
    if ((live > 0 ? live : s.users) < A.minSegmentUsers) {
      const what = s.alreadyChurned > 0 ? (live > 0 ? `${live} live users (and ${s.alreadyChurned} already churned)` : `${s.users} users, all already churned`) : `${s.users} users`;
      w.push({ code: 'SMALL_SEGMENT', segment: s.name, message: `rule-file segment "${s.name}" has ${what}, under the ${A.minSegmentUsers} minimum of playbook §10; treat its figures as noise or widen the rule.` });
    }
  }
  for (const r of segments) {
    const where = `${r.pos.file}:${r.pos.line}`;
    if (!r.action) w.push({ code: 'NO_ACTION', segment: r.name, message: `rule-file segment "${r.name}" (${where}) has no action; add action: "..." (playbook §10: no vanity segments).` });
    if (!r.refresh || !A.refreshed.includes(r.refresh)) {
      w.push({ code: 'STATIC_SEGMENT', segment: r.name, message: `rule-file segment "${r.name}" (${where}) refreshes ${r.refresh ?? '(never: no refresh line)'}; playbook §10 says recalculate daily or weekly.` });
    }
  }
  return w;
}
