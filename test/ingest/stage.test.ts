import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CDNOW_PRESET, loadEvents, SYNTHETIC_PRESET, type EventStore } from '../../src/ingest/index.js';
import { openDuckDB, queryRows } from '../../src/shared/duckdb.js';
import { trimmed } from '../../src/ingest/sql.js';

/**
 * The one-pass CSV ingest (issue 23 part 3): records are parsed straight into `stage`, which becomes `events` by
 * dropping its other columns when the log maps session ids, after deleting the rejected rows when there are any.
 * Both outcomes must be the same typed `events` table a copy gave, with nothing left behind.
 */
const fx = (f: string) => join(import.meta.dirname, '..', 'fixtures', f);
const cdnow = join(import.meta.dirname, '..', '..', 'data', 'cdnow', 'CDNOW_master.txt.gz');

const EVENTS_SCHEMA = [
  'user_id VARCHAR', 'ts TIMESTAMP', 'event VARCHAR', 'session_id VARCHAR', 'plan VARCHAR', 'value DOUBLE', 'signup_ts TIMESTAMP',
];

async function schema(store: EventStore): Promise<string[]> {
  const rows = await queryRows(store.conn, `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'events' ORDER BY ordinal_position`);
  return rows.map((r) => `${String(r.column_name)} ${String(r.data_type)}`);
}

async function tables(store: EventStore): Promise<string[]> {
  const rows = await queryRows(store.conn, `SELECT table_name FROM information_schema.tables WHERE table_name NOT LIKE 'rejects_%' AND table_name NOT LIKE 'line_rejects_%' ORDER BY table_name`);
  return rows.map((r) => String(r.table_name));
}

const eventRows = (store: EventStore) =>
  queryRows(store.conn, `SELECT user_id, strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, event, session_id, plan, value, strftime(signup_ts, '%Y-%m-%dT%H:%M:%SZ') AS signup FROM events ORDER BY ts, event`);

describe('one-pass CSV ingest (stage -> events)', () => {
  it('a clean CSV becomes the typed events table, column for column, with no staging table left', async () => {
    const store = await loadEvents([fx('synthetic-u2.csv')], SYNTHETIC_PRESET);
    try {
      expect(store.report.rowsRead).toBe(29);
      expect(store.report.rowsUsed).toBe(29);
      expect(store.report.rejected).toEqual({});
      expect(await schema(store)).toEqual(EVENTS_SCHEMA);
      expect(await tables(store)).toEqual(['events']);
      const rows = await eventRows(store);
      expect(rows[0]).toEqual({ user_id: 'u000002', ts: '2026-01-02T14:21:07Z', event: 'app_opened', session_id: 'u000002-1', plan: 'free', value: null, signup: '2025-12-03T12:45:46Z' });
      expect(new Set(rows.map((r) => r.session_id)).size).toBe(store.report.sessions);
    } finally {
      store.close();
    }
  });

  it('with rejected rows: the same events as the clean file, the rejects counted at their file lines', async () => {
    const [bad, clean] = await Promise.all([loadEvents([fx('synthetic-u2-bad.csv')], SYNTHETIC_PRESET), loadEvents([fx('synthetic-u2.csv')], SYNTHETIC_PRESET)]);
    try {
      const r = bad.report;
      expect(r.rowsRead).toBe(32);
      expect(r.rowsUsed).toBe(29);
      expect(r.rejected).toEqual({ 'empty user id': 1, 'unparsable timestamp': 1, 'malformed row': 1 });
      expect(Object.fromEntries(Object.entries(r.examples).map(([k, v]) => [k, v.map((e) => `${e.where}${e.value ? `: ${e.value}` : ''}`)]))).toEqual({
        'empty user id': ['line 12: user id ""'],
        'unparsable timestamp': ['line 13: timestamp "2026-13-45T00:00:00Z"'],
        'malformed row': ['line 14: missing columns'],
      });
      expect(await schema(bad)).toEqual(EVENTS_SCHEMA);
      expect(await tables(bad)).toEqual(['events']);
      expect(await eventRows(bad)).toEqual(await eventRows(clean));
    } finally {
      bad.close();
      clean.close();
    }
  });

  it('sessions by the gap rule: events at the same instant share a session, the same ids on every load (real CDNOW)', async () => {
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const store = await loadEvents([cdnow], CDNOW_PRESET);
      try {
        expect(await schema(store)).toEqual(EVENTS_SCHEMA);
        expect(await tables(store)).toEqual(['events', 'lines']);
        // Same-day purchases (CDNOW has dates only) are one session: no (user, instant) split over two.
        const split = await queryRows(store.conn, `SELECT count(*)::DOUBLE AS n FROM (SELECT user_id, ts FROM events GROUP BY ALL HAVING count(DISTINCT session_id) > 1)`);
        expect(split[0].n).toBe(0);
        const h = await queryRows(store.conn, `SELECT count(*)::DOUBLE AS n, sum(hash(user_id, ts, session_id, value))::VARCHAR AS h FROM events`);
        runs.push(`${String(h[0].n)} ${String(h[0].h)}`);
      } finally {
        store.close();
      }
    }
    expect(runs[0].startsWith('69659 ')).toBe(true);
    expect(new Set(runs).size).toBe(1);
  });

  it('trimmed() equals DuckDB trim() on every kind of edge: spaces, Unicode space separators, tabs, non-ASCII, empty, NULL', async () => {
    const db = await openDuckDB();
    try {
      // Every code point 1..12,400 (past U+3000, the last space separator) after and before an "x", and literal edge cases.
      const rows = await queryRows(
        db.conn,
        `WITH v AS (SELECT x FROM (VALUES (' a '), ('a '), (' a'), ('  '), (''), (NULL), (chr(9) || 'a' || chr(9)), ('é '), (' é'), ('é'), (chr(160) || 'a'), ('a' || chr(12288)), ('a' || chr(8239) || ' '), ('a b')) t(x)
                   UNION ALL SELECT chr(c::INTEGER) || 'x' FROM range(1, 12400) r(c) WHERE c < 55296 OR c > 57343
                   UNION ALL SELECT 'x' || chr(c::INTEGER) FROM range(1, 12400) r(c) WHERE c < 55296 OR c > 57343)
         SELECT count(*)::DOUBLE AS n, count(*) FILTER (WHERE trim(x) IS DISTINCT FROM (${trimmed('x')}))::DOUBLE AS differ,
                count(*) FILTER (WHERE trim(x) IS DISTINCT FROM x)::DOUBLE AS trimmed_by_trim FROM v`,
      );
      expect(rows[0].differ).toBe(0);
      // the cases trim changes are there: " a ", "a ", " a", "  ", "é ", " é", NBSP, U+3000, U+202F+" ", and the 17 Zs code points at either end
      expect(rows[0].trimmed_by_trim).toBeGreaterThan(40);
    } finally {
      db.close();
    }
  });
});
