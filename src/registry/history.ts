import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DriftReport } from '../evaluate/index.js';
import { syncDir, writeFileAtomic } from '../shared/atomic.js';
import { CohortlabError } from '../shared/errors.js';
import { asReadTable, readTable, writeTable, type ColumnTable, type WritableTable } from '../shared/table-io.js';

/**
 * A model's history (issue 21): the dated snapshots `cohortlab refresh` scores, kept per model name (not per
 * version: the production version changes while the history goes on; each snapshot names the version that
 * scored it). On disk, `models/NAME/history/`:
 *   <as_of>.json              the record below (what was scored, by which version, sizes, drift, changes count);
 *   <as_of>-<hex>.parquet     the scored rows (the `score` columns), named by the record.
 * A refresh of the same date replaces both (idempotent): the table is written under a new name, then the record
 * is renamed over the old one (atomic: a reader sees the old snapshot or the new one, never a mix), then the old
 * table goes. Only dates with a record are listed.
 *
 * User ids follow the model's privacy mode: raw (`--keep-user-ids`), pseudonymized (`--pseudonymize`, the
 * training salt), or, for a model that stores no ids, "keyed": an HMAC of the id with the history's own random
 * key (`history/.key`, 0600). Keyed ids join one snapshot to the next (transitions) but show no id; deleting the
 * key unlinks the history from the people in it. No record with a keyed id ever leaves cohortlab.
 */
export const HISTORY_FOLDER = 'history';
export const SNAPSHOT_FORMAT = 1;

export type SnapshotMemberIds = 'raw' | 'pseudonymized' | 'keyed';

export interface SnapshotRecord {
  format: number;
  /** The as-of date scored (YYYY-MM-DD, inclusive: events before the next day's 00:00 UTC). */
  as_of: string;
  /** The table's file in the history folder (disk), or its name in memory. */
  file: string;
  created_at: string;
  model: { name: string; version: number };
  users: number;
  /** Users already churned at the date (§3.4), of `users`. */
  already_churned: number;
  member_ids: SnapshotMemberIds;
  /** Where the events came from (files or the warehouse table). */
  source: string;
  /** The snapshot the changes were counted against (the latest earlier one), or null for the first. */
  previous: string | null;
  /** Users x tracked columns whose value changed since `previous`; null for the first snapshot. */
  changes: number | null;
  /** Counts per value of every tracked column (rule segments, lifecycle stage, tiers, cluster). */
  sizes: Record<string, Record<string, number>>;
  /** Drift against the training snapshot of the version that scored it; null when the version has no reference. */
  drift: DriftReport | null;
}

export interface HistoryStore {
  /** The history folder (or memory:...), for messages. */
  readonly location: string;
  /** The snapshot dates, ascending. */
  list(): Promise<string[]>;
  /** The record of a date; SNAPSHOT_NOT_FOUND (listing the dates there are) when absent. */
  read(asOf: string): Promise<SnapshotRecord>;
  readTable(asOf: string): Promise<ColumnTable>;
  /** Writes (or replaces) the snapshot of `record.as_of`; `replaced` says a snapshot of that date existed. */
  write(record: Omit<SnapshotRecord, 'file'>, table: WritableTable): Promise<{ replaced: boolean }>;
  remove(asOf: string): Promise<void>;
  /** The history's own key for models that store no ids (created on first use, never leaves the folder). */
  joinKey(): Promise<string>;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function notFound(location: string, asOf: string, dates: string[]): CohortlabError {
  return new CohortlabError(
    'SNAPSHOT_NOT_FOUND',
    dates.length
      ? `no snapshot dated ${asOf} in ${location}; the history holds ${dates.length} (${dates.length > 6 ? `${dates.slice(0, 3).join(', ')}, ..., ${dates.slice(-2).join(', ')}` : dates.join(', ')}).`
      : `the history ${location} is empty: run "cohortlab refresh --model NAME --as-of ${asOf} ..." first.`,
  );
}

/** Keeps the newest `keep` snapshots (the retention setting); returns the dates removed. */
export async function pruneHistory(history: HistoryStore, keep: number): Promise<string[]> {
  if (!Number.isInteger(keep) || keep < 1) throw new CohortlabError('BAD_ARGUMENT', `history retention must keep at least 1 snapshot, got ${keep}.`);
  const dates = await history.list();
  const gone = dates.slice(0, Math.max(0, dates.length - keep));
  for (const d of gone) await history.remove(d);
  return gone;
}

/** The latest snapshot strictly before `asOf`, or null. */
export async function previousSnapshot(history: HistoryStore, asOf: string): Promise<string | null> {
  const earlier = (await history.list()).filter((d) => d < asOf);
  return earlier.length ? earlier[earlier.length - 1] : null;
}

export function diskHistory(dir: string): HistoryStore {
  const recordPath = (asOf: string) => join(dir, `${asOf}.json`);
  const list = async () => {
    const names = await readdir(dir).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith('.json') && DATE.test(n.slice(0, -5))).map((n) => n.slice(0, -5)).sort();
  };
  const read = async (asOf: string): Promise<SnapshotRecord> => {
    const text = await readFile(recordPath(asOf), 'utf8').catch(() => null);
    if (text === null) throw notFound(dir, asOf, await list());
    try {
      return JSON.parse(text) as SnapshotRecord;
    } catch (e) {
      throw new CohortlabError('MODEL_CORRUPT', `${recordPath(asOf)} is not JSON (${(e as Error).message}); remove it and refresh that date again.`, { path: recordPath(asOf), cause: e });
    }
  };
  return {
    location: dir,
    list,
    read,
    async readTable(asOf) {
      const r = await read(asOf);
      return readTable(join(dir, r.file), { textColumns: ['user_id'] });
    },
    async write(record, table) {
      if (!DATE.test(record.as_of)) throw new CohortlabError('BAD_ARGUMENT', `a snapshot date must be YYYY-MM-DD, got "${record.as_of}".`);
      await mkdir(dir, { recursive: true });
      const file = `${record.as_of}-${randomBytes(4).toString('hex')}.parquet`;
      await writeTable(join(dir, file), table, { metadata: { model: record.model.name, version: String(record.model.version), as_of: record.as_of } });
      const replaced = (await list()).includes(record.as_of);
      await writeFileAtomic(recordPath(record.as_of), `${JSON.stringify({ ...record, file })}\n`);
      // tables of this date the record no longer names (the replaced one, or leftovers of a killed refresh)
      for (const n of await readdir(dir)) {
        if (n.startsWith(`${record.as_of}-`) && n.endsWith('.parquet') && n !== file) await rm(join(dir, n), { force: true });
      }
      return { replaced };
    },
    async remove(asOf) {
      const r = await read(asOf);
      await rm(recordPath(asOf), { force: true });
      await syncDir(dir);
      await rm(join(dir, r.file), { force: true });
    },
    async joinKey() {
      await mkdir(dir, { recursive: true });
      const path = join(dir, '.key');
      try {
        const fh = await open(path, 'wx', 0o600);
        try {
          await fh.writeFile(`${randomBytes(32).toString('hex')}\n`);
          await fh.sync();
        } finally {
          await fh.close();
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const key = (await readFile(path, 'utf8')).trim();
      if (key.length < 32) throw new CohortlabError('MODEL_CORRUPT', `${path} does not hold a key (it is shorter than 32 characters); delete it to start a new, unlinked history.`, { path });
      return key;
    },
  };
}

/** The same history in memory (the memory model store's). */
export function memoryHistory(location: string): HistoryStore {
  const snapshots = new Map<string, { record: SnapshotRecord; table: ColumnTable }>();
  let key: string | null = null;
  const list = async () => [...snapshots.keys()].sort();
  const get = async (asOf: string) => {
    const s = snapshots.get(asOf);
    if (!s) throw notFound(location, asOf, await list());
    return s;
  };
  return {
    location,
    list,
    read: async (asOf) => structuredClone((await get(asOf)).record),
    readTable: async (asOf) => (await get(asOf)).table,
    async write(record, table) {
      if (!DATE.test(record.as_of)) throw new CohortlabError('BAD_ARGUMENT', `a snapshot date must be YYYY-MM-DD, got "${record.as_of}".`);
      const replaced = snapshots.has(record.as_of);
      // kept as the disk history's readTable gives it back (numbers, lists as JSON text)
      snapshots.set(record.as_of, { record: structuredClone({ ...record, file: `${record.as_of}.parquet` }), table: asReadTable(table) });
      return { replaced };
    },
    async remove(asOf) {
      await get(asOf);
      snapshots.delete(asOf);
    },
    async joinKey() {
      key ??= randomBytes(32).toString('hex');
      return key;
    },
  };
}
