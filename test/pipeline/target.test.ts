import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeSynthetic } from '../../src/synth/index.js';
import { buildApp, createProvider } from '../../src/serve/index.js';
import { readTable } from '../../src/shared/table-io.js';
import { runCli } from '../cli/run.js';

/**
 * `train --target upgrade` on a seeded synthetic product whose true upgrade probabilities are known
 * (truth.csv p_upgrade): the model gets close to the ceiling, beats the §4.3 expansion-readiness score,
 * says which target it is everywhere, and serves `upgrade_probability` (score and /v1/predict).
 */
let dir: string;
let models: string;
let events: string;
let json: any;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-target-'));
  models = join(dir, 'models');
  events = join(dir, 'data', 'events.parquet');
  await writeSynthetic(join(dir, 'data'), { users: 8000, days: 150, seed: 11 });
  const out: string[] = [];
  const r = await runCli(['train', '--events', events, '--preset', 'synthetic', '--target', 'upgrade', '--model', 'logistic', '--k', '4', '--seed', '7', '--resamples', '300', '--models-dir', models, '--name', 'upgrade', '--keep-user-ids', '--json'], { out: (t) => out.push(t) });
  expect(r.code, r.err).toBe(0);
  json = JSON.parse(out.join(''));
}, 600_000);

describe('train --target upgrade on the synthetic product (8,000 users, seed 11)', () => {
  it('recovers the known upgrade propensity: model ROC-AUC within 0.08 of the truth ceiling, above the §4.3 score', () => {
    expect(json.target).toEqual({ kind: 'upgrade', event: 'upgraded_plan' });
    const model = json.metrics.model.rocAuc.value;
    expect(json.ceiling.truthAuc).toBeGreaterThan(0.75);
    expect(json.ceiling.truthAuc - model).toBeLessThan(0.08);
    expect(json.ceiling.truthAuc - model).toBeGreaterThan(-0.03); // no model beats the truth by more than noise
    expect(model - json.metrics.rule.rocAuc.value).toBeGreaterThan(0.05);
    expect(json.evidence.test_churners).toBeGreaterThanOrEqual(50);
    expect(json.verdict.kind).toBe('better');
    expect(json.verdict.text).toMatch(/upgraders, [\d,]+ non-upgraders/);
    expect(json.verdict.text).toMatch(/the rule expansion-readiness score \(playbook §4\.3\)/);
    expect(json.verdict.text).toMatch(/The true upgrade probability reaches ROC-AUC/);
  });

  it('recency is scored the propensity way (recent = likely): not inverted', () => {
    expect(json.metrics.recency.rocAuc.value).toBeGreaterThan(0.5);
    expect(json.verdict.inverted).not.toContain('recency');
  });

  it('leaves out users who upgraded before each cutoff and counts them', () => {
    for (const s of json.sets) expect(s.priorTarget).toBeGreaterThan(0);
    const test = json.sets.find((s: { role: string }) => s.role === 'test');
    expect(test.users).toBe(json.evidence.test_users);
  });

  it('report.json and the manifest record the target; the snapshot holds upgrade_probability, not churn_probability', async () => {
    const vdir = join(models, 'upgrade', '1');
    const report = JSON.parse(await readFile(join(vdir, 'report.json'), 'utf8'));
    expect(report.target).toEqual({ kind: 'upgrade', event: 'upgraded_plan' });
    expect(report.evaluation.title).toMatch(/^Upgrade model vs the playbook §4\.3 expansion-readiness score/);
    const manifest = JSON.parse(await readFile(join(vdir, 'manifest.json'), 'utf8'));
    expect(manifest.params.target).toEqual({ kind: 'upgrade', event: 'upgraded_plan', events: ['upgraded_plan'], probabilityColumn: 'upgrade_probability' });
    const snap = await readTable(join(vdir, 'scores.parquet'));
    expect(snap.names).toContain('upgrade_probability');
    expect(snap.names).not.toContain('churn_probability');
    const p = snap.columns.upgrade_probability as Float64Array;
    expect(Math.min(...p)).toBeGreaterThan(0);
    expect(Math.max(...p)).toBeLessThan(1);
    const listed: string[] = [];
    expect((await runCli(['models', 'list', '--models-dir', models, '--json'], { out: (t) => listed.push(t) })).code).toBe(0);
    expect(JSON.parse(listed.join('')).models[0]).toMatchObject({ ref: 'upgrade@1', target: { kind: 'upgrade', event: 'upgraded_plan' }, testChurners: json.evidence.test_churners });
  });

  it('score and /v1/predict serve upgrade_probability', async () => {
    const out = join(dir, 'scored.csv');
    const r = await runCli(['score', '--model', 'upgrade@1', '--models-dir', models, '--events', events, '--as-of', '2026-05-20', '--out', out]);
    expect(r.code, r.err).toBe(0);
    const scored = await readTable(out);
    expect(scored.names[1]).toBe('upgrade_probability');
    const provider = await createProvider('upgrade', models);
    const app = await buildApp({ provider });
    try {
      const fromEvents = await app.inject({ method: 'POST', url: '/v1/predict', payload: { users: [{ user_id: 'x', events: [{ timestamp: '2026-05-01T10:00:00Z', event: 'app_opened' }, { timestamp: '2026-05-01T10:05:00Z', event: 'viewed_pricing' }] }] } });
      expect(fromEvents.statusCode, fromEvents.body).toBe(200);
      const pred = fromEvents.json().predictions[0];
      expect(pred.upgrade_probability).toBeGreaterThan(0);
      expect(pred.upgrade_probability).toBeLessThan(1);
      expect(pred).not.toHaveProperty('churn_probability');
    } finally {
      await app.close();
    }
  });

  it('evaluate at the test cutoff measures the upgrade target, not churn, with the same figures', async () => {
    const out: string[] = [];
    const cutoff = json.sets.find((s: { role: string }) => s.role === 'test').cutoff;
    const r = await runCli(['evaluate', '--model', 'upgrade@1', '--models-dir', models, '--events', events, '--as-of', cutoff, '--out', join(dir, 'eval'), '--json'], { out: (t) => out.push(t) });
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(out.join(''));
    expect(rep.target).toEqual({ kind: 'upgrade', event: 'upgraded_plan' });
    expect(rep.verdict.text).toMatch(/upgraders/);
    expect(rep.context.data.sets[0].priorTarget).toBeGreaterThan(0);
    expect(rep.evidence).toEqual(json.evidence);
    expect(rep.metrics.model.rocAuc.value).toBeCloseTo(json.metrics.model.rocAuc.value, 9);
    expect(rep.metrics.rule.rocAuc.value).toBeCloseTo(json.metrics.rule.rocAuc.value, 9);
  });
});

const SPARKIFY = join(import.meta.dirname, '..', '..', '..', 'shared', 'datasets', 'sparkify-dend-log-data', '*.json.gz');

describe('train --target upgrade on the real Sparkify month (8 "Submit Upgrade" events in all)', () => {
  it('with a backtest that has upgraders in every window: insufficient_evidence, with the counts', async () => {
    const out: string[] = [];
    const r = await runCli(['train', '--events', SPARKIFY, '--preset', 'sparkify', '--as-of', '2018-11-18', '--horizon-days', '5', '--train-cutoffs', '1', '--target', 'upgrade', '--model', 'logistic', '--seed', '7', '--resamples', '200', '--models-dir', join(dir, 'models-sparkify'), '--json'], { out: (t) => out.push(t) });
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(out.join(''));
    expect(j.target).toEqual({ kind: 'upgrade', event: 'Submit Upgrade' });
    expect(j.verdict.kind).toBe('insufficient_evidence');
    expect(j.evidence).toEqual({ test_users: 60, test_churners: 2, test_stayers: 58, minimum: 50 });
    expect(j.verdict.text).toMatch(/^Insufficient evidence: 60 test users \(2 upgraders, 58 non-upgraders\); a verdict needs at least 50 upgraders and 50 non-upgraders/);
    expect(j.sets.map((s: { priorTarget?: number }) => s.priorTarget)).toEqual([2, 4, 6]);
  }, 300_000);

  it('with the default 7-day backtest the test week has no upgrader: exit 2, one sentence, nothing registered', async () => {
    const models = join(dir, 'models-sparkify-7');
    const r = await runCli(['train', '--events', SPARKIFY, '--preset', 'sparkify', '--horizon-days', '7', '--train-cutoffs', '1', '--target', 'upgrade', '--model', 'logistic', '--seed', '7', '--resamples', '50', '--models-dir', models]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/the test users as of 2018-11-22 \(64\) are all non-upgraders: a propensity \(upgrade\) model cannot be evaluated on one outcome, and nothing was registered/);
  }, 300_000);
});
