import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTable } from '../../src/shared/table-io.js';
import { runCli } from './run.js';

/** `cohortlab retention` end to end on 200 real CDNOW customers (test/fixtures/cdnow-200.txt). */
const fx = (f: string) => join(import.meta.dirname, '..', 'fixtures', f);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cohortlab-retention-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cohortlab retention', () => {
  it('writes the CONTRACT survival and durations tables, the cohort table, the HTML page and the JSON summary', async () => {
    let out = '';
    const p = (f: string) => join(dir, f);
    const r = await runCli(
      ['retention', '--events', fx('cdnow-200.txt'), '--preset', 'cdnow', '--as-of', '1998-06-30', '--by', 'segment', '--out', p('km.parquet'), '--durations', p('d.csv'), '--cohorts', p('c.csv'), '--report', p('r.html'), '--json'],
      { out: (t) => (out += t) },
    );
    expect(r.code).toBe(0);
    const km = await readTable(p('km.parquet'), { textColumns: ['group'] });
    expect(km.names).toEqual(['group', 't_days', 'at_risk', 'churned', 'survival', 'lower', 'upper']);
    // the At-Risk curve starts with its one-time buyers: 131 at risk at day 0
    expect(km.columns.group[0]).toBe('At-Risk');
    expect([km.columns.t_days[0], km.columns.at_risk[0]]).toEqual([0, 131]);
    const d = await readTable(p('d.csv'), { textColumns: ['user_id', 'group'] });
    expect(d.names).toEqual(['user_id', 'group', 'duration_days', 'churned']);
    expect(d.rows).toBe(200);
    expect(Array.from(d.columns.churned as Float64Array).reduce((s, v) => s + v, 0)).toBe(125);
    const c = await readTable(p('c.csv'), { textColumns: ['cohort'] });
    expect(c.names).toEqual(['cohort', 'cohort_users', 'months_later', 'active_users', 'share', 'complete']);
    // 196 of the 200 customers first bought in January 1997 (awk over the fixture), month 0 = everyone
    expect([c.columns.cohort[0], c.columns.cohort_users[0], c.columns.share[0]]).toEqual(['1997-01', 196, 1]);
    const summary = JSON.parse(out) as { groups: { group: string; users: number }[]; log_rank: { df: number; p_value: number }; warnings: { code: string }[] };
    expect(summary.groups.map((g) => [g.group, g.users])).toEqual([['At-Risk', 131], ['Dormant', 66], ['Unsegmented', 3]]);
    expect(summary.log_rank.df).toBe(2);
    expect(summary.warnings.map((w) => w.code)).toEqual(['GROUPS_FROM_OUTCOME', 'SMALL_GROUP', 'MEDIAN_NOT_REACHED']);
    const html = await readFile(p('r.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toMatch(/chi-square 115\.586 on 2 df/);
    expect((JSON.parse(html.match(/id="vega-lite-specs">(.*?)<\/script>/s)![1]) as unknown[]).length).toBe(2);
  });

  it('exits 2 with one sentence for a --by column the features lack, and for --by cluster without a model', async () => {
    const base = ['retention', '--events', fx('cdnow-200.txt'), '--preset', 'cdnow', '--as-of', '1998-06-30', '--out', join(dir, 'x.csv')];
    const a = await runCli([...base, '--by', 'plann']);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/--by plann: the features have no such column; use segment, lifecycle, cluster or one of: plan, /);
    const b = await runCli([...base, '--by', 'cluster']);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--by cluster needs --model REF/);
    const c = await runCli([...base, '--by', 'monetary_value']);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/--by monetary_value: the column has \d+ distinct values \(more than 20\)/);
  });
});
