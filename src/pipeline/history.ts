import { transitionMatrix, type TransitionMatrix } from '../rules/index.js';
import type { HistoryStore, SnapshotRecord } from '../registry/index.js';
import { CohortlabError } from '../shared/errors.js';
import { labelsOf } from './refresh.js';

/**
 * Reading a model's history (issue 21 part 2): segment, lifecycle and cluster sizes over time, and the §9.2
 * transition matrix between any two snapshots or month over month (the last snapshot of each month against the
 * last of the month before). Users are matched by their stored id (raw, pseudonym or keyed hash), so a model
 * without ids still gets transitions, never members.
 */

export interface HistoryPoint {
  as_of: string;
  model: { name: string; version: number };
  users: number;
  already_churned: number;
  sizes: Record<string, Record<string, number>>;
  changes: number | null;
  /** The one-line drift verdict of that refresh, when the version had a reference. */
  drift: { text: string; retrain_advised: boolean; act: string[]; watch: string[] } | null;
}

export function historyPoint(r: SnapshotRecord): HistoryPoint {
  return {
    as_of: r.as_of,
    model: r.model,
    users: r.users,
    already_churned: r.already_churned,
    sizes: r.sizes,
    changes: r.changes,
    drift: r.drift ? { text: r.drift.summary.text, retrain_advised: r.drift.summary.retrain_advised, act: r.drift.summary.act, watch: r.drift.summary.watch } : null,
  };
}

/** Every snapshot's sizes, oldest first. */
export async function historySizes(history: HistoryStore): Promise<HistoryPoint[]> {
  const out: HistoryPoint[] = [];
  for (const d of await history.list()) out.push(historyPoint(await history.read(d)));
  return out;
}

/** §9.2 between the snapshots of two dates (both must exist), by a tracked column. */
export async function historyTransitions(history: HistoryStore, from: string, to: string, by = 'behavioral_segment'): Promise<TransitionMatrix & { from_as_of: string; to_as_of: string }> {
  if (from >= to) throw new CohortlabError('BAD_ARGUMENT', `--from ${from} must be before --to ${to}.`);
  const [a, b] = [await history.readTable(from), await history.readTable(to)];
  const side = (t: typeof a, d: string) => {
    if (!t.columns[by]) throw new CohortlabError('UNKNOWN_COLUMN', `the snapshot of ${d} has no column "${by}"; text columns: ${t.names.filter((n) => Array.isArray(t.columns[n]) || n.startsWith('segment_')).join(', ')}.`);
    return { userIds: t.columns.user_id as string[], labels: labelsOf(t, by) };
  };
  return { ...transitionMatrix(side(a, from), side(b, to), by), from_as_of: from, to_as_of: to };
}

/** The month-over-month pairs of snapshot dates: the last snapshot of each month after the first against the month before's. */
export function monthlyPairs(dates: readonly string[]): [string, string][] {
  const lastOfMonth = new Map<string, string>();
  for (const d of [...dates].sort()) lastOfMonth.set(d.slice(0, 7), d);
  const ends = [...lastOfMonth.values()];
  return ends.slice(1).map((d, i) => [ends[i], d]);
}

export async function monthlyTransitions(history: HistoryStore, by = 'behavioral_segment'): Promise<(TransitionMatrix & { from_as_of: string; to_as_of: string })[]> {
  const out = [];
  for (const [a, b] of monthlyPairs(await history.list())) out.push(await historyTransitions(history, a, b, by));
  return out;
}
