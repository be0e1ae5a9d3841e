import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTable } from '../../src/shared/table-io.js';
import { runCli } from './run.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cohortlab-ltv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cohortlab ltv', () => {
  it('writes the CONTRACT columns and parameters for CDNOW customers 1-200, and checks them on the holdout', async () => {
    const out = join(dir, 'ltv.csv');
    const params = join(dir, 'ltv.json');
    const printed: string[] = [];
    const { code } = await runCli(['ltv', '--events', join(FIXTURES, 'cdnow-200.txt'), '--preset', 'cdnow', '--as-of', '1997-09-30', '--out', out, '--params', params, '--json'], { out: (t) => printed.push(t) });
    expect(code).toBe(0);
    const t = await readTable(out, { textColumns: ['user_id'] });
    expect(t.names).toEqual(['user_id', 'frequency', 'recency', 'T', 'p_alive', 'expected_purchases', 'p_no_purchase', 'monetary', 'expected_spend', 'clv']);
    expect(t.rows).toBe(200);
    const ids = t.columns.user_id as string[];
    const at = ids.indexOf('00003');
    expect(t.columns.frequency[at]).toBe(2);
    expect(t.columns.recency[at]).toBeCloseTo(90 / 7, 10);
    // No probability of exactly 0 or 1 among repeat buyers; one-time buyers are alive with probability 1 by the model.
    const pa = t.columns.p_alive as Float64Array;
    const fr = t.columns.frequency as Float64Array;
    for (let i = 0; i < t.rows; i++) {
      if (fr[i] > 0) expect(pa[i] > 0 && pa[i] < 1).toBe(true);
      else expect(pa[i]).toBe(1);
    }
    const p = JSON.parse(await readFile(params, 'utf8'));
    for (const k of ['model', 'r', 'alpha', 'a', 'b', 'time_unit_days', 'log_likelihood', 'p', 'q', 'v']) expect(p).toHaveProperty(k);
    expect(p.model).toBe('bgnbd');
    expect(p.time_unit_days).toBe(7);
    expect(p.customers).toBe(200);
    expect(p.warnings.map((w: { code: string }) => w.code)).toEqual(['LTV_FEW_REPEAT_CUSTOMERS']);

    // The holdout label counted from the fixture file itself: customers with no line dated 1997-10-01..1998-06-30.
    const lines = (await readFile(join(FIXTURES, 'cdnow-200.txt'), 'utf8')).trim().split(/\r?\n/).slice(1).map((l) => l.trim().split(/\s+/));
    const buyers = new Set(lines.filter((f) => f[1] >= '19971001' && f[1] <= '19980630').map((f) => f[0]));
    const json = JSON.parse(printed.join(''));
    expect(json.holdout.customers).toBe(200);
    expect(json.holdout.churners).toBe(200 - buyers.size);
    const auc = json.holdout.metrics.scorers.p_no_purchase.rocAuc;
    expect(auc.lo).toBeLessThan(auc.value);
    expect(auc.value).toBeLessThan(auc.hi);
    expect(auc.value).toBeGreaterThan(0.6);
  });

  it('warns LTV_HOLDOUT_NOT_COVERED and writes no holdout when the log ends before the horizon', async () => {
    const printed: string[] = [];
    const { code } = await runCli(['ltv', '--events', join(FIXTURES, 'cdnow-200.txt'), '--preset', 'cdnow', '--as-of', '1998-03-31', '--horizon-days', '120', '--out', join(dir, 'late.parquet'), '--json'], { out: (t) => printed.push(t) });
    expect(code).toBe(0);
    const json = JSON.parse(printed.join(''));
    expect(json.holdout).toBeNull();
    expect(json.warnings.map((w: { code: string }) => w.code)).toContain('LTV_HOLDOUT_NOT_COVERED');
    expect(json.warnings.find((w: { code: string }) => w.code === 'LTV_HOLDOUT_NOT_COVERED').message).toMatch(/the log ends 1998-06-29, before the 120-day horizon after 1998-03-31/);
    const t = await readTable(join(dir, 'late.parquet'), { textColumns: ['user_id'] });
    expect(t.rows).toBe(200);
  });

  it('asks which events are purchases when the log has an event column', async () => {
    const { code, err } = await runCli(['ltv', '--events', join(FIXTURES, 'pm-events.csv'), '--config', join(FIXTURES, 'pm-config.json'), '--as-of', '2026-03-20', '--out', join(dir, 'pm.csv')]);
    expect(code).toBe(2);
    expect(err).toMatch(/maps an event column \("name"\).*--purchase-events/);
  });

  it('says when no purchase lies before the as-of date', async () => {
    const { code, err } = await runCli(['ltv', '--events', join(FIXTURES, 'cdnow-200.txt'), '--preset', 'cdnow', '--as-of', '1996-12-31', '--out', join(dir, 'early.csv')]);
    expect(code).toBe(2);
    expect(err).toMatch(/no purchase on or before 1996-12-31/);
  });
});
