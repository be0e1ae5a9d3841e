import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTable, writeTable } from '../../src/shared/table-io.js';

describe('table-io', () => {
  const table = {
    rows: 3,
    names: ['user_id', 'score', 'tier', 'flag'],
    columns: {
      user_id: ['00001', '00002', 'a,"b"'],
      score: new Float64Array([1.5, NaN, -3]),
      tier: ['High risk', '', 'Healthy'],
      flag: new Uint8Array([1, 0, 1]),
    },
  };

  for (const ext of ['csv', 'parquet']) {
    it(`round-trips ids with leading zeros, quotes and NaN through .${ext}`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cl-io-'));
      const path = join(dir, `t.${ext}`);
      await writeTable(path, table);
      const back = await readTable(path);
      expect(back.rows).toBe(3);
      expect(back.names).toEqual(table.names);
      expect(back.columns.user_id).toEqual(['00001', '00002', 'a,"b"']);
      expect(Array.from(back.columns.score as Float64Array)).toEqual([1.5, NaN, -3]);
      expect(Array.from(back.columns.flag as Float64Array)).toEqual([1, 0, 1]);
      expect((back.columns.tier as string[])[0]).toBe('High risk');
    });
  }

  it('names a missing file and an empty file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cl-io-'));
    await expect(readTable(join(dir, 'nope.csv'))).rejects.toThrow(/nope\.csv" does not exist/);
    await writeFile(join(dir, 'empty.csv'), '');
    await expect(readTable(join(dir, 'empty.csv'))).rejects.toThrow(/empty\.csv" is empty/);
    await expect(readTable(join(dir, 'x.xlsx'))).rejects.toThrow(/use \.csv or \.parquet/);
  });
});
