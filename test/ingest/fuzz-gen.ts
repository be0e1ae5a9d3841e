import fc from 'fast-check';
import { gzipSync } from 'node:zlib';

/**
 * Generators and the expected outcome for the ingest fuzz test (test/ingest/fuzz.test.ts).
 *
 * A generated file is a list of records, each a set of field variants (valid or not) and a shape
 * (well formed or broken). From that list alone the model computes what ingest must report: the rows
 * read, the reason each bad row is rejected for (the first that applies, in the order of
 * `rejectReasonExpr` in src/ingest/sql.ts), the line each one starts on, and the events of the
 * valid rows. Nothing here reads the ingest code's results: the model is the specification.
 */

/** The documented rejection reasons (docs/guarantees-inputs.md), in the order they are checked. */
export const REASONS = ['malformed row', 'empty user id', 'unparsable timestamp', 'empty event name', 'non-numeric value', 'non-finite value (NaN or infinity)'] as const;
export type Reason = (typeof REASONS)[number];

/** Mapped source columns (the fuzz config maps these names) and one unmapped column. */
export const COL = { user: 'user', time: 'time', event: 'name', plan: 'plan', value: 'amount', note: 'note' } as const;
type Key = keyof typeof COL;

/** A field: text (CSV cell / JSON string), a JSON-only value (number, boolean, object), null, or absent. */
export type Cell = { t: 'str'; s: string } | { t: 'json'; v: unknown; text: string } | { t: 'null' } | { t: 'missing' };

export type TimeFormat = 'iso_z' | 'iso_z_no_ms' | 'iso_offset' | 'iso_offset_compact' | 'iso_space' | 'date' | 'epoch_s' | 'epoch_s_frac' | 'epoch_ms';

export interface Rec {
  user: Cell;
  /** Valid: the instant and its text; invalid: ms is null. */
  time: { ms: number | null; cell: Cell };
  event: Cell;
  plan: Cell;
  value: Cell;
  note: string;
  shape: Shape;
}

export type Shape = 'ok' | 'extra column' | 'missing column' | 'junk after quote' | 'unterminated quote' | 'truncated json' | 'not an object' | 'trailing garbage' | 'not utf-8';

/** Stands for a byte that is not UTF-8 (0xE9, Latin-1 "é"), put in by render(). */
const NOT_UTF8 = '\uE000\uE001';

export interface FileSpec {
  format: 'csv' | 'ndjson';
  /** Records, in file order; blank lines between them are not records. */
  items: ({ blank: true; spaces: number } | { blank: false; rec: Rec })[];
  bom: boolean;
  crlf: boolean;
  finalNewline: boolean;
  gzip: boolean;
  /** CSV: column order of the header (and rows); NDJSON: key order. */
  order: Key[];
  quoteAll: boolean;
  /** CSV field separator (told from the header by ingest). */
  delim: ',' | ';' | '\t' | '|';
}

export interface ExpectedEvent {
  user: string;
  ms: number;
  event: string;
  plan: string | null;
  value: number | null;
}

export const BASE_MS = Date.parse('2026-03-01T00:00:00Z');
export const AS_OF = '2026-03-20';
export const HUGE = 100_000;

const str = (s: string): Cell => ({ t: 'str', s });
const textOf = (c: Cell): string | null => (c.t === 'str' ? c.s : c.t === 'json' ? c.text : null);
/** DuckDB's trim() removes spaces only (not tabs or other white space), as ingest applies it. */
const trimSpaces = (s: string) => s.replace(/^ +| +$/g, '');

// ---------------------------------------------------------------------------------------------------------------
// field variants

const NASTY_IDS = ['a,b', 'q"uote', '""', '"', 'line\nbreak', 'cr\r\nlf', 'tab\tid', "o'neil", '🚀 rocket', 'e\u0301', '\u202Eevil', '0042', '=cmd()', ' padded ', '\\', '{"json":1}', ';|;'];

const validUser: fc.Arbitrary<Cell> = fc.oneof(
  { weight: 24, arbitrary: fc.constantFrom('a1', 'b2', 'c3', 'd4', 'e5').map(str) },
  { weight: 16, arbitrary: fc.constantFrom(...NASTY_IDS).map(str) },
  // any printable unicode inside fixed ends (leading/trailing spaces are trimmed, tested by ' padded ')
  { weight: 12, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).map((s) => str(`<${s}>`)) },
  { weight: 1, arbitrary: fc.constant(str(`u${'x'.repeat(HUGE)}`)) },
  // NDJSON: a numeric id is read as its text; in CSV the same cell is just the digits
  { weight: 4, arbitrary: fc.constantFrom(42, 7).map((n): Cell => ({ t: 'json', v: n, text: String(n) })) },
);
const emptyUser: fc.Arbitrary<Cell> = fc.constantFrom<Cell>(str(''), str('   '), { t: 'null' }, { t: 'missing' });

const EVENTS = ['created_project', 'added_task', 'completed_task', 'invited_member', 'used_template', 'viewed_pricing', 'opened_ticket', 'cancelled', 'something_else'];
const validEvent: fc.Arbitrary<Cell> = fc.oneof(
  { weight: 40, arbitrary: fc.constantFrom(...EVENTS).map(str) },
  { weight: 8, arbitrary: fc.constantFrom('says "hi", then\nleaves', 'ünïcödé ✓', ' added_task ', 'a;b|c').map(str) },
  { weight: 1, arbitrary: fc.constant(str('e'.repeat(HUGE))) },
);
const emptyEvent: fc.Arbitrary<Cell> = fc.constantFrom<Cell>(str(''), str('  '), { t: 'null' }, { t: 'missing' });

const plan: fc.Arbitrary<Cell> = fc.constantFrom<Cell>(str('free'), str('pro'), str('pro'), str(''), str(' pro '), str('gold'), { t: 'null' }, { t: 'missing' });

// Values are dyadic (exact in binary), so sums do not depend on the order rows are added in.
const validValue: fc.Arbitrary<Cell> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Cell>(str(''), { t: 'null' }, { t: 'missing' }) },
  { weight: 4, arbitrary: fc.integer({ min: -400, max: 4000 }).map((q) => str(String(q / 4))) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 400 }).map((q): Cell => ({ t: 'json', v: q / 2, text: String(q / 2) })) },
  { weight: 1, arbitrary: fc.constantFrom('.5', '1e3', '+3', '-0.25').map(str) },
);
const nonNumericValue: fc.Arbitrary<Cell> = fc.constantFrom<Cell>(str('abc'), str('12abc'), str('1,5'), str('0x10'), { t: 'json', v: true, text: 'true' });
const nonFiniteValue: fc.Arbitrary<Cell> = fc.constantFrom<Cell>(str('NaN'), str('Infinity'), str('-inf'), str('1e400'));

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');

/** The text (or JSON number) of an instant in one format, and the instant that text denotes. */
export function timeCell(ms: number, format: TimeFormat, asJsonNumber: boolean): { ms: number; cell: Cell } {
  const iso = (m: number) => new Date(m).toISOString();
  switch (format) {
    case 'iso_z':
      return { ms, cell: str(iso(ms)) };
    case 'iso_z_no_ms': {
      const s = Math.floor(ms / 1000) * 1000;
      return { ms: s, cell: str(iso(s).replace('.000Z', 'Z')) };
    }
    case 'iso_offset':
    case 'iso_offset_compact': {
      const offMin = [120, -330, 0, 345, -720, 840][Math.abs(ms) % 6];
      const local = iso(ms + offMin * 60_000).slice(0, 23);
      const sign = offMin < 0 ? '-' : '+';
      const off = format === 'iso_offset' ? `${sign}${pad(Math.trunc(offMin / 60))}:${pad(offMin % 60)}` : `${sign}${pad(Math.trunc(offMin / 60))}${pad(offMin % 60)}`;
      return { ms, cell: str(`${local}${off}`) };
    }
    case 'iso_space':
      return { ms, cell: str(iso(ms).slice(0, 23).replace('T', ' ')) };
    case 'date': {
      const d = Math.floor(ms / 86_400_000) * 86_400_000;
      return { ms: d, cell: str(iso(d).slice(0, 10)) };
    }
    case 'epoch_s': {
      const s = Math.floor(ms / 1000);
      return { ms: s * 1000, cell: asJsonNumber ? { t: 'json', v: s, text: String(s) } : str(String(s)) };
    }
    case 'epoch_s_frac': {
      const text = (ms / 1000).toFixed(3);
      return { ms, cell: asJsonNumber ? { t: 'json', v: Number(text), text } : str(text) };
    }
    case 'epoch_ms':
      return { ms, cell: asJsonNumber ? { t: 'json', v: ms, text: String(ms) } : str(String(ms)) };
  }
}

const FORMATS: TimeFormat[] = ['iso_z', 'iso_z_no_ms', 'iso_offset', 'iso_offset_compact', 'iso_space', 'date', 'epoch_s', 'epoch_s_frac', 'epoch_ms'];
const DAY = 86_400_000;

/** Out of order by construction (random), before and after the as-of date, and sometimes decades ahead. */
const instant = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: -30 * 86_400, max: 50 * 86_400 }).chain((s) => fc.integer({ min: 0, max: 999 }).map((m) => BASE_MS + s * 1000 + m)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3650 }).map((d) => Date.parse('2090-01-01T00:00:00Z') + d * DAY + 1234) },
);
const validTime = fc.record({ ms: instant, format: fc.constantFrom(...FORMATS), num: fc.boolean() }).map((t) => timeCell(t.ms, t.format, t.num));
const badTime: fc.Arbitrary<{ ms: null; cell: Cell }> = fc
  .constantFrom<Cell>(
    str('not a date'), str(''), str('   '), str('2026-02-30T00:00:00Z'), str('2026-03-01T25:00:00Z'), str('NaN'), str('Infinity'), str('1e400'),
    str('99999999999999999'), str('yesterday'), str('2026/03/01 10h'), str('t'.repeat(HUGE / 10)), { t: 'null' }, { t: 'missing' },
    { t: 'json', v: true, text: 'true' }, { t: 'json', v: { at: 1 }, text: '{"at":1}' },
  )
  .map((cell) => ({ ms: null, cell }));

const note = fc.oneof({ weight: 60, arbitrary: fc.constantFrom('', 'x', 'has, comma', 'has "quotes"', 'multi\nline\nnote') }, { weight: 1, arbitrary: fc.constant('n'.repeat(HUGE)) });

/** A record whose fields are each valid with high probability; `bad` picks what to break. */
export function recArb(format: 'csv' | 'ndjson'): fc.Arbitrary<Rec> {
  const shapes: Shape[] = format === 'csv' ? ['extra column', 'missing column', 'junk after quote', 'not utf-8'] : ['truncated json', 'not an object', 'trailing garbage', 'not utf-8'];
  const ok = fc.constant<Shape>('ok');
  return fc.record({
    user: fc.oneof({ weight: 12, arbitrary: validUser }, { weight: 1, arbitrary: emptyUser }),
    time: fc.oneof({ weight: 12, arbitrary: validTime }, { weight: 1, arbitrary: badTime }),
    event: fc.oneof({ weight: 14, arbitrary: validEvent }, { weight: 1, arbitrary: emptyEvent }),
    plan,
    value: fc.oneof({ weight: 14, arbitrary: validValue }, { weight: 1, arbitrary: nonNumericValue }, { weight: 1, arbitrary: nonFiniteValue }),
    note,
    shape: fc.oneof({ weight: 14, arbitrary: ok }, { weight: 1, arbitrary: fc.constantFrom(...shapes) }),
  });
}

/** An always-valid record (at least one user before the cutoff, so features exist). */
export const ANCHOR: Rec = { user: str('anchor'), time: { ms: BASE_MS, cell: str('2026-03-01T00:00:00Z') }, event: str('created_project'), plan: str('free'), value: str('1'), note: '', shape: 'ok' };

export function fileArb(format: 'csv' | 'ndjson', maxRecords = 60): fc.Arbitrary<FileSpec> {
  const item = fc.oneof(
    { weight: 12, arbitrary: recArb(format).map((rec) => ({ blank: false as const, rec })) },
    { weight: 1, arbitrary: fc.constantFrom(0, 0, 3).map((spaces) => ({ blank: true as const, spaces })) },
  );
  return fc
    .record({
      items: fc.array(item, { minLength: 0, maxLength: maxRecords, size: 'max' }),
      anchorAt: fc.nat(),
      dups: fc.array(fc.record({ from: fc.nat(), to: fc.nat() }), { maxLength: 4 }),
      lastUnterminated: format === 'csv' ? fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) : fc.constant(false),
      bom: fc.boolean(),
      crlf: fc.boolean(),
      finalNewline: fc.boolean(),
      gzip: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      order: fc.shuffledSubarray(['user', 'time', 'event', 'plan', 'value', 'note'] as Key[], { minLength: 6, maxLength: 6 }),
      withNote: fc.boolean(),
      quoteAll: fc.boolean(),
      delim: fc.constantFrom<FileSpec['delim']>(',', ',', ';', '\t', '|'),
    })
    .map((g) => {
      const items = [...g.items];
      // duplicate events: exact copies of records, anywhere in the file
      for (const d of g.dups) {
        const recs = items.filter((i) => !i.blank);
        if (recs.length) items.splice(d.to % (items.length + 1), 0, recs[d.from % recs.length]);
      }
      // CSV: a blank line first would be taken for the header; keep the anchor among the records
      items.splice(g.anchorAt % (items.length + 1), 0, { blank: false, rec: ANCHOR });
      if (format === 'csv') while (items.length && items[0].blank) items.shift();
      // An unterminated quote runs to the end of the file (RFC 4180), so it can only be the last record.
      if (g.lastUnterminated) items.push({ blank: false, rec: { ...ANCHOR, user: str('dangling'), shape: 'unterminated quote' } });
      return {
        format,
        items,
        bom: g.bom,
        crlf: g.crlf,
        finalNewline: g.finalNewline,
        gzip: g.gzip,
        order: g.order.filter((k) => g.withNote || k !== 'note'),
        quoteAll: g.quoteAll,
        delim: format === 'csv' ? g.delim : ',',
      };
    });
}

// ---------------------------------------------------------------------------------------------------------------
// the expected outcome

/** Why ingest must reject a record (the first reason that applies), or null when it is used. */
export function expectedReason(r: Rec): Reason | null {
  if (r.shape !== 'ok') return 'malformed row';
  const user = textOf(r.user);
  if (user === null || trimSpaces(user) === '') return 'empty user id';
  if (r.time.ms === null) return 'unparsable timestamp';
  const event = textOf(r.event);
  if (event === null || trimSpaces(event) === '') return 'empty event name';
  const v = textOf(r.value);
  if (v !== null && trimSpaces(v) !== '') {
    if (!/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(v) && !/^(nan|[+-]?inf(inity)?)$/i.test(v)) return 'non-numeric value';
    if (!Number.isFinite(Number(v.replace(/^([+-]?)inf$/i, '$1Infinity')))) return 'non-finite value (NaN or infinity)';
  }
  return null;
}

/** The event a valid record must become (ids, names and plans trimmed of spaces; an empty plan is none). */
export function expectedEvent(r: Rec): ExpectedEvent {
  const plan = textOf(r.plan);
  const v = textOf(r.value);
  return {
    user: trimSpaces(textOf(r.user)!),
    ms: r.time.ms!,
    event: trimSpaces(textOf(r.event)!),
    plan: plan === null || trimSpaces(plan) === '' ? null : trimSpaces(plan),
    value: v === null || trimSpaces(v) === '' ? null : Number(v),
  };
}

export interface Rendered {
  bytes: Buffer;
  /** Records in file order: their reason (null = used) and the line each starts on (1-based, header = line 1). */
  records: { reason: Reason | null; line: number; rec: Rec }[];
}

/** Line breaks as editors count them: \r\n, \n or a lone \r. */
const lineBreaks = (s: string) => (s.match(/\r\n|\n|\r/g) ?? []).length;

function csvCell(s: string, quoteAll: boolean, delim = ','): string {
  return quoteAll || /["\r\n]|^ | $/.test(s) || s.includes(delim) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvRecord(r: Rec, order: Key[], quoteAll: boolean, delim = ','): string {
  const text: Record<Key, string> = {
    user: textOf(r.user) ?? '', time: textOf(r.time.cell) ?? '', event: textOf(r.event) ?? '', plan: textOf(r.plan) ?? '', value: textOf(r.value) ?? '', note: r.note,
  };
  const cells = order.map((k) => csvCell(text[k], quoteAll, delim));
  switch (r.shape) {
    case 'extra column':
      return [...cells, 'extra'].join(delim);
    case 'missing column':
      return cells.slice(0, -1).join(delim);
    case 'junk after quote':
      return [`"${text[order[0]].replace(/"/g, '""')}"junk`, ...cells.slice(1)].join(delim);
    case 'not utf-8':
      return [csvCell(`${NOT_UTF8}${text[order[0]]}`, quoteAll, delim), ...cells.slice(1)].join(delim);
    case 'unterminated quote':
      // cells left unquoted: a later quote would close the field (the record is ANCHOR-like, plain text)
      return `"${order.map((k) => text[k]).join(delim)}`;
    default:
      return cells.join(delim);
  }
}

function jsonRecord(r: Rec, order: Key[]): string {
  const obj: Record<string, unknown> = {};
  const put = (k: Key, c: Cell) => {
    if (c.t === 'str') obj[COL[k]] = c.s;
    else if (c.t === 'json') obj[COL[k]] = c.v;
    else if (c.t === 'null') obj[COL[k]] = null;
  };
  for (const k of order) {
    if (k === 'user') put(k, r.user);
    else if (k === 'time') put(k, r.time.cell);
    else if (k === 'event') put(k, r.event);
    else if (k === 'plan') put(k, r.plan);
    else if (k === 'value') put(k, r.value);
    else obj[COL.note] = r.note;
  }
  const json = JSON.stringify(obj);
  switch (r.shape) {
    case 'truncated json':
      return json.slice(0, Math.max(1, Math.floor(json.length / 2)));
    case 'not an object':
      return JSON.stringify(Object.values(obj));
    case 'trailing garbage':
      return `${json} x`;
    case 'not utf-8':
      return `{"${NOT_UTF8}":1,${json.slice(1)}`;
    default:
      return json;
  }
}

/** The file's bytes and, for each record, its reason and first line. */
export function render(f: FileSpec): Rendered {
  const eol = f.crlf ? '\r\n' : '\n';
  const lines: string[] = f.format === 'csv' ? [f.order.map((k) => (f.quoteAll ? `"${COL[k]}"` : COL[k])).join(f.delim)] : [];
  const records: Rendered['records'] = [];
  let line = lines.length + 1;
  for (const item of f.items) {
    const text = item.blank ? ' '.repeat(item.spaces) : f.format === 'csv' ? csvRecord(item.rec, f.order, f.quoteAll, f.delim) : jsonRecord(item.rec, f.order);
    if (!item.blank) records.push({ reason: expectedReason(item.rec), line, rec: item.rec });
    // a CSV line of spaces is a record with one field (too few columns); NDJSON skips it like an empty line
    else if (item.spaces > 0 && f.format === 'csv') records.push({ reason: 'malformed row', line, rec: ANCHOR });
    lines.push(text);
    line += lineBreaks(text) + 1;
  }
  const body = `${f.bom ? '\uFEFF' : ''}${lines.join(eol)}${f.finalNewline ? eol : ''}`;
  const raw = Buffer.concat(body.split(NOT_UTF8).flatMap((part, i) => (i === 0 ? [Buffer.from(part)] : [Buffer.from([0xe9]), Buffer.from(part)])));
  return { bytes: f.gzip ? gzipSync(raw) : raw, records };
}

/** The clean file of the same format: only the valid records, canonical ISO times, LF, no BOM. */
export function renderClean(format: 'csv' | 'ndjson', recs: Rec[]): string {
  const order: Key[] = ['user', 'time', 'event', 'plan', 'value'];
  const canon = recs.map((r) => ({ ...r, time: { ms: r.time.ms, cell: str(new Date(r.time.ms!).toISOString()) } }));
  const lines = format === 'csv' ? [order.map((k) => COL[k]).join(','), ...canon.map((r) => csvRecord(r, order, false))] : canon.map((r) => jsonRecord(r, order));
  return `${lines.join('\n')}\n`;
}
