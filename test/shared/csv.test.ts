import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvCell, csvTextCell } from '../../src/shared/csv.js';
import { readTable, writeTable } from '../../src/shared/table-io.js';

describe('CSV cells against formula injection (OWASP)', () => {
  it('prefixes text starting with = + - @ tab or CR with an apostrophe, then quotes as RFC 4180 says', () => {
    expect(csvTextCell('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvTextCell('+1 555')).toBe("'+1 555");
    expect(csvTextCell('-2+3')).toBe("'-2+3");
    expect(csvTextCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvTextCell('\tx')).toBe("'\tx");
    expect(csvTextCell('\rx')).toBe(`"'\rx"`);
    expect(csvTextCell('At-Risk Users')).toBe('At-Risk Users');
    expect(csvTextCell('a,b')).toBe('"a,b"');
  });
  it('writes numbers as numbers (a negative number is not a formula) and empties for missing values', () => {
    expect(csvCell(-0.25)).toBe('-0.25');
    expect(csvCell(Number.NaN)).toBe('');
    expect(csvCell(null)).toBe('');
    expect(csvCell('=1+1')).toBe("'=1+1");
  });
  it('the CLI writer neutralizes .csv outputs and keeps Parquet text as it is', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cl-csv-'));
    const table = { rows: 2, names: ['user_id', 'score'], columns: { user_id: ['=cmd|calc', 'u2'], score: Float64Array.from([-1.5, 2]) } };
    await writeTable(join(dir, 'a.csv'), table);
    expect(await readFile(join(dir, 'a.csv'), 'utf8')).toBe("user_id,score\n'=cmd|calc,-1.5\nu2,2\n");
    await writeTable(join(dir, 'a.parquet'), table);
    expect((await readTable(join(dir, 'a.parquet'))).columns.user_id).toEqual(['=cmd|calc', 'u2']);
  });
});
