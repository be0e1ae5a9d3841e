import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run.js';
import { computeFeatures } from '../../src/features/index.js';
import { loadEvents, resolveConfig } from '../../src/ingest/index.js';
import { CDNOW_PRESET, SYNTHETIC_PRESET, SPARKIFY_PRESET } from '../../src/ingest/presets.js';
import { duckdbSource, openEventSource } from '../../src/engine/source.js';
import { openClickHouse } from '../../src/engine/clickhouse.js';
import { queryRows, quoteLiteral } from '../../src/shared/duckdb.js';
import { fitLtv, ltvModelFromParams, purchaseSummary, scoreLtv } from '../../src/ltv/index.js';
import { rocAuc } from '../../src/evaluate/index.js';
import { fitLtvAt, ltvBaseline, purchaseSelection, readLtvArtifact, readSourcePurchaseDays } from '../../src/pipeline/ltv-baseline.js';
import { buildApp, createProvider } from '../../src/serve/index.js';
import { openModelStore } from '../../src/registry/index.js';
import { readTable } from '../../src/shared/table-io.js';
import type { EventConfig } from '../../src/ingest/types.js';

/**
 * BG/NBD inside train / evaluate / score / /v1/predict (issue 20 parts 2-4) on 200 real CDNOW customers
 * (test/fixtures/cdnow-200.txt, test/fixtures/README.md): the "bgnbd" baseline is P(no purchase in the horizon)
 * from a fit on the purchases before the test cutoff only, scored on the same users as the model.
 */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const EVENTS = join(FIXTURES, 'cdnow-200.txt');
const TEST_CUTOFF = '1998-03-30';
const HORIZON = 90;
let dir: string;
let models: string;
let json: Record<string, any>;
let app: FastifyInstance | null = null;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-ltvbase-'));
  models = join(dir, 'models');
  const out: string[] = [];
  const r = await runCli(['train', '--events', EVENTS, '--preset', 'cdnow', '--horizon-days', String(HORIZON), '--seed', '7', '--models-dir', models, '--name', 'ltv', '--resamples', '200', '--json'], { out: (t) => out.push(t) });
  if (r.code !== 0) throw new Error(r.err);
  json = JSON.parse(out.join('\n'));
}, 120_000);

afterAll(async () => {
  await app?.close();
});

describe('which events are purchases', () => {
  it('every event without an event column, positive values with one, none for an event log without values', () => {
    expect(purchaseSelection(CDNOW_PRESET).rule).toBe('every_event');
    const retail = { ...SYNTHETIC_PRESET, name: 'retail', columns: { ...SYNTHETIC_PRESET.columns, value: 'value' } } as EventConfig;
    expect(purchaseSelection(retail).rule).toBe('positive_value');
    const none = purchaseSelection(SYNTHETIC_PRESET);
    expect(none.rule).toBeNull();
    expect('reason' in none && none.reason).toMatch(/maps an event column \("event"\) but no value column/);
    expect(purchaseSelection(SPARKIFY_PRESET).rule).toBeNull();
  });
});

describe('the bgnbd baseline', () => {
  it('is P(no purchase in the horizon) of the `cohortlab ltv` fit at the test cutoff, on the same users, with the same ROC-AUC', async () => {
    const store = await loadEvents([EVENTS], CDNOW_PRESET);
    try {
      const table = await computeFeatures(store, { asOf: TEST_CUTOFF, horizonDays: HORIZON });
      const { baseline, warnings } = await ltvBaseline(duckdbSource(store), table, { horizonDays: HORIZON });
      expect(warnings.map((w) => w.code)).not.toContain('NO_PURCHASE_EVENTS');
      expect(baseline).not.toBeNull();
      // the independent path of `cohortlab ltv` (src/ltv readPurchaseDays over the DuckDB store)
      const s = await purchaseSummary(store, { asOf: TEST_CUTOFF });
      const ref = scoreLtv(fitLtv(s), s, { horizonDays: HORIZON });
      const at = new Map(s.userIds.map((u, i) => [u, i]));
      expect(baseline!.withoutPurchase).toBe(0);
      table.userIds.forEach((u, i) => expect(baseline!.score[i]).toBeCloseTo(ref.p_no_purchase[at.get(u)!], 10));
      // the verdict's "bgnbd" ROC-AUC is this score's on the live users of the test cutoff
      const live = table.userIds.map((_, i) => i).filter((i) => !table.alreadyChurned[i]);
      const auc = rocAuc(live.map((i) => baseline!.score[i]), Uint8Array.from(live, (i) => table.label![i]));
      expect(json.metrics.bgnbd.rocAuc.value).toBeCloseTo(auc, 12);
      expect(json.differences.find((d: any) => d.a === 'model' && d.b === 'bgnbd' && d.metric === 'rocAuc')).toBeTruthy();
      expect(json.verdict.text).toMatch(/BG\/NBD|insufficient/i);
    } finally {
      store.close();
    }
  }, 60_000);

  it('never reads past the cutoff: the log cut at the cutoff gives the same fit and scores', async () => {
    const text = await readFile(EVENTS, 'utf8');
    const lines = text.split(/\r?\n/);
    const cut = [lines[0], ...lines.slice(1).filter((l) => l.trim() && Number(l.trim().split(/\s+/)[1]) <= Number(TEST_CUTOFF.replaceAll('-', '')))];
    expect(cut.length).toBeLessThan(lines.length - 50);
    const cutFile = join(dir, 'cut.txt');
    await writeFile(cutFile, `${cut.join('\n')}\n`);
    const full = await loadEvents([EVENTS], CDNOW_PRESET);
    const part = await loadEvents([cutFile], CDNOW_PRESET);
    try {
      const a = await fitLtvAt(duckdbSource(full), TEST_CUTOFF);
      const b = await fitLtvAt(duckdbSource(part), TEST_CUTOFF);
      if (!('model' in a) || !('model' in b)) throw new Error('no fit');
      expect(a.model.bgnbd.fitted.r).toBe(b.model.bgnbd.fitted.r);
      expect(a.model.bgnbd.fitted.b).toBe(b.model.bgnbd.fitted.b);
      expect(Array.from(a.summary.T)).toEqual(Array.from(b.summary.T));
      // and a later cutoff does see the later purchases (the check can fail)
      const later = await fitLtvAt(duckdbSource(full), '1998-06-30');
      if (!('model' in later)) throw new Error('no fit');
      expect(later.model.bgnbd.fitted.r).not.toBe(a.model.bgnbd.fitted.r);
    } finally {
      full.close();
      part.close();
    }
  }, 60_000);

  it('a log without purchases (Sparkify: events, no value column) gives no baseline and the warning NO_PURCHASE_EVENTS', async () => {
    const store = await loadEvents([join(FIXTURES, 'sparkify-2018-11-05.json'), join(FIXTURES, 'sparkify-2018-11-06.json')], SPARKIFY_PRESET);
    try {
      const table = await computeFeatures(store, { asOf: '2018-11-06' });
      const r = await ltvBaseline(duckdbSource(store), table, { horizonDays: 7 });
      expect(r.baseline).toBeNull();
      expect(r.warnings).toEqual([{ code: 'NO_PURCHASE_EVENTS', message: expect.stringMatching(/^the config "sparkify" maps an event column \("page"\) but no value column/) }]);
    } finally {
      store.close();
    }
  });
});

describe('what the version stores and serves', () => {
  it('ltv.json holds the BG/NBD + Gamma-Gamma fitted on every purchase up to the snapshot, round-tripping', async () => {
    const vdir = join(models, 'ltv', '1');
    expect((await stat(join(vdir, 'ltv.json'))).size).toBeGreaterThan(100);
    const stored = await readLtvArtifact(openModelStore(models), { name: 'ltv', version: 1 });
    expect(stored).not.toBeNull();
    const manifest = JSON.parse(await readFile(join(vdir, 'manifest.json'), 'utf8'));
    expect(manifest.params.snapshotAsOf).toBe('1998-06-29'); // the fixture's last purchase day
    expect(stored!.artifact.as_of).toBe(manifest.params.snapshotAsOf);
    expect(stored!.artifact.purchases.rule).toBe('every_event');
    expect(stored!.artifact.horizon_days).toBe(HORIZON);
    expect(stored!.artifact.q).toBeGreaterThan(1);
    const again = ltvModelFromParams(stored!.artifact);
    expect(again.bgnbd.fitted.alpha).toBe(stored!.model.bgnbd.fitted.alpha);
    const report = JSON.parse(await readFile(join(vdir, 'report.json'), 'utf8'));
    expect(report.ltv.test.as_of).toBe(TEST_CUTOFF);
    expect(report.ltv.stored.as_of).toBe('1998-06-29');
    await expect(readLtvArtifact(openModelStore(join(dir, 'nowhere')), { name: 'ltv', version: 1 })).resolves.toBeNull();
  });

  it('the §9.1 LTV tables cover every test-cutoff user once per grouping, sums equal to the per-user scores', async () => {
    const report = JSON.parse(await readFile(join(models, 'ltv', '1', 'report.json'), 'utf8'));
    const d = report.ltvDashboard;
    expect(d.asOf).toBe(TEST_CUTOFF);
    expect(d.note).toBeNull();
    expect(d.tables.map((t: any) => t.by)).toEqual(['behavioral_segment', 'lifecycle_stage', 'cluster_label']);
    const store = await loadEvents([EVENTS], CDNOW_PRESET);
    try {
      const s = await purchaseSummary(store, { asOf: TEST_CUTOFF });
      const ref = scoreLtv(fitLtv(s), s, { horizonDays: HORIZON, clvMonths: 12, monthlyDiscount: 0.01 });
      const total = (a: Float64Array) => a.reduce((x, v) => x + v, 0);
      for (const t of d.tables) {
        expect(t.rows.reduce((a: number, r: any) => a + r.users, 0)).toBe(s.userIds.length);
        expect(t.rows.reduce((a: number, r: any) => a + r.expectedPurchasesSum, 0)).toBeCloseTo(total(ref.expected_purchases), 6);
        expect(t.rows.reduce((a: number, r: any) => a + r.clvSum, 0)).toBeCloseTo(total(ref.clv!), 4);
        for (const r of t.rows) expect(r.clvMean).toBeCloseTo(r.clvSum / r.users, 9);
      }
      const churned = d.tables[1].rows.find((r: any) => r.group === 'Churned');
      const live = d.tables[1].rows.filter((r: any) => r.group !== 'Churned');
      // customers idle 273+ days are expected to buy less than the live ones
      expect(churned.expectedPurchasesMean).toBeLessThan(Math.min(...live.map((r: any) => r.expectedPurchasesMean)));
    } finally {
      store.close();
    }
  }, 60_000);

  it('score adds p_alive, expected_purchases and clv from the stored model (no refit); evaluate names the bgnbd baseline', async () => {
    const out = join(dir, 'scores.csv');
    const r = await runCli(['score', '--model', 'ltv@1', '--models-dir', models, '--events', EVENTS, '--as-of', '1998-06-30', '--out', out]);
    expect(r.code, r.err).toBe(0);
    const t = await readTable(out);
    for (const c of ['p_alive', 'expected_purchases', 'clv']) expect(t.names).toContain(c);
    const stored = (await readLtvArtifact(openModelStore(models), { name: 'ltv', version: 1 }))!;
    const store = await loadEvents([EVENTS], CDNOW_PRESET);
    try {
      const s = await purchaseSummary(store, { asOf: '1998-06-30' });
      const ref = scoreLtv(stored.model, s, { horizonDays: HORIZON, clvMonths: 12, monthlyDiscount: 0.01 });
      const at = new Map(s.userIds.map((u, i) => [u, i]));
      const ids = t.columns.user_id as string[];
      ids.forEach((u, i) => {
        const j = at.get(u)!;
        expect((t.columns.p_alive as Float64Array)[i]).toBeCloseTo(ref.p_alive[j], 9);
        expect((t.columns.expected_purchases as Float64Array)[i]).toBeCloseTo(ref.expected_purchases[j], 9);
        expect((t.columns.clv as Float64Array)[i]).toBeCloseTo(ref.clv![j], 6);
      });
      // the stored snapshot (scores.parquet, scored at train's snapshot date 1998-06-29) carries the same columns
      const snap = await readTable(join(models, 'ltv', '1', 'scores.parquet'));
      const s29 = await purchaseSummary(store, { asOf: '1998-06-29' });
      const ref29 = scoreLtv(stored.model, s29, { horizonDays: HORIZON, clvMonths: 12, monthlyDiscount: 0.01 });
      expect(snap.rows).toBe(200);
      expect(Array.from(snap.columns.clv as Float64Array).reduce((a, v) => a + v, 0)).toBeCloseTo(ref29.clv!.reduce((a, v) => a + v, 0), 6);
      const p = Array.from(t.columns.p_alive as Float64Array);
      expect(Math.min(...p)).toBeGreaterThan(0);
      expect(new Set(p.map((x) => x.toFixed(3))).size).toBeGreaterThan(20);
    } finally {
      store.close();
    }
    const ev: string[] = [];
    const e = await runCli(['evaluate', '--model', 'ltv@1', '--models-dir', models, '--events', EVENTS, '--as-of', '1997-12-30', '--out', join(dir, 'eval'), '--json'], { out: (x) => ev.push(x) });
    expect(e.code, e.err).toBe(0);
    const rep = JSON.parse(ev.join('\n'));
    expect(rep.metrics.bgnbd.rocAuc.value).toBeGreaterThan(0.5);
    expect(rep.context.data.testCutoff).toBe('1997-12-30');
  }, 120_000);

  it('/v1/predict answers p_alive, expected_purchases, clv for users given as events, null for users given as features', async () => {
    app = await buildApp({ provider: await createProvider('ltv@1', openModelStore(models)) });
    const stored = (await readLtvArtifact(openModelStore(models), { name: 'ltv', version: 1 }))!;
    const events = [
      { timestamp: '1997-01-05', event: 'purchase', value: 20 },
      { timestamp: '1997-03-10', event: 'purchase', value: 35 },
      { timestamp: '1997-08-01', event: 'purchase', value: 15 },
    ];
    const res = await app.inject({ method: 'POST', url: '/v1/predict', payload: { users: [{ user_id: 'x1', events }], as_of: '1997-12-31' } });
    expect(res.statusCode, res.body).toBe(200);
    const p = res.json().predictions[0];
    // by hand: purchase days 1997-01-05, 03-10, 08-01; as of 1997-12-31: x = 2, t_x = 208/7, T = 360/7 weeks
    const x = 2, tx = 208 / 7, T = 360 / 7;
    expect(p.p_alive).toBeCloseTo(stored.model.bgnbd.pAlive(x, tx, T), 9);
    expect(p.expected_purchases).toBeCloseTo(stored.model.bgnbd.expectedPurchases(HORIZON / 7, x, tx, T), 9);
    expect(p.clv).toBeGreaterThan(0);
    const store = await loadEvents([EVENTS], CDNOW_PRESET);
    let features: Record<string, number>;
    try {
      const t = await computeFeatures(store, { asOf: '1998-06-30' });
      features = Object.fromEntries(Object.entries(t.columns).map(([k, v]) => [k, (v as Float64Array)[0]]));
    } finally {
      store.close();
    }
    // GET /v1/segments carries the §9.1 LTV tables of report.json
    const seg = await app.inject({ method: 'GET', url: '/v1/segments' });
    expect(seg.statusCode, seg.body).toBe(200);
    const report = JSON.parse(await readFile(join(models, 'ltv', '1', 'report.json'), 'utf8'));
    expect(seg.json().ltv).toEqual(report.ltvDashboard);
    expect(seg.json().ltv.tables[0].rows.length).toBeGreaterThan(1);
    const byFeatures = await app.inject({ method: 'POST', url: '/v1/predict', payload: { users: [{ user_id: 'f1', features }] } });
    expect(byFeatures.statusCode, byFeatures.body).toBe(200);
    const q = byFeatures.json().predictions[0];
    expect([q.p_alive, q.expected_purchases, q.clv]).toEqual([null, null, null]);
  }, 60_000);
});

describe.skipIf(!existsSync('/usr/bin/chromium'))('the explorer shows the LTV tables (headless Chromium)', () => {
  it('one table per grouping under the 9.1 dashboard, the rows of GET /v1/segments', async () => {
    const served = await buildApp({ provider: await createProvider('ltv@1', openModelStore(models)) });
    await served.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(served.server.address() as { port: number }).port}`;
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      await page.goto(`${base}/?panel=segments`);
      await page.waitForFunction(() => ((window as unknown as { cohortlab?: { ready?: boolean; pending: number } }).cohortlab?.ready === true && (window as unknown as { cohortlab: { pending: number } }).cohortlab.pending === 0) || ((window as unknown as { cohortlab?: { errors: string[] } }).cohortlab?.errors.length ?? 0) > 0, null, { timeout: 60_000 });
      expect(await page.evaluate(() => (window as unknown as { cohortlab: { errors: string[] } }).cohortlab.errors)).toEqual([]);
      const ltv = (await (await fetch(`${base}/v1/segments`)).json()).ltv;
      expect(await page.locator('#ltv-note').innerText()).toBe(`Users of the test cutoff ${TEST_CUTOFF}: expected purchases over the ${HORIZON} days after it, CLV over 12 months (monthly discount 0.01).`);
      expect(await page.locator('#ltv-tables table').count()).toBe(3);
      const first = await page.locator('#ltv-tables table').first().locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.children[0].textContent, Number(tr.children[1].textContent), tr.children[6].textContent]));
      expect(first).toEqual(ltv.tables[0].rows.map((r: any) => [r.group, r.users, r.clvMean.toFixed(2)]));
    } finally {
      await browser.close();
      await served.close();
    }
  }, 120_000);
});

describe('cohortlab rules prints the §9.1 LTV tables from events', () => {
  it('by segment and lifecycle stage from --events; a features file says what it lacks', async () => {
    const out: string[] = [];
    const r = await runCli(['rules', '--events', EVENTS, '--preset', 'cdnow', '--as-of', TEST_CUTOFF, '--out', join(dir, 'rules.csv')], { out: (t) => out.push(t) });
    expect(r.code, r.err).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/Lifetime value \(playbook §9.1 "LTV"\) as of 1998-03-30: BG\/NBD expected purchases over 273 days, CLV over 12 months/);
    // the lifecycle table's users add up to the 200 customers, and its CLV sum to the cohortlab ltv fit's
    const store = await loadEvents([EVENTS], CDNOW_PRESET);
    let clvTotal: number;
    try {
      const s = await purchaseSummary(store, { asOf: TEST_CUTOFF });
      clvTotal = scoreLtv(fitLtv(s), s, { horizonDays: 273 }).clv!.reduce((a, v) => a + v, 0);
    } finally {
      store.close();
    }
    const lifecycle = text.slice(text.indexOf('\nlifecycle_stage'));
    const rows = lifecycle.split('\n').filter((l) => /^(Activated|At-Risk|Churned|Power User|New User)\s/.test(l));
    const cells = rows.map((l) => l.split(/\s{2,}/));
    expect(cells.reduce((a, c) => a + Number(c[1]), 0)).toBe(200);
    expect(cells.reduce((a, c) => a + Number(c[5].replace(/,/g, '')), 0)).toBeCloseTo(clvTotal, 0);
    const feats = join(dir, 'feats.parquet');
    expect((await runCli(['features', '--events', EVENTS, '--preset', 'cdnow', '--as-of', TEST_CUTOFF, '--out', feats])).code).toBe(0);
    const out2: string[] = [];
    expect((await runCli(['rules', '--features', feats, '--out', join(dir, 'rules2.csv')], { out: (t) => out2.push(t) })).code).toBe(0);
    expect(out2.join('\n')).toMatch(/LTV \(playbook §9.1\): needs the purchase events/);
  }, 60_000);
});

describe('purchases of an event log with values (Online Retail lines, test/fixtures/retail-sample.csv)', () => {
  const LINE_COLUMNS = `InvoiceNo String, StockCode String, Description String, Quantity Int32, InvoiceDate DateTime('UTC'), UnitPrice Float64, CustomerID Nullable(UInt32), Country String`;
  const TABLE = 'cl_ltvbase_lines';
  // by hand from the fixture: 13047 ordered on 2010-12-01 (invoices 536367, 536368, 536369) and cancelled on 2011-01-06
  // (C540391, value -2.95): one purchase day; 17850 and 17908 one order each on 2010-12-01; the line without a customer is dropped.
  const day = Date.parse('2010-12-01T00:00:00Z') / 86_400_000;
  let retail: EventConfig;
  let duckRows: { userIds: string[]; day: number[]; value: number[] };

  beforeAll(async () => {
    retail = await resolveConfig({ config: join(import.meta.dirname, '..', '..', 'data', 'examples', 'online-retail.json') });
    const store = await loadEvents([join(FIXTURES, 'retail-sample.csv')], retail);
    try {
      const r = await readSourcePurchaseDays(duckdbSource(store), 'positive_value', Date.parse('2012-01-01T00:00:00Z'));
      duckRows = { userIds: r.userIds, day: Array.from(r.day), value: Array.from(r.value!) };
      const every = await readSourcePurchaseDays(duckdbSource(store), 'every_event', Date.parse('2012-01-01T00:00:00Z'));
      expect(every.userIds).toEqual(['13047', '13047', '17850', '17908']);
    } finally {
      store.close();
    }
  });

  it('positive values only: the cancellation is not a purchase day', () => {
    expect(duckRows.userIds).toEqual(['13047', '17850', '17908']);
    expect(duckRows.day).toEqual([day, day, day]);
    // invoices 278.73 + 70.05 + 17.85 (sum of Quantity x UnitPrice per invoice, rounded to cents as the config's SELECT does)
    expect(duckRows.value[0]).toBeCloseTo(366.63, 6);
  });

  it.skipIf(!process.env.COHORTLAB_CLICKHOUSE_URL)('ClickHouse reads the same purchase days through the config\'s SELECT', async () => {
    const url = process.env.COHORTLAB_CLICKHOUSE_URL!;
    const ch = await openClickHouse({ url });
    const store = await loadEvents([join(FIXTURES, 'retail-sample.csv')], retail);
    try {
      const rows = await queryRows(store.conn, `SELECT * FROM read_csv(${quoteLiteral(join(FIXTURES, 'retail-sample.csv'))}, header = true, all_varchar = true)`);
      const cols = Object.fromEntries(Object.keys(rows[0]).map((k) => [k, rows.map((r) => (r[k] === null ? null : String(r[k])))]));
      await ch.command(`DROP TABLE IF EXISTS ${TABLE}`);
      await ch.command(`CREATE TABLE ${TABLE} (${LINE_COLUMNS}) ENGINE = MergeTree ORDER BY tuple()`);
      await ch.insertRows(TABLE, cols);
    } finally {
      store.close();
    }
    const source = await openEventSource({ engine: 'clickhouse', url, tables: { lines: TABLE } }, retail);
    try {
      const r = await readSourcePurchaseDays(source, 'positive_value', Date.parse('2012-01-01T00:00:00Z'));
      expect(r.userIds).toEqual(duckRows.userIds);
      expect(Array.from(r.day)).toEqual(duckRows.day);
      Array.from(r.value!).forEach((v, i) => expect(v).toBeCloseTo(duckRows.value[i], 9));
    } finally {
      await source.close();
      await ch.command(`DROP TABLE IF EXISTS ${TABLE}`);
      await ch.close();
    }
  });
});
