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
  // Found while widening the fuzz (its "not utf-8" records): a line DuckDB cannot read failed the whole load with a raw
  // DuckDB error that quoted the line (a user id) instead of counting one malformed row.
  const T = '2026-03-01T00:00:00Z';
  const latin1 = Buffer.from([0xe9]); // "é" in Latin-1: not UTF-8
  const json = (u: string) => JSON.stringify({ user: u, time: T, name: 'x', plan: 'free', amount: 1 });

  it('CSV: a line that is not UTF-8 or over 2 MB is a malformed row at its line; the rest is read', async () => {
    const path = join(dir, 'unreadable.csv');
    await writeFile(path, Buffer.concat([
      Buffer.from(`user,time,name,plan,amount\na1,${T},x,free,1\ncaf`), latin1, Buffer.from(`,${T},x,free,1\n${'b'.repeat(2_200_000)},${T},x,free,1\nc3,${T},,free,1\nd4,${T},y,free,1\n`),
    ]));
    const store = await loadEvents([path], config, { examples: 10 });
    try {
      expect(store.report.rowsRead).toBe(5);
      expect(store.report.rowsUsed).toBe(2);
      expect(store.report.examples['malformed row'].map((e) => `${e.where}: ${e.value}`)).toEqual(['line 3: invalid encoding', 'line 4: line size over maximum']);
      expect(store.report.examples['empty event name'][0].where).toBe('line 5');
    } finally {
      store.close();
    }
  });

  it('NDJSON: the same, and the lines after a skipped one keep their numbers', async () => {
    const path = join(dir, 'unreadable.ndjson');
    await writeFile(path, Buffer.concat([
      Buffer.from(`${json('a1')}\n{"user":"caf`), latin1, Buffer.from(`","time":"${T}","name":"x"}\n${json('b'.repeat(2_200_000))}\n${json('c3')}\n[1]\n${json('')}\n`),
    ]));
    const store = await loadEvents([path], config, { examples: 10 });
    try {
      expect(store.report.rowsRead).toBe(6);
      expect(store.report.rowsUsed).toBe(2);
      expect(store.report.examples['malformed row'].map((e) => `${e.where}: ${e.value}`)).toEqual([
        'line 2: invalid encoding',
        'line 3: line size over maximum',
        'line 5: an array, not a JSON object',
      ]);
      expect(store.report.examples['empty user id'][0].where).toBe('line 6');
      const ev = await queryRows(store.conn, 'SELECT user_id FROM events ORDER BY user_id');
      expect(ev).toEqual([{ user_id: 'a1' }, { user_id: 'c3' }]);
    } finally {
      store.close();
    }
  });

  it('a UTF-16 file and a repeated mapped column are one CohortlabError each; a repeated unmapped column is read', async () => {
    const utf16 = join(dir, 'utf16.csv');
    await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`user,time,name\na1,${T},x\n`, 'utf16le')]));
    await expect(loadEvents([utf16], config)).rejects.toMatchObject({ code: 'UNKNOWN_FORMAT', message: expect.stringMatching(/is UTF-16 text .*iconv -f UTF-16 -t UTF-8/) });
    const dup = join(dir, 'dup.csv');
    await writeFile(dup, `user,time,name,plan,amount,user\na1,${T},x,free,1,z9\n`);
    await expect(loadEvents([dup], config)).rejects.toMatchObject({ code: 'MISSING_COLUMN', message: expect.stringMatching(/column "user" appears more than once in the header of ".*dup\.csv" \(columns 1 and 6\)/) });
    const dupNote = join(dir, 'dup-note.csv');
    await writeFile(dupNote, `user,time,note,name,plan,amount,note\na1,${T},n1,x,free,1,n2\n`);
    const store = await loadEvents([dupNote], config);
    try {
      expect(await queryRows(store.conn, 'SELECT user_id, event FROM events')).toEqual([{ user_id: 'a1', event: 'x' }]);
    } finally {
      store.close();
    }
  });
});
