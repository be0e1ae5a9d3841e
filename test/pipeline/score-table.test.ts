import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LTV_COLUMNS, type LtvColumns } from '../../src/pipeline/ltv-baseline.js';
import { withLtvColumns } from '../../src/pipeline/index.js';
import { formatReasons, scoreResultTable } from '../../src/pipeline/score.js';
import type { Reason, ScoreResult } from '../../src/pipeline/types.js';
import { asReadTable, readTable, readTableMetadata, writeTable } from '../../src/shared/table-io.js';

/**
 * A score file written by an earlier cohortlab (every number DOUBLE, reasons JSON text: 40 CDNOW users,
 * test/fixtures/score-v1/make.mjs) against the same rows written today: native types in the Parquet file, the same
 * table read back from either, and a CSV byte for byte as before.
 */
const fixture = join(__dirname, '..', 'fixtures', 'score-v1');
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

async function parquetTypes(path: string): Promise<Record<string, string>> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const d = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${lit(path)})`)).getColumnsObjectJS();
    return Object.fromEntries((d.column_name as string[]).map((n, i) => [n, (d.column_type as string[])[i]]));
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** The ScoreResult (and LTV columns) that made the old file, rebuilt from it: what scoring those users gives. */
async function oldResult(): Promise<{ result: ScoreResult; ltv: LtvColumns }> {
  const t = await readTable(join(fixture, 'cdnow-scores.parquet'));
  const columns: ScoreResult['columns'] = {};
  const ltv: Record<string, Float64Array> = {};
  for (const n of t.names) {
    if (n === 'user_id' || n === 'reasons') continue;
    if ((LTV_COLUMNS as readonly string[]).includes(n)) ltv[n] = t.columns[n] as Float64Array;
    else columns[n] = t.columns[n] as Float64Array | string[];
  }
  const reasons = (t.columns.reasons as string[]).map((s) => JSON.parse(s) as Reason[]);
  return { result: { userIds: t.columns.user_id as string[], columns, reasons }, ltv: { p_alive: ltv.p_alive, expected_purchases: ltv.expected_purchases, clv: ltv.clv } };
}

describe('the score table', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-score-table-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stores flags, whole numbers and reasons with native Parquet types and reads back as the old file', async () => {
    const { result, ltv } = await oldResult();
    const table = withLtvColumns(scoreResultTable(result, { reasons: 3 }), ltv);
    const path = join(dir, 'scores.parquet');
    await writeTable(path, table, { metadata: { model: 'cdnow', version: '1', as_of: '1998-06-30' } });
    const types = await parquetTypes(path);
    const old = await parquetTypes(join(fixture, 'cdnow-scores.parquet'));
    expect(Object.keys(types)).toEqual(Object.keys(old));
    expect(old.cluster).toBe('DOUBLE');
    expect(old.reasons).toBe('VARCHAR');
    expect(types).toMatchObject({
      user_id: 'VARCHAR', churn_probability: 'DOUBLE', engagement_score: 'INTEGER', engagement_tier: 'VARCHAR', churn_risk_score: 'INTEGER',
      at_risk_signals: 'INTEGER', segment_at_risk: 'BOOLEAN', at_risk: 'BOOLEAN', champion: 'BOOLEAN', dormant: 'BOOLEAN', rfm_recency: 'INTEGER',
      cluster: 'INTEGER', cluster_label: 'VARCHAR', pc1: 'DOUBLE', already_churned: 'UTINYINT',
      reasons: 'STRUCT(feature VARCHAR, direction VARCHAR, contribution DOUBLE, "value" DOUBLE)[]', p_alive: 'DOUBLE',
    });
    // every column a reader sees is the same from the old file and the new one (numbers as doubles, reasons as the same JSON text)
    const [before, after] = [await readTable(join(fixture, 'cdnow-scores.parquet')), await readTable(path)];
    expect(after).toEqual(before);
    expect(JSON.parse((after.columns.reasons as string[])[0])[0]).toEqual({ feature: 'days_since_last_activity', direction: 'increases_risk', contribution: 1.285, value: 546 });
    // what refresh keeps in memory and serves is what the file reads back as
    expect(asReadTable(table)).toEqual(after);
    expect(await readTableMetadata(path)).toEqual({ model: 'cdnow', version: '1', as_of: '1998-06-30' });
  });

  it('writes the CSV byte for byte as before', async () => {
    const { result, ltv } = await oldResult();
    const path = join(dir, 'scores.csv');
    await writeTable(path, withLtvColumns(scoreResultTable(result), ltv));
    expect(await readFile(path, 'utf8')).toBe(await readFile(join(fixture, 'cdnow-scores.csv'), 'utf8'));
    // the reasons cell is formatReasons's JSON
    const cells = (await readTable(path)).columns.reasons as string[];
    expect(cells).toEqual(result.reasons.map(formatReasons));
  });

  it('refuses a flag or whole-number column holding something else (a bug upstream), naming it', () => {
    const r: ScoreResult = { userIds: ['a', 'b'], columns: { cluster: Float64Array.of(1, 2.5) }, reasons: [[], []] };
    expect(() => scoreResultTable(r)).toThrow(/score column "cluster" holds 2.5 at row 2; it is stored as a whole number/);
    const f: ScoreResult = { userIds: ['a'], columns: { segment_x: Float64Array.of(2) }, reasons: [[]] };
    expect(() => scoreResultTable(f)).toThrow(/score column "segment_x" holds 2 at row 1; it is stored as a 1\/0 flag/);
  });
});
