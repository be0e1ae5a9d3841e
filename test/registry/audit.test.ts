import { describe, expect, it } from 'vitest';
import { formatAuditLine, parseAuditText, productionPeriods, skippedAuditWarnings, type AuditRecord } from '../../src/registry/index.js';

const T = (h: number) => `2026-05-0${h}T12:00:00.000Z`;

describe('productionPeriods(name, records, current)', () => {
  it('promote 1, promote 2, remove 1, promote 1 again: three periods, and the impossible re-promotion named', () => {
    const records: AuditRecord[] = [
      { at: T(1), action: 'register', version: 1 },
      { at: T(1), action: 'promote', version: 1, previous: null },
      { at: T(2), action: 'register', version: 2 },
      { at: T(3), action: 'promote', version: 2, previous: 1 },
      { at: T(4), action: 'remove', version: 1 },
      { at: T(5), action: 'promote', version: 1, previous: 2 },
    ];
    const h = productionPeriods('churn', records, { version: 1, since: T(5) });
    expect(h.periods).toEqual([
      { version: 1, from: T(1), to: T(3), inferred: false },
      { version: 2, from: T(3), to: T(5), inferred: false },
      { version: 1, from: T(5), to: null, inferred: false },
    ]);
    expect(h.warnings).toEqual([{ code: 'AUDIT_INCONSISTENT', message: `the audit trail of "churn": churn@1 is promoted at ${T(5)} after its removal (version numbers are never reused).` }]);
  });

  it('an empty trail and no production: no periods, no warnings', () => {
    expect(productionPeriods('m', [], null)).toEqual({ periods: [], warnings: [] });
    expect(productionPeriods('m', [{ at: T(1), action: 'register', version: 1 }], null)).toEqual({ periods: [], warnings: [] });
  });

  it('promoted before the trail existed: one period from the production file\'s mtime, inferred and said so', () => {
    const h = productionPeriods('m', [{ at: T(2), action: 'register', version: 4 }], { version: 3, since: T(1) });
    expect(h.periods).toEqual([{ version: 3, from: T(1), to: null, inferred: true }]);
    expect(h.warnings).toEqual([{ code: 'PRODUCTION_START_INFERRED', message: `the promotion of m@3 is not in the audit trail (made before the trail existed, or its record was lost): its production period starts at the production file's last change (${T(1)}), an inferred date.` }]);
  });

  it('the first recorded promotion replaces an older one: the older period ends there and starts at previousSince (or is unknown)', () => {
    const withSince = productionPeriods('m', [{ at: T(4), action: 'promote', version: 5, previous: 3, previousSince: T(1) }], { version: 5, since: T(4) });
    expect(withSince.periods).toEqual([
      { version: 3, from: T(1), to: T(4), inferred: true },
      { version: 5, from: T(4), to: null, inferred: false },
    ]);
    const unknown = productionPeriods('m', [{ at: T(4), action: 'promote', version: 5, previous: 3 }], { version: 5, since: T(4) });
    expect(unknown.periods[0]).toEqual({ version: 3, from: null, to: T(4), inferred: true });
    expect(unknown.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/m@3 .*has no known start\.$/)]);
  });

  it('a promotion whose record was lost (pointer names another version): the trail\'s period closes at the pointer\'s change', () => {
    const h = productionPeriods('m', [{ at: T(1), action: 'promote', version: 1, previous: null }], { version: 2, since: T(3) });
    expect(h.periods).toEqual([
      { version: 1, from: T(1), to: T(3), inferred: false },
      { version: 2, from: T(3), to: null, inferred: true },
    ]);
    expect(h.warnings.map((w) => w.code)).toEqual(['AUDIT_INCONSISTENT', 'PRODUCTION_START_INFERRED']);
  });

  it('promoting the production version again continues its period; records are taken in time order, ties in written order', () => {
    const records: AuditRecord[] = [
      { at: T(3), action: 'promote', version: 2, previous: 2 },
      { at: T(1), action: 'promote', version: 2, previous: null },
      { at: T(5), action: 'promote', version: 1, previous: 2 },
      { at: T(5), action: 'promote', version: 3, previous: 1 },
    ];
    const h = productionPeriods('m', records, { version: 3, since: T(5) });
    expect(h.periods).toEqual([
      { version: 2, from: T(1), to: T(5), inferred: false },
      { version: 1, from: T(5), to: T(5), inferred: false },
      { version: 3, from: T(5), to: null, inferred: false },
    ]);
    expect(h.warnings).toEqual([]);
  });

  it('a previous version that disagrees with the trail is named', () => {
    const h = productionPeriods('m', [
      { at: T(1), action: 'promote', version: 1, previous: null },
      { at: T(2), action: 'promote', version: 3, previous: 2 },
    ], { version: 3, since: T(2) });
    expect(h.periods.map((p) => [p.version, p.from, p.to])).toEqual([[1, T(1), T(2)], [3, T(2), null]]);
    expect(h.warnings).toEqual([{ code: 'AUDIT_INCONSISTENT', message: `the audit trail of "m": the promotion of m@3 at ${T(2)} says the previous production version was m@2, the trail says m@1.` }]);
  });
});

describe('parseAuditText', () => {
  it('reads what formatAuditLine writes, and skips torn and malformed lines with their number and why', () => {
    const good: AuditRecord[] = [
      { at: T(1), action: 'register', version: 1 },
      { at: T(2), action: 'promote', version: 1, previous: null },
    ];
    const text = [
      formatAuditLine(good[0]),
      'garbage\n',
      '{"at":"yesterday","action":"remove","version":1}\n',
      '{"at":"2026-05-01T12:00:00.000Z","action":"delete","version":1}\n',
      '\n',
      formatAuditLine(good[1]),
      '{"at":"2026-05-01T12:00:00.000Z","action":"promote","version":2,"previous":0}\n',
      '{"at":"2026-05-03T12:00:00.000Z","action":"rem',
    ].join('');
    const t = parseAuditText(text);
    expect(t.records).toEqual(good);
    expect(t.skipped).toEqual([
      { line: 2, reason: 'not valid JSON' },
      { line: 3, reason: '"at" is "yesterday" where an ISO 8601 UTC time is expected' },
      { line: 4, reason: '"action" is "delete" where register, promote or remove is expected' },
      { line: 7, reason: '"previous" is 0 where a positive integer or null is expected' },
      { line: 8, reason: 'cut short (no end of line: a write interrupted by a crash)' },
    ]);
    expect(skippedAuditWarnings('m', 'models/m/audit.jsonl', t.skipped)).toEqual([{
      code: 'AUDIT_LINES_SKIPPED',
      message: 'the audit trail of "m" (models/m/audit.jsonl) has 5 unreadable lines, skipped (line 2: not valid JSON; line 3: "at" is "yesterday" where an ISO 8601 UTC time is expected; line 4: "action" is "delete" where register, promote or remove is expected; line 7: "previous" is 0 where a positive integer or null is expected; line 8: cut short (no end of line: a write interrupted by a crash)); the production history may miss what they recorded.',
    }]);
    expect(parseAuditText('')).toEqual({ records: [], skipped: [] });
    expect(skippedAuditWarnings('m', 'x', [])).toEqual([]);
  });
});
