import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CDNOW_PRESET, loadEvents, SYNTHETIC_PRESET, type EventConfig, type EventStore, type IngestReport } from '../../src/ingest/index.js';
import { asSource } from '../../src/engine/index.js';
import { openDuckDB, queryRows, quoteLiteral } from '../../src/shared/duckdb.js';
import { collectingLogger } from '../../src/shared/log.js';

/**
 * The lean pass (issue 23 part 3): a CSV or Parquet log is read into `lean` without per-row trims and reject reasons,
 * and read again through `stage` only when a check says something would be rejected or changed. Every case here
 * loads the same file both ways (`lean: false` is the `stage` pass alone) and asks for the same report and the
 * same events, value for value; each case also says which pass must have produced them, so a check that let a
 * dirty file through, or sent every clean file back to `stage`, fails.
 * Files are the synthetic fixture (29 events of u000002, test/fixtures/synthetic-u2.csv) edited per case.
 */
const cdnowPath = join(import.meta.dirname, '..', '..', 'data', 'cdnow', 'CDNOW_master.txt.gz');
const fixture = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'synthetic-u2.csv'), 'utf8');
const [header, ...rows] = fixture.trimEnd().split('\n');
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cohortlab-lean-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The fixture with field `col` of data row `i` (0-based) set to `value` (no quoting: test values hold no comma). */
function edit(lines: string[], i: number, col: string, value: string): string[] {
  const k = header.split(',').indexOf(col);
  return lines.map((l, j) => (j === i ? l.split(',').map((f, c) => (c === k ? value : f)).join(',') : l));
}

async function write(lines: string[], opts: { header?: string; gzip?: boolean } = {}): Promise<string> {
  const text = `${[opts.header ?? header, ...lines].join('\n')}\n`;
  const path = join(dir, `lean-${n++}.csv${opts.gzip ? '.gz' : ''}`);
  await writeFile(path, opts.gzip ? gzipSync(text) : text);
  return path;
}

const report = (r: IngestReport) => ({ ...r, seconds: 0 });
const events = async (s: EventStore) => queryRows(s.conn, `SELECT user_id, CAST(epoch_ms(ts) AS DOUBLE) AS ts, event, session_id, plan, value, CAST(epoch_ms(signup_ts) AS DOUBLE) AS signup FROM events ORDER BY ALL`);
/** Which pass read the file: the lean pass leaves its rejects table, `rejects_0_lean`. */
const pass = async (s: EventStore) =>
  (await queryRows(s.conn, `SELECT count(*)::DOUBLE AS n FROM information_schema.tables WHERE table_name = 'rejects_0_lean'`))[0].n === 1 ? 'lean' : 'stage';
/** Which pass read a Parquet file (no rejects table): the lean pass says when it hands the files to `stage`. */
const saidAgain = (lines: string[]) => lines.some((l) => l.includes('reading again with every row checked'));

async function both(path: string, config: EventConfig = SYNTHETIC_PRESET) {
  const lean = await loadEvents([path], config);
  const stage = await loadEvents([path], config, { lean: false });
  try {
    expect(report(lean.report)).toEqual(report(stage.report));
    expect(await events(lean)).toEqual(await events(stage));
    expect(await pass(stage)).toBe('stage');
    return { pass: await pass(lean), report: lean.report, events: await events(lean) };
  } finally {
    lean.close();
    stage.close();
  }
}

describe('lean CSV pass: the same report and events as the stage pass', () => {
  it('a clean file is read once, by the lean pass', async () => {
    const r = await both(await write(rows));
    expect(r.pass).toBe('lean');
    expect(r.report.rowsUsed).toBe(29);
    expect(r.report.sessions).toBe(new Set(r.events.map((e) => e.session_id)).size);
  });

  it('gzipped, and with a malformed line (kept by DuckDB, not a reason to read again)', async () => {
    expect((await both(await write(rows, { gzip: true }))).pass).toBe('lean');
    const r = await both(await write([...rows.slice(0, 5), 'u000002,2026-01-03T00:00:00Z', ...rows.slice(5)]));
    expect(r.pass).toBe('lean');
    expect(r.report.rejected).toEqual({ 'malformed row': 1 });
    expect(r.report.examples['malformed row'][0].where).toBe('line 7');
  });

  it('missing session ids become "" and unparsable signup times are counted (rows kept), in the lean pass', async () => {
    const r = await both(await write(edit(edit(edit(rows, 3, 'session_id', ''), 4, 'signup_at', 'soon'), 5, 'signup_at', '')));
    expect(r.pass).toBe('lean');
    expect(r.report.signupsUnparsable).toBe(1);
    expect(r.events.filter((e) => e.session_id === '').length).toBe(1);
  });

  it('sessions by the gap rule (no session column mapped)', async () => {
    const gap: EventConfig = { ...SYNTHETIC_PRESET, columns: { ...SYNTHETIC_PRESET.columns, session_id: null } };
    const r = await both(await write(rows), gap);
    expect(r.pass).toBe('lean');
    expect(r.report.sessionsInferred).toBe(true);
  });

  it.each([
    ['a user id to trim', edit(rows, 2, 'user_id', ' u000002')],
    ['a user id ending in a no-break space (Unicode Zs)', edit(rows, 2, 'user_id', 'u000002\u00a0')],
    ['an event to trim', edit(rows, 2, 'event', 'app_opened ')],
    ['a plan to trim', edit(rows, 2, 'plan', 'pro ')],
    ['a plan of spaces (NULL once trimmed)', edit(rows, 2, 'plan', '  ')],
    ['an empty user id', edit(rows, 2, 'user_id', '')],
    ['a user id of spaces', edit(rows, 2, 'user_id', '   ')],
    ['an unparsable time', edit(rows, 2, 'timestamp', '2026-13-45T00:00:00Z')],
    ['an empty event', edit(rows, 2, 'event', '')],
  ])('%s: read again through stage', async (_what, lines) => {
    const r = await both(await write(lines));
    expect(r.pass).toBe('stage');
  });

  it('several files: one with a row to reject sends them all through stage, the rejected row at its file and line', async () => {
    const files = [await write(rows.slice(0, 10)), await write(edit(rows.slice(10), 4, 'user_id', '')), await write(rows.slice(0, 3))];
    const lean = await loadEvents(files, SYNTHETIC_PRESET);
    const stage = await loadEvents(files, SYNTHETIC_PRESET, { lean: false });
    try {
      expect(report(lean.report)).toEqual(report(stage.report));
      expect(await events(lean)).toEqual(await events(stage));
      expect(lean.report.examples['empty user id']).toEqual([{ file: files[1], where: 'line 6', value: 'user id ""' }]);
      expect(lean.report.files.map((f) => f.records)).toEqual([10, 19, 3]);
    } finally {
      lean.close();
      stage.close();
    }
    expect((await both(await write(rows.slice(0, 10)))).pass).toBe('lean');
  });

  it('values: finite numbers stay lean; a non-numeric or infinite value is read again', async () => {
    const valued: EventConfig = { ...SYNTHETIC_PRESET, columns: { ...SYNTHETIC_PRESET.columns, value: 'amount' } };
    const withValues = (v: (i: number) => string) => rows.map((l, i) => `${l},${v(i)}`);
    const h = `${header},amount`;
    const ok = await both(await write(withValues((i) => (i === 3 ? '' : i === 4 ? ' ' : String(i * 1.5))), { header: h }), valued);
    expect(ok.pass).toBe('lean');
    expect(ok.events.filter((e) => e.value === null).length).toBe(2);
    for (const bad of ['abc', 'inf', 'NaN']) {
      const r = await both(await write(withValues((i) => (i === 7 ? bad : '1')), { header: h }), valued);
      expect(r.pass).toBe('stage');
      expect(r.report.rowsUsed).toBe(28);
    }
  });

  it('excluded values: none in the file stays lean; one is read again', async () => {
    const excl: EventConfig = { ...SYNTHETIC_PRESET, exclude: [{ column: 'plan', values: ['enterprise'] }] };
    expect((await both(await write(rows), excl)).pass).toBe('lean');
    const r = await both(await write(edit(rows, 6, 'plan', 'enterprise')), excl);
    expect(r.pass).toBe('stage');
    expect(r.report.rejected).toEqual({ 'excluded by config (plan in excluded values)': 1 });
  });
});

/**
 * The same fixture as Parquet: written by DuckDB from the edited CSV, its timestamps typed (TIMESTAMP) or left as
 * text (`textTimes`), and loaded both ways.
 */
async function writeParquet(lines: string[], opts: { textTimes?: boolean } = {}): Promise<string> {
  const csv = await write(lines);
  const path = csv.replace(/\.csv$/, '.parquet');
  const db = await openDuckDB();
  try {
    const times = opts.textTimes ? '' : ' REPLACE (CAST("timestamp" AS TIMESTAMP) AS "timestamp", CAST(signup_at AS TIMESTAMP) AS signup_at)';
    await db.conn.run(`COPY (SELECT *${times} FROM read_csv(${quoteLiteral(csv)}, header = true, all_varchar = true)) TO ${quoteLiteral(path)} (FORMAT parquet)`);
  } finally {
    db.close();
  }
  return path;
}

/** The `events` columns and their types, as the readers of `events` see them (a view's too). */
const columnTypes = async (s: EventStore) =>
  (await queryRows(s.conn, `SELECT column_name || ' ' || data_type AS c FROM information_schema.columns WHERE table_name = 'events' ORDER BY ordinal_position`)).map((r) => String(r.c));
/** Whether `events` is a view over the Parquet files (read in place) or a table. */
const storage = async (s: EventStore) =>
  String((await queryRows(s.conn, `SELECT table_type AS t FROM information_schema.tables WHERE table_name = 'events'`))[0].t) === 'VIEW' ? 'view' : 'table';

/**
 * Loads Parquet files three ways, the lean pass (in place where it can be), the lean pass copying into the table
 * (`inPlace: false`) and the stage pass alone, and asks for the same report and events from all three.
 */
async function bothParquet(paths: string | string[], config: EventConfig = SYNTHETIC_PRESET) {
  const files = typeof paths === 'string' ? [paths] : paths;
  const log = collectingLogger();
  const lean = await loadEvents(files, config, { logger: log });
  const copied = await loadEvents(files, config, { inPlace: false });
  const stage = await loadEvents(files, config, { lean: false });
  try {
    expect(report(lean.report)).toEqual(report(stage.report));
    expect(report(copied.report)).toEqual(report(stage.report));
    expect(await events(lean)).toEqual(await events(stage));
    expect(await events(copied)).toEqual(await events(stage));
    expect(await columnTypes(lean)).toEqual(await columnTypes(stage));
    expect(await storage(copied)).toBe('table');
    const inPlace = log.lines.some((l) => l.includes('read in place'));
    // how many reads of Parquet files the view makes
    const view = await queryRows(lean.conn, `SELECT sql FROM duckdb_views() WHERE view_name = 'events'`);
    const reads = view.length ? String(view[0].sql).split('read_parquet(').length - 1 : 0;
    return { pass: saidAgain(log.lines) ? 'stage' : 'lean', inPlace, storage: await storage(lean), reads, report: lean.report, events: await events(lean) };
  } finally {
    lean.close();
    copied.close();
    stage.close();
  }
}

describe('lean pass over Parquet: the same report and events as the stage pass', () => {
  it('a clean file is read once, by the lean pass: in place (a view) with typed times, copied with text times', async () => {
    for (const textTimes of [false, true]) {
      const r = await bothParquet(await writeParquet(rows, { textTimes }));
      expect(r.pass).toBe('lean');
      expect(r.report.rowsUsed).toBe(29);
      expect([r.inPlace, r.storage]).toEqual(textTimes ? [false, 'table'] : [true, 'view']);
    }
  });

  it('sessions by the gap rule (numbered into a table from the files read in place), and missing session ids', async () => {
    const gap: EventConfig = { ...SYNTHETIC_PRESET, columns: { ...SYNTHETIC_PRESET.columns, session_id: null } };
    const g = await bothParquet(await writeParquet(rows), gap);
    expect([g.pass, g.inPlace, g.storage]).toEqual(['lean', true, 'table']);
    const r = await bothParquet(await writeParquet(edit(rows, 3, 'session_id', '')));
    expect([r.pass, r.inPlace, r.storage]).toEqual(['lean', true, 'view']);
    expect(r.events.filter((e) => e.session_id === '').length).toBe(1);
  });

  it('several files read in place keep their own record counts; one row to reject sends them all through stage, at its file and row', async () => {
    const clean = await bothParquet([await writeParquet(rows.slice(0, 10)), await writeParquet(rows.slice(10))]);
    expect([clean.pass, clean.storage, clean.reads]).toEqual(['lean', 'view', 1]);
    expect(clean.report.files.map((f) => f.records)).toEqual([10, 19]);
    // a file with one more column: one read per file instead of one read of both
    const wider = join(dir, `wider-${n++}.parquet`);
    const db = await openDuckDB();
    await db.conn.run(`COPY (SELECT *, 'x' AS note FROM read_parquet(${quoteLiteral(await writeParquet(rows.slice(10)))})) TO ${quoteLiteral(wider)} (FORMAT parquet)`);
    db.close();
    const mixed = await bothParquet([await writeParquet(rows.slice(0, 10)), wider]);
    expect([mixed.pass, mixed.storage, mixed.reads]).toEqual(['lean', 'view', 2]);
    expect(mixed.report.files.map((f) => f.records)).toEqual([10, 19]);
    const second = await writeParquet(edit(rows.slice(10), 4, 'user_id', ''));
    const dirty = await bothParquet([await writeParquet(rows.slice(0, 10)), second]);
    expect([dirty.pass, dirty.inPlace, dirty.storage]).toEqual(['stage', false, 'table']);
    expect(Object.values(dirty.report.examples).flat().map((e) => `${e.file} ${e.where}`)).toEqual([`${second} row 5`]);
  });

  it('a file read in place that changes while it is used is an error naming it; a copied one is not', async () => {
    const path = await writeParquet(rows);
    const inPlace = asSource(await loadEvents([path], SYNTHETIC_PRESET));
    const copied = asSource(await loadEvents([path], SYNTHETIC_PRESET, { inPlace: false }));
    try {
      const count = 'SELECT CAST(count(*) AS DOUBLE) AS n FROM events';
      expect((await inPlace.query(count)).columns[0][0]).toBe(29);
      // the same rows written again (another size): the view would now read the new file
      await writeFile(path, await readFile(await writeParquet(rows.slice(0, 20))));
      const changed = inPlace.query(count);
      await expect(changed).rejects.toThrow(new RegExp(`event file "${path}" changed \\(\\d+ -> \\d+ bytes, modified .*\\) while it was read in place`));
      await expect(changed).rejects.toMatchObject({ code: 'INPUT_CHANGED', status: 409 });
      expect((await copied.query(count)).columns[0][0]).toBe(29);
      await rm(path);
      await expect(inPlace.command(`CREATE TEMP TABLE t AS SELECT 1 AS x`)).rejects.toThrow(/was removed while it was read in place/);
    } finally {
      await inPlace.close();
      await copied.close();
    }
  });

  it('real CDNOW as Parquet (typed dates, the gap rule): the same 69,659 events and sessions read in place as copied', async () => {
    const path = join(dir, 'cdnow.parquet');
    const db = await openDuckDB();
    try {
      await db.conn.run(
        `COPY (SELECT f[1] AS customer_id, CAST(strptime(f[2], '%Y%m%d') AS DATE) AS date, CAST(f[3] AS INTEGER) AS number_of_cds, CAST(f[4] AS DOUBLE) AS dollar_value
               FROM (SELECT regexp_split_to_array(trim(l), '\\s+') AS f FROM read_csv(${quoteLiteral(cdnowPath)}, columns = {'l': 'VARCHAR'}, header = false, delim = E'\\x01', quote = '', escape = '')) WHERE f[1] <> 'customer_id')
         TO ${quoteLiteral(path)} (FORMAT parquet)`,
      );
    } finally {
      db.close();
    }
    const r = await bothParquet(path, { ...CDNOW_PRESET, format: 'parquet' });
    expect([r.pass, r.inPlace, r.storage]).toEqual(['lean', true, 'table']);
    expect(r.report.rowsUsed).toBe(69659);
    expect(r.report.sessions).toBe(67591);
  });

  it.each([
    ['a user id to trim', edit(rows, 2, 'user_id', ' u000002'), {}, 0],
    ['an empty user id', edit(rows, 2, 'user_id', ''), {}, 1],
    ['an empty event', edit(rows, 2, 'event', ''), {}, 1],
    ['an unparsable text time', edit(rows, 2, 'timestamp', '2026-13-45T00:00:00Z'), { textTimes: true }, 1],
  ])('%s: read again through stage, a rejected row at its number', async (_what, lines, opts, rejected) => {
    const r = await bothParquet(await writeParquet(lines, opts));
    expect(r.pass).toBe('stage');
    expect(Object.values(r.report.examples).flat().map((e) => e.where)).toEqual(rejected ? ['row 3'] : []);
  });
});
