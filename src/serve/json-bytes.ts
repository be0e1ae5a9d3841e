/**
 * JSON text written straight into UTF-8 bytes, piece by piece, for answers of thousands of rows: the keys and the
 * labels, which repeat, are encoded once; numbers and ids go in as they are written. Every piece is what
 * JSON.stringify writes for it. (A row built as a string first was a rope of small pieces: the write into the buffer
 * flattened it before encoding it, which took longer than building it.)
 */
export class JsonBytes {
  private buf: Buffer;
  private view: DataView;
  private at = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(size, 256));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** The bytes written so far (a view of the buffer). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const wider = Buffer.allocUnsafe(Math.max(this.at + n, 2 * this.buf.length));
    this.buf.copy(wider, 0, 0, this.at);
    this.buf = wider;
    this.view = new DataView(wider.buffer, wider.byteOffset, wider.byteLength);
  }

  /** Text encoded before (a key with its quotes and colon, punctuation, a label), 4 bytes at a time. */
  raw(p: Piece): void {
    this.room(p.length);
    const { words, tail } = p;
    const view = this.view;
    let at = this.at;
    for (let w = 0; w < words.length; w++, at += 4) view.setInt32(at, words[w], true);
    const buf = this.buf;
    for (let k = 0; k < tail.length; k++) buf[at++] = tail[k];
    this.at = at;
  }

  /** A number as JSON.stringify writes it: null when not finite. */
  number(v: number): void {
    if (v >= 0 && v < 1e9 && (v | 0) === v) {
      // a small integer's digits (-0 is written 0, as JSON.stringify does)
      this.room(10);
      let digits = 1;
      for (let x = v; x >= 10; x = (x / 10) | 0) digits++;
      const buf = this.buf;
      let x = v | 0;
      for (let k = this.at + digits - 1; k >= this.at; k--) {
        buf[k] = 0x30 + (x % 10);
        x = (x / 10) | 0;
      }
      this.at += digits;
      return;
    }
    this.ascii(Number.isFinite(v) ? String(v) : 'null');
  }

  /** A string as JSON.stringify writes it: printable ASCII without a quote or backslash as it is, else JSON.stringify's text. */
  string(s: string): void {
    this.room(s.length + 2);
    const buf = this.buf;
    const start = this.at;
    let at = start;
    buf[at++] = 0x22;
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.at = start;
        this.text(JSON.stringify(s));
        return;
      }
      buf[at++] = c;
    }
    buf[at++] = 0x22;
    this.at = at;
  }

  /** Text of single-byte characters (a number's String). */
  private ascii(s: string): void {
    this.room(s.length);
    const buf = this.buf;
    let at = this.at;
    for (let k = 0; k < s.length; k++) buf[at++] = s.charCodeAt(k);
    this.at = at;
  }

  /** Any text, UTF-8 encoded (a UTF-16 unit takes at most 3 bytes). */
  text(s: string): void {
    this.room(3 * s.length);
    this.at += this.buf.write(s, this.at, 'utf8');
  }
}

/** Text encoded once, to write with `raw`: its UTF-8 bytes as little-endian 32-bit words, and the 0-3 bytes after them. */
export interface Piece {
  readonly length: number;
  readonly words: Int32Array;
  readonly tail: Uint8Array;
}

export function utf8(s: string): Piece {
  const b = Buffer.from(s, 'utf8');
  const whole = b.length & ~3;
  return { length: b.length, words: Int32Array.from({ length: whole >> 2 }, (_, w) => b.readInt32LE(4 * w)), tail: Uint8Array.from(b.subarray(whole)) };
}

// the labels repeat across rows: each is escaped and encoded once
const labels = new Map<string, Piece>();

/** A label (a tier, a segment, a feature name) as JSON.stringify writes it, encoded once. */
export function jsonLabel(s: string): Piece {
  let e = labels.get(s);
  if (e === undefined) {
    e = utf8(JSON.stringify(s));
    if (labels.size < 10_000) labels.set(s, e);
  }
  return e;
}
