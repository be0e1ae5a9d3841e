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

/** The query of GET /v1/members and GET /v1/export (membersQuerySchema / selectionQuerySchema). */
export interface MemberQuery {
  cluster?: number;
  segment?: string;
  by?: string;
  q?: string;
  sort?: string;
  order?: 'asc' | 'desc';
}

/** The rows a member query selects, in the order they are listed, and the query as applied. */
export interface MemberSelection {
  rows: Uint32Array;
  filter: { cluster: number | null; by: string | null; segment: string | null; q: string | null };
  sort: string | null;
  order: 'asc' | 'desc';
  sortable: string[];
}

export const DEFAULT_SEGMENT_COLUMN = 'behavioral_segment';

/** Every column a member list can be sorted by: all of the snapshot's but the JSON `reasons`. */
export function sortableColumns(l: Loaded): string[] {
  return l.snapshot.names.filter((n) => n !== 'reasons');
}

/** The segment columns `by=` accepts: the text columns of the snapshot but ids, labels of reasons. */
function segmentColumns(l: Loaded): string[] {
  return l.snapshot.names.filter((x) => Array.isArray(l.snapshot.columns[x]) && x !== 'user_id' && x !== 'reasons');
}

/**
 * The members of GET /v1/members and GET /v1/export: `cluster` AND `segment` (in column `by`) AND `q` (a
 * case-insensitive substring of user_id), each optional (none: every user of the snapshot), sorted by `sort`
 * (numbers numerically, text by code points; NaN and null last in both orders; ties keep snapshot order) or in
 * snapshot order. Refused: a cluster that does not exist, an unknown `by` or `sort` column, a segment value that no
 * user has in that column. A combination nobody matches is an empty selection, not an error.
 * Indices are sorted in typed arrays (sortRows): no object per row.
 */
export function selectMembers(l: Loaded, q: MemberQuery): MemberSelection {
  const n = l.snapshot.rows;
  const cols = l.snapshot.columns;
  let cluster: Float64Array | Int32Array | Uint8Array | undefined;
  if (q.cluster !== undefined) {
    const c = cols.cluster;
    if (!c || Array.isArray(c)) throw refused('NO_CLUSTERS', 'this model has no clusters', 'querystring:cluster');
    const k = l.model.manifest.metrics.k ?? 0;
    if (q.cluster >= k) throw refused('UNKNOWN_CLUSTER', `cluster ${q.cluster} does not exist; clusters are 0..${k - 1}`, 'querystring:cluster');
    cluster = c;
  }
  const by = q.segment !== undefined || q.by !== undefined ? (q.by ?? DEFAULT_SEGMENT_COLUMN) : null;
  let segment: string[] | undefined;
  if (by !== null) {
    const col = cols[by];
    if (!col || !Array.isArray(col) || by === 'user_id' || by === 'reasons') throw refused('UNKNOWN_COLUMN', `by=${by} is not a segment column; use one of ${segmentColumns(l).join(', ')}`, 'querystring:by');
    if (q.segment !== undefined) {
      if (!col.includes(q.segment)) {
        const values = [...new Set(col)].sort();
        throw refused('UNKNOWN_SEGMENT', `no users in ${by} = "${q.segment}"; values: ${values.join(', ')}`, 'querystring:segment');
      }
      segment = col;
    }
  }
  const sortable = sortableColumns(l);
  if (q.sort !== undefined && !sortable.includes(q.sort)) throw refused('UNKNOWN_COLUMN', `sort=${q.sort} is not a column of the snapshot; sort by one of ${sortable.join(', ')}`, 'querystring:sort');
  const needle = q.q !== undefined && q.q !== '' ? q.q.toLowerCase() : null;
  const ids = cols.user_id as string[] | undefined;

  const picked = new Uint32Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (cluster && cluster[i] !== q.cluster) continue;
    if (segment && segment[i] !== q.segment) continue;
    if (needle !== null && !(ids && String(ids[i]).toLowerCase().includes(needle))) continue;
    picked[m++] = i;
  }
  const order = q.order ?? 'desc';
  const rows = picked.slice(0, m);
  if (q.sort !== undefined) sortRows(rows, cols[q.sort], order);
  return { rows, filter: { cluster: q.cluster ?? null, by: q.segment !== undefined ? by : null, segment: q.segment ?? null, q: needle === null ? null : q.q! }, sort: q.sort ?? null, order, sortable };
}

/** Selections kept per loaded version: paging through a sorted million rows, or exporting the list just shown, sorts once. */
const SELECTIONS_KEPT = 4;
const selectionCache = new WeakMap<Loaded, Map<string, MemberSelection>>();

/** selectMembers, remembering the last SELECTIONS_KEPT answers of a loaded version (least recently used dropped). */
export function selectMembersCached(l: Loaded, q: MemberQuery): MemberSelection {
  const key = JSON.stringify([q.cluster ?? null, q.segment ?? null, q.by ?? null, q.q ?? null, q.sort ?? null, q.order ?? 'desc']);
  const kept = selectionCache.get(l) ?? new Map<string, MemberSelection>();
  selectionCache.set(l, kept);
  const hit = kept.get(key);
  if (hit) {
    kept.delete(key);
    kept.set(key, hit);
    return hit;
  }
  const fresh = selectMembers(l, q);
  kept.set(key, fresh);
  if (kept.size > SELECTIONS_KEPT) kept.delete(kept.keys().next().value as string);
  return fresh;
}

/**
 * Sorts row indices by one column in place: stable (ties by their position in `rows`, which callers keep in row
 * order), NaN / null / undefined last whatever the order. An argsort without a comparator: each row gets the rank of
 * its value among the distinct values (found by a native sort of those), then rank x m + position is sorted as one
 * Float64Array (exact below 2^53) and decoded. 1M rows: ~0.2 s, against ~1.8 s with a comparator over the column.
 */
export function sortRows(rows: Uint32Array, col: ArrayLike<unknown>, order: 'asc' | 'desc'): void {
  const m = rows.length;
  if (m < 2) return;
  const rank = new Float64Array(m);
  let distinct: number;
  if (!Array.isArray(col)) {
    const v = col as ArrayLike<number>;
    const keys = new Float64Array(m);
    for (let i = 0; i < m; i++) keys[i] = v[rows[i]];
    const sorted = Float64Array.from(keys).sort(); // NaN sorts last natively
    let u = 0;
    for (let i = 0; i < m && !Number.isNaN(sorted[i]); i++) if (u === 0 || sorted[i] !== sorted[u - 1]) sorted[u++] = sorted[i];
    distinct = u;
    for (let i = 0; i < m; i++) rank[i] = Number.isNaN(keys[i]) ? NaN : lowerBound(sorted, u, keys[i]);
  } else {
    const t = col as readonly (string | null | undefined)[];
    const at = new Map<string, number>();
    const uniq: string[] = [];
    for (let i = 0; i < m; i++) {
      const x = t[rows[i]];
      if (x !== null && x !== undefined && !at.has(x)) {
        at.set(x, 0);
        uniq.push(x);
      }
    }
    uniq.sort(); // by UTF-16 code units, as < compares strings
    for (let i = 0; i < uniq.length; i++) at.set(uniq[i], i);
    distinct = uniq.length;
    for (let i = 0; i < m; i++) {
      const x = t[rows[i]];
      rank[i] = x === null || x === undefined ? NaN : (at.get(x) as number);
    }
  }
  const key = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const r = Number.isNaN(rank[i]) ? distinct : order === 'asc' ? rank[i] : distinct - 1 - rank[i];
    key[i] = r * m + i;
  }
  key.sort();
  const before = rows.slice();
  for (let i = 0; i < m; i++) rows[i] = before[key[i] % m];
}

/** The index of `x` in the first `n` (ascending, distinct) values of `sorted`. */
function lowerBound(sorted: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
