import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rocChartSpec } from '../../src/evaluate/index.js';
import { openModelStore } from '../../src/registry/index.js';
import { buildApp, createProvider, loadPropensity } from '../../src/serve/index.js';
import { propensityLabels } from '../../src/serve/propensity.js';
import { isCohortlabError } from '../../src/shared/errors.js';
import { runCli } from '../cli/run.js';
import { trainedFixture, trainedUpgradeFixture } from './helper.js';

/**
 * GET /v1/propensity (serve --propensity-model): the upgrade model's stored report as the explorer's "Upgrade
 * model" panel reads it, a 404 without the option, and a churn model refused at startup.
 */
let withPanel: FastifyInstance;
let without: FastifyInstance;
let churnModels: string;
let upgradeModels: string;

beforeAll(async () => {
  const fx = await trainedFixture();
  const up = await trainedUpgradeFixture();
  churnModels = fx.modelsDir;
  upgradeModels = up.modelsDir;
  const provider = await createProvider('default@1', openModelStore(fx.modelsDir));
  withPanel = await buildApp({ provider, propensity: await loadPropensity('upgrade', openModelStore(up.modelsDir)) });
  without = await buildApp({ provider });
}, 120_000);

afterAll(async () => {
  await withPanel?.close();
  await without?.close();
});

describe('GET /v1/propensity', () => {
  it('answers the stored report of the upgrade version: target, verdict, evidence, ROC-AUC intervals, ceiling, ROC chart', async () => {
    const r = await withPanel.inject({ method: 'GET', url: '/v1/propensity' });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    const report = JSON.parse(await readFile(join(upgradeModels, 'upgrade', '1', 'report.json'), 'utf8'));
    const ev = report.evaluation;
    expect(body.model).toEqual({ name: 'upgrade', version: 1 });
    expect(body.target).toEqual({ kind: 'upgrade', event: 'upgraded_plan' });
    expect(body.as_of).toBe(ev.context.data.testCutoff);
    expect(body.horizon_days).toBe(ev.context.data.horizonDays);
    expect(body.verdict).toEqual({ kind: ev.verdict.kind, text: ev.verdict.text, strongest_baseline: ev.verdict.strongest_baseline });
    expect(body.verdict.text).toMatch(/upgraders/);
    expect(body.evidence).toEqual(ev.evidence);
    // every scorer but the truth, with the ROC-AUC interval it was trained with
    const scorers = Object.keys(ev.metrics).filter((k) => k !== 'truth').sort();
    expect(Object.keys(body.metrics).sort()).toEqual(scorers);
    expect(scorers).toEqual(expect.arrayContaining(['model', 'rule', 'recency', 'rfm', 'majority']));
    for (const k of scorers) expect(body.metrics[k]).toEqual({ value: ev.metrics[k].rocAuc.value, lo: ev.metrics[k].rocAuc.lo, hi: ev.metrics[k].rocAuc.hi });
    for (const m of Object.values(body.metrics) as { value: number; lo: number; hi: number }[]) expect(m.lo).toBeLessThanOrEqual(m.hi);
    // the synthetic product knows the true upgrade probability: the ceiling is its ROC-AUC
    expect(body.ceiling).toBe(ev.ceiling.truthAuc);
    expect(body.ceiling).toBeGreaterThan(0.5);
    // the ROC chart is the churn panel's builder on this report's curves: one line per scorer
    expect(body.charts.roc).toEqual(JSON.parse(JSON.stringify(rocChartSpec(ev.curves, propensityLabels(body.target)))));
    expect(Object.keys(ev.curves)).toEqual(expect.arrayContaining(['model', 'rule']));
    // named for the upgrade target, not churn
    const names = new Set(JSON.stringify(body.charts.roc).match(/"scorer":"[^"]+"/g));
    expect(names).toContain('"scorer":"rule expansion readiness (4.3)"');
    expect(JSON.stringify(body.charts.roc)).not.toMatch(/churn/);
  });

  it('is 404 NO_PROPENSITY_MODEL without --propensity-model; /v1/models names the loaded one or null', async () => {
    const r = await without.inject({ method: 'GET', url: '/v1/propensity' });
    expect(r.statusCode).toBe(404);
    expect(r.json().code).toBe('NO_PROPENSITY_MODEL');
    expect((await without.inject({ method: 'GET', url: '/v1/models' })).json().propensity).toBeNull();
    expect((await withPanel.inject({ method: 'GET', url: '/v1/models' })).json().propensity).toEqual({ name: 'upgrade', version: 1 });
  });

  it('is in /v1/openapi.json with its 200 and 404 answers', async () => {
    const doc = (await without.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    const op = doc.paths['/v1/propensity'].get;
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '404']));
  });

  it('refuses a churn model as the propensity model: one sentence, exit 2', async () => {
    const e = await loadPropensity('default@1', openModelStore(churnModels)).catch((x: unknown) => x);
    expect(isCohortlabError(e) && e.code).toBe('BAD_ARGUMENT');
    const r = await runCli(['serve', '--model', 'default@1', '--propensity-model', 'default@1', '--models-dir', churnModels, '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(/^cohortlab serve: --propensity-model default@1 \(default@1\) is a churn model; pass a version trained with train --target upgrade/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});
