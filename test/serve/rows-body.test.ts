import { Ajv } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { featureTableFromJson, predictRows, type PredictUser } from '../../src/serve/predict.js';
import { readFeatureRows } from '../../src/serve/rows-body.js';
import { predictBodySchema } from '../../src/serve/schemas.js';

/**
 * POST /v1/predict's reader of feature rows (src/serve/rows-body.ts): whatever it takes, JSON.parse and the body
 * schema take too, and it gives the table featureTableFromJson makes of the parsed body, value for value (-0 and
 * the last bit of every double included); whatever else it leaves to them (null).
 */
// with its closing quote, each key is compared 4 bytes at a time and 0 to 3 bytes after (12, 19, 17 and 2 bytes)
const NAMES = ['sessions_7d', 'peak_week_features', 'typical_gap_days', 'x'];
const MAX = 50;
// the app's body checker (src/serve/app.ts)
const check = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, allowUnionTypes: true, allErrors: false }).compile(predictBodySchema(NAMES));

/** What the standard path makes of `text`: null when JSON.parse, the schema or featureTableFromJson refuses it. */
function standard(text: string) {
  let body: { users: PredictUser[]; top_reasons: number };
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (!check(body)) return null;
  try {
    const table = featureTableFromJson(body.users, body.users.map((_, i) => i), NAMES);
    // a row's as_of, as predictRows dates its prediction
    const asOf = body.users.map((u) => (typeof u.features?.as_of === 'string' ? u.features.as_of : undefined));
    return { table, topReasons: body.top_reasons, asOf };
  } catch {
    return null;
  }
}

function expectSame(text: string): void {
  const read = readFeatureRows(Buffer.from(text, 'utf8'), NAMES, MAX);
  if (read === null) return;
  const ref = standard(text);
  expect(ref, text).not.toBeNull();
  expect(read.topReasons).toBe(ref!.topReasons);
  expect(read.asOf).toEqual(ref!.asOf);
  expect(read.table.userIds).toEqual(ref!.table.userIds);
  expect(read.table.plan).toEqual(ref!.table.plan);
  expect(Array.from(read.table.alreadyChurned)).toEqual(Array.from(ref!.table.alreadyChurned));
  expect(Object.keys(read.table.columns)).toEqual(NAMES);
  for (const f of NAMES) {
    const a = read.table.columns[f];
    const b = ref!.table.columns[f];
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect(`${f}[${i}] = ${a[i]}`, text).toBe(`${f}[${i}] = ${b[i]}`);
  }
}

const ws = fc.constantFrom('', ' ', '\n', '\t', '\r\n  ');
// a number as JSON.stringify writes it, or in another spelling JSON allows (exponents, trailing zeros, -0)
const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => JSON.stringify(v)),
  fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
  fc.tuple(fc.integer({ min: -999_999, max: 999_999 }), fc.integer({ min: -30, max: 30 }), fc.constantFrom('e', 'E', 'e+')).map(([m, e, s]) => `${m}${e >= 0 ? s : 'e'}${e}`),
  fc.tuple(fc.nat(99_999), fc.nat(99_999_999_999)).map(([a, b]) => `${a}.${b}`),
  fc.tuple(fc.nat(9), fc.string({ unit: fc.constantFrom('0', '1', '5', '9'), minLength: 1, maxLength: 20 })).map(([a, b]) => `-${a}.${b}`),
  fc.constantFrom('-0', '0', '0.0', '-0.0e5', '1e22', '1e23', '123456789012345', '1234567890123456', '0.1', '0.30000000000000004', '5e-324', '1.7976931348623157e308', '2.2250738585072014e-308'),
  // 15 to 19 digits: the fast path takes their digits while below 2^53 (9007199254740992), Number() the others
  fc.tuple(fc.bigInt({ min: 10n ** 14n, max: 10n ** 19n }), fc.nat(19), fc.integer({ min: -25, max: 25 })).map(([m, dot, e]) => {
    const t = String(m);
    const d = dot % (t.length + 1);
    return `${d === 0 ? '0.' : ''}${t.slice(0, d)}${d > 0 && d < t.length ? '.' : ''}${t.slice(d)}${e ? `e${e}` : ''}`;
  }),
  fc.constantFrom('9007199254740991', '9007199254740992', '9007199254740993', '0.9007199254740993', '9.007199254740993e-3', '0.7333333333333333', '47.958333333333336', '9007199254740991e22', '9007199254740991e-22'),
);
const idText = fc.string({ unit: fc.constantFrom('u', '0', '7', '-', '_', ' ', '.'), minLength: 1, maxLength: 8 });
// the other columns of a features row, with values the schema allows (their own user_id is added as the user's)
const extras = fc.record(
  {
    plan: fc.oneof(fc.constant('null'), fc.string({ unit: fc.constantFrom('p', 'r', 'o', ' ', '-'), maxLength: 6 }).map((t) => JSON.stringify(t))),
    already_churned: fc.constantFrom('0', '1', 'true', 'false', '1.0', '-0', '1e0'),
    churned: fc.constantFrom('0', '1', 'true', 'false', 'null'),
    as_of: fc.constantFrom('"2026-01-31"', '"1998-06-30"'),
    user_id: fc.constant(''),
  },
  { requiredKeys: [] },
);
const user = fc.record({
  id: idText,
  values: fc.tuple(...NAMES.map(() => numberText)),
  extras,
  at: fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
  order: fc.shuffledSubarray(NAMES.map((_, k) => k), { minLength: NAMES.length, maxLength: NAMES.length }),
  idFirst: fc.boolean(),
  pad: fc.array(ws, { minLength: 12, maxLength: 12 }),
});
const body = fc.record({
  users: fc.array(user, { minLength: 1, maxLength: 6 }),
  top: fc.option(fc.constantFrom('0', '3', '20', '3.0', '1e1'), { nil: undefined }),
  usersFirst: fc.boolean(),
  pad: fc.array(ws, { minLength: 8, maxLength: 8 }),
});

type Body = typeof body extends fc.Arbitrary<infer T> ? T : never;

function bodyText(b: Body): string {
  const [p0, p1, p2, p3, p4, p5, p6, p7] = b.pad;
  const users = b.users.map((u) => {
    const q = u.pad;
    const entries = u.order.map((k) => `${q[k]}"${NAMES[k]}"${q[k + 4]}:${q[k + 8]}${u.values[k]}`);
    Object.entries(u.extras).forEach(([name, value], j) => entries.splice(u.at[j] % (entries.length + 1), 0, `"${name}":${name === 'user_id' ? JSON.stringify(u.id) : value}`));
    const features = entries.join(',');
    const id = `"user_id"${q[0]}:${q[1]}${JSON.stringify(u.id)}`;
    const feats = `"features"${q[2]}:${q[3]}{${features}${q[4]}}`;
    return `${q[5]}{${q[6]}${u.idFirst ? `${id},${feats}` : `${feats},${id}`}${q[7]}}`;
  });
  const usersPart = `"users"${p0}:${p1}[${users.join(',')}${p2}]`;
  const parts = b.top === undefined ? [usersPart] : b.usersFirst ? [usersPart, `"top_reasons"${p3}:${p4}${b.top}`] : [`"top_reasons"${p3}:${p4}${b.top}`, usersPart];
  return `${p5}{${p6}${parts.join(`${p7},`)}}${p7}`;
}

describe('readFeatureRows', () => {
  it('reads every well-formed body of feature rows as JSON.parse, the schema and featureTableFromJson do', () => {
    fc.assert(
      fc.property(body, (b) => {
        const text = bodyText(b);
        expect(readFeatureRows(Buffer.from(text), NAMES, MAX), text).not.toBeNull();
        expectSame(text);
      }),
      { seed: 20261207, numRuns: 400 },
    );
  });

  it('never takes a body JSON.parse or the schema refuses, nor reads one differently (single-character edits of good bodies)', () => {
    const edit = fc.tuple(body, fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), fc.constantFrom(...'{}[]:,"\\0123456789.eE+- xa\u00e9'.split('')));
    fc.assert(
      fc.property(edit, ([b, at, how, c]) => {
        const text = bodyText(b);
        const i = at % (text.length + 1);
        const changed = how === 'delete' ? text.slice(0, i) + text.slice(i + 1) : how === 'insert' ? text.slice(0, i) + c + text.slice(i) : text.slice(0, i) + c + text.slice(i + 1);
        expectSame(changed);
      }),
      { seed: 20261208, numRuns: 3000 },
    );
  });

  it('reads the columns of a features row; leaves to JSON.parse and the schema escapes, non-ASCII, duplicates, events, values they refuse', () => {
    const row = (features: string, id = '"u1"') => `{"users":[{"user_id":${id},"features":{${features}}}]}`;
    const good = '"sessions_7d":1,"peak_week_features":0.5,"typical_gap_days":2,"x":-3';
    expect(readFeatureRows(Buffer.from(row(good)), NAMES, MAX)?.table.columns.x[0]).toBe(-3);
    const dated = readFeatureRows(Buffer.from(row(`"plan":"pro",${good},"already_churned":true,"churned":null,"as_of":"2026-01-31","user_id":"u1"`)), NAMES, MAX);
    expect(dated?.table.plan).toEqual(['pro']);
    expect(Array.from(dated?.table.alreadyChurned ?? [])).toEqual([1]);
    expect(dated?.asOf).toEqual(['2026-01-31']);
    const refused = [
      row(`${good},"plan":3`),
      row(`${good},"plan":"a","plan":"b"`), // a duplicate
      row(`${good},"already_churned":2`),
      row(`${good},"already_churned":null`), // null is allowed for churned only
      row(`${good},"already_churned":"1"`),
      row(`${good},"churned":0.5`),
      row(`${good},"as_of":"2026-1-31"`),
      row(`${good},"as_of":null`),
      row(`${good},"user_id":"u2"`), // not its user's: a 400 from featureTableFromJson
      row(`${good},"user_id":""`),
      row(`${good},"already_churned":tru`),
      row(good, '"u\\u0031"'), // an escape
      row(good, '"ü"'), // past ASCII
      row(good, '""'), // minLength 1
      row(`${good},"x":4`), // a duplicate key (JSON.parse keeps the last)
      row(good.replace(',"x":-3', '')), // a feature missing
      row(`${good},"y":1`), // not a feature
      row(good.replace('0.5', '"0.5"')),
      row(good.replace('0.5', 'null')),
      row(good.replace('0.5', '1e400')), // Infinity
      row(good.replace('-3', '-03')),
      row(good.replace('0.5', '.5')),
      row(good.replace('0.5', '0.')),
      row(good.replace('0.5', '+0.5')),
      row(good.replace('0.5', '0.5e')),
      row(good.replace('0.5', '0x5')),
      `{"users":[{"user_id":"u1","events":[{"timestamp":1,"event":"a"}]}]}`,
      `{"users":[{"user_id":"u1","features":{${good}},"events":[]}]}`,
      `{"users":[{"user_id":"u1","features":{${good}}}],"as_of":"2026-01-01"}`,
      `{"users":[{"user_id":"u1","features":{${good}}}],"top_reasons":21}`,
      `{"users":[{"user_id":"u1","features":{${good}}}],"top_reasons":2.5}`,
      `{"users":[{"user_id":"u1","features":{${good}}}],"top_reasons":"3"}`,
      `{"users":[{"user_id":"u1","features":{${good}}}],}`,
      `{"users":[{"user_id":"u1","features":{${good}}}]} x`,
      `{"users":[]}`,
      `{"users":[{"user_id":"u1","features":{}}]}`,
      `{"top_reasons":3}`,
      '',
    ];
    for (const text of refused) expect(readFeatureRows(Buffer.from(text), NAMES, MAX), text).toBeNull();
    // more users than the route takes
    const many = `{"users":[${Array.from({ length: 3 }, (_, i) => `{"user_id":"u${i}","features":{${good}}}`).join(',')}]}`;
    expect(readFeatureRows(Buffer.from(many), NAMES, 3)?.table.userIds).toEqual(['u0', 'u1', 'u2']);
    expect(readFeatureRows(Buffer.from(many), NAMES, 2)).toBeNull();
  });
});
