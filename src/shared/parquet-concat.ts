/**
 * Joins Parquet files of one schema into one file without decoding them: their row groups are copied byte for byte
 * and one footer lists them all, each column chunk's page and bloom-filter offsets moved by where its file's bytes
 * now start. The footer (Parquet's FileMetaData) is Thrift's compact protocol, read here into a generic tree and
 * written back; `encodeStruct(decodeStruct(b))` gives `b` back byte for byte (tested on DuckDB's footers).
 *
 * The Parquet writer (table-io.ts) writes a large table as parts and used to join them with a COPY that decoded and
 * encoded every row again (1.6 s of a 1M-user `score`). Files whose footers hold what this does not move (page
 * indexes, encryption, chunks in other files) or whose schemas differ are refused with the reason, and the caller
 * joins them the old way.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { internalError } from './errors.js';

/** Compact-protocol type codes (Thrift's compact protocol specification). */
const T = { TRUE: 1, FALSE: 2, BYTE: 3, I16: 4, I32: 5, I64: 6, DOUBLE: 7, BINARY: 8, LIST: 9, SET: 10, MAP: 11, STRUCT: 12 } as const;

export interface ThriftField {
  id: number;
  type: number;
  value: ThriftValue;
}
export interface ThriftStruct {
  fields: ThriftField[];
}
export interface ThriftList {
  type: number;
  elem: number;
  items: ThriftValue[];
}
/** booleans (fields), numbers (a byte, a double, a boolean list element's byte), bigints (i16, i32, i64), bytes, lists, structs. */
export type ThriftValue = boolean | number | bigint | Uint8Array | ThriftList | ThriftStruct;

class Reader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}
  byte(): number {
    if (this.pos >= this.b.length) throw internalError('Parquet footer: Thrift data ends early');
    return this.b[this.pos++];
  }
  varint(): bigint {
    let r = 0n;
    for (let s = 0n; ; s += 7n) {
      const x = this.byte();
      r |= BigInt(x & 0x7f) << s;
      if (!(x & 0x80)) return r;
    }
  }
  zigzag(): bigint {
    const v = this.varint();
    return (v >> 1n) ^ -(v & 1n);
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.b.length) throw internalError('Parquet footer: Thrift data ends early');
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

function readValue(r: Reader, type: number): ThriftValue {
  switch (type) {
    case T.TRUE:
      return true;
    case T.FALSE:
      return false;
    case T.BYTE:
      return r.byte();
    case T.I16:
    case T.I32:
    case T.I64:
      return r.zigzag();
    case T.DOUBLE:
      return r.bytes(8).slice();
    case T.BINARY:
      return r.bytes(Number(r.varint())).slice();
    case T.LIST:
    case T.SET: {
      const h = r.byte();
      const elem = h & 15;
      const n = h >> 4 === 15 ? Number(r.varint()) : h >> 4;
      const items: ThriftValue[] = [];
      // a boolean element is one byte of its own (kept as read)
      for (let i = 0; i < n; i++) items.push(elem === T.TRUE || elem === T.FALSE ? r.byte() : readValue(r, elem));
      return { type, elem, items };
    }
    case T.STRUCT:
      return readStruct(r);
    default:
      throw internalError(`Parquet footer: Thrift type ${type} is not read here`);
  }
}

function readStruct(r: Reader): ThriftStruct {
  const fields: ThriftField[] = [];
  let id = 0;
  for (;;) {
    const h = r.byte();
    if (h === 0) return { fields };
    const type = h & 15;
    id = h >> 4 ? id + (h >> 4) : Number(r.zigzag());
    fields.push({ id, type, value: readValue(r, type) });
  }
}

/** A Thrift struct in the compact protocol, as a tree of fields (all of `b`: trailing bytes are an error). */
export function decodeStruct(b: Uint8Array): ThriftStruct {
  const r = new Reader(b);
  const s = readStruct(r);
  if (r.pos !== b.length) throw internalError(`Parquet footer: ${b.length - r.pos} bytes after its Thrift struct`);
  return s;
}

class Writer {
  private buf = new Uint8Array(1 << 16);
  len = 0;
  byte(x: number): void {
    if (this.len === this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.len++] = x;
  }
  varint(v: bigint): void {
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }
  zigzag(v: bigint): void {
    this.varint(v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
  }
  bytes(b: Uint8Array): void {
    for (const x of b) this.byte(x);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function writeValue(w: Writer, type: number, v: ThriftValue): void {
  switch (type) {
    case T.TRUE:
    case T.FALSE:
      return;
    case T.BYTE:
      return w.byte(v as number);
    case T.I16:
    case T.I32:
    case T.I64:
      return w.zigzag(v as bigint);
    case T.DOUBLE:
      return w.bytes(v as Uint8Array);
    case T.BINARY:
      w.varint(BigInt((v as Uint8Array).length));
      return w.bytes(v as Uint8Array);
    case T.LIST:
    case T.SET: {
      const l = v as ThriftList;
      if (l.items.length < 15) w.byte((l.items.length << 4) | l.elem);
      else {
        w.byte(0xf0 | l.elem);
        w.varint(BigInt(l.items.length));
      }
      for (const item of l.items) {
        if (l.elem === T.TRUE || l.elem === T.FALSE) w.byte(item as number);
        else writeValue(w, l.elem, item);
      }
      return;
    }
    case T.STRUCT:
      return writeStruct(w, v as ThriftStruct);
    default:
      throw internalError(`Parquet footer: Thrift type ${type} is not written here`);
  }
}

function writeStruct(w: Writer, s: ThriftStruct): void {
  let last = 0;
  for (const f of s.fields) {
    const type = f.type === T.TRUE || f.type === T.FALSE ? (f.value ? T.TRUE : T.FALSE) : f.type;
    const delta = f.id - last;
    if (delta > 0 && delta <= 15) w.byte((delta << 4) | type);
    else {
      w.byte(type);
      w.zigzag(BigInt(f.id));
    }
    writeValue(w, type, f.value);
    last = f.id;
  }
  w.byte(0);
}

export function encodeStruct(s: ThriftStruct): Uint8Array {
  const w = new Writer();
  writeStruct(w, s);
  return w.result();
}

const field = (s: ThriftStruct, id: number): ThriftField | undefined => s.fields.find((f) => f.id === id);

/** Adds `delta` to the i64 field `id` of `s`, when it is there. */
function shift(s: ThriftStruct, id: number, delta: bigint): void {
  const f = field(s, id);
  if (f) f.value = (f.value as bigint) + delta;
}

/** Sets field `id` of `s` (kept in id order). */
function put(s: ThriftStruct, f: ThriftField): void {
  const i = s.fields.findIndex((x) => x.id >= f.id);
  if (i < 0) s.fields.push(f);
  else if (s.fields[i].id === f.id) s.fields[i] = f;
  else s.fields.splice(i, 0, f);
}

// FileMetaData, RowGroup, ColumnChunk and ColumnMetaData field ids (parquet-format's parquet.thrift)
const FMD = { SCHEMA: 2, NUM_ROWS: 3, ROW_GROUPS: 4, KV: 5, ENCRYPTION: 8, SIGNING_KEY: 9 } as const;
const RG = { COLUMNS: 1, FILE_OFFSET: 5, ORDINAL: 7 } as const;
const CC = { FILE_PATH: 1, META: 3, OFFSET_INDEX: 4, COLUMN_INDEX: 6, CRYPTO: 8, ENCRYPTED_META: 9 } as const;
const CMD = { DATA_PAGE: 9, INDEX_PAGE: 10, DICTIONARY_PAGE: 11, BLOOM_FILTER: 14 } as const;

/** One file's footer, and where its row groups' bytes end (the footer starts there). */
interface Part {
  path: string;
  meta: ThriftStruct;
  dataEnd: number;
}

const MAGIC = Buffer.from('PAR1');

async function readPart(path: string): Promise<Part> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const tail = Buffer.alloc(8);
    if (size < 12) throw internalError(`"${path}" is no Parquet file (${size} bytes)`);
    await fh.read(tail, 0, 8, size - 8);
    if (!tail.subarray(4).equals(MAGIC)) throw internalError(`"${path}" does not end as a Parquet file`);
    const len = tail.readUInt32LE(0);
    const footer = Buffer.alloc(len);
    await fh.read(footer, 0, len, size - 8 - len);
    return { path, meta: decodeStruct(footer), dataEnd: size - 8 - len };
  } finally {
    await fh.close();
  }
}

/** Why these footers cannot be joined by moving offsets, or null when they can. */
function refusal(parts: Part[]): string | null {
  const schema = (p: Part) => Buffer.from(encodeStruct({ fields: [field(p.meta, FMD.SCHEMA)!] }));
  for (const p of parts) {
    if (field(p.meta, FMD.ENCRYPTION) || field(p.meta, FMD.SIGNING_KEY)) return `${p.path} is encrypted`;
    if (!field(p.meta, FMD.SCHEMA) || !field(p.meta, FMD.ROW_GROUPS)) return `${p.path} has no schema or row groups`;
    if (!schema(p).equals(schema(parts[0]))) return `${p.path} has another schema than ${parts[0].path}`;
    for (const rg of (field(p.meta, FMD.ROW_GROUPS)!.value as ThriftList).items as ThriftStruct[]) {
      for (const cc of (field(rg, RG.COLUMNS)!.value as ThriftList).items as ThriftStruct[]) {
        if (field(cc, CC.FILE_PATH) || field(cc, CC.CRYPTO) || field(cc, CC.ENCRYPTED_META)) return `${p.path} has column chunks elsewhere or encrypted`;
        if (field(cc, CC.OFFSET_INDEX) || field(cc, CC.COLUMN_INDEX)) return `${p.path} has page indexes`;
        if (!field(cc, CC.META)) return `${p.path} has a column chunk without its metadata`;
      }
    }
  }
  return null;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * Writes `paths` (Parquet files of one schema, in order) to `out` as one file: their row groups in order, then a
 * footer with the first file's schema and version, every row group with its offsets moved, the rows summed and
 * `metadata` as its key-value metadata. Returns null when written, else why the files cannot be joined this way
 * (nothing is written then).
 */
export async function concatParquet(paths: string[], out: string, metadata: Record<string, string>): Promise<string | null> {
  if (paths.length === 0) throw internalError('concatParquet needs at least one file');
  const parts = await Promise.all(paths.map(readPart));
  const why = refusal(parts);
  if (why) return why;
  const meta: ThriftStruct = { fields: parts[0].meta.fields.filter((f) => f.id !== FMD.KV) };
  const groups: ThriftStruct[] = [];
  let rows = 0n;
  let at = MAGIC.length;
  for (const p of parts) {
    const delta = BigInt(at - MAGIC.length);
    for (const rg of (field(p.meta, FMD.ROW_GROUPS)!.value as ThriftList).items as ThriftStruct[]) {
      shift(rg, RG.FILE_OFFSET, delta);
      const ordinal = field(rg, RG.ORDINAL);
      if (ordinal) ordinal.value = BigInt(groups.length);
      for (const cc of (field(rg, RG.COLUMNS)!.value as ThriftList).items as ThriftStruct[]) {
        const cmd = field(cc, CC.META)!.value as ThriftStruct;
        for (const id of [CMD.DATA_PAGE, CMD.INDEX_PAGE, CMD.DICTIONARY_PAGE, CMD.BLOOM_FILTER]) shift(cmd, id, delta);
      }
      groups.push(rg);
    }
    rows += field(p.meta, FMD.NUM_ROWS)!.value as bigint;
    at += p.dataEnd - MAGIC.length;
  }
  put(meta, { id: FMD.NUM_ROWS, type: T.I64, value: rows });
  put(meta, { id: FMD.ROW_GROUPS, type: T.LIST, value: { type: T.LIST, elem: T.STRUCT, items: groups } });
  const kv = Object.entries(metadata).map(([k, v]): ThriftStruct => ({ fields: [{ id: 1, type: T.BINARY, value: text(k) }, { id: 2, type: T.BINARY, value: text(v) }] }));
  if (kv.length) put(meta, { id: FMD.KV, type: T.LIST, value: { type: T.LIST, elem: T.STRUCT, items: kv } });
  const footer = encodeStruct(meta);
  const fh = await open(out, 'w');
  try {
    await fh.write(MAGIC);
    for (const p of parts) await copyRange(p.path, MAGIC.length, p.dataEnd, fh);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(footer.length, 0);
    await fh.write(Buffer.concat([footer, len, MAGIC]));
  } finally {
    await fh.close();
  }
  return null;
}

/** Appends bytes [from, to) of `path` to `out`, 4 MB at a time. */
async function copyRange(path: string, from: number, to: number, out: FileHandle): Promise<void> {
  const fh = await open(path, 'r');
  const buf = Buffer.alloc(Math.min(4 << 20, Math.max(1, to - from)));
  try {
    for (let at = from; at < to; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, to - at), at);
      if (bytesRead === 0) throw internalError(`"${path}" ended at byte ${at}, before ${to}`);
      await out.write(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await fh.close();
  }
}
