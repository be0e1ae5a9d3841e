/**
 * Segment changes as events (playbook §10 "ignoring segment transitions"): between two snapshots, one record per
 * user and tracked column whose value changed, entered ("(new)" -> value) or left (value -> "(gone)"). These
 * are what a refresh writes with --changes and sends to webhooks; the §9.2 matrix counts the same moves.
 */
import { CohortlabError } from '../shared/errors.js';
import { GONE, NEW } from './analysis.js';

export interface Snapshot {
  asOf: string;
  userIds: string[];
  /** Tracked label columns (rule segments, lifecycle_stage, cluster as text), in userIds order. */
  columns: Record<string, string[]>;
}

export interface SegmentChange {
  user_id: string;
  segment: string;
  from: string;
  to: string;
  as_of: string;
}

/** Every change of every tracked column from `before` to `after`, ordered by column then user id. */
export function segmentChanges(before: Snapshot, after: Snapshot, tracked: readonly string[]): SegmentChange[] {
  for (const [s, name] of [[before, 'earlier'], [after, 'later']] as const) {
    for (const c of tracked) {
      if (!s.columns[c]) throw new CohortlabError('MISSING_COLUMN', `the ${name} snapshot (${s.asOf}) has no column "${c}"; it has: ${Object.keys(s.columns).join(', ')}.`);
    }
  }
  const afterIndex = new Map<string, number>();
  after.userIds.forEach((id, i) => afterIndex.set(id, i));
  const beforeIndex = new Map<string, number>();
  before.userIds.forEach((id, i) => beforeIndex.set(id, i));
  const ids = [...new Set([...before.userIds, ...after.userIds])].sort();
  const out: SegmentChange[] = [];
  for (const c of tracked) {
    const b = before.columns[c];
    const a = after.columns[c];
    for (const id of ids) {
      const i = beforeIndex.get(id);
      const j = afterIndex.get(id);
      const from = i === undefined ? NEW : b[i];
      const to = j === undefined ? GONE : a[j];
      if (from !== to) out.push({ user_id: id, segment: c, from, to, as_of: after.asOf });
    }
  }
  return out;
}
