import { isAscii } from 'node:buffer';
import type { FeatureTable } from '../features/index.js';
import { utf8, type Piece } from './json-bytes.js';

/**
 * POST /v1/predict's usual body, users given as feature rows, read straight from its bytes into feature columns:
 *   {"users": [{"user_id": "u1", "features": {"<feature>": <number>, ...}}, ...], "top_reasons": 3}
 * with, beside the features, the other columns of a `cohortlab features` row if present (plan, already_churned,
 * churned, as_of, user_id). JSON.parse would build an object per user and a boxed number per value, the schema check
 * would walk them, and the table would be copied out of them again: on 1,000 users x 44 features, the utf-8 decoding
 * (5.5 ms), JSON.parse (3.9 ms), the schema check, the copy and the garbage they leave took about a third of the request.
 *
 * The reader takes only bodies that JSON.parse and the body schema (schemas.ts predictBodySchema) accept, and gives
 * the table and dates featureTableFromJson and predictRows make of them. Anything else (an escape or a byte past
 * ASCII in a string, a key it does not expect such as events or the body's as_of, a duplicate key, a number outside
 * the JSON grammar, a non-finite value, a value the schema refuses, a row's user_id not its user's, too many users)
 * makes it answer null, and the body goes through JSON.parse and the schema as before, with their answers and errors.
 */
export class FeatureRowsBody {
  constructor(
    readonly table: FeatureTable,
    /** top_reasons (3 when the body does not say). */
    readonly topReasons: number,
    /** Each user's as_of (a features row's own date), else undefined. */
    readonly asOf: (string | undefined)[],
  ) {}
}

/** Exact powers of ten: 10^0 .. 10^22 are doubles without rounding. */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
const TWO_53 = 2 ** 53;
const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const USERS = enc('users');
const TOP_REASONS = enc('top_reasons');
const USER_ID = enc('user_id');
const FEATURES = enc('features');
// the other columns of a `cohortlab features` row (schemas.ts FEATURE_ROW_EXTRAS), each a bit of Reader.extras
const PLAN = enc('plan');
const ALREADY_CHURNED = enc('already_churned');
const CHURNED = enc('churned');
const AS_OF = enc('as_of');
const TRUE = enc('true');
const FALSE = enc('false');
const NULL = enc('null');
// schemas.ts DATE_PATTERN, as ajv tests it
const DATE = /^\d{4}-\d{2}-\d{2}$/u;
/** lookup(): a key that is not a feature (-1 is no key at all). */
const NOT_FEATURE = -2;

/** Reads `body` when it has the shape above, else null (see FeatureRowsBody). */
export function readFeatureRows(body: Uint8Array, featureNames: string[], maxUsers: number): FeatureRowsBody | null {
  if (featureNames.length === 0 || !isAscii(body)) return null;
  let names = namesSeen.get(featureNames);
  if (!names) namesSeen.set(featureNames, (names = featureKeys(featureNames)));
  return new Reader(body, names, maxUsers).read();
}

/** The feature names as the reader matches them: their bytes, and each name's column. */
interface FeatureKeys {
  names: string[];
  /** Each name with its closing quote, encoded as words to compare 4 bytes at a time. */
  keys: Piece[];
  index: Map<string, number>;
  /**
   * Columns to read into, kept from one body to the next (a body is read at once, and its table is copied out of
   * them): 350 KB of garbage less per 1,000-user body.
   */
  scratch: Float64Array[];
  /** The fewest bytes a user takes: its features' keys, quotes, colons and one digit each, and 20 bytes of {"user_id":"","features":{}} around them. */
  minBytes: number;
}

function featureKeys(names: string[]): FeatureKeys {
  const keys = names.map((n) => utf8(`${n}"`));
  // a key's bytes and quote, its opening quote, a colon and a digit each
  return { names, keys, index: new Map(names.map((n, k) => [n, k])), scratch: [], minBytes: keys.reduce((sum, k) => sum + k.length + 3, 20) };
}

// a model's feature list is one array for as long as it is loaded: its keys are made once (a single user's request
// would otherwise spend more on them than on reading its body)
const namesSeen = new WeakMap<string[], FeatureKeys>();

class Reader {
  private pos = 0;
  /** The end of the last key read (its closing quote). */
  private keyEnd = 0;
  /** The start of the last key lookup() read. */
  private keyStart = 0;
  private readonly names: string[];
  private readonly keys: Piece[];
  private readonly view: DataView;
  private readonly index: Map<string, number>;
  private readonly cols: Float64Array[];
  private readonly capacity: number;
  private readonly ids: string[] = [];
  /** seen[k] = 1 + the user whose features had k last (a duplicate key is refused). */
  private readonly seen: Int32Array;
  /** The features-row columns the current user's features had (bits: plan 1, already_churned 2, churned 4, as_of 8, user_id 16). */
  private extras = 0;
  private readonly plans: string[] = [];
  private readonly churned: Uint8Array;
  private readonly asOf: (string | undefined)[] = [];
  /** A features row's own user_id, which must be its user's. */
  private readonly rowIds: (string | undefined)[] = [];
  private readonly latin1: (start: number, end: number) => string;

  constructor(
    private readonly b: Uint8Array,
    features: FeatureKeys,
    maxUsers: number,
  ) {
    ({ names: this.names, keys: this.keys, index: this.index } = features);
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    // no more users than the route takes or the body has room for (readFeatures refuses a user past them)
    this.capacity = Math.min(maxUsers, Math.ceil(b.length / features.minBytes));
    if (!(features.scratch[0]?.length >= this.capacity)) features.scratch = this.names.map(() => new Float64Array(this.capacity));
    this.cols = features.scratch;
    this.seen = new Int32Array(this.names.length);
    this.churned = new Uint8Array(this.capacity);
    const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    this.latin1 = (start, end) => buf.toString('latin1', start, end);
  }

  read(): FeatureRowsBody | null {
    let users = false;
    let topReasons = 3;
    let haveTop = false;
    if (!this.open(0x7b)) return null;
    for (;;) {
      const k = this.key();
      if (k < 0) return null;
      if (this.is(k, USERS) && !users) {
        if (!this.readUsers()) return null;
        users = true;
      } else if (this.is(k, TOP_REASONS) && !haveTop) {
        const v = this.number();
        // an integer from 0 to 20, as the schema says (3.0 and 1e1 are integers to it too)
        if (!(Number.isInteger(v) && v >= 0 && v <= 20)) return null;
        topReasons = v;
        haveTop = true;
      } else return null;
      const next = this.after(0x7d);
      if (next < 0) return null;
      if (next === 1) break;
    }
    this.ws();
    if (this.pos !== this.b.length || !users) return null;
    const n = this.ids.length;
    const table: FeatureTable = {
      asOf: '',
      cutoffMs: NaN,
      userIds: this.ids,
      columns: Object.fromEntries(this.names.map((f, k) => [f, this.cols[k].slice(0, n)])),
      plan: Array.from({ length: n }, (_, i) => this.plans[i] ?? ''),
      alreadyChurned: this.churned.slice(0, n),
    };
    return new FeatureRowsBody(table, topReasons, Array.from({ length: n }, (_, i) => this.asOf[i]));
  }

  private readUsers(): boolean {
    if (!this.open(0x5b)) return false;
    for (let i = 0; ; i++) {
      if (!this.readUser(i)) return false;
      const next = this.after(0x5d);
      if (next < 0) return false;
      if (next === 1) return true;
    }
  }

  private readUser(i: number): boolean {
    let id = false;
    let features = false;
    if (!this.open(0x7b)) return false;
    for (;;) {
      const k = this.key();
      if (k < 0) return false;
      if (this.is(k, USER_ID) && !id) {
        const text = this.text();
        if (!text) return false; // not a string, or "" (minLength 1)
        this.ids[i] = text;
        id = true;
      } else if (this.is(k, FEATURES) && !features) {
        if (!this.readFeatures(i)) return false;
        features = true;
      } else return false;
      const next = this.after(0x7d);
      if (next < 0) return false;
      if (next === 1) return id && features && (this.rowIds[i] === undefined || this.rowIds[i] === this.ids[i]);
    }
  }

  private readFeatures(i: number): boolean {
    if (i >= this.capacity || !this.open(0x7b)) return false;
    let count = 0;
    let guess = 0;
    this.extras = 0;
    for (;;) {
      // rows usually list the features in one order: the next name is matched in place first, the map only on a miss
      const f = this.expected(guess) ? guess : this.lookup();
      if (f === NOT_FEATURE) {
        if (!this.extra(i)) return false;
        const next = this.after(0x7d);
        if (next < 0) return false;
        if (next === 1) return count === this.names.length;
        continue;
      }
      if (f < 0 || this.seen[f] === i + 1) return false;
      this.seen[f] = i + 1;
      count++;
      guess = f + 1;
      const v = this.number();
      if (!Number.isFinite(v)) return false;
      this.cols[f][i] = v;
      const next = this.after(0x7d);
      if (next < 0) return false;
      if (next === 1) return count === this.names.length;
    }
  }

  private ws(): void {
    const b = this.b;
    let p = this.pos;
    while (p < b.length && (b[p] === 0x20 || b[p] === 0x0a || b[p] === 0x0d || b[p] === 0x09)) p++;
    this.pos = p;
  }

  /** An opening bracket, and not straight its closing one (an empty object or array is never accepted here). */
  private open(c: number): boolean {
    this.ws();
    if (this.b[this.pos] !== c) return false;
    this.pos++;
    this.ws();
    return this.b[this.pos] !== c + 2;
  }

  /** After a member: 0 on a comma (another follows), 1 on `close`, -1 otherwise. */
  private after(close: number): number {
    this.ws();
    const c = this.b[this.pos++];
    return c === 0x2c ? 0 : c === close ? 1 : -1;
  }

  /** A key and its colon: the key's first byte (its end in keyEnd), or -1. */
  private key(): number {
    this.ws();
    if (this.b[this.pos] !== 0x22) return -1;
    const start = this.pos + 1;
    const end = this.string();
    if (end < 0) return -1;
    this.keyEnd = end;
    this.ws();
    if (this.b[this.pos] !== 0x3a) return -1;
    this.pos++;
    this.ws();
    return start;
  }

  /** At a quote: the string's end (its closing quote's index, pos after it), or -1 on an escape or a control character. */
  private string(): number {
    const b = this.b;
    let p = this.pos + 1;
    for (; p < b.length; p++) {
      const c = b[p];
      if (c === 0x22) {
        this.pos = p + 1;
        return p;
      }
      if (c === 0x5c || c < 0x20) return -1;
    }
    return -1;
  }

  /** Whether the next key is names[f] (then read with its colon). Its bytes and closing quote are compared 4 at a time. */
  private expected(f: number): boolean {
    if (f >= this.keys.length) return false;
    const b = this.b;
    const { length, words, tail } = this.keys[f];
    this.ws();
    const start = this.pos + 1;
    // the key with its quote, and room for the colon
    if (b[this.pos] !== 0x22 || start + length + 1 > b.length) return false;
    const view = this.view;
    let p = start;
    for (let w = 0; w < words.length; w++, p += 4) if (view.getInt32(p, true) !== words[w]) return false;
    for (let k = 0; k < tail.length; k++, p++) if (b[p] !== tail[k]) return false;
    this.pos = p;
    this.ws();
    if (b[this.pos] !== 0x3a) return false;
    this.pos++;
    this.ws();
    return true;
  }

  /** The next key's feature, NOT_FEATURE (the key starts at keyStart), or -1 when there is no key. */
  private lookup(): number {
    const k = this.key();
    if (k < 0) return -1;
    this.keyStart = k;
    return this.index.get(this.latin1(k, this.keyEnd)) ?? NOT_FEATURE;
  }

  /**
   * A column of a `cohortlab features` row beside the features (the key just read is not one), with a value the
   * schema allows, once per row: plan (text or null), already_churned (0, 1, true, false), churned (those or null;
   * not used), as_of (a YYYY-MM-DD date), user_id (checked against the user's at the end of the user).
   */
  private extra(i: number): boolean {
    const k = this.keyStart;
    const bit = this.is(k, PLAN) ? 1 : this.is(k, ALREADY_CHURNED) ? 2 : this.is(k, CHURNED) ? 4 : this.is(k, AS_OF) ? 8 : this.is(k, USER_ID) ? 16 : 0;
    if (bit === 0 || this.extras & bit) return false;
    this.extras |= bit;
    if (bit === 1) {
      if (this.literal(NULL)) return true;
      const text = this.text();
      if (text === null) return false;
      this.plans[i] = text;
      return true;
    }
    if (bit === 2 || bit === 4) {
      let on: boolean;
      if (this.literal(TRUE)) on = true;
      else if (this.literal(FALSE)) on = false;
      else if (bit === 4 && this.literal(NULL)) on = false;
      else {
        const v = this.number();
        if (v !== 0 && v !== 1) return false;
        on = v === 1;
      }
      if (bit === 2 && on) this.churned[i] = 1;
      return true;
    }
    const text = this.text();
    if (text === null) return false;
    if (bit === 8) {
      if (!DATE.test(text)) return false;
      this.asOf[i] = text;
    } else {
      if (text === '') return false;
      this.rowIds[i] = text;
    }
    return true;
  }

  /** `word` (true, false, null) at pos: read when there. */
  private literal(word: Uint8Array): boolean {
    const b = this.b;
    for (let j = 0; j < word.length; j++) if (b[this.pos + j] !== word[j]) return false;
    this.pos += word.length;
    return true;
  }

  /** A string at pos, or null (no string, or one the reader leaves to JSON.parse). */
  private text(): string | null {
    if (this.b[this.pos] !== 0x22) return null;
    const start = this.pos + 1;
    const end = this.string();
    return end < 0 ? null : this.latin1(start, end);
  }

  /** Whether the key at `start` .. keyEnd is `name`. */
  private is(start: number, name: Uint8Array): boolean {
    if (this.keyEnd - start !== name.length) return false;
    const b = this.b;
    for (let j = 0; j < name.length; j++) if (b[start + j] !== name[j]) return false;
    return true;
  }

  /**
   * The four bytes at p as a number when all are digits (their value, 0 to 9999), else -1. One 32-bit read: every
   * byte's high nibble is 3, and adding 6 to each (no carry: each is at most 0x3f) keeps it 3 only for 0x30-0x39.
   */
  private fourDigits(p: number): number {
    if (p + 4 > this.b.length) return -1;
    const w = this.view.getUint32(p, true);
    if ((w & 0xf0f0f0f0) !== 0x30303030 || ((w + 0x06060606) & 0xf0f0f0f0) !== 0x30303030) return -1;
    // the first character in the low byte
    const d = w - 0x30303030;
    return (d & 0xff) * 1000 + ((d >>> 8) & 0xff) * 100 + ((d >>> 16) & 0xff) * 10 + (d >>> 24);
  }

  /**
   * A JSON number (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?), or NaN when the text is not one. With its digits
   * an integer below 2^53 (every number of up to 15 significant digits, most of 16) and a power of ten within 10^22,
   * both parts are exact doubles and one multiplication or division rounds once, to the double nearest the decimal
   * (Clinger's fast path), as JSON.parse gives; other numbers are converted by Number(), which JSON.parse's
   * conversion is. (m is exact while below 2^53: once past it, rounded, it never comes back below.)
   */
  private number(): number {
    const b = this.b;
    const start = this.pos;
    let p = start;
    const neg = b[p] === 0x2d;
    if (neg) p++;
    let m = 0;
    let exp = 0;
    const first = b[p];
    if (first === 0x30) {
      p++;
    } else if (first >= 0x31 && first <= 0x39) {
      for (let v; (v = this.fourDigits(p)) >= 0; p += 4) m = m * 10000 + v;
      for (; b[p] >= 0x30 && b[p] <= 0x39; p++) m = m * 10 + (b[p] - 0x30);
    } else return NaN;
    if (b[p] === 0x2e) {
      p++;
      if (!(b[p] >= 0x30 && b[p] <= 0x39)) return NaN;
      for (let v; (v = this.fourDigits(p)) >= 0; p += 4, exp -= 4) m = m * 10000 + v;
      for (; b[p] >= 0x30 && b[p] <= 0x39; p++, exp--) m = m * 10 + (b[p] - 0x30);
    }
    if (b[p] === 0x65 || b[p] === 0x45) {
      p++;
      const eneg = b[p] === 0x2d;
      if (eneg || b[p] === 0x2b) p++;
      if (!(b[p] >= 0x30 && b[p] <= 0x39)) return NaN;
      let e = 0;
      for (; b[p] >= 0x30 && b[p] <= 0x39; p++) if (e < 1e6) e = e * 10 + (b[p] - 0x30);
      exp += eneg ? -e : e;
    }
    this.pos = p;
    if (!(m < TWO_53) || exp > 22 || exp < -22) return Number(this.latin1(start, p));
    const v = exp >= 0 ? m * POW10[exp] : m / POW10[-exp];
    return neg ? -v : v;
  }
}
