import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEvents, loadEventRecords, resolveConfig, resolveConfigFor, validateConfig, CDNOW_PRESET, SPARKIFY_PRESET } from '../../src/ingest/index.js';
import { queryRows } from '../../src/shared/duckdb.js';
import { csvLineOfRow } from '../../src/ingest/read.js';
import { writeTable } from '../../src/shared/table-io.js';

const fx = (f: string) => join(import.meta.dirname, '..', 'fixtures', f);

describe('ingest', () => {
  it('reads a CSV log, infers sessions by the 30-minute gap and reports the time span', async () => {
    const config = await resolveConfig({ config: fx('pm-config.json') });
    const store = await loadEvents([fx('pm-events.csv')], config);
    try {
      expect(store.report.rowsRead).toBe(12);
      expect(store.report.rowsUsed).toBe(12);
      expect(store.report.users).toBe(3);
      expect(new Date(store.report.firstEventMs).toISOString()).toBe('2026-02-01T08:00:00.000Z');
      const s = await queryRows(store.conn, `SELECT session_id, count(*)::DOUBLE AS n FROM events WHERE user_id = 'a1' GROUP BY 1 ORDER BY min(ts)`);
      // 09:00 and 09:30 are exactly 30 minutes apart: same session (a new one starts only after a longer gap).
      expect(s.map((r) => r.n)).toEqual([1, 2, 3, 1, 1, 1]);
    } finally {
      store.close();
    }
  });

  it('counts every rejected row by reason with file and line, and --strict makes them fatal', async () => {
    const config = await resolveConfig({ config: fx('pm-config.json') });
    const store = await loadEvents([fx('pm-bad.csv')], config);
    try {
      const r = store.report;
      expect(r.rowsRead).toBe(6);
      expect(r.rowsUsed).toBe(2);
      expect(r.rejected).toEqual({ 'empty user id': 1, 'unparsable timestamp': 1, 'malformed row': 1, 'empty event name': 1 });
      expect(r.examples['unparsable timestamp'][0]).toMatchObject({ where: 'line 4', value: 'timestamp "not-a-time"' });
      expect(r.examples['empty user id'][0].where).toBe('line 3');
      expect(r.examples['malformed row'][0].where).toBe('line 5');
      // Line numbers after the malformed line are shifted back correctly.
      expect(r.examples['empty event name'][0].where).toBe('line 6');
    } finally {
      store.close();
    }
    await expect(loadEvents([fx('pm-bad.csv')], config, { strict: true })).rejects.toThrow(/--strict: .*unparsable timestamp.*pm-bad\.csv line/);
  });

  it('reads Parquet in place and reports a bad row by its row number', async () => {
    const config = await resolveConfig({ config: fx('pm-config.json') });
    const dir = await mkdtemp(join(tmpdir(), 'cl-pq-'));
    const path = join(dir, 'events.parquet');
    await writeTable(path, {
      rows: 3,
      names: ['user', 'time', 'name', 'plan'],
      columns: { user: ['a', 'b', 'c'], time: ['2026-03-01T10:00:00Z', 'later', '2026-03-02T10:00:00Z'], name: ['x', 'y', 'z'], plan: ['free', 'free', 'pro'] },
    });
    const store = await loadEvents([path], { ...config, format: 'auto' });
    try {
      expect(store.report.rowsRead).toBe(3);
      expect(store.report.rowsUsed).toBe(2);
      expect(store.report.examples['unparsable timestamp'][0]).toMatchObject({ where: 'row 2', value: 'timestamp "later"' });
      const r = await queryRows(store.conn, `SELECT string_agg(user_id, ',' ORDER BY user_id) AS u FROM events`);
      expect(r[0].u).toBe('a,c');
    } finally {
      store.close();
    }
  });

  it('maps CSV line numbers around rows the parser skipped', () => {
    expect(csvLineOfRow(1, [])).toBe(2);
    expect(csvLineOfRow(1, [3])).toBe(2);
    expect(csvLineOfRow(2, [3])).toBe(4);
    expect(csvLineOfRow(2, [3, 4])).toBe(5);
  });

  it('gives one clear sentence for a missing column, a missing file, an empty file and an unknown format', async () => {
    const config = await resolveConfig({ config: fx('pm-config.json') });
    const dir = await mkdtemp(join(tmpdir(), 'cl-ingest-'));
    await writeFile(join(dir, 'x.csv'), 'user,when,name\na,2026-01-01,x\n');
    await expect(loadEvents([join(dir, 'x.csv')], config)).rejects.toThrow(/column "time" \(mapped as columns.timestamp\) is not in ".*x\.csv"; its columns are: user, when, name/);
    await expect(loadEvents([join(dir, 'nope.csv')], config)).rejects.toThrow(/event file ".*nope\.csv" does not exist/);
    await writeFile(join(dir, 'empty.csv'), '');
    await expect(loadEvents([join(dir, 'empty.csv')], config)).rejects.toThrow(/empty\.csv" is empty/);
    await writeFile(join(dir, 'x.xlsx'), 'abc');
    await expect(loadEvents([join(dir, 'x.xlsx')], { ...config, format: 'auto' })).rejects.toThrow(/cannot tell the format of .*x\.xlsx/);
    await expect(loadEvents([join(dir, '*.none')], config)).rejects.toThrow(/no file matches/);
  });

  it('uses the cohortlab.config.json next to the events when no --config or --preset is given', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cl-cfg-'));
    await writeFile(join(dir, 'events.csv'), 'user,time,name,plan\na,2026-01-01T00:00:00Z,x,free\n');
    await expect(resolveConfigFor([join(dir, 'events.csv')], {})).rejects.toThrow(/give --config FILE .* or --preset NAME \(synthetic, sparkify, cdnow\); there is no cohortlab.config.json next to/);
    await writeFile(join(dir, 'cohortlab.config.json'), await (await import('node:fs/promises')).readFile(fx('pm-config.json'), 'utf8'));
    expect((await resolveConfigFor([join(dir, 'events.csv')], {})).name).toBe('pm-fixture');
    expect((await resolveConfigFor([join(dir, 'events.csv')], { preset: 'cdnow' })).name).toBe('cdnow');
  });

  it('validates configs and names the JSON path', () => {
    expect(() => validateConfig({ columns: { user_id: 'u' } }, 'c.json')).toThrow(/\$\.columns\.timestamp is required/);
    expect(() => validateConfig({ columns: { user_id: 'u', timestamp: 't', event: 'e' }, cadence: 'hourly' }, 'c.json')).toThrow(/\$\.cadence must be one of "daily", "weekly", "monthly", got "hourly"/);
    expect(() => validateConfig({ columns: { user_id: 'u', timestamp: 't', event: 'e' }, session_gap_minutes: 'x' }, 'c.json')).toThrow(/session_gap_minutes must be number, got string "x"/);
    expect(() => validateConfig({ columns: { user_id: 'u', timestamp: 't', event: 'e', colour: 'x' } }, 'c.json')).toThrow(/\$\.columns\.colour is not a known setting/);
  });

  it('reads Sparkify NDJSON files without a final newline one by one, epoch-ms times, empty user ids counted', async () => {
    const store = await loadEvents([fx('sparkify-2018-11-05.json'), fx('sparkify-2018-11-06.json')], SPARKIFY_PRESET);
    try {
      expect(store.report.rowsRead).toBe(16);
      const emptyIds = store.report.rejected['empty user id'] ?? 0;
      expect(store.report.rowsUsed + emptyIds).toBe(16);
      const r = await queryRows(store.conn, `SELECT min(ts)::VARCHAR AS t FROM events`);
      expect(String(r[0].t).startsWith('2018-11-05')).toBe(true);
    } finally {
      store.close();
    }
  });

  it('reads the whitespace CDNOW log with zero-padded ids kept as text and dollar values', async () => {
    const store = await loadEvents([fx('cdnow-sample.txt')], CDNOW_PRESET);
    try {
      expect(store.report.rowsRead).toBe(29);
      expect(store.report.rowsUsed).toBe(29);
      const r = await queryRows(store.conn, `SELECT user_id, sum(value)::DOUBLE AS v, min(ts)::VARCHAR AS t FROM events WHERE user_id = '00002' GROUP BY 1`);
      expect(r[0]).toEqual({ user_id: '00002', v: 89, t: '1997-01-12 00:00:00' });
    } finally {
      store.close();
    }
  });

  it('tells ISO text (with or without offset), epoch seconds and epoch milliseconds apart', async () => {
    const config = await resolveConfig({ config: fx('pm-config.json') });
    const rows = [
      ['a', '2026-03-01T10:00:00Z'],
      ['b', '2026-03-01T12:00:00+02:00'],
      ['c', '1772359200'],
      ['d', '1772359200000'],
      ['e', '2026-03-01 10:00:00'],
    ];
    const store = await loadEventRecords(rows.map(([user, time]) => ({ user, time, name: 'added_task', plan: 'free' })), { ...config, timestamp_format: 'auto' });
    try {
      const r = await queryRows(store.conn, `SELECT user_id, ts::VARCHAR AS t FROM events ORDER BY user_id`);
      expect(r.map((x) => x.t)).toEqual(Array(5).fill('2026-03-01 10:00:00'));
    } finally {
      store.close();
    }
  });

  it('reads JSON records (the server path) exactly like a file', async () => {
    const config = await resolveConfig({ config: fx('pm-config.json') });
    const store = await loadEventRecords(
      [
        { user: 'z', time: '2026-03-01T10:00:00Z', name: 'added_task', plan: 'free' },
        { user: 'z', time: 'yesterday', name: 'added_task', plan: 'free' },
      ],
      config,
    );
    try {
      expect(store.report.rowsUsed).toBe(1);
      expect(store.report.rejected).toEqual({ 'unparsable timestamp': 1 });
    } finally {
      store.close();
    }
  });
});
