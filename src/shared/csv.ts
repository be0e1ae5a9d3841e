/**
 * CSV cells for files people open in spreadsheets: RFC 4180 quoting, and text cells neutralized against
 * formula injection (OWASP "CSV Injection"): a cell starting with = + - @, a tab or a carriage return gets a
 * leading apostrophe, so Excel, LibreOffice and Sheets show it as text instead of evaluating it
 * (`=HYPERLINK(...)` in a user id or a segment name of a rule file). Numbers are written as numbers: a
 * negative number is not a formula.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One text cell, neutralized and quoted when needed. */
export function csvTextCell(s: string): string {
  const safe = FORMULA_START.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One cell of any value: empty for null, undefined and non-finite numbers; numbers as they are; the rest as text. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  return csvTextCell(String(v));
}
