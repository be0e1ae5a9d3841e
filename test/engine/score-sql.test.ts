import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLICKHOUSE, DUCKDB } from '../../src/engine/dialect.js';
import { modelScoreSql, scoreSql, warehouseScoreColumns } from '../../src/pipeline/score-sql.js';
import { calibrationSql, logisticWeights } from '../../src/churn/sql.js';
import { compileCondition } from '../../src/rules/sql.js';
import { computeFeatures, cutoffOf } from '../../src/features/index.js';
import { loadEvents, type EventStore } from '../../src/ingest/index.js';
import { openModelStore } from '../../src/registry/index.js';
import { fitRuleReference, parseSegmentRules } from '../../src/rules/index.js';
import { predictChurn, type ChurnModel } from '../../src/churn/index.js';
import { applyCalibrator, fitIsotonic, fitPlatt, type Calibrator } from '../../src/churn/calibrate.js';
import { queryColumns } from '../../src/shared/duckdb.js';
import { agreement } from './compare.js';
import { trainedFixture, trainedGbdtFixture, trainedUpgradeFixture, type Fixture } from '../serve/helper.js';
import { main } from '../../src/cli/index.js';
import { collectingLogger } from '../../src/shared/log.js';
import { openClickHouse } from '../../src/engine/clickhouse.js';
import { clickhouseUrls } from './clickhouse-helper.js';
import { loadEventsToClickHouse, warehouseConfig } from '../../src/engine/load.js';
import { openEventSource } from '../../src/engine/source.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { scoreResultTable, scoreWithParts } from '../../src/pipeline/score.js';
import { mkdtemp } from 'node:fs/promises';
import { readTable } from '../../src/shared/table-io.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScoringModel, type LoadedModel } from '../../src/pipeline/load.js';

/**
 * In-warehouse scoring (one SQL statement: features, every playbook rule column, the §6.1 rule-file
 * segments, the logistic model's calibrated probability, the nearest cluster) equals in-process scoring
 * (feature SQL + compute.ts + the rule engine + tfjs + k-means), run here on DuckDB;
 * test/engine/clickhouse.test.ts runs the same statement on ClickHouse.
 */
let model: LoadedModel;
let store: EventStore;
let fx: Fixture;

beforeAll(async () => {
  fx = await trainedFixture();
  model = await loadScoringModel(openModelStore(fx.modelsDir), 'default');
  store = await loadEvents([fx.events], model.config);
}, 180_000);
afterAll(() => store?.close());

describe('scoring inside the engine', () => {
  for (const asOf of ['2026-04-10', '2026-05-20']) {
    it(`equals in-process scores as of ${asOf} (probability to 1e-6, every rule, segment and cluster column exactly)`, async () => {
      const table = await computeFeatures(store, { asOf });
      const inProcess = await model.score(table, { reasons: 0 });
      const sql = modelScoreSql(model.parts, DUCKDB, { cutoffMs: cutoffOf(asOf), source: 'events' });
      const r = await queryColumns(store.conn, sql);
      expect(r.names).toEqual(warehouseScoreColumns(model.parts.segments, true));
      // the columns of score --out, in its order, but the reasons
      expect(r.names).toEqual(scoreResultTable(inProcess).names.filter((n) => n !== 'reasons'));
      expect(model.parts.segments.length).toBe(3); // the rule files of rules/ (At Risk, Expansion Ready, Power Users)
      const a = agreement(r, inProcess);
      expect(a.users).toBeGreaterThan(300);
      expect(a.probability).toBeLessThan(1e-6);
      expect(a.pca).toBeLessThan(1e-9);
      // the already-churned flag is the one compute.ts derives
      expect(Array.from(r.columns[r.names.indexOf('already_churned')] as Float64Array)).toEqual(Array.from(table.alreadyChurned));
      // the fixture exercises the ladders: several labels of each segment column, and users in and out of every rule-file segment
      for (const c of ['behavioral_segment', 'lifecycle_stage', 'rfm_segment', 'churn_risk_tier', 'cluster_label', 'intent_segment', 'plan_segment', 'dormant_subsegment', 'sales_tier', 'campaign']) expect(new Set(r.columns[r.names.indexOf(c)] as string[]).size, c).toBeGreaterThan(1);
    }, 60_000);
  }

  it('names an upgrade model\'s probability as score does (upgrade_probability), with the same value', async () => {
    const up = await trainedUpgradeFixture();
    const upgrade = await loadScoringModel(openModelStore(up.modelsDir), 'upgrade');
    const asOf = '2026-05-20';
    const table = await computeFeatures(store, { asOf });
    const inProcess = await upgrade.score(table, { reasons: 0 });
    const r = await queryColumns(store.conn, modelScoreSql(upgrade.parts, DUCKDB, { cutoffMs: cutoffOf(asOf), source: 'events' }));
    expect(r.names[1]).toBe('upgrade_probability');
    expect(r.names).toEqual(warehouseScoreColumns(upgrade.parts.segments, true, 'upgrade_probability'));
    expect(r.names).toEqual(scoreResultTable(inProcess).names.filter((n) => n !== 'reasons'));
    const sqlP = r.columns[1] as Float64Array;
    const ids = r.columns[0] as string[];
    const at = new Map(inProcess.userIds.map((u, i) => [u, i]));
    let worst = 0;
    ids.forEach((u, i) => (worst = Math.max(worst, Math.abs(sqlP[i] - (inProcess.columns.upgrade_probability as Float64Array)[at.get(u)!]))));
    expect(worst).toBeLessThan(1e-6);
  }, 120_000);

  it('reproduces each saved calibration on the in-process raw outputs (to 1e-15) in DuckDB and ClickHouse, and scores with it', async () => {
    const asOf = '2026-05-20';
    const table = await computeFeatures(store, { asOf });
    const raw = predictChurn({ ...model.parts.churn, calibrator: { kind: 'none' } }, table.columns);
    const isotonic = fitIsotonic(raw, table.alreadyChurned);
    if (isotonic.kind !== 'isotonic') throw new Error('expected an isotonic calibrator');
    expect(isotonic.x.length).toBeGreaterThan(3);
    // what training saved (the tests above score with it; the exact logistic regression often needs none) and each kind
    const platt = fitPlatt(raw, table.alreadyChurned);
    expect(platt.kind).toBe('platt');
    const calibrators: Calibrator[] = [model.parts.churn.calibrator, platt, isotonic, { kind: 'none' }];
    // the raw outputs, the breakpoints themselves, and the clamps' edges
    const xs = [...raw, ...isotonic.x, 0, 1e-9, 1 - 1e-9, 1];
    const urls = await clickhouseUrls();
    const ch = urls ? await openClickHouse({ url: urls.single }) : null;
    try {
      for (const c of calibrators) {
        const expected = applyCalibrator(c, xs);
        const list = `[${xs.map((x) => x.toExponential()).join(', ')}]`;
        const duck = await queryColumns(store.conn, `SELECT ${calibrationSql(c, 'r', DUCKDB)} AS p FROM (SELECT unnest(${list}) AS r) AS v`);
        const results = [duck.columns[0] as Float64Array];
        if (ch) results.push((await ch.query(`SELECT ${calibrationSql(c, 'r', CLICKHOUSE)} AS p FROM (SELECT arrayJoin(${list}) AS r) AS v`)).columns[0] as Float64Array);
        for (const got of results) expect(got.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0), c.kind).toBeLessThan(1e-15);
      }
    } finally {
      await ch?.close();
    }
    // end to end: tfjs's raw output is float32, the statement's a double; a calibration passes the difference on times its slope
    const slope = Math.max(...isotonic.x.slice(1).map((x, k) => (x > isotonic.x[k] ? Math.abs(isotonic.y[k + 1] - isotonic.y[k]) / (x - isotonic.x[k]) : 0)));
    for (const c of calibrators) {
      const parts = { ...model.parts, churn: { ...model.parts.churn, calibrator: c } };
      const r = await queryColumns(store.conn, modelScoreSql(parts, DUCKDB, { cutoffMs: cutoffOf(asOf), source: 'events' }));
      expect(agreement(r, await scoreWithParts(parts, table, { reasons: 0 })).probability, c.kind).toBeLessThan(c.kind === 'isotonic' ? 1e-6 * slope : 1e-6);
    }
  }, 60_000);

  it('logs valued by spend (monetary: sum_value): spend as monetary value and the reference\'s §6.3 quintiles, in DuckDB and ClickHouse', async () => {
    const asOf = '2026-05-20';
    const dir = await mkdtemp(join(tmpdir(), 'cl-wscore-'));
    const valued = join(dir, 'valued.parquet');
    // a third of the users never spend; the others spend 0.00-9.99 on some of their events
    await store.conn.run(`COPY (SELECT *, CASE WHEN hash(user_id) % 3 = 0 OR hash(user_id, timestamp) % 4 > 0 THEN 0 ELSE (hash(user_id, timestamp) % 1000) / 100.0 END AS amount
      FROM read_parquet('${fx.events}')) TO '${valued}' (FORMAT parquet)`);
    const config = { ...SYNTHETIC_PRESET, columns: { ...SYNTHETIC_PRESET.columns, value: 'amount' }, monetary: 'sum_value' as const, plans: { ...SYNTHETIC_PRESET.plans, rfm_monetary: { enterprise: 5 } } };
    const valuedStore = await loadEvents([valued], config);
    try {
      const table = await computeFeatures(valuedStore, { asOf });
      // the spend quintiles of a reference fitted on these users (the model's own was fitted for a config valued by plan)
      const parts = { ...model.parts, config, reference: fitRuleReference(table, config, 'the valued users') };
      expect(() => modelScoreSql({ ...model.parts, config }, DUCKDB, { cutoffMs: cutoffOf(asOf), source: 'events' })).toThrow(/values users by spend/);
      const expected = await scoreWithParts(parts, table, { reasons: 0 });
      const monetary = expected.columns.rfm_monetary as Float64Array;
      for (const m of [1, 2, 3, 4, 5]) expect(monetary.includes(m), `rfm monetary ${m}`).toBe(true);
      const duck = await queryColumns(valuedStore.conn, modelScoreSql(parts, DUCKDB, { cutoffMs: cutoffOf(asOf), source: 'events' }));
      expect(agreement(duck, expected).probability).toBeLessThan(1e-6);
      const urls = await clickhouseUrls();
      if (urls) {
        await loadEventsToClickHouse(valuedStore, { url: urls.single, table: 'cl_test_wscore_valued' });
        const source = await openEventSource({ engine: 'clickhouse', url: urls.single, table: 'cl_test_wscore_valued' }, warehouseConfig(config));
        try {
          const r = await source.query(modelScoreSql(parts, CLICKHOUSE, { cutoffMs: cutoffOf(asOf), source: source.relation, config: warehouseConfig(config) }));
          expect(agreement(r, expected).probability).toBeLessThan(1e-6);
        } finally {
          await source.command('DROP TABLE IF EXISTS cl_test_wscore_valued');
          await source.close();
        }
      }
    } finally {
      valuedStore.close();
    }
  }, 60_000);

  it('a user scored alone gets the rule columns of the batch: in the statement, in-process on a one-user table, and through score', async () => {
    const asOf = '2026-05-20';
    const table = await computeFeatures(store, { asOf });
    const whole = await queryColumns(store.conn, modelScoreSql(model.parts, DUCKDB, { cutoffMs: cutoffOf(asOf), source: 'events' }));
    const ids = whole.columns[0] as string[];
    const stage = whole.columns[whole.names.indexOf('lifecycle_stage')] as string[];
    // one Power User, one already churned user and the first user: each scored alone
    const picks = [stage.indexOf('Power User'), stage.indexOf('Churned'), 0];
    expect(picks.every((i) => i >= 0)).toBe(true);
    const ruleNames = whole.names.filter((n) => !['user_id', 'churn_probability', 'pc1', 'pc2'].includes(n));
    const rowOf = (r: { names: string[]; columns: unknown[] }, i: number) => Object.fromEntries(ruleNames.map((n) => [n, (r.columns[r.names.indexOf(n)] as ArrayLike<unknown>)[i]]));
    for (const i of picks) {
      const id = ids[i];
      const alone = await queryColumns(store.conn, modelScoreSql(model.parts, DUCKDB, { cutoffMs: cutoffOf(asOf), source: `(SELECT * FROM events WHERE user_id = '${id}')` }));
      expect(alone.columns[0], id).toEqual([id]);
      expect(rowOf(alone, 0), `${id} alone in the statement`).toEqual(rowOf(whole, i));
      const k = table.userIds.indexOf(id);
      const one = { ...table, userIds: [id], plan: [table.plan[k]], alreadyChurned: table.alreadyChurned.slice(k, k + 1), columns: Object.fromEntries(Object.entries(table.columns).map(([f, c]) => [f, c.slice(k, k + 1)])) };
      const inProcess = await model.score(one, { reasons: 0 });
      const cols = { names: ['user_id', ...Object.keys(inProcess.columns)], columns: [inProcess.userIds, ...Object.values(inProcess.columns)] };
      expect(rowOf(cols, 0), `${id} alone in-process`).toEqual(rowOf(whole, i));
    }
    // score in chunks of 100 users: every user's rule columns as the one statement over all users gives them
    const dir = await mkdtemp(join(tmpdir(), 'cl-alone-'));
    const out = join(dir, 'scores.parquet');
    const code = await main(['score', '--models-dir', fx.modelsDir, '--events', fx.events, '--as-of', asOf, '--chunk', '100', '--reasons', '0', '--out', out], { logger: collectingLogger(), out: () => {}, env: {} });
    expect(code).toBe(0);
    const scored = await readTable(out);
    expect(scored.rows).toBe(ids.length);
    expect(scored.rows).toBeGreaterThan(300);
    const byId = new Map((scored.columns.user_id as string[]).map((u, j) => [u, j]));
    const cli = { names: scored.names, columns: scored.names.map((n) => scored.columns[n]) };
    for (let i = 0; i < ids.length; i++) expect(rowOf(cli, byId.get(ids[i])!), ids[i]).toEqual(rowOf(whole, i));
  }, 60_000);

  it('a reference without live users (no Power User bar) compiles and equals in-process scoring', async () => {
    const asOf = '2026-05-20';
    const parts = { ...model.parts, reference: { ...model.parts.reference, powerUserMinWeeklySessions: null } };
    const expected = await scoreWithParts(parts, await computeFeatures(store, { asOf }), { reasons: 0 });
    expect(expected.columns.lifecycle_stage).not.toContain('Power User');
    expect((await model.score(await computeFeatures(store, { asOf }), { reasons: 0 })).columns.lifecycle_stage).toContain('Power User');
    const r = await queryColumns(store.conn, modelScoreSql(parts, DUCKDB, { cutoffMs: cutoffOf(asOf), source: 'events' }));
    expect(agreement(r, expected).probability).toBeLessThan(1e-6);
  }, 60_000);

  it('compiles every construct of the §6.1 language: arithmetic, NOT, !=, x / 0 and NaN as the TypeScript evaluator', async () => {
    const seg = (name: string, cond: string) => `segment "${name}" {\n  conditions { ${cond} }\n  refresh: daily\n}\n`;
    const rules = parseSegmentRules(
      [
        // NaN >= 1 is false (DuckDB alone would say true): users with no sessions in either week
        seg('Ratio', 'NOT (user.days_since_signup < 30) AND features.sessions_7d / features.sessions_prev_7d >= 1'),
        // +inf == +inf, NaN == NaN is false
        seg('Inf', 'features.sessions_7d / 0 == features.sessions_7d / 0'),
        // NaN != 1 is true
        seg('Nan', 'features.sessions_7d / features.sessions_7d != 1'),
        seg('Arith', '-events.session_count(last_14_days) + 2 * total_features > 3 AND NOT scores.churn_risk - 10 <= 0 OR scores.at_risk_signals == 2'),
      ].join(''),
      'odd.segment',
    );
    const asOf = '2026-05-20';
    const parts = { ...model.parts, segments: rules };
    const inProcess = await model.score(await computeFeatures(store, { asOf }), { reasons: 0 });
    const expected = await scoreWithParts(parts, await computeFeatures(store, { asOf }), { reasons: 0 });
    const r = await queryColumns(store.conn, modelScoreSql(parts, DUCKDB, { cutoffMs: cutoffOf(asOf), source: 'events' }));
    for (const slug of ['ratio', 'inf', 'nan', 'arith']) {
      const got = Array.from(r.columns[r.names.indexOf(`segment_${slug}`)] as Float64Array);
      expect(got, slug).toEqual(Array.from(expected.columns[`segment_${slug}`] as Float64Array));
      expect(new Set(got).size, `${slug} splits the users`).toBe(2);
    }
    expect(inProcess.userIds).toEqual(expected.userIds);
  }, 60_000);

  it('score --engine duckdb --emit-sql prints the DuckDB statement, which run on the events table equals in-process scoring', async () => {
    const asOf = '2026-04-10';
    const run = async (argv: string[]) => {
      let out = '';
      const code = await main(argv, { logger: collectingLogger(), out: (t) => (out += t), env: {} });
      return { code, out };
    };
    const printed = await run(['score', '--models-dir', fx.modelsDir, '--engine', 'duckdb', '--emit-sql', '--as-of', asOf]);
    expect(printed.code).toBe(0);
    expect(printed.out.trim().startsWith('WITH cl_features AS (')).toBe(true);
    // the model's reference thresholds are literals: no subquery over the scored users
    expect(printed.out).not.toMatch(/FROM cl_features AS g|list\(avg_weekly_sessions_28d\)/);
    expect(printed.out.match(/;/g)).toHaveLength(1); // one statement
    const r = await queryColumns(store.conn, printed.out.trim().replace(/;$/, ''));
    const a = agreement(r, await model.score(await computeFeatures(store, { asOf }), { reasons: 0 }));
    expect(a.probability).toBeLessThan(1e-6);
    // with --events the same statement (the files are not read to print it)
    expect((await run(['score', '--models-dir', fx.modelsDir, '--engine', 'duckdb', '--events', fx.events, '--emit-sql', '--as-of', asOf])).out).toBe(printed.out);
    const noDate = await run(['score', '--models-dir', fx.modelsDir, '--engine', 'duckdb', '--emit-sql']);
    expect(noDate.code).toBe(2);
  }, 60_000);

  it('trims plan names as JavaScript does (Unicode spaces, not zero-width ones) in DuckDB and ClickHouse', async () => {
    const names = [' Pro ', '\u00a0FREE\t', '\u3000Enterprise\n\r', '\ufefftrial\u2028', 'basic \u200b', 'a b', '', "it's\\ "];
    const sql = (d: typeof DUCKDB) => `SELECT i, p FROM (${names.map((n, i) => `SELECT ${i} AS i, lower(${d.trim(d.quoteString(n))}) AS p`).join(' UNION ALL ')}) AS u ORDER BY i`;
    const expected = names.map((n) => n.trim().toLowerCase());
    expect((await queryColumns(store.conn, sql(DUCKDB))).columns[1]).toEqual(expected);
    const urls = await clickhouseUrls();
    if (urls) {
      const ch = await openClickHouse({ url: urls.single });
      try {
        expect((await ch.query(sql(CLICKHOUSE))).columns[1]).toEqual(expected);
      } finally {
        await ch.close();
      }
    }
  });

  it('a gbdt model: the trees compiled to nested CASEs equal in-process scoring (probability to 1e-6) in DuckDB, and score --emit-sql prints them', async () => {
    const g = await trainedGbdtFixture();
    const trees = await loadScoringModel(openModelStore(g.modelsDir), 'default');
    expect(trees.parts.churn.kind).toBe('gbdt');
    if (trees.parts.churn.kind !== 'gbdt') return;
    expect(trees.parts.churn.gbdt.fitted.trees.length).toBeGreaterThan(3);
    for (const asOf of ['2026-04-10', '2026-05-20']) {
      const table = await computeFeatures(store, { asOf });
      const inProcess = await trees.score(table, { reasons: 0 });
      const sql = modelScoreSql(trees.parts, DUCKDB, { cutoffMs: cutoffOf(asOf), source: 'events' });
      // the features rounded to float32 once (the in-process design is float32), then one CASE per tree node
      expect(sql).toMatch(/CAST\(CAST\(CAST\("[a-z_0-9]+" AS DOUBLE\) AS FLOAT\) AS DOUBLE\) AS cl_x\d+/);
      expect(sql).toMatch(/CASE WHEN cl_x\d+ <= /);
      const a = agreement(await queryColumns(store.conn, sql), inProcess);
      expect(a.users).toBeGreaterThan(300);
      expect(a.probability).toBeLessThan(1e-6);
      // the probabilities spread (not one constant): the trees split on these users
      expect(new Set(inProcess.columns.churn_probability as Float64Array).size).toBeGreaterThan(10);
    }
    // test/engine/clickhouse.test.ts runs the statement on a ClickHouse node and the 2-shard Distributed table
    let out = '';
    const code = await main(['score', '--models-dir', g.modelsDir, '--engine', 'duckdb', '--emit-sql', '--as-of', '2026-05-20'], { logger: collectingLogger(), out: (t) => (out += t), env: {} });
    expect(code).toBe(0);
    const r = await queryColumns(store.conn, out.trim().replace(/;$/, ''));
    expect(agreement(r, await trees.score(await computeFeatures(store, { asOf: '2026-05-20' }), { reasons: 0 })).probability).toBeLessThan(1e-6);
  }, 180_000);

  it('names an unknown feature of a rule file as the evaluator does', () => {
    const [rule] = parseSegmentRules('segment "X" {\n  conditions { features.sesions_7d >= 1 }\n  refresh: daily\n}', 'x.segment');
    expect(() => compileCondition(rule.conditions, model.config, CLICKHOUSE)).toThrow(/x\.segment:2:\d+: features\.sesions_7d needs the feature "sesions_7d".*did you mean "sessions_7d"/);
  });

  it('refuses an MLP (it stays in-process) and says how to get a logistic model', () => {
    const mlp = { ...model.parts.churn, kind: 'mlp' as const } as unknown as ChurnModel;
    const msg = /needs a logistic or gbdt churn model; this one is "mlp" \(it stays in-process\): train with --model logistic or --model gbdt/;
    expect(() => scoreSql(model.config, mlp, DUCKDB, { cutoffMs: cutoffOf('2026-05-20'), source: 'events', weights: logisticWeights(model.parts.churn), reference: model.parts.reference })).toThrow(msg);
    expect(() => modelScoreSql({ ...model.parts, churn: mlp }, CLICKHOUSE, { cutoffMs: cutoffOf('2026-05-20'), source: 'events' })).toThrow(msg);
  });
});
