import type { ErrorCode } from '../shared/errors.js';
import { CohortlabError } from '../shared/errors.js';
import type { Loaded } from './provider.js';

/**
 * Reading the scored snapshot of the loaded version (the table behind /v1/users, members, exports and
 * sizes) and the dates every answer is counted at.
 */

/**
 * The two dates every answer is counted at (issue 17 part 5): the scored snapshot (members, users, segment
 * sizes) and the test cutoff (cluster profiles, the §9.1 dashboard, the evaluation), with the label horizon.
 */
export interface ModelDates {
  snapshot: string | null;
  testCutoff: string | null;
  horizonDays: number | null;
}

export function modelDates(l: Loaded): ModelDates {
  const p = l.model.params;
  // a refresh snapshot (issue 21) is dated by its as-of; the test cutoff stays the version's
  return { snapshot: l.refreshed?.as_of ?? p.snapshotAsOf, testCutoff: p.asOf, horizonDays: p.horizonDays };
}

export function modelInfo(l: Loaded): { name: string; version: number } {
  return { name: l.model.name, version: l.model.version };
}

/** Member lists and lookups need ids the model stored (train --keep-user-ids or --pseudonymize). */
export function requireMembers(l: Loaded, path: string): void {
  if (l.memberIds === 'none') {
    throw new CohortlabError('NO_MEMBER_IDS', `${l.model.name}@${l.model.version} was trained without storing user ids (privacy default): profiles and sizes are served, members are not. Train with --keep-user-ids, or --pseudonymize to store keyed hashes`, { path });
  }
}

/** Users of the snapshot already churned at its date, or null when the snapshot has no already_churned column. */
export function snapshotAlreadyChurned(l: Loaded, rows?: number[]): number | null {
  const c = l.snapshot.columns.already_churned as ArrayLike<unknown> | undefined;
  if (!c) return null;
  // 1/0 as numbers, or true/false or "1"/"0" from a text column: the flag is set when it reads as 1.
  const set = (v: unknown) => (v === 1 || v === true || v === '1' || v === 'true' ? 1 : 0);
  let n = 0;
  if (rows) for (const r of rows) n += set(c[r]);
  else for (let i = 0; i < c.length; i++) n += set(c[i]);
  return n;
}

export function rowObject(l: Loaded, row: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of l.snapshot.names) {
    const c = l.snapshot.columns[name];
    const v = c[row];
    if (name === 'reasons') out[name] = JSON.parse(String(v || '[]'));
    else if (typeof v === 'number') out[name] = Number.isFinite(v) ? v : null;
    else out[name] = v;
  }
  return out;
}

const refused = (code: ErrorCode, message: string, path: string) => new CohortlabError(code, message, { path });

/** The rows of a cluster (`cluster=K`) or of a segment value (`segment=NAME`, in column `by`). */
export function selectRows(l: Loaded, q: { cluster?: number; segment?: string; by?: string }): number[] {
  if ((q.cluster === undefined) === (q.segment === undefined)) throw refused('BAD_QUERY', 'give exactly one of cluster=K or segment=NAME', 'querystring');
  const n = l.snapshot.rows;
  const rows: number[] = [];
  if (q.cluster !== undefined) {
    const c = l.snapshot.columns.cluster as Float64Array | undefined;
    if (!c) throw refused('NO_CLUSTERS', 'this model has no clusters', 'querystring:cluster');
    const k = l.model.manifest.metrics.k ?? 0;
    if (q.cluster >= k) throw refused('UNKNOWN_CLUSTER', `cluster ${q.cluster} does not exist; clusters are 0..${k - 1}`, 'querystring:cluster');
    for (let i = 0; i < n; i++) if (c[i] === q.cluster) rows.push(i);
    return rows;
  }
  const by = q.by ?? 'behavioral_segment';
  const col = l.snapshot.columns[by];
  if (!col || !Array.isArray(col)) {
    const text = l.snapshot.names.filter((x) => Array.isArray(l.snapshot.columns[x]) && x !== 'user_id' && x !== 'reasons');
    throw refused('UNKNOWN_COLUMN', `by=${by} is not a segment column; use one of ${text.join(', ')}`, 'querystring:by');
  }
  for (let i = 0; i < n; i++) if (col[i] === q.segment) rows.push(i);
  if (rows.length === 0) {
    const values = [...new Set(col)].sort();
    throw refused('UNKNOWN_SEGMENT', `no users in ${by} = "${q.segment}"; values: ${values.join(', ')}`, 'querystring:segment');
  }
  return rows;
}
