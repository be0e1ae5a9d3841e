import type { ReportWarning } from '../evaluate/index.js';
import { formatRef } from './names.js';

/**
 * The registry's audit trail (issue 21 part 5): one record per registration, promotion and removal of a
 * version of a model name, so "which version was in production when" has an answer (MLflow users have asked
 * since 2019). Who asked is out of scope. The disk store keeps the records as `models/NAME/audit.jsonl`, one
 * JSON object per line, appended with fsync and never rewritten; the memory store keeps the same records in
 * memory. This file is pure: parsing the lines and turning records into production periods.
 */
export const AUDIT_FILE = 'audit.jsonl';

export type AuditAction = 'register' | 'promote' | 'remove';

interface AuditBase {
  /** When, ISO 8601 UTC with milliseconds. */
  at: string;
  version: number;
}

/** A version written by `train` (recorded by the store's writeVersion once the version is whole). */
export interface RegisterRecord extends AuditBase {
  action: 'register';
}

/** A version removed by `models rm`. */
export interface RemoveRecord extends AuditBase {
  action: 'remove';
}

/** `models promote`: the production alias now names `version`; `previous` is the version it named before (null: none). */
export interface PromoteRecord extends AuditBase {
  action: 'promote';
  previous: number | null;
  /**
   * Only on the first promotion recorded for a name whose `previous` was promoted before the trail existed: the
   * mtime of the `production` file at that moment, the best known start of the previous version's period (inferred).
   */
  previousSince?: string;
}

export type AuditRecord = RegisterRecord | PromoteRecord | RemoveRecord;

/** A line of the trail that could not be read, by line number (1-based). */
export interface SkippedAuditLine {
  line: number;
  reason: string;
}

export interface AuditTrail {
  /** In written order. */
  records: AuditRecord[];
  /** Torn (a crash mid-append) or unreadable lines: skipped, never silently. */
  skipped: SkippedAuditLine[];
}

/** One span of a version in production. */
export interface ProductionPeriod {
  version: number;
  /** ISO 8601 UTC; null when even an inferred start is unknown. */
  from: string | null;
  /** ISO 8601 UTC; null: still in production. */
  to: string | null;
  /** The start was not recorded (the version was promoted before the trail existed): `from` is the production file's mtime. */
  inferred: boolean;
}

export interface ProductionHistory {
  periods: ProductionPeriod[];
  warnings: ReportWarning[];
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const isIso = (x: unknown): x is string => typeof x === 'string' && ISO_UTC.test(x) && Number.isFinite(Date.parse(x));
const isVersion = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x > 0;

/** One JSON line as written by `formatAuditLine`, or a sentence saying what is wrong with it. */
export function parseAuditRecord(json: unknown): AuditRecord | string {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'not a JSON object';
  const o = json as Record<string, unknown>;
  if (!isIso(o.at)) return `"at" is ${JSON.stringify(o.at)} where an ISO 8601 UTC time is expected`;
  if (!isVersion(o.version)) return `"version" is ${JSON.stringify(o.version)} where a positive integer is expected`;
  switch (o.action) {
    case 'register':
    case 'remove':
      return { at: o.at, action: o.action, version: o.version };
    case 'promote': {
      if (o.previous !== null && !isVersion(o.previous)) return `"previous" is ${JSON.stringify(o.previous)} where a positive integer or null is expected`;
      if (o.previousSince !== undefined && !isIso(o.previousSince)) return `"previousSince" is ${JSON.stringify(o.previousSince)} where an ISO 8601 UTC time is expected`;
      return { at: o.at, action: 'promote', version: o.version, previous: o.previous, ...(o.previousSince !== undefined ? { previousSince: o.previousSince } : {}) };
    }
    default:
      return `"action" is ${JSON.stringify(o.action)} where register, promote or remove is expected`;
  }
}

/** The text of a trail: every line that parses, and every one that does not with its number and why (a torn last line included). */
export function parseAuditText(text: string): AuditTrail {
  const records: AuditRecord[] = [];
  const skipped: SkippedAuditLine[] = [];
  const lines = text.split('\n');
  // a complete file ends with "\n": the last element is then empty, and a non-empty one is a line cut short by a crash
  const torn = lines[lines.length - 1] !== '';
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const last = i === lines.length - 1;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      skipped.push({ line: i + 1, reason: last && torn ? 'cut short (no end of line: a write interrupted by a crash)' : 'not valid JSON' });
      return;
    }
    const r = parseAuditRecord(json);
    if (typeof r === 'string') skipped.push({ line: i + 1, reason: r });
    else records.push(r);
  });
  return { records, skipped };
}

/** One record as a line of audit.jsonl (stable key order). */
export function formatAuditLine(r: AuditRecord): string {
  return `${JSON.stringify(r)}\n`;
}

/** The warning for skipped lines (empty when none), naming the file and the lines. */
export function skippedAuditWarnings(name: string, where: string, skipped: SkippedAuditLine[]): ReportWarning[] {
  if (skipped.length === 0) return [];
  const shown = skipped.slice(0, 5).map((s) => `line ${s.line}: ${s.reason}`).join('; ');
  return [{
    code: 'AUDIT_LINES_SKIPPED',
    message: `the audit trail of "${name}" (${where}) has ${skipped.length} unreadable line${skipped.length > 1 ? 's' : ''}, skipped (${shown}${skipped.length > 5 ? '; ...' : ''}); the production history may miss what they recorded.`,
  }];
}

/** What the production alias names now (from the store, not the trail), and since when the pointer was last written. */
export interface CurrentProduction {
  version: number;
  /** The `production` file's mtime (disk), ISO 8601 UTC; null when unknown. */
  since: string | null;
}

/**
 * The production periods of one name from its trail: `[{ version, from, to | null }]` in time order (to = null:
 * still in production). Records are taken in time order (stably: equal times keep their written order). A
 * promotion closes the open period and opens one for its version; promoting the version already in production
 * changes nothing. Removals never close a period (the registry refuses to remove the production version).
 *
 * Versions promoted before the trail existed get one period marked `inferred: true`, never a made-up date: its
 * start is the `production` file's mtime (`current.since`, or `previousSince` carried by the first recorded
 * promotion), or null when not even that is known. The same inference covers a promotion whose record was lost
 * (a crash between the switch and the append): `current` names another version than the trail's last promotion.
 * Records that contradict each other or the registry (promoting a removed version, a `previous` that is not the
 * version the trail says was in production) are used as written and named in a warning.
 */
export function productionPeriods(name: string, records: readonly AuditRecord[], current: CurrentProduction | null = null): ProductionHistory {
  const sorted = records.map((r, i) => ({ r, i })).sort((a, b) => Date.parse(a.r.at) - Date.parse(b.r.at) || a.i - b.i).map((x) => x.r);
  const periods: ProductionPeriod[] = [];
  const warnings: ReportWarning[] = [];
  const removed = new Set<number>();
  const open = () => (periods.length > 0 && periods[periods.length - 1].to === null ? periods[periods.length - 1] : undefined);
  const inconsistent = (message: string) => warnings.push({ code: 'AUDIT_INCONSISTENT', message: `the audit trail of "${name}": ${message}` });

  for (const r of sorted) {
    if (r.action === 'register') continue;
    if (r.action === 'remove') {
      removed.add(r.version);
      if (open()?.version === r.version) inconsistent(`${formatRef(name, r.version)} was removed at ${r.at} while in production (the registry refuses that); its period is left open.`);
      continue;
    }
    if (removed.has(r.version)) inconsistent(`${formatRef(name, r.version)} is promoted at ${r.at} after its removal (version numbers are never reused).`);
    const o = open();
    if (!o && periods.length === 0 && r.previous !== null) {
      // the first recorded promotion replaced a version promoted before the trail existed
      periods.push({ version: r.previous, from: r.previousSince ?? null, to: r.at, inferred: true });
    } else if ((o?.version ?? null) !== r.previous) {
      inconsistent(`the promotion of ${formatRef(name, r.version)} at ${r.at} says the previous production version was ${r.previous === null ? 'none' : formatRef(name, r.previous)}, the trail says ${o ? formatRef(name, o.version) : 'none'}.`);
    }
    if (o?.version === r.version) continue; // promoted again: the same period goes on
    if (o) o.to = r.at;
    periods.push({ version: r.version, from: r.at, to: null, inferred: false });
  }

  const o = open();
  if (current && o?.version !== current.version) {
    // the production pointer names a version the trail does not: promoted before the trail, or its record was lost
    if (o) {
      inconsistent(`the trail ends with ${formatRef(name, o.version)} in production, the production pointer names ${formatRef(name, current.version)} (a promotion that was not recorded); ${formatRef(name, o.version)}'s period is closed at the pointer's last change.`);
      o.to = current.since ?? o.from;
    }
    periods.push({ version: current.version, from: current.since, to: null, inferred: true });
  } else if (!current && o) {
    inconsistent(`the trail ends with ${formatRef(name, o.version)} in production, but no production version is set.`);
  }
  for (const p of periods.filter((x) => x.inferred)) {
    warnings.push({
      code: 'PRODUCTION_START_INFERRED',
      message: `the promotion of ${formatRef(name, p.version)} is not in the audit trail (made before the trail existed, or its record was lost): its production period ${p.from ? `starts at the production file's last change (${p.from}), an inferred date` : 'has no known start'}.`,
    });
  }
  return { periods, warnings };
}
