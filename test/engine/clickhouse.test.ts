import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLICKHOUSE } from '../../src/engine/dialect.js';
import { openClickHouse } from '../../src/engine/clickhouse.js';
import { warehouseConfig } from '../../src/engine/load.js';
import { openEventSource } from '../../src/engine/source.js';
import { computeFeatures, readFeatureTable, type FeatureTable } from '../../src/features/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { loadEvents } from '../../src/ingest/index.js';
import { DIALECTS } from '../../src/engine/dialect.js';
import { modelScoreSql } from '../../src/pipeline/score-sql.js';
import { cutoffOf } from '../../src/features/index.js';
import { openModelStore } from '../../src/registry/index.js';
import { runCli as cli } from '../cli/run.js';
import { trainedFixture, trainedGbdtFixture } from '../serve/helper.js';
import { compareWithInProcess } from './compare.js';
import { clickhouseUrls, loadEventsIntoClickHouse, type LoadedEvents } from './clickhouse-helper.js';
import { loadScoringModel } from '../../src/pipeline/load.js';

/**
 * The warehouse engine against real ClickHouse 18.16 servers (scripts/clickhouse.sh: a single node and a
 * Distributed table over two shards sharded by user_id): the same features as DuckDB, to 1e-9.
 */
const urls = await clickhouseUrls();
const TABLE = 'cl_test_events';
let fx: LoadedEvents;
let modelsDir: string;

function expectSameFeatures(a: FeatureTable, b: FeatureTable): void {
  expect(b.userIds).toEqual(a.userIds);
  expect(b.plan).toEqual(a.plan);
  expect(Object.keys(b.columns)).toEqual(Object.keys(a.columns));
  let worst = 0;
  for (const k of Object.keys(a.columns)) {
    for (let i = 0; i < a.userIds.length; i++) {
      const d = Math.abs(a.columns[k][i] - b.columns[k][i]);
      if (!(d <= 1e-9)) throw new Error(`feature ${k} of user ${a.userIds[i]}: DuckDB ${a.columns[k][i]} vs ClickHouse ${b.columns[k][i]}`);
      worst = Math.max(worst, d);
    }
  }
  expect(worst).toBeLessThanOrEqual(1e-9);
  expect(Array.from(b.alreadyChurned)).toEqual(Array.from(a.alreadyChurned));
  expect(b.label && Array.from(b.label)).toEqual(a.label && Array.from(a.label));
}

describe.skipIf(!urls)('ClickHouse engine (single node and 2 shards)', () => {
  beforeAll(async () => {
    // the server tests' small trained registry (a logistic model on 600 synthetic users): its events go into ClickHouse
    const trained = await trainedFixture();
    modelsDir = trained.modelsDir;
    fx = await loadEventsIntoClickHouse(urls!, TABLE, trained.events);
  }, 180_000);
  afterAll(() => fx?.store.close());

  it('splits the Distributed table across both shards by user, every user on one shard', async () => {
    let total = 0;
    const users = new Set<string>();
    for (const url of urls!.shards) {
      const ch = await openClickHouse({ url });
      const r = await ch.query(`SELECT toFloat64(count()) AS n, groupUniqArray(user_id) AS u FROM ${TABLE}_local`);
      await ch.close();
      const n = (r.columns[0] as Float64Array)[0];
      expect(n).toBeGreaterThan(0);
      total += n;
      const ids = JSON.parse((r.columns[1] as string[])[0].replace(/'/g, '"')) as string[];
      for (const id of ids) {
        expect(users.has(id)).toBe(false);
        users.add(id);
      }
    }
    expect(total).toBe(fx.store.report.rowsUsed);
    expect(users.size).toBe(fx.store.report.users);
  });

  for (const asOf of ['2026-04-01', '2026-04-20']) {
    it(`features and labels as of ${asOf}: DuckDB = ClickHouse single table = Distributed table (1e-9)`, async () => {
      const duck = await computeFeatures(fx.store, { asOf, horizonDays: 21 });
      expect(duck.userIds.length).toBeGreaterThan(100);
      for (const url of [urls!.single, urls!.shards[0]]) {
        const source = await openEventSource({ engine: 'clickhouse', url, table: TABLE }, warehouseConfig(SYNTHETIC_PRESET));
        try {
          expect(source.report.rowsUsed).toBe(fx.store.report.rowsUsed);
          expectSameFeatures(duck, await computeFeatures(source, { asOf, horizonDays: 21 }));
        } finally {
          await source.close();
        }
      }
    }, 60_000);
  }

  it('without a session column, sessions cut after 30 minutes of inactivity in the warehouse equal those of ingest', async () => {
    const noSessions = { ...SYNTHETIC_PRESET, columns: { ...SYNTHETIC_PRESET.columns, session_id: null } };
    const duckStore = await loadEvents([fx.events], noSessions);
    try {
      const duck = await computeFeatures(duckStore, { asOf: '2026-04-20', horizonDays: 21 });
      const wc = warehouseConfig(SYNTHETIC_PRESET);
      wc.columns.session_id = null;
      for (const url of [urls!.single, urls!.shards[0]]) {
        const source = await openEventSource({ engine: 'clickhouse', url, table: TABLE }, wc);
        try {
          expect(source.report.sessionsInferred).toBe(true);
          expect(source.report.sessions).toBe(duckStore.report.sessions);
          expectSameFeatures(duck, await computeFeatures(source, { asOf: '2026-04-20', horizonDays: 21 }));
        } finally {
          await source.close();
        }
      }
    } finally {
      duckStore.close();
    }
  }, 60_000);

  it('cohortlab features --engine clickhouse writes the same file as from the events', async () => {
    const config = join(fx.dir, 'warehouse.config.json');
    await writeFile(config, JSON.stringify(warehouseConfig(SYNTHETIC_PRESET)));
    const fromWarehouse = join(fx.dir, 'ch.csv');
    const fromFiles = join(fx.dir, 'duck.csv');
    const ch = await cli(['features', '--engine', 'clickhouse', '--clickhouse-url', urls!.shards[0], '--table', TABLE, '--config', config, '--as-of', '2026-04-01', '--out', fromWarehouse]);
    expect(ch).toEqual({ code: 0, err: '' });
    expect(await cli(['features', '--events', fx.events, '--preset', 'synthetic', '--as-of', '2026-04-01', '--out', fromFiles])).toEqual({ code: 0, err: '' });
    expectSameFeatures(await readFeatureTable(fromFiles), await readFeatureTable(fromWarehouse));
  }, 60_000);

  it('names a missing table, a missing column, an unreachable server and a bad URL in one sentence (exit 2)', async () => {
    const base = ['features', '--engine', 'clickhouse', '--preset', 'synthetic', '--as-of', '2026-04-01', '--out', join(fx.dir, 'x.csv')];
    const missing = await cli([...base, '--clickhouse-url', urls!.single, '--table', 'no_such_events']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/no table "no_such_events"/);
    // the synthetic preset maps `timestamp`, the warehouse table has `ts`
    const column = await cli([...base, '--clickhouse-url', urls!.single, '--table', TABLE]);
    expect(column.code).toBe(2);
    expect(column.err).toMatch(/has no column "timestamp" \(config columns\.timestamp\)/);
    const down = await cli([...base, '--clickhouse-url', 'http://127.0.0.1:1', '--table', TABLE]);
    expect(down.code).toBe(2);
    expect(down.err).toMatch(/cannot reach ClickHouse at http:\/\/127\.0\.0\.1:1/);
    const bad = await cli([...base, '--clickhouse-url', 'not a url', '--table', TABLE]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/is not a URL/);
    const injection = await cli([...base, '--clickhouse-url', urls!.single, '--table', 'events; DROP TABLE x']);
    expect(injection.code).toBe(2);
    expect(injection.err).toMatch(/is not a ClickHouse table name/);
  }, 30_000);

  it('scores inside ClickHouse (single table and Distributed) equal in-process scores: probability to 1e-6, rule scores and tiers exactly', async () => {
    const model = await loadScoringModel(openModelStore(modelsDir), 'default');
    const asOf = '2026-05-20';
    const inProcess = await model.score(await computeFeatures(fx.store, { asOf }), { reasons: 0 });
    for (const url of [urls!.single, urls!.shards[0]]) {
      const source = await openEventSource({ engine: 'clickhouse', url, table: TABLE }, warehouseConfig(model.config));
      try {
        const sql = modelScoreSql(model.parts, DIALECTS.clickhouse, { cutoffMs: cutoffOf(asOf), source: source.relation, config: warehouseConfig(model.config) });
        expect(compareWithInProcess(await source.query(sql), inProcess)).toBeLessThan(1e-6);
      } finally {
        await source.close();
      }
    }
  }, 60_000);

  it('a gbdt model scores inside ClickHouse (single table and Distributed) equal to in-process scores: probability to 1e-6', async () => {
    const g = await trainedGbdtFixture();
    const model = await loadScoringModel(openModelStore(g.modelsDir), 'default');
    expect(model.parts.churn.kind).toBe('gbdt');
    for (const asOf of ['2026-04-20', '2026-05-20']) {
      const inProcess = await model.score(await computeFeatures(fx.store, { asOf }), { reasons: 0 });
      expect(new Set(inProcess.columns.churn_probability as Float64Array).size).toBeGreaterThan(10);
      for (const url of [urls!.single, urls!.shards[0]]) {
        const source = await openEventSource({ engine: 'clickhouse', url, table: TABLE }, warehouseConfig(model.config));
        try {
          const sql = modelScoreSql(model.parts, DIALECTS.clickhouse, { cutoffMs: cutoffOf(asOf), source: source.relation, config: warehouseConfig(model.config) });
          expect(sql).toMatch(/toFloat64\(toFloat32\(toFloat64\(`[a-z_0-9]+`\)\)\) AS cl_x\d+/);
          expect(sql).toMatch(/CASE WHEN cl_x\d+ <= /);
          expect(compareWithInProcess(await source.query(sql), inProcess)).toBeLessThan(1e-6);
        } finally {
          await source.close();
        }
      }
    }
  }, 180_000);

  it('score --into runs the statement inside the warehouse and --emit-sql prints it', async () => {
    const config = join(fx.dir, 'warehouse.config.json');
    await writeFile(config, JSON.stringify(warehouseConfig(SYNTHETIC_PRESET)));
    const args = ['score', '--models-dir', modelsDir, '--engine', 'clickhouse', '--clickhouse-url', urls!.shards[0], '--table', TABLE, '--config', config, '--as-of', '2026-05-20'];
    const ch = await openClickHouse({ url: urls!.shards[0] });
    try {
      await ch.command('DROP TABLE IF EXISTS cl_test_scores');
      expect(await cli([...args, '--into', 'cl_test_scores'])).toEqual({ code: 0, err: '' });
      expect(await cli([...args, '--into', 'cl_test_scores'])).toEqual({ code: 0, err: '' }); // the second run inserts
      const r = await ch.query('SELECT toFloat64(count()) AS n, toFloat64(uniqExact(user_id)) AS users, toFloat64(min(churn_probability)) AS lo, toFloat64(max(churn_probability)) AS hi FROM cl_test_scores');
      const [n, users, lo, hi] = r.columns.map((c) => (c as Float64Array)[0]);
      expect(n).toBe(2 * users);
      expect(users).toBe((await computeFeatures(fx.store, { asOf: '2026-05-20' })).userIds.length);
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
    } finally {
      await ch.close();
    }
    let printed = '';
    const { code } = await cli([...args, '--emit-sql'], { out: (t) => (printed += t) });
    expect(code).toBe(0);
    expect(printed.trim().endsWith(';')).toBe(true);
    expect(printed.match(/;/g)).toHaveLength(1);
    expect(printed).toContain('AS churn_probability');
    // Printing connects to nothing: without a URL, or with one where no server listens, the same statement.
    const noUrl = args.filter((a, i) => a !== '--clickhouse-url' && args[i - 1] !== '--clickhouse-url');
    for (const argv of [noUrl, [...noUrl, '--clickhouse-url', 'http://127.0.0.1:1']]) {
      let offline = '';
      expect((await cli([...argv, '--emit-sql'], { out: (t) => (offline += t), env: {} })).code).toBe(0);
      expect(offline).toBe(printed);
    }
    const duck = await cli([...args.slice(0, 3), '--engine', 'duckdb', '--events', fx.events, '--preset', 'synthetic', '--as-of', '2026-05-20', '--into', 'x']);
    expect(duck.code).toBe(2);
    expect(duck.err).toMatch(/--into TABLE writes into the warehouse/);
  }, 60_000);

  it('inlined literals round-trip hostile text through the server', async () => {
    const hostile = ["it's", "a\\'; DROP TABLE x; --", 'tab\tnew\nline', 'ünï©ødé 🚀', '\\', "\\'"];
    const ch = await openClickHouse({ url: urls!.single });
    try {
      const r = await ch.query(`SELECT ${hostile.map((h, i) => `${CLICKHOUSE.quoteString(h)} AS ${CLICKHOUSE.quoteIdent(`c ${i}`)}`).join(', ')}`);
      expect(r.columns.map((c) => (c as string[])[0])).toEqual(hostile);
      expect(r.names).toEqual(hostile.map((_, i) => `c ${i}`));
    } finally {
      await ch.close();
    }
  });
});
