import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run.js';
import { readTable } from '../../src/shared/table-io.js';
import { sharedDataset } from '../shared/datasets.js';

/**
 * Honest verdicts on small real logs (issue 16), from two CDNOW subsets (test/fixtures/README.md):
 * 200 customers leave 75 test users (45 churners, 30 stayers): insufficient_evidence; 150 customers
 * all active after the test cutoff: every test user stays, so nothing can be measured (exit 2).
 */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const sparkify = sharedDataset('sparkify-dend-log-data');
let dir: string;
let models: string;
let trained: { code: number; err: string; out: string[] };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-verdict-'));
  models = join(dir, 'models');
  const out: string[] = [];
  const r = await runCli(['train', '--events', join(FIXTURES, 'cdnow-200.txt'), '--preset', 'cdnow', '--horizon-days', '90', '--seed', '7', '--models-dir', models, '--name', 'small', '--resamples', '200', '--json'], { out: (t) => out.push(t) });
  trained = { ...r, out };
}, 120_000);

describe('verdicts on a small real log', () => {
  it('train on 200 CDNOW customers says insufficient_evidence with the counts, in --json and report.json', async () => {
    expect(trained.code).toBe(0);
    const j = JSON.parse(trained.out.join('\n'));
    expect(j.version).toBe('small@1');
    expect(j.verdict.kind).toBe('insufficient_evidence');
    expect(j.evidence).toEqual({ test_users: 75, test_churners: 45, test_stayers: 30, minimum: 50 });
    expect(j.verdict.text).toMatch(/^Insufficient evidence: 75 test users \(45 churners, 30 stayers\); a verdict needs at least 50 churners and 50 stayers/);
    expect(j.sets.map((s: { role: string; cutoff: string; users: number }) => [s.role, s.cutoff, s.users])).toEqual([
      ['train', '1997-07-03', 200],
      ['train', '1997-10-01', 105],
      ['validation', '1997-12-30', 76],
      ['test', '1998-03-30', 75],
    ]);
    const report = JSON.parse(await readFile(join(models, 'small', '1', 'report.json'), 'utf8'));
    expect(report.verdict).toEqual(j.verdict);
    expect(report.evidence).toEqual(j.evidence);
    expect(report.warnings).toContainEqual({ code: 'INSUFFICIENT_EVIDENCE', message: '45 test churners and 30 test stayers; a verdict needs 50 of each.' });
  });
  it('the calibrated probabilities it serves are spread, never exactly 0 or 1', async () => {
    const scores = await readTable(join(models, 'small', '1', 'scores.parquet'));
    const p = Array.from(scores.columns.churn_probability as Float64Array);
    expect(p.length).toBe(200);
    expect(Math.min(...p)).toBeGreaterThan(0);
    expect(Math.max(...p)).toBeLessThan(1);
    expect(new Set(p.map((x) => x.toFixed(3))).size).toBeGreaterThan(20);
    const test = await readTable(join(models, 'small', '1', 'test-predictions.parquet'));
    expect(Array.from(test.columns.churned as Float64Array).reduce((a, b) => a + b, 0)).toBe(45);
  });
  it('the version cannot be promoted without --force, and models list shows its verdict and test users', async () => {
    const refused = await runCli(['models', 'promote', 'small@1', '--models-dir', models]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/small@1 has the verdict insufficient_evidence/);
    const out: string[] = [];
    expect((await runCli(['models', 'list', '--models-dir', models], { out: (t) => out.push(t) })).code).toBe(0);
    expect(out.join('\n')).toMatch(/small@1 +\S+ \S+ +insufficient_evidence +0\.\d{3} \[0\.\d{3}, 0\.\d{3}\] +0\.\d{3} +75 \(45 churned\)/);
  });
  it('evaluate at the validation cutoff is in_sample and says where the windows overlap', async () => {
    const out: string[] = [];
    const r = await runCli(['evaluate', '--model', 'small@1', '--events', join(FIXTURES, 'cdnow-200.txt'), '--preset', 'cdnow', '--as-of', '1997-12-30', '--models-dir', models, '--out', join(dir, 'eval'), '--json'], { out: (t) => out.push(t) });
    expect(r.code).toBe(0);
    const j = JSON.parse(out.join('\n'));
    expect(j.verdict.kind).toBe('in_sample');
    expect(j.verdict.text).toMatch(/^In-sample: .*overlap by 90 day\(s\) the outcomes the model was fitted on at its validation cutoff 1997-12-30/);
    expect(j.inSample[0]).toEqual({ role: 'validation', cutoff: '1997-12-30', window: ['1997-12-31', '1998-03-31'], evaluated: ['1997-12-31', '1998-03-31'], days: 90 });
    const saved = JSON.parse(await readFile(join(dir, 'eval', 'report.json'), 'utf8'));
    expect(saved.verdict.kind).toBe('in_sample');
    expect(saved.warnings.map((w: { code: string }) => w.code)).toContain('IN_SAMPLE');
  }, 60_000);
  it.skipIf(sparkify.missing)('the Sparkify month trains with a week of history before its first cutoff, says so, and gives insufficient_evidence', async () => {
    const out: string[] = [];
    const r = await runCli(['train', '--events', join(sparkify.path, '*.json.gz'), '--preset', 'sparkify', '--horizon-days', '7', '--train-cutoffs', '1', '--seed', '7', '--models-dir', models, '--name', 'sparkify', '--resamples', '200', '--json'], { out: (t) => out.push(t) });
    expect(r.code).toBe(0);
    const j = JSON.parse(out.join('\n'));
    expect(j.sets.map((s: { cutoff: string }) => s.cutoff)).toEqual(['2018-11-08', '2018-11-15', '2018-11-22']);
    expect(j.verdict.kind).toBe('insufficient_evidence');
    expect(j.evidence).toEqual({ test_users: 71, test_churners: 15, test_stayers: 56, minimum: 50 });
    const report = JSON.parse(await readFile(join(models, 'sparkify', '1', 'report.json'), 'utf8'));
    expect(report.warnings.map((w: { code: string }) => w.code)).toEqual(expect.arrayContaining(['SHORT_TRAINING_HISTORY', 'LOG_SHORTER_THAN_WINDOWS', 'INSUFFICIENT_EVIDENCE']));
  }, 120_000);
  it('a test set where every user stays is exit 2 with one sentence, and nothing is registered', async () => {
    const r = await runCli(['train', '--events', join(FIXTURES, 'cdnow-active-150.txt'), '--preset', 'cdnow', '--horizon-days', '90', '--seed', '7', '--models-dir', models, '--name', 'oneclass', '--resamples', '50']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cohortlab train: the test users as of 1998-03-31 \(123\) are all stayers: a churn model cannot be evaluated on one outcome, and nothing was registered/);
    expect(await readdir(models)).not.toContain('oneclass');
  }, 120_000);
});
