import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEvents, validateConfig } from '../../src/ingest/index.js';
import { queryRows } from '../../src/shared/duckdb.js';

/** Counterexamples found by test/ingest/fuzz.test.ts, as small literal files. */
const config = validateConfig(
  { name: 'regression', columns: { user_id: 'user', timestamp: 'time', event: 'name', plan: 'plan', value: 'amount' }, plans: { values: { free: 0 }, paid: [] } },
  'regression config',
);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-ingest-regr-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const where = (examples: Record<string, { where: string }[]>) => Object.fromEntries(Object.entries(examples).map(([k, v]) => [k, v.map((e) => e.where)]));

describe('ingest regressions', () => {
  // Found by the CSV property: a quoted line break and skipped blank lines shifted every later line number
  // (DuckDB counts a malformed record's line without the breaks inside quotes, and parsed rows only by rank).
  const csv = [
    'user,time,name,plan,amount',
    'a1,2026-03-01T00:00:00Z,"says hi,', // line 2: a record over two lines
    'then leaves",free,1',
    '   ', // line 4: one field, too few columns
    '', // line 5: blank, no record
    'b2,not a date,added_task,free,1', // line 6
    'c3,2026-03-01T00:00:00Z,added_task', // line 7: too few columns
    '"d\r\n4",2026-03-01T00:00:00Z,,free,2', // line 8 (the id holds a CRLF): empty event name
    'e5,2026-03-01T00:00:00Z,added_task,free,abc', // line 10
  ].join('\n');

  for (const gz of [false, true]) {
    it(`CSV${gz ? ' (gzipped)' : ''}: rejected rows are shown at the line they start on, after quoted line breaks and blank lines`, async () => {
      const path = join(dir, `lines.csv${gz ? '.gz' : ''}`);
      await writeFile(path, gz ? gzipSync(csv) : csv);
      const store = await loadEvents([path], config, { examples: 10 });
      try {
        expect(store.report.rowsRead).toBe(6);
        expect(store.report.rowsUsed).toBe(1);
        expect(where(store.report.examples)).toEqual({
          'malformed row': ['line 4', 'line 7'],
          'unparsable timestamp': ['line 6'],
          'empty event name': ['line 8'],
          'non-numeric value': ['line 10'],
        });
        const ev = await queryRows(store.conn, 'SELECT user_id, event FROM events');
        expect(ev).toEqual([{ user_id: 'a1', event: 'says hi,\nthen leaves' }]);
      } finally {
        store.close();
      }
    });
  }

  // Found by the NDJSON property: a line of valid JSON that is not an object was counted as "empty user id".
  it('NDJSON: an array, a number, a string or null on a line is a malformed row, not an empty user id', async () => {
    const path = join(dir, 'not-objects.ndjson');
    await writeFile(
      path,
      ['[1,2]', '{"user":"a1","time":"2026-03-01T00:00:00Z","name":"x","plan":"free","amount":1}', '42', '"a1"', 'null', '{"user":"b2","time":1772323200,"name":"y"}'].join('\n'),
    );
    const store = await loadEvents([path], config, { examples: 10 });
    try {
      expect(store.report.rowsRead).toBe(6);
      expect(store.report.rowsUsed).toBe(2);
      expect(store.report.rejected).toEqual({ 'malformed row': 4 });
      expect(store.report.examples['malformed row'].map((e) => `${e.where}: ${e.value}`)).toEqual([
        'line 1: an array, not a JSON object',
        'line 3: a number, not a JSON object',
        'line 4: a string, not a JSON object',
        'line 5: null, not a JSON object',
      ]);
    } finally {
      store.close();
    }
  });
});
