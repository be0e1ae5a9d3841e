import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createProvider, loadPropensity } from '../../src/serve/index.js';
import { trainedFixture, trainedUpgradeFixture } from './helper.js';
import { openModelStore } from '../../src/registry/index.js';
import { openEventSource } from '../../src/engine/index.js';
import { refreshModel } from '../../src/pipeline/index.js';
import { loadServing } from '../../src/serve/index.js';

/**
 * The explorer as an analyst uses it, in a real headless Chromium (Debian's /usr/bin/chromium,
 * installed by .ci/run): every chart renders marks, nothing is logged as an error, picking a
 * cluster lists its members, and the CSV download matches the API.
 */
const CHROMIUM = '/usr/bin/chromium';
const OUT = join(import.meta.dirname, '..', '..', 'test-output');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`explorer browser test skipped: ${CHROMIUM} is missing (apt-get install --no-install-recommends chromium)`);

let app: FastifyInstance;
let base: string;
let browser: Browser;

beforeAll(async () => {
  if (!haveChromium) return;
  const fx = await trainedFixture();
  app = await buildApp({ provider: await createProvider('default@1', openModelStore(fx.modelsDir)) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-quic', '--no-first-run'],
  });
  await mkdir(OUT, { recursive: true });
}, 180_000);

/** Opens the explorer in a new page, collecting console errors and page errors into `problems`, once it is ready. */
async function openExplorer(context: BrowserContext, url: string, problems: string[]) {
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { cohortlab?: { ready?: boolean; errors: string[] } }).cohortlab?.ready === true || ((window as unknown as { cohortlab?: { errors: string[] } }).cohortlab?.errors.length ?? 0) > 0, null, { timeout: 60_000 });
  expect(await page.evaluate(() => (window as unknown as { cohortlab: { errors: string[] } }).cohortlab.errors)).toEqual([]);
  return page;
}

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe.skipIf(!haveChromium)('explorer in headless Chromium', () => {
  it('renders every chart, lists a cluster\'s members and exports them as CSV', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    await page.goto(`${base}/`);
    await page.waitForFunction(() => (window as unknown as { cohortlab?: { ready?: boolean; errors: string[] } }).cohortlab?.ready === true || ((window as unknown as { cohortlab?: { errors: string[] } }).cohortlab?.errors.length ?? 0) > 0, null, { timeout: 60_000 });
    expect(await page.evaluate(() => (window as unknown as { cohortlab: { errors: string[] } }).cohortlab.errors)).toEqual([]);
    const chartIds = ['chart-pca', 'chart-sizes', 'chart-churn', 'chart-heat', 'chart-k-inertia', 'chart-k-silhouette', 'chart-truth', 'chart-cross-0', 'chart-retention', 'chart-trans-seg', 'chart-trans-cl', 'chart-roc', 'chart-pr', 'chart-rel', 'chart-lift', 'chart-gain', 'chart-imp'];
    for (const id of chartIds) {
      const marks = await page.locator(`#${id} svg .mark-symbol path, #${id} svg .mark-rect path, #${id} svg .mark-line path, #${id} svg .mark-area path, #${id} svg .mark-text text`).count();
      expect(marks, `marks drawn in #${id}`).toBeGreaterThan(0);
    }
    // The verdict panel: its kind as trained, and the evidence it rests on (the fixture's model, from report.json).
    const report = await (await fetch(`${base}/v1/report`)).json() as { evaluation: { verdict: { kind: string }; evidence: { test_users: number; minimum: number } } };
    expect(await page.locator('#verdict-kind').innerText()).toBe(report.evaluation.verdict.kind.replace('_', ' ').toUpperCase());
    expect(await page.locator('#evidence').innerText()).toMatch(new RegExp(`^${report.evaluation.evidence.test_users.toLocaleString('en-US')} test users: .* a verdict needs at least ${report.evaluation.evidence.minimum} of each\\.$`));
    // Fits a laptop screen: the page itself does not scroll sideways.
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: join(OUT, 'explorer-overview.png'), fullPage: true });

    // The Retention panel: segment curves first; the group picker switches to the clusters' stored curves.
    const byCluster = await (await fetch(`${base}/v1/retention?by=cluster`)).json() as { landmark: string; groups: { group: string; users: number }[] };
    expect(await page.locator('#retention-by').inputValue()).toBe('segment');
    await page.locator('#retention-by').selectOption('cluster');
    await page.waitForFunction((g) => document.getElementById('retention-table')?.textContent?.includes(g), byCluster.groups[0].group);
    const rows = await page.locator('#retention-table tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.children[0].textContent, Number(tr.children[1].textContent)]));
    expect(rows).toEqual(byCluster.groups.map((g) => [g.group, g.users]));
    expect(await page.locator('#retention-date').innerText()).toContain(`live at the test cutoff ${byCluster.landmark}`);
    expect(await page.locator('#chart-retention svg .mark-line path').count()).toBe(byCluster.groups.length);

    // Pick the first cluster in the table.
    const row = page.locator('#cluster-table tr.pickable').first();
    const cluster = Number(await row.getAttribute('data-pick'));
    const size = Number(await row.locator('td').nth(2).innerText());
    await row.click();
    await page.waitForFunction((k) => document.getElementById('members-summary')?.textContent?.includes(`cluster ${k}`), cluster);
    const summary = await page.locator('#members-summary').innerText();
    const dated = await (await fetch(`${base}/v1/segments`)).json();
    expect(summary).toBe(`${size.toLocaleString('en-US')} users in cluster ${cluster} (scored snapshot as of ${dated.snapshot.as_of})`);
    // every panel says its date: the header, the clusters, the dashboard and the evaluation
    expect(await page.locator('#model').innerText()).toContain(`scored snapshot as of ${dated.snapshot.as_of}: ${dated.snapshot.users.toLocaleString('en-US')} users`);
    expect(await page.locator('#model').innerText()).toContain(`as of the test cutoff ${dated.dashboard.as_of}`);
    expect(await page.locator('#clusters-date').innerText()).toContain(`profiles, sizes and churn below are of the`);
    expect(await page.locator('#dashboard-date').innerText()).toContain(`Users of the test cutoff ${dated.dashboard.as_of} (${dated.dashboard.users.toLocaleString('en-US')})`);
    expect(await page.locator('#evaluation-date').innerText()).toContain(`Test users of ${dated.dashboard.as_of}`);
    expect(await page.locator('#cluster-table thead tr').first().locator('th').nth(1).innerText()).toBe(`snapshot ${dated.snapshot.as_of}`);
    expect(await page.locator('#cluster-table thead tr').first().locator('th').nth(2).innerText()).toMatch(new RegExp(`^test cutoff ${dated.dashboard.as_of} \\(fitted on live users\\)$`));
    const shown = await page.locator('#members-table tbody tr').count();
    expect(shown).toBe(Math.min(50, size));
    const firstId = await page.locator('#members-table tbody tr').first().locator('td').first().innerText();
    const api = await (await fetch(`${base}/v1/members?cluster=${cluster}&page=1&page_size=50`)).json();
    expect(firstId).toBe(api.rows[0].user_id);
    await page.screenshot({ path: join(OUT, 'explorer-members.png') });

    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export').click()]);
    const csv = await readFile(await download.path(), 'utf8');
    const expected = await (await fetch(`${base}/v1/export?cluster=${cluster}`)).text();
    expect(csv).toBe(expected);
    expect(csv.trim().split('\n').length - 1).toBe(size);
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  // The "Upgrade model" panel (serve --propensity-model): hidden without it, its verdict, table and ROC chart with it.
  it('shows the Upgrade model panel only when the server has a propensity model', async () => {
    const fx = await trainedFixture();
    const up = await trainedUpgradeFixture();
    const withPanel = await buildApp({ provider: await createProvider('default@1', openModelStore(fx.modelsDir)), propensity: await loadPropensity('upgrade@1', openModelStore(up.modelsDir)) });
    await withPanel.listen({ port: 0, host: '127.0.0.1' });
    const base2 = `http://127.0.0.1:${(withPanel.server.address() as { port: number }).port}`;
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const problems: string[] = [];
      const open = (url: string) => openExplorer(context, url, problems);
      // without --propensity-model: the section and its nav link stay hidden, and /v1/propensity is not asked (no 404 logged)
      const plain = await open(`${base}/`);
      expect(await plain.locator('#upgrade').isVisible()).toBe(false);
      expect(await plain.locator('#nav-upgrade').isVisible()).toBe(false);
      expect(problems).toEqual([]);

      const page = await open(`${base2}/`);
      const p = await (await fetch(`${base2}/v1/propensity`)).json() as { verdict: { kind: string; text: string }; metrics: Record<string, { value: number }>; ceiling: number };
      expect(await page.locator('#nav-upgrade').isVisible()).toBe(true);
      await page.locator('#nav-upgrade').click();
      expect(await page.locator('#upgrade').isVisible()).toBe(true);
      expect(await page.locator('#upgrade-verdict').innerText()).toBe(p.verdict.text);
      expect(await page.locator('#upgrade-kind').innerText()).toBe(p.verdict.kind.replace('_', ' ').toUpperCase());
      const rows = await page.locator('#upgrade-table tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.children[0].textContent, tr.children[1].textContent]));
      expect(rows[0]).toEqual(['model', expect.stringMatching(new RegExp(`^${p.metrics.model.value.toFixed(3)} \\[`))]);
      expect(rows.map((r) => r[0])).toEqual(expect.arrayContaining(['§4.3 expansion readiness', 'recency (recent = likely)', 'RFM value (§6.3)', 'majority', 'truth (the ceiling)']));
      expect(rows.at(-1)).toEqual(['truth (the ceiling)', p.ceiling.toFixed(3)]);
      expect(await page.locator('#chart-upgrade-roc svg .mark-line path').count()).toBeGreaterThan(0);
      expect(problems).toEqual([]);
      await page.locator('#upgrade').screenshot({ path: join(OUT, 'explorer-upgrade.png') });
    } finally {
      await context.close();
      await withPanel.close();
    }
  }, 120_000);

  // The "Over time" and "Drift" panels (issue 21) over a history of three refreshes a month apart, and what an
  // empty history says.
  it('draws sizes over time, the transition matrix of a chosen pair and the drift report; an empty history says how to fill it', async () => {
    const fx = await trainedFixture();
    const dir = join(await mkdtemp(join(tmpdir(), 'cl-explorer-hist-')), 'models');
    await cp(fx.modelsDir, dir, { recursive: true });
    const store = openModelStore(dir);
    const model = (await loadServing('default', store)).model;
    const day = (n: number) => new Date(Date.parse(`${model.params.snapshotAsOf}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
    const dates = [day(-62), day(-31), day(0)];
    for (const d of dates) {
      const src = await openEventSource({ engine: 'duckdb', events: [fx.events] }, model.config);
      await refreshModel({ models: store, model, source: src, asOf: d }).finally(() => src.close());
    }
    const hist = await buildApp({ provider: await createProvider('default', store) });
    await hist.listen({ port: 0, host: '127.0.0.1' });
    const base3 = `http://127.0.0.1:${(hist.server.address() as { port: number }).port}`;
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const problems: string[] = [];
    const open = (url: string) => openExplorer(context, url, problems);
    try {
      // the fixture's own registry has no history: both panels say so and name the command
      const empty = await open(`${base}/`);
      expect(await empty.locator('#history-note').innerText()).toMatch(/^No refresh snapshot yet: the history of default is empty: run "cohortlab refresh --model default/);
      expect(await empty.locator('#drift-note').innerText()).toMatch(/^No drift to show: .*serve --refresh/);
      expect(await empty.locator('#chart-drift svg').count()).toBe(0);

      const page = await open(`${base3}/`);
      expect(await page.locator('#history-note').innerText()).toMatch(new RegExp(`^3 snapshot\\(s\\) of default, ${dates[0]} \\.\\. ${dates[2]}`));
      const h = await (await fetch(`${base3}/v1/history`)).json() as { points: { sizes: Record<string, Record<string, number>> }[] };
      // one area per behavioral segment present in some snapshot
      const segs = new Set(h.points.flatMap((p) => Object.keys(p.sizes.behavioral_segment)));
      expect(await page.locator('#chart-history svg .mark-area path').count()).toBe(segs.size);
      await page.locator('#history-column').selectOption('lifecycle_stage');
      const stages = new Set(h.points.flatMap((p) => Object.keys(p.sizes.lifecycle_stage)));
      await page.waitForFunction((n) => document.querySelectorAll('#chart-history svg .mark-area path').length === n, stages.size);
      // the transition matrix: month over month by default (the latest pair), cells labelled with users and row share
      expect(await page.locator('#history-trans-from').inputValue()).toBe(dates[1]);
      expect(await page.locator('#history-trans-to').inputValue()).toBe(dates[2]);
      const t = await (await fetch(`${base3}/v1/transitions?from=${dates[0]}&to=${dates[2]}&by=lifecycle_stage`)).json() as { matrices: { from: string[]; to: string[]; counts: number[][]; shares: number[][] }[] };
      await page.locator('#history-trans-by').selectOption('lifecycle_stage');
      await page.locator('#history-trans-from').selectOption(dates[0]);
      const m = t.matrices[0];
      // the matrix of the chosen pair: its first cell's label, then one cell per (from, to) (role-mark: not the legend's gradient)
      const first = `${m.counts[0][0]} (${(100 * m.shares[0][0]).toFixed(0)}%)`;
      await page.waitForFunction((want) => document.querySelector('#chart-history-trans svg .role-title-text')?.textContent?.includes(want), `lifecycle_stage: ${dates[0]} -> ${dates[2]}`);
      expect(await page.locator('#chart-history-trans svg .mark-text text').allTextContents()).toContain(first);
      expect(await page.locator('#chart-history-trans svg .mark-rect.role-mark path').count()).toBe(m.from.length * m.to.length);
      // a reversed pair is explained where the matrix would be
      await page.locator('#history-trans-from').selectOption(dates[1]);
      await page.locator('#history-trans-to').selectOption(dates[1]);
      await page.waitForFunction(() => /must be before/.test(document.getElementById('history-trans-note')?.textContent ?? ''));
      // the drift panel: the newest refresh, its verdict sentence, one bar per variable, the 0.1 / 0.25 rules
      const d = await (await fetch(`${base3}/v1/drift`)).json() as { report: { summary: { text: string }; features: unknown[]; rule_scores: unknown[]; prediction: unknown } };
      expect(await page.locator('#drift-date').inputValue()).toBe(dates[2]);
      expect(await page.locator('#drift-verdict').innerText()).toBe(d.report.summary.text);
      const nVars = d.report.features.length + d.report.rule_scores.length + (d.report.prediction ? 1 : 0);
      // the bars (layer 0) and the noise-bound ticks (layer 1) of the 25 largest, every variable in the table
      expect(await page.locator('#chart-drift svg .layer_0_marks path').count()).toBe(Math.min(25, nVars));
      expect(await page.locator('#chart-drift svg .layer_1_marks path').count()).toBe(Math.min(25, nVars));
      expect(await page.locator('#chart-drift svg .layer_2_marks line').count()).toBe(2);
      expect(await page.locator('#drift-table tbody tr').count()).toBe(nVars);
      await page.locator('#drift-date').selectOption(dates[0]);
      await page.waitForFunction((dd) => document.getElementById('drift-note')?.textContent?.startsWith(`Refresh of ${dd}`), dates[0]);
      expect(problems).toEqual([]);
      await page.locator('#over-time').screenshot({ path: join(OUT, 'explorer-over-time.png') });
      await page.locator('#drift').screenshot({ path: join(OUT, 'explorer-drift.png') });
    } finally {
      await context.close();
      await hist.close();
    }
  }, 180_000);
});
