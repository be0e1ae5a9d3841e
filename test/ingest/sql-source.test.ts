import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEvents, resolveConfig, validateConfig, type EventConfig } from '../../src/ingest/index.js';
import { queryRows } from '../../src/shared/duckdb.js';

const fx = (f: string) => join(import.meta.dirname, '..', 'fixtures', f);
const example = (name: string) => resolveConfig({ config: join(import.meta.dirname, '..', '..', 'data', 'examples', `${name}.json`) });

async function events(files: string[], config: EventConfig) {
  const store = await loadEvents(files, config);
  try {
    const rows = await queryRows(store.conn, `SELECT user_id, strftime(ts, '%Y-%m-%d %H:%M') AS ts, event, session_id, value FROM events ORDER BY ts, session_id, event`);
    return { report: store.report, rows: rows.map((r) => ({ ...r, value: r.value === null ? null : Number(r.value) }) as Record<string, unknown>) };
  } finally {
    store.close();
  }
}

describe('a SQL event source over named files', () => {
  it('Online Retail: one event per invoice, value = sum of Quantity * UnitPrice over distinct lines, C invoices cancelled, lines without a customer counted as rejected', async () => {
    const { report, rows } = await events([fx('retail-sample.csv')], await example('online-retail'));
    // Expected values printed by test/fixtures/make-retail-sample.py (Python, from the same 31 lines).
    expect(rows).toEqual([
      { user_id: '17850', ts: '2010-12-01 08:26', event: 'order', session_id: '536365', value: 139.12 },
      { user_id: '17850', ts: '2010-12-01 08:28', event: 'order', session_id: '536366', value: 22.2 },
      { user_id: '13047', ts: '2010-12-01 08:34', event: 'order', session_id: '536367', value: 278.73 },
      { user_id: '13047', ts: '2010-12-01 08:34', event: 'order', session_id: '536368', value: 70.05 },
      { user_id: '13047', ts: '2010-12-01 08:35', event: 'order', session_id: '536369', value: 17.85 },
      { user_id: '17908', ts: '2010-12-01 11:45', event: 'order', session_id: '536409', value: 20.3 },
      { user_id: '13047', ts: '2011-01-06 18:02', event: 'cancelled_order', session_id: 'C540391', value: -2.95 },
    ]);
    expect(report.files).toEqual([expect.objectContaining({ path: fx('retail-sample.csv'), records: 31 })]);
    expect(report.rowsRead).toBe(8);
    expect(report.rowsUsed).toBe(7);
    expect(report.rejected).toEqual({ 'empty user id': 1 });
    expect(report.examples['empty user id']).toEqual([{ file: 'the source SELECT', where: 'row 7', value: 'user id ""' }]);
  });

  it('OULAD: day offsets from each presentation start (B = 1 February, J = 1 October), submissions joined to their module, withdrawal as the churn event', async () => {
    const config = await example('oulad');
    const { rows } = await events(
      [`registration=${fx('oulad-registration.csv')}`, `courses=${fx('oulad-courses.csv')}`, `assessments=${fx('oulad-assessments.csv')}`, `submissions=${fx('oulad-submissions.csv')}`],
      config,
    );
    // Expected events printed by test/fixtures/make-oulad-sample.py.
    const expected = `AAA-2013J-11391 2013-04-25 registered
AAA-2013J-11391 2013-10-19 submitted_tma
AAA-2013J-11391 2013-11-23 submitted_tma
AAA-2013J-11391 2014-01-24 submitted_tma
AAA-2013J-11391 2014-03-14 submitted_tma
AAA-2013J-11391 2014-05-01 submitted_tma
AAA-2013J-30268 2013-07-01 registered
AAA-2013J-30268 2013-10-13 unregistered
BBB-2013B-27891 2012-12-05 registered
BBB-2013B-27891 2013-02-19 submitted_tma
BBB-2013B-27891 2013-03-27 submitted_tma
BBB-2013B-27891 2013-04-02 submitted_cma
BBB-2013B-27891 2013-05-01 submitted_tma
BBB-2013B-27891 2013-05-07 submitted_cma
BBB-2013B-27891 2013-06-07 submitted_cma
BBB-2013B-27891 2013-07-04 unregistered`.split('\n');
    const got = rows.filter((r) => r.event !== 'enrolled_week').map((r) => `${r.user_id} ${String(r.ts).slice(0, 10)} ${r.event}`).sort();
    expect(got).toEqual(expected);
    // One enrolled_week event every 7 days from registration to unregistration or the presentation's end (the script's counts).
    const weeks: Record<string, number> = {};
    for (const r of rows) if (r.event === 'enrolled_week') weeks[String(r.user_id)] = (weeks[String(r.user_id)] ?? 0) + 1;
    expect(weeks).toEqual({ 'AAA-2013J-11391': 61, 'AAA-2013J-30268': 15, 'BBB-2013B-27891': 31 });
    expect(config.taxonomy.churn).toEqual(['unregistered']);
  });

  it('binds plain paths by file name and refuses a file that matches no placeholder, or a placeholder without a file', async () => {
    const config = await example('oulad');
    await expect(loadEvents([fx('oulad-registration.csv')], config)).rejects.toThrow(/--events .*oulad-registration\.csv matches no placeholder of the config's source \(\{registration\}: studentRegistration\.csv\*/);
    await expect(loadEvents([`registration=${fx('oulad-registration.csv')}`, `courses=${fx('oulad-courses.csv')}`], config)).rejects.toThrow(
      /reads \{assessments\} \(assessments\.csv\*\), \{submissions\} \(studentAssessment\.csv\*\), but no --events file was given for them/,
    );
    await expect(loadEvents([`nope=${fx('oulad-registration.csv')}`], config)).rejects.toThrow(/"nope" is not a placeholder/);
  });

  it('accepts only one read-only SELECT that reads its placeholders', async () => {
    const base = { name: 'x', columns: { user_id: 'u', timestamp: 't', event: 'e' } };
    const withSql = (sql: string) => validateConfig({ ...base, source: { files: { lines: 'retail-sample.csv' }, sql } }, 'x');
    const load = (sql: string) => loadEvents([fx('retail-sample.csv')], withSql(sql));
    await expect(load('DELETE FROM {lines}')).rejects.toThrow('config "x": source.sql is not a valid statement: it must be a read-only SELECT (no INSERT, COPY, ATTACH, PRAGMA...).');
    await expect(load('SELECT 1 AS u FROM {lines}; SELECT 2 AS u')).rejects.toThrow('config "x": source.sql must be one SELECT statement, found 2.');
    await expect(load("SELECT * FROM {lines} JOIN read_csv('/etc/passwd') ON true")).rejects.toThrow('config "x": source.sql calls read_csv; it may read only its {placeholders} (declare each file in source.files).');
    await expect(load('SELECT * FROM {lines} JOIN {other} ON true')).rejects.toThrow('config "x": source.sql uses the placeholder {other}, which source.files does not declare (declared: lines).');
    expect(() => validateConfig({ ...base, source: { files: { lines: 'a.csv', extra: 'b.csv' }, sql: 'SELECT * FROM {lines}' } }, '"x"')).toThrow(
      'config "x": source.files declares "extra", but source.sql never reads {extra}; remove it or use it.',
    );
    expect(() => validateConfig({ ...base, source: { files: { 'my-file': 'a.csv' }, sql: 'SELECT * FROM {my-file}' } }, '"x"')).toThrow(/source\.files key "my-file" must be a placeholder name/);
    await expect(load('SELECT CustomerID AS u, InvoiceDate AS t FROM {lines}')).rejects.toThrow(/column "e" \(mapped as columns\.event\) is not in "the source SELECT"; its columns are: u, t/);
  });
});
