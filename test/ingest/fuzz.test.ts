import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeFeatures, cutoffOf } from '../../src/features/index.js';
import { loadEvents, validateConfig, type EventStore } from '../../src/ingest/index.js';
import { CohortlabError } from '../../src/shared/errors.js';
import { queryColumns } from '../../src/shared/duckdb.js';
import { AS_OF, COL, REASONS, expectedEvent, fileArb, render, renderClean, type ExpectedEvent, type FileSpec, type Rec } from './fuzz-gen.js';

/**
 * Property-based ingest, seeded: random CSV and NDJSON files (and several at once, some gzipped) mixing
 * valid rows with malformed lines (wrong column count, junk after a closing quote, an unterminated quote,
 * truncated or non-object JSON), wrong types (text or JSON values in the timestamp and value columns),
 * empty and 100 kB strings, unicode and quote/comma/newline-laden ids, duplicate events, out-of-order and
 * future timestamps in nine ISO and epoch forms, a BOM, CRLF, blank lines, a missing final newline, shuffled
 * columns and , ; tab | separators.
 * The model in fuzz-gen.ts says what each record must become; every run checks:
 *   - rows read = rows used + the sum of rows rejected by reason, and each count equals the model's;
 *   - the reasons are the documented ones, and the examples (all of them) name the file and the line
 *     each rejected record starts on;
 *   - the events table holds exactly the valid records (ids, instants, names, plans, values);
 *   - features equal, column for column and user for user, those computed from a clean file holding
 *     the valid records only (canonical ISO times, LF, no BOM).
 * Runs: CSV 12 files and NDJSON 12 (up to 60 records each, ~25 on average), 4 sets of 2-3 files (see docs/guarantees-inputs.md).
 */
const pm = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'pm-config.json'), 'utf8')) as Record<string, unknown>;
// The fixture's mapping (explicit columns) plus a value column; format and time format told apart per file and row.
const config = validateConfig(
  { ...pm, name: 'fuzz', format: 'auto', timestamp_format: 'auto', columns: { user_id: COL.user, timestamp: COL.time, event: COL.event, plan: COL.plan, value: COL.value } },
  'fuzz config',
);
const RUNS = { csv: 12, ndjson: 12, multi: 4 };
const cutoff = cutoffOf(AS_OF);
let dir: string;
let n = 0;

const clip = (s: string) => (s.length > 120 ? `${JSON.stringify(s.slice(0, 100))}... (${s.length} chars)` : JSON.stringify(s));

/** Equal as multisets; the error names the first difference without printing 100 kB strings. */
function expectSameMultiset(actual: string[], expected: string[], what: string): void {
  const a = [...actual].sort();
  const e = [...expected].sort();
  for (let i = 0; i < Math.max(a.length, e.length); i++) {
    if (a[i] !== e[i]) throw new Error(`${what}: ${a.length} found, ${e.length} expected; first difference at #${i}: found ${clip(a[i] ?? '(none)')}, expected ${clip(e[i] ?? '(none)')}`);
  }
}

const eventKey = (e: ExpectedEvent) => JSON.stringify([e.user, e.ms, e.event, e.plan ?? '', e.value === null ? 'NaN' : e.value]);

async function eventsOf(store: EventStore): Promise<string[]> {
  const r = await queryColumns(store.conn, `SELECT user_id, CAST(epoch_ms(ts) AS DOUBLE), event, plan, value FROM events`);
  const [u, ms, ev, plan, value] = r.columns as [string[], Float64Array, string[], string[], Float64Array];
  return Array.from({ length: r.rows }, (_, i) => JSON.stringify([u[i], ms[i], ev[i], plan[i], Number.isNaN(value[i]) ? 'NaN' : value[i]]));
}

async function writeFiles(specs: FileSpec[]) {
  const out: { path: string; records: ReturnType<typeof render>['records'] }[] = [];
  for (const f of specs) {
    const { bytes, records } = render(f);
    const path = join(dir, `f${n++}.${f.format}${f.gzip ? '.gz' : ''}`);
    await writeFile(path, bytes);
    out.push({ path, records });
  }
  return out;
}

/** Loads the files, checks the report and events against the model and the features against a clean file. */
async function check(specs: FileSpec[], opts: { strict?: boolean } = {}): Promise<void> {
  const files = await writeFiles(specs);
  const all = files.flatMap((f) => f.records.map((r) => ({ ...r, path: f.path })));
  const valid: Rec[] = all.filter((r) => r.reason === null).map((r) => r.rec);
  const cleanPath = join(dir, `clean${n++}.${specs[0].format}`);
  await writeFile(cleanPath, renderClean(specs[0].format, valid));
  // two DuckDB instances, loaded side by side
  const [mixed, clean] = await Promise.all([loadEvents(files.map((f) => f.path), config, { examples: 1_000_000 }), loadEvents([cleanPath], config)]);
  try {
    const r = mixed.report;
    const rejectedSum = Object.values(r.rejected).reduce((s, v) => s + v, 0);
    expect(r.rowsRead, 'rows read').toBe(all.length);
    expect(r.rowsUsed + rejectedSum, 'rows used + rejected').toBe(r.rowsRead);
    expect(r.rowsUsed, 'rows used').toBe(valid.length);
    const want: Record<string, number> = {};
    for (const rec of all) if (rec.reason) want[rec.reason] = (want[rec.reason] ?? 0) + 1;
    expect(r.rejected, 'rejected by reason').toEqual(want);
    for (const reason of Object.keys(r.rejected)) expect(REASONS, 'a documented reason').toContain(reason);
    // Every rejected record is shown (examples: unlimited here) at the line it starts on.
    for (const reason of REASONS) {
      const got = (r.examples[reason] ?? []).map((e) => `${e.file} ${e.where}`);
      expectSameMultiset(got, all.filter((x) => x.reason === reason).map((x) => `${x.path} line ${x.line}`), `examples of "${reason}"`);
    }
    expectSameMultiset(await eventsOf(mixed), valid.map((v) => eventKey(expectedEvent(v))), 'events');

    const [a, b] = await Promise.all([computeFeatures(mixed, { asOf: AS_OF }), computeFeatures(clean, { asOf: AS_OF })]);
    const users = [...new Set(valid.map(expectedEvent).filter((e) => e.ms < cutoff).map((e) => e.user))];
    expectSameMultiset(a.userIds, users, 'feature users');
    expect(a.userIds, 'user ids (clean file)').toEqual(b.userIds);
    expect(a.plan, 'plan').toEqual(b.plan);
    expect(Array.from(a.alreadyChurned), 'already churned').toEqual(Array.from(b.alreadyChurned));
    expect(Object.keys(a.columns).sort(), 'feature columns').toEqual(Object.keys(b.columns).sort());
    for (const k of Object.keys(b.columns)) expect(Array.from(a.columns[k]), k).toEqual(Array.from(b.columns[k]));
  } finally {
    mixed.close();
    clean.close();
  }
  if (opts.strict) {
    // --strict: any rejected record is one BAD_ROWS error naming a file:line of a rejected record.
    const rejected = all.filter((x) => x.reason !== null);
    const res = await loadEvents(files.map((f) => f.path), config, { strict: true }).then(
      (s) => (s.close(), null),
      (e: unknown) => e,
    );
    if (rejected.length === 0) expect(res).toBeNull();
    else {
      expect(res).toBeInstanceOf(CohortlabError);
      const e = res as CohortlabError;
      expect(e.code).toBe('BAD_ROWS');
      expect(rejected.map((x) => `${x.path}:line ${x.line}`)).toContain(e.path);
    }
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-ingest-fuzz-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ingest fuzz (seeded)', () => {
  it(`CSV: read = used + rejected by reason, examples at the right lines, events and features of the valid rows alone (${RUNS.csv} files)`, async () => {
    await fc.assert(fc.asyncProperty(fileArb('csv'), (f) => check([f])), { seed: 20261123, numRuns: RUNS.csv });
  }, 120_000);

  it(`NDJSON: the same (${RUNS.ndjson} files)`, async () => {
    await fc.assert(fc.asyncProperty(fileArb('ndjson'), (f) => check([f])), { seed: 20261124, numRuns: RUNS.ndjson });
  }, 120_000);

  it(`several CSV and NDJSON files at once, some gzipped, and --strict fails on the first rejected line (${RUNS.multi} runs)`, async () => {
    const files = fc.array(fc.oneof(fileArb('csv', 25), fileArb('ndjson', 25)), { minLength: 2, maxLength: 3 });
    await fc.assert(fc.asyncProperty(files, (fs) => check(fs, { strict: true })), { seed: 20261125, numRuns: RUNS.multi });
  }, 120_000);
});
