import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { CohortlabError } from '../shared/errors.js';

/**
 * The line an editor shows for a CSV record. DuckDB numbers a malformed record by its logical line
 * (line breaks inside quoted fields not counted) and parsed rows only by rank, skipping blank lines;
 * once a quoted field holds a line break, or blank lines are skipped, neither is the file's line.
 * One streamed pass with DuckDB's quoting rules (a quote opens a field only at its start, "" inside
 * quotes is a quote, a line break outside quotes ends the record, an empty line is no record) maps
 * both to the physical line a record starts on. Line breaks are \r\n, \n or a lone \r.
 */
export interface CsvLineQuery {
  /** Logical lines (DuckDB's `line` of a rejected record, header = 1). */
  logical: number[];
  /** Ranks of rows DuckDB parsed (1-based, in file order): non-empty data lines that were not rejected. */
  ranks: number[];
  /** The logical lines DuckDB rejected (skipped when counting ranks). */
  rejected: number[];
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** Physical first line of each asked logical line and rank; null when the file cannot be scanned (zstd). */
export async function csvPhysicalLines(path: string, delim: string, q: CsvLineQuery): Promise<{ byLogical: Map<number, number>; byRank: Map<number, number> } | null> {
  if (/\.zst$/i.test(path)) return null;
  const wantLogical = new Set(q.logical);
  const wantRank = new Set(q.ranks);
  const rejected = new Set(q.rejected);
  const byLogical = new Map<number, number>();
  const byRank = new Map<number, number>();
  const d = delim.charCodeAt(0);

  let physical = 1;
  let logical = 0; // the current logical line (1-based once the first byte is seen)
  let start = 1; // its physical first line
  let empty = true;
  let atLineStart = true;
  let inQuotes = false;
  let quotePending = false; // inside quotes, a quote seen: closes the field unless another follows
  let fieldStart = true;
  let prevCR = false;
  let rank = 0;
  const endLine = () => {
    if (logical > 1 && !empty && !rejected.has(logical)) {
      rank++;
      if (wantRank.has(rank)) byRank.set(rank, start);
    }
  };

  const raw = createReadStream(path);
  const stream = /\.(gz|gzip)$/i.test(path) ? raw.pipe(createGunzip()) : raw;
  // Examples are the first few rejected records, usually early: stop once every asked line is found.
  const found = () => byLogical.size === wantLogical.size && byRank.size === wantRank.size;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (found()) break;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (prevCR) {
        prevCR = false;
        if (b === LF) continue; // the \n of a \r\n, counted with the \r
      }
      if (atLineStart) {
        atLineStart = false;
        logical++;
        start = physical;
        empty = true;
        inQuotes = false;
        quotePending = false;
        fieldStart = true;
        if (wantLogical.has(logical)) byLogical.set(logical, start);
      }
      if (inQuotes) {
        if (quotePending) {
          quotePending = false;
          if (b === QUOTE) continue; // "" is a quote
          inQuotes = false; // the field closed; this byte is read outside quotes, below
        } else if (b === QUOTE) {
          quotePending = true;
          continue;
        } else {
          if (b === LF) physical++;
          else if (b === CR) {
            physical++;
            prevCR = true;
          }
          continue;
        }
      }
      if (b === LF || b === CR) {
        physical++;
        prevCR = b === CR;
        endLine();
        atLineStart = true;
        continue;
      }
      empty = false;
      if (b === QUOTE && fieldStart) {
        inQuotes = true;
        fieldStart = false;
        continue;
      }
      fieldStart = b === d;
    }
  }
  raw.destroy();
  if (!atLineStart) endLine();
  return { byLogical, byRank };
}

/**
 * The first line of a text file (its CSV header), read here rather than by DuckDB: DuckDB parses a whole
 * buffer even for one line, so a later over-long or non-UTF-8 line would fail the header read instead of
 * being counted as a malformed row. Throws on a UTF-16 file (its byte-order mark); null for zstd.
 */
export async function firstLine(path: string): Promise<string | null> {
  if (/\.zst$/i.test(path)) return null;
  const raw = createReadStream(path, /\.(gz|gzip)$/i.test(path) ? {} : { end: 4 * 1024 * 1024 - 1 });
  const stream = /\.(gz|gzip)$/i.test(path) ? raw.pipe(createGunzip()) : raw;
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const nl = chunk.findIndex((b) => b === LF || b === CR);
      parts.push(nl < 0 ? chunk : chunk.subarray(0, nl));
      size += chunk.length;
      if (nl >= 0 || size >= 4 * 1024 * 1024) break;
    }
  } finally {
    raw.destroy();
  }
  const head = Buffer.concat(parts);
  checkUtf8(path, head);
  return head.toString('utf8').replace(/^\uFEFF/, '');
}

/** A UTF-16 byte-order mark at the start of a text event file: one clear error (every line would be unreadable). */
export function checkUtf8(path: string, head: Buffer): void {
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
    throw new CohortlabError(
      'UNKNOWN_FORMAT',
      `event file "${path}" is UTF-16 text (it starts with a UTF-16 byte-order mark); cohortlab reads UTF-8: convert it, e.g. iconv -f UTF-16 -t UTF-8 in > out.`,
      { path },
    );
  }
}
