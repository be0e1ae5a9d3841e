import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeFeatures } from '../../src/features/index.js';
import { loadEvents, validateConfig } from '../../src/ingest/index.js';
import type { EventConfig } from '../../src/ingest/types.js';

/**
 * Property-based ingest (seeded): random mixes of valid rows with malformed lines, wrong types, empty and
 * huge strings, unicode and quote-laden ids, duplicates, out-of-order and future timestamps in mixed formats,
 * a BOM, CRLF, a missing final newline, as CSV and as NDJSON. Every time: rows read = rows used + rows
 * rejected (by the expected reasons), and the features equal those of a clean file holding the valid rows only.
 */
const SEED = 424242;
const BASE = Date.parse('2026-03-01T00:00:00Z');
const AS_OF = '2026-03-31';
let dir: string;
let n = 0;

const config: EventConfig = validateConfig({
  name: 'fuzz',
  format: 'auto',
  timestamp_format: 'auto',
  columns: { user_id: 'user', timestamp: 'time', event: 'name', plan: 'plan' },
  cadence: 'weekly',
  taxonomy: { core_features: ['created_project', 'added_task'], invite: ['invited_member'], churn: ['cancelled'] },
  activation: { milestones: [{ name: 'first_project', event: 'created_project', points: 20 }] },
  plans: { values: { free: 0, pro: 39 }, paid: ['pro'] },
}, 'test config');

type Row = { kind: 'valid'; user: string; ms: number; format: 'iso' | 'offset' | 'epoch_s' | 'epoch_ms'; event: string; plan: string } | { kind: 'empty user id' | 'unparsable timestamp' | 'empty event name' | 'malformed row'; user: string; ms: number; event: string };

const users = fc.constantFrom('a1', 'b"2', 'c,3', 'Ünï©ødé 🚀', "o'neil", 'line\nbreak', 'x'.repeat(2000), '0042', 'tab\there');
const events = fc.oneof(fc.constantFrom('created_project', 'added_task', 'invited_member', 'cancelled', 'viewed_page', 'ünïcode_event'), fc.constant('e'.repeat(100_000)));
const time = fc.integer({ min: -5 * 86400, max: 45 * 86400 }).map((s) => BASE + s * 1000); // before, inside and after the as-of date
const validRow = fc.record({ kind: fc.constant('valid' as const), user: users, ms: time, format: fc.constantFrom('iso', 'offset', 'epoch_s', 'epoch_ms') as fc.Arbitrary<'iso' | 'offset' | 'epoch_s' | 'epoch_ms'>, event: events, plan: fc.constantFrom('free', 'pro', '') });
const badRow = fc.record({ kind: fc.constantFrom('empty user id', 'unparsable timestamp', 'empty event name', 'malformed row') as fc.Arbitrary<'empty user id' | 'unparsable timestamp' | 'empty event name' | 'malformed row'>, user: users, ms: time, event: events });
const file = fc.record({
  rows: fc.array(fc.oneof({ weight: 3, arbitrary: validRow }, { weight: 1, arbitrary: badRow }), { minLength: 1, maxLength: 40 }),
  bom: fc.boolean(),
  crlf: fc.boolean(),
  finalNewline: fc.boolean(),
});

function timestampText(r: Extract<Row, { kind: 'valid' }>): string {
  switch (r.format) {
    case 'iso':
      return new Date(r.ms).toISOString().replace('.000Z', 'Z');
    case 'offset':
      return `${new Date(r.ms + 2 * 3600_000).toISOString().slice(0, 19)}+02:00`;
    case 'epoch_s':
      return String(r.ms / 1000);
    case 'epoch_ms':
      return String(r.ms);
  }
}

const csvCell = (s: string) => (/[",\n\r]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

function csvLine(r: Row): string {
  if (r.kind === 'valid') return [r.user, timestampText(r), r.event, r.plan].map(csvCell).join(',');
  const iso = new Date(r.ms).toISOString();
  switch (r.kind) {
    case 'empty user id':
      return ['', iso, r.event, 'free'].map(csvCell).join(',');
    case 'unparsable timestamp':
      return [r.user, 'not a date', r.event, 'free'].map(csvCell).join(',');
    case 'empty event name':
      return [r.user, iso, '', 'free'].map(csvCell).join(',');
    case 'malformed row':
      return [r.user, iso, r.event, 'free', 'one too many'].map(csvCell).join(',');
  }
}

function jsonLine(r: Row): string {
  if (r.kind === 'valid') return JSON.stringify({ user: r.user, time: r.format === 'epoch_s' || r.format === 'epoch_ms' ? Number(timestampText(r)) : timestampText(r), name: r.event, plan: r.plan });
  const iso = new Date(r.ms).toISOString();
  switch (r.kind) {
    case 'empty user id':
      return JSON.stringify({ user: '', time: iso, name: r.event, plan: 'free' });
    case 'unparsable timestamp':
      return JSON.stringify({ user: r.user, time: 'not a date', name: r.event, plan: 'free' });
    case 'empty event name':
      return JSON.stringify({ user: r.user, time: iso, name: '', plan: 'free' });
    case 'malformed row':
      return `{"user": ${JSON.stringify(r.user)}, "time": "${iso}", "name": `; // cut off: invalid JSON
  }
}

async function write(format: 'csv' | 'ndjson', rows: Row[], opts: { bom: boolean; crlf: boolean; finalNewline: boolean }): Promise<string> {
  const eol = opts.crlf ? '\r\n' : '\n';
  const lines = [...(format === 'csv' ? ['user,time,name,plan'] : []), ...rows.map(format === 'csv' ? csvLine : jsonLine)];
  const path = join(dir, `f${n++}.${format === 'csv' ? 'csv' : 'ndjson'}`);
  await writeFile(path, `${opts.bom ? '\uFEFF' : ''}${lines.join(eol)}${opts.finalNewline ? eol : ''}`);
  return path;
}

/** Every row is used or rejected for its reason; features equal those of the valid rows alone. */
async function check(format: 'csv' | 'ndjson', f: { rows: Row[]; bom: boolean; crlf: boolean; finalNewline: boolean }): Promise<void> {
  // one valid row before the cutoff, so both files have users to compare
  const rows: Row[] = [{ kind: 'valid', user: 'anchor', ms: BASE, format: 'iso', event: 'created_project', plan: 'free' }, ...f.rows];
  const valid = rows.filter((r) => r.kind === 'valid');
  const mixed = await loadEvents([await write(format, rows, f)], config);
  const clean = await loadEvents([await write(format, valid, { bom: false, crlf: false, finalNewline: true })], config);
  try {
    const r = mixed.report;
    const rejected = Object.values(r.rejected).reduce((s, v) => s + v, 0);
    expect(r.rowsRead).toBe(rows.length);
    expect(r.rowsUsed + rejected).toBe(r.rowsRead);
    expect(r.rowsUsed).toBe(valid.length);
    const want: Record<string, number> = {};
    for (const row of rows) if (row.kind !== 'valid') want[row.kind] = (want[row.kind] ?? 0) + 1;
    expect(r.rejected).toEqual(want);
    for (const [reason, examples] of Object.entries(r.examples)) for (const e of examples) expect(e.where, reason).toMatch(/^(line|row) \d+$/);
    const a = await computeFeatures(mixed, { asOf: AS_OF });
    const b = await computeFeatures(clean, { asOf: AS_OF });
    expect(a.userIds).toEqual(b.userIds);
    expect(a.plan).toEqual(b.plan);
    for (const k of Object.keys(b.columns)) expect(Array.from(a.columns[k]), k).toEqual(Array.from(b.columns[k]));
  } finally {
    mixed.close();
    clean.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-ingest-props-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ingest properties', () => {
  it('CSV: rows read = used + rejected by reason; features of the valid rows unchanged by the bad ones', async () => {
    await fc.assert(fc.asyncProperty(file, (f) => check('csv', f)), { seed: SEED, numRuns: 40 });
  }, 120_000);

  it('NDJSON: the same', async () => {
    await fc.assert(fc.asyncProperty(file, (f) => check('ndjson', f)), { seed: SEED + 1, numRuns: 40 });
  }, 120_000);
});
