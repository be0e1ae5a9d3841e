import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse } from '../../src/engine/clickhouse.js';
import { CLICKHOUSE } from '../../src/engine/dialect.js';
import { clickhouseRelation, openEventSource } from '../../src/engine/source.js';
import { checkClickHouseSelect, parseTableBindings } from '../../src/engine/sql-source.js';
import { computeFeatures, type FeatureTable } from '../../src/features/index.js';
import { loadEvents, resolveConfig, validateConfig, type EventConfig } from '../../src/ingest/index.js';
import { queryRows, quoteLiteral } from '../../src/shared/duckdb.js';
import { readTable } from '../../src/shared/table-io.js';
import { warehouseTarget } from '../../src/cli/engine.js';
import { runCli } from '../cli/run.js';
import { clickhouseUrls } from './clickhouse-helper.js';

/**
 * The config's SQL event source on the ClickHouse engine (src/engine/sql-source.ts): the UCI Online Retail
 * lines of test/fixtures/retail-sample.csv (real rows, test/fixtures/make-retail-sample.py) in ClickHouse
 * 18.16, as one table and split into an orders table joined to its order lines, on a single node and as
 * Distributed tables over two shards. The features equal those of the DuckDB SQL source over the same
 * rows as files, to 1e-9.
 */
const urls = await clickhouseUrls();
const fx = (f: string) => join(import.meta.dirname, '..', 'fixtures', f);
const LINES = 'cl_chsql_lines';
const ORDERS = 'cl_chsql_orders';
const ORDER_LINES = 'cl_chsql_order_lines';

const LINE_COLUMNS = `InvoiceNo String, StockCode String, Description String, Quantity Int32, InvoiceDate DateTime('UTC'), UnitPrice Float64, CustomerID Nullable(UInt32), Country String`;
const ORDER_COLUMNS = `InvoiceNo String, InvoiceDate DateTime('UTC'), CustomerID Nullable(UInt32), Country String`;
const ORDER_LINE_COLUMNS = `InvoiceNo String, StockCode String, Quantity Int32, UnitPrice Float64`;

/** The orders-and-lines form: one event per order, its value summed over its distinct lines. */
function joinConfig(base: EventConfig, withTables: boolean): EventConfig {
  return validateConfig(
    {
      ...base,
      name: 'retail-join',
      source: {
        files: { orders: 'orders.csv', lines: 'order_lines.csv' },
        sql: `SELECT CAST(o.CustomerID AS VARCHAR) AS customer_id, o.InvoiceNo AS invoice, o.InvoiceDate AS ts, CASE WHEN o.InvoiceNo LIKE 'C%' THEN 'cancelled_order' ELSE 'order' END AS event, round(l.v, 2) AS value, o.Country AS country
          FROM {orders} AS o JOIN (SELECT InvoiceNo, sum(Quantity * UnitPrice) AS v FROM (SELECT DISTINCT * FROM {lines}) AS d GROUP BY InvoiceNo) AS l ON l.InvoiceNo = o.InvoiceNo`,
        // 18.16: one JOIN per SELECT with ANY/ALL strictness; GLOBAL ships the right side from the initiator (Distributed tables).
        clickhouse_sql: `SELECT toString(CustomerID) AS customer_id, InvoiceNo AS invoice, InvoiceDate AS ts, if(InvoiceNo LIKE 'C%', 'cancelled_order', 'order') AS event, round(v, 2) AS value, Country AS country -- the order
          FROM {orders} GLOBAL ALL INNER JOIN (SELECT InvoiceNo, sum(Quantity * UnitPrice) AS v FROM (SELECT DISTINCT * FROM {lines}) GROUP BY InvoiceNo) USING InvoiceNo`,
        ...(withTables ? { tables: { orders: ORDERS, lines: ORDER_LINES } } : {}),
      },
    },
    '"retail-join"',
  );
}

function expectSameFeatures(a: FeatureTable, b: FeatureTable): void {
  expect(b.userIds).toEqual(a.userIds);
  expect(Object.keys(b.columns)).toEqual(Object.keys(a.columns));
  for (const k of Object.keys(a.columns)) {
    for (let i = 0; i < a.userIds.length; i++) {
      const d = Math.abs(a.columns[k][i] - b.columns[k][i]);
      if (!(d <= 1e-9)) throw new Error(`feature ${k} of user ${a.userIds[i]}: DuckDB ${a.columns[k][i]} vs ClickHouse ${b.columns[k][i]}`);
    }
  }
  expect(Array.from(b.alreadyChurned)).toEqual(Array.from(a.alreadyChurned));
  expect(b.label && Array.from(b.label)).toEqual(a.label && Array.from(a.label));
}

/**
 * Rows (text, null = NULL) into `table` on the single node, and on the 2-shard cluster as a Distributed
 * `table` over `<table>_local`, row i on shard i % 2.
 */
async function loadTable(table: string, columns: string, rows: Record<string, (string | null)[]>): Promise<void> {
  const single = await openClickHouse({ url: urls!.single });
  const main = await openClickHouse({ url: urls!.shards[0] });
  try {
    const db = (await main.query('SELECT currentDatabase() AS d')).columns[0][0] as string;
    await single.command(`DROP TABLE IF EXISTS ${table}`);
    await single.command(`CREATE TABLE ${table} (${columns}) ENGINE = MergeTree ORDER BY tuple()`);
    await single.insertRows(table, rows);
    await main.command(`DROP TABLE IF EXISTS ${table}`);
    for (const [s, url] of urls!.shards.entries()) {
      const shard = await openClickHouse({ url });
      try {
        await shard.command(`DROP TABLE IF EXISTS ${table}_local`);
        await shard.command(`CREATE TABLE ${table}_local (${columns}) ENGINE = MergeTree ORDER BY tuple()`);
        await shard.insertRows(`${table}_local`, Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.filter((_, i) => i % 2 === s)])));
      } finally {
        await shard.close();
      }
    }
    await main.command(`CREATE TABLE ${table} (${columns}) ENGINE = Distributed(cohortlab_2shards, ${CLICKHOUSE.quoteString(db)}, ${CLICKHOUSE.quoteString(`${table}_local`)})`);
  } finally {
    await single.close();
    await main.close();
  }
}

describe('the ClickHouse form of a SQL source, offline checks', () => {
  it('refuses two statements, a non-SELECT and table functions with one sentence naming the config; strings and comments are not read as SQL', () => {
    const w = '"x"';
    expect(() => checkClickHouseSelect('SELECT 1 AS u; SELECT 2 AS u', w)).toThrow('config "x": source.sql must be one SELECT statement, but a second statement follows the ";" at character 14.');
    expect(() => checkClickHouseSelect("INSERT INTO t SELECT * FROM `lines`", w)).toThrow('config "x": source.sql is an INSERT statement; it must be a read-only SELECT over its {placeholders}.');
    expect(() => checkClickHouseSelect("SELECT * FROM `lines` AS l ALL INNER JOIN url('http://x/', TSV, 'a String') USING a", w)).toThrow(
      'config "x": source.sql calls the table function url() at character 43; it may read only its {placeholders} (map each to a table in source.tables).',
    );
    expect(() => checkClickHouseSelect('SELECT number AS u FROM numbers(10)', w)).toThrow(/calls the table function numbers\(\)/);
    expect(() => checkClickHouseSelect("SELECT * FROM `t` WHERE a GLOBAL IN (SELECT a FROM remote('h:9000', system.one))", w)).toThrow(/calls the table function remote\(\)/);
    expect(() => checkClickHouseSelect("SELECT * FROM `t` WHERE x IN (SELECT * FROM File('/etc/passwd', TSV, 'a String'))", w)).toThrow(/calls the table function File\(\)/);
    // any other name( right after FROM / JOIN stands where a table does
    expect(() => checkClickHouseSelect('SELECT * FROM someNewSource(1)', w)).toThrow(/calls the table function someNewSource\(\)/);
    expect(() => checkClickHouseSelect('SELECT * FROM `t` ALL LEFT JOIN someNewSource(1) USING a', w)).toThrow(/calls the table function someNewSource\(\)/);
    // ... but ARRAY JOIN unrolls an expression
    expect(checkClickHouseSelect('SELECT a, k FROM `t` LEFT ARRAY JOIN range(toUInt32(n)) AS k', w)).toBe('SELECT a, k FROM `t` LEFT ARRAY JOIN range(toUInt32(n)) AS k');
    // a trailing ";" is one statement; table-function names inside strings, quoted names and comments are not calls
    expect(checkClickHouseSelect("SELECT 'url(x); file(y)' AS u, `numbers(` AS t /* ; remote(z) */ FROM `lines` -- ; DROP TABLE x\n;", w)).toBe(
      "SELECT 'url(x); file(y)' AS u, `numbers(` AS t /* ; remote(z) */ FROM `lines`",
    );
    // a trailing comment is dropped (it would comment out the parenthesis that closes the subquery)
    expect(checkClickHouseSelect('SELECT 1 AS u -- the end', w)).toBe('SELECT 1 AS u');
    expect(() => checkClickHouseSelect('DROP TABLE t', w)).toThrow('config "x": source.sql is a DROP statement; it must be a read-only SELECT over its {placeholders}.');
    expect(() => checkClickHouseSelect("SELECT 'it\\'s; url(' AS u FROM `t`; DROP TABLE t", w)).toThrow(/a second statement follows the ";" at character 35/);
    expect(() => checkClickHouseSelect("SELECT 'open", w)).toThrow('config "x": source.sql has an unterminated string literal at character 8.');
  });

  it('binds placeholders to --table NAME=TABLE, then source.tables, then the table of the placeholder\'s name; checks every name', async () => {
    const base = await resolveConfig({ config: join(import.meta.dirname, '..', '..', 'data', 'examples', 'online-retail.json') });
    // the shipped example maps {lines} to online_retail_lines; --table overrides it
    expect(clickhouseRelation(base, {})).toContain('FROM `online_retail_lines`');
    expect(clickhouseRelation(base, { tables: parseTableBindings('lines=shop.lines_2011') })).toContain('FROM `shop`.`lines_2011`');
    const join_ = joinConfig(base, false);
    const rel = clickhouseRelation(join_, {});
    expect(rel).toContain('FROM `orders` GLOBAL ALL INNER JOIN');
    expect(rel).toContain('FROM `lines`)');
    expect(() => parseTableBindings('lines')).toThrow(/bind them as --table NAME=TABLE/);
    expect(warehouseTarget(base, 'lines=a,other=db.b')).toEqual({ tables: { lines: 'a', other: 'db.b' } });
    expect(() => warehouseTarget({ ...base, engine: { name: 'clickhouse', table: 'events' } }, undefined)).toThrow(
      'config "online-retail": engine.table names one events table, but the config\'s events are a SELECT over {placeholders} (source); map each placeholder to its table in source.tables and drop engine.table.',
    );
    expect(() => clickhouseRelation(base, { tables: { nope: 't' } })).toThrow('--table nope=t: "nope" is not a placeholder of the config\'s source (placeholders: lines).');
    expect(() => clickhouseRelation(base, { tables: { lines: 'a.b.c' } })).toThrow('--table lines=a.b.c: "a.b.c" is not a ClickHouse table name; use letters, digits and "_", optionally "database.table".');
    expect(() => validateConfig({ ...base, source: { ...base.source!, tables: { lines: 'x; DROP' } } }, '"r"')).toThrow('config "r": source.tables.lines "x; DROP" is not a ClickHouse table name; use letters, digits and "_", optionally "database.table".');
    expect(() => validateConfig({ ...base, source: { ...base.source!, tables: { other: 't' } } }, '"r"')).toThrow(/source\.tables maps "other", which source\.files does not declare/);
    expect(() => clickhouseRelation({ ...base, source: { ...base.source!, clickhouse_sql: 'SELECT * FROM {lines} JOIN {other} USING a' } }, {})).toThrow(
      'config "online-retail": source.clickhouse_sql uses the placeholder {other}, which neither source.files nor source.tables declares (declared: lines).',
    );
  });
});

describe.skipIf(!urls)('a SQL source over ClickHouse tables (single node and 2 shards)', () => {
  let dir: string;
  let retail: EventConfig;
  let duckLines: FeatureTable[];
  let duckJoin: FeatureTable[];
  let duckNoSession: FeatureTable[];
  /** Without a session column: ClickHouse cuts sessions in the query (arrays, ARRAY JOIN) over the SELECT's rows. */
  const noSession = (c: EventConfig): EventConfig => ({ ...c, columns: { ...c.columns, session_id: null }, session_gap_minutes: 30 });
  const asOfs: [string, number | undefined][] = [['2010-12-15', 21], ['2011-01-07', undefined]];

  beforeAll(async () => {
    retail = await resolveConfig({ config: join(import.meta.dirname, '..', '..', 'data', 'examples', 'online-retail.json') });
    dir = await mkdtemp(join(tmpdir(), 'cl-chsql-'));
    // The fixture's lines, and split into orders (one row per invoice) and their lines, as files for DuckDB.
    const duck = await loadEvents([fx('retail-sample.csv')], retail);
    const csv = quoteLiteral(fx('retail-sample.csv'));
    await duck.conn.run(`COPY (SELECT InvoiceNo, min(InvoiceDate) AS InvoiceDate, any_value(CustomerID) AS CustomerID, any_value(Country) AS Country FROM read_csv(${csv}, header = true) GROUP BY InvoiceNo ORDER BY InvoiceNo) TO ${quoteLiteral(join(dir, 'orders.csv'))} (HEADER)`);
    await duck.conn.run(`COPY (SELECT InvoiceNo, StockCode, Quantity, UnitPrice FROM read_csv(${csv}, header = true)) TO ${quoteLiteral(join(dir, 'order_lines.csv'))} (HEADER)`);
    const text = async (sql: string) => {
      const rows = await queryRows(duck.conn, sql);
      const names = Object.keys(rows[0]);
      return Object.fromEntries(names.map((n) => [n, rows.map((r) => (r[n] === null ? null : String(r[n])))]));
    };
    const all = `read_csv(${csv}, header = true, all_varchar = true)`;
    const lines = await text(`SELECT * FROM ${all}`);
    const orders = await text(`SELECT * FROM read_csv(${quoteLiteral(join(dir, 'orders.csv'))}, header = true, all_varchar = true)`);
    const orderLines = await text(`SELECT * FROM read_csv(${quoteLiteral(join(dir, 'order_lines.csv'))}, header = true, all_varchar = true)`);
    duck.close();
    const tables: [string, string, Record<string, (string | null)[]>][] = [[LINES, LINE_COLUMNS, lines], [ORDERS, ORDER_COLUMNS, orders], [ORDER_LINES, ORDER_LINE_COLUMNS, orderLines]];
    for (const [table, columns, rows] of tables) await loadTable(table, columns, rows);
    const features = async (events: string[], config: EventConfig) => {
      const store = await loadEvents(events, config);
      try {
        return await Promise.all(asOfs.map(([asOf, horizonDays]) => computeFeatures(store, { asOf, horizonDays })));
      } finally {
        store.close();
      }
    };
    duckLines = await features([fx('retail-sample.csv')], retail);
    duckNoSession = await features([fx('retail-sample.csv')], noSession(retail));
    duckJoin = await features([`orders=${join(dir, 'orders.csv')}`, `lines=${join(dir, 'order_lines.csv')}`], joinConfig(retail, true));
  }, 120_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const node of ['single', 'shards'] as const) {
    it(`${node}: the Online Retail example's SELECT over one table gives DuckDB's features, rows counted like ingest's`, async () => {
      const url = node === 'single' ? urls!.single : urls!.shards[0];
      const source = await openEventSource({ engine: 'clickhouse', url, tables: { lines: LINES } }, retail);
      try {
        expect(source.report.files).toEqual([{ path: `${url}/${LINES}`, bytes: 0, format: 'clickhouse', records: 31 }]);
        // 8 invoices, one without a customer (DuckDB's count too: test/ingest/sql-source.test.ts)
        expect(source.report.rowsRead).toBe(8);
        expect(source.report.rowsUsed).toBe(7);
        expect(source.report.rejected).toEqual({ 'empty user id': 1 });
        expect(source.report.users).toBe(3);
        expect(new Date(source.report.firstEventMs).toISOString()).toBe('2010-12-01T08:26:00.000Z');
        expect(new Date(source.report.lastEventMs).toISOString()).toBe('2011-01-06T18:02:00.000Z');
        for (const [i, [asOf, horizonDays]] of asOfs.entries()) expectSameFeatures(duckLines[i], await computeFeatures(source, { asOf, horizonDays }));
        // the order values themselves, event by event
        const ev = await source.query(`SELECT user_id, session_id, event, value FROM ${source.relation} AS e ORDER BY ts, session_id`);
        expect(ev.columns[1]).toEqual(['536365', '536366', '536367', '536368', '536369', '536409', 'C540391']);
        expect(Array.from(ev.columns[3] as Float64Array)).toEqual([139.12, 22.2, 278.73, 70.05, 17.85, 20.3, -2.95]);
        // CustomerID is Nullable(UInt32): the relation's ids and times are not Nullable (score --into sorts a MergeTree table by user_id)
        const types = await source.query(`SELECT toTypeName(user_id) AS u, toTypeName(ts) AS t FROM ${source.relation} AS e LIMIT 1`);
        expect([types.columns[0][0], types.columns[1][0]]).toEqual(['String', "DateTime('UTC')"]);
      } finally {
        await source.close();
      }
    });

    it(`${node}: without a session column, sessions cut in ClickHouse over the SELECT's rows give DuckDB's features`, async () => {
      const url = node === 'single' ? urls!.single : urls!.shards[0];
      const source = await openEventSource({ engine: 'clickhouse', url, tables: { lines: LINES } }, noSession(retail));
      try {
        expect(source.report.sessionsInferred).toBe(true);
        for (const [i, [asOf, horizonDays]] of asOfs.entries()) expectSameFeatures(duckNoSession[i], await computeFeatures(source, { asOf, horizonDays }));
        // 30-minute gaps: 17850's orders at 08:26 and 08:28 are one session, 13047's three at 08:34-08:35 another and its
        // cancellation a month later a third, 17908's order the fourth
        expect(source.report.sessions).toBe(4);
      } finally {
        await source.close();
      }
    });

    it(`${node}: orders joined to their lines (two tables) give DuckDB's features`, async () => {
      const url = node === 'single' ? urls!.single : urls!.shards[0];
      const source = await openEventSource({ engine: 'clickhouse', url }, joinConfig(retail, true));
      try {
        expect(source.report.files.map((f) => [f.path.split('/').pop(), f.records])).toEqual([[ORDERS, 8], [ORDER_LINES, 31]]);
        expect(source.report.rowsRead).toBe(8);
        expect(source.report.rejected).toEqual({ 'empty user id': 1 });
        for (const [i, [asOf, horizonDays]] of asOfs.entries()) expectSameFeatures(duckJoin[i], await computeFeatures(source, { asOf, horizonDays }));
        expectSameFeatures(duckLines[0], duckJoin[0]);
      } finally {
        await source.close();
      }
    });
  }

  it('counts rows the engine cannot read (blank user id, zero DateTime) and rows excluded by the config, and leaves them out', async () => {
    // 536366 gets ClickHouse's zero DateTime (what a failed parse leaves), a blank id stands in for 13047's cancellation
    const config: EventConfig = {
      ...retail,
      exclude: [{ column: 'country', values: ['France'] }],
      source: {
        ...retail.source!,
        clickhouse_sql: `SELECT if(InvoiceNo = 'C540391', ' ', toString(CustomerID)) AS customer_id, InvoiceNo AS invoice, if(InvoiceNo = '536366', toDateTime(0, 'UTC'), min(InvoiceDate)) AS ts,
          'order' AS event, round(sum(Quantity * UnitPrice), 2) AS value, if(InvoiceNo = '536409', 'France', any(Country)) AS country FROM (SELECT DISTINCT * FROM {lines}) GROUP BY CustomerID, InvoiceNo`,
      },
    };
    const source = await openEventSource({ engine: 'clickhouse', url: urls!.single, tables: { lines: LINES } }, config);
    try {
      expect(source.report.rowsRead).toBe(8);
      expect(source.report.rejected).toEqual({ 'empty user id': 2, 'missing timestamp': 1, 'excluded by config': 1 });
      expect(source.report.rowsUsed).toBe(4);
      const ev = await source.query(`SELECT session_id FROM ${source.relation} AS e ORDER BY session_id`);
      expect(ev.columns[0]).toEqual(['536365', '536367', '536368', '536369']);
      expect(new Date(source.report.firstEventMs).getUTCFullYear()).toBe(2010);
      const where = 'the source SELECT of config "online-retail"';
      expect(source.report.examples['missing timestamp']).toEqual([{ file: where, where: 'a row', value: 'user id "17850", ts 0000-00-00 00:00:00' }]);
      expect(source.report.examples['empty user id'].map((e) => e.value).sort()).toEqual(['user id " ", ts 2011-01-06 18:02:00', 'user id NULL, ts 2010-12-01 11:52:00']);
    } finally {
      await source.close();
    }
    await expect(openEventSource({ engine: 'clickhouse', url: urls!.single, tables: { lines: LINES } }, config, { strict: true })).rejects.toThrow(
      /^--strict: 2 empty user id, 1 missing timestamp in the source SELECT of config "online-retail" \(over \{lines\}=cl_chsql_lines\); first: user id (NULL|" "), ts .* \(2 rows\)\. Fix the rows or run without --strict to skip and count them\.$/,
    );
  });

  it('the CLI: features --engine clickhouse --table lines=TABLE with the shipped example equals features --events on the fixture', async () => {
    const example = join(import.meta.dirname, '..', '..', 'data', 'examples', 'online-retail.json');
    const common = ['--config', example, '--as-of', '2010-12-15', '--horizon-days', '21'];
    const duck = await runCli(['features', '--events', fx('retail-sample.csv'), ...common, '--out', join(dir, 'duck.csv')]);
    expect(duck.code).toBe(0);
    const ch = await runCli(['features', '--engine', 'clickhouse', '--clickhouse-url', urls!.shards[0], '--table', `lines=${LINES}`, ...common, '--out', join(dir, 'ch.csv')]);
    expect(ch.err).toBe('');
    expect(ch.code).toBe(0);
    const [a, b] = [await readTable(join(dir, 'duck.csv')), await readTable(join(dir, 'ch.csv'))];
    expect(b.names).toEqual(a.names);
    expect(b.rows).toBe(3);
    for (const name of a.names) {
      const [x, y] = [a.columns[name], b.columns[name]];
      if (x instanceof Float64Array) Array.from(x).forEach((v, r) => expect(Math.abs(v - (y as Float64Array)[r]) <= 1e-9 || (Number.isNaN(v) && Number.isNaN((y as Float64Array)[r])), `${name} row ${r}`).toBe(true));
      else expect(y, name).toEqual(x);
    }
    // a bare table name cannot say which placeholder it binds; the message says how
    const bare = await runCli(['features', '--engine', 'clickhouse', '--clickhouse-url', urls!.single, '--table', LINES, ...common, '--out', join(dir, 'x.csv')]);
    expect(bare.code).toBe(2);
    expect(bare.err).toContain(`--table "${LINES}": the config's events are a SELECT over {placeholders}; bind them as --table NAME=TABLE`);
  });

  it('OULAD: the shipped example\'s ClickHouse SELECT (GLOBAL joins, day offsets, weekly enrolment events, UNION ALL) gives DuckDB\'s features on one node and 2 shards', async () => {
    const config = await resolveConfig({ config: join(import.meta.dirname, '..', '..', 'data', 'examples', 'oulad.json') });
    const files = { registration: 'oulad-registration.csv', courses: 'oulad-courses.csv', assessments: 'oulad-assessments.csv', submissions: 'oulad-submissions.csv' };
    const types: Record<string, string> = {
      registration: 'code_module String, code_presentation String, id_student UInt32, date_registration Nullable(Int32), date_unregistration Nullable(Int32)',
      courses: 'code_module String, code_presentation String, module_presentation_length UInt16',
      assessments: 'code_module String, code_presentation String, id_assessment UInt32, assessment_type String, date Nullable(Float64), weight Float64',
      submissions: 'id_student UInt32, id_assessment UInt32, date_submitted Int32, is_banked UInt8, score Nullable(String)',
    };
    const duck = await loadEvents(Object.entries(files).map(([n, f]) => `${n}=${fx(f)}`), config);
    const cutoffs: [string, number][] = [['2013-05-01', 30], ['2013-09-01', 60]];
    try {
      for (const [name, file] of Object.entries(files)) {
        const rows = await queryRows(duck.conn, `SELECT * FROM read_csv(${quoteLiteral(fx(file))}, header = true, all_varchar = true)`);
        await loadTable(`cl_chsql_oulad_${name}`, types[name], Object.fromEntries(Object.keys(rows[0]).map((k) => [k, rows.map((r) => (r[k] === null ? null : String(r[k])))])));
      }
      const expected = await Promise.all(cutoffs.map(([asOf, horizonDays]) => computeFeatures(duck, { asOf, horizonDays })));
      // 30268 registers on 2013-07-01: two enrolments at the first cutoff, three at the second
      expect(expected.map((f) => f.userIds.length)).toEqual([2, 3]);
      const tables = Object.fromEntries(Object.keys(files).map((n) => [n, `cl_chsql_oulad_${n}`]));
      for (const url of [urls!.single, urls!.shards[0]]) {
        const source = await openEventSource({ engine: 'clickhouse', url, tables }, config);
        try {
          expect(source.report.rowsRead).toBe(duck.report.rowsRead);
          expect(source.report.rowsUsed).toBe(duck.report.rowsUsed);
          expect(source.report.sessions).toBe(duck.report.sessions);
          for (const [i, [asOf, horizonDays]] of cutoffs.entries()) expectSameFeatures(expected[i], await computeFeatures(source, { asOf, horizonDays }));
        } finally {
          await source.close();
        }
      }
    } finally {
      duck.close();
    }
  });

  it('refuses a table function, two statements or an INSERT with one sentence, and runs every query read-only', async () => {
    const url = urls!.single;
    const withSql = (clickhouse_sql: string) => ({ ...retail, source: { ...retail.source!, clickhouse_sql } });
    const open = (sql: string) => openEventSource({ engine: 'clickhouse', url, tables: { lines: LINES } }, withSql(sql));
    await expect(open("SELECT toString(CustomerID) AS customer_id, InvoiceDate AS ts, 'order' AS event, InvoiceNo AS invoice, 0 AS value FROM {lines} GLOBAL ALL INNER JOIN (SELECT * FROM url('http://127.0.0.1:1/', TSV, 'InvoiceNo String')) USING InvoiceNo")).rejects.toThrow(
      /^config "online-retail": source\.clickhouse_sql calls the table function url\(\) at character \d+; it may read only its \{placeholders\} \(map each to a table in source\.tables\)\.$/,
    );
    await expect(open("SELECT * FROM {lines}; DROP TABLE {lines}")).rejects.toThrow(/^config "online-retail": source\.clickhouse_sql must be one SELECT statement, but a second statement follows the ";" at character 22\.$/);
    await expect(open('INSERT INTO {lines} SELECT * FROM {lines}')).rejects.toThrow(/^config "online-retail": source\.clickhouse_sql is an INSERT statement; it must be a read-only SELECT over its \{placeholders\}\.$/);
    // the server's own check behind the tokenizer: every query of the source carries readonly=1
    const source = await openEventSource({ engine: 'clickhouse', url, tables: { lines: LINES } }, retail);
    try {
      await expect(source.query(`SELECT * FROM numbers(3)`)).rejects.toThrow(/Table functions are forbidden in readonly mode/);
      await expect(source.query(`SELECT toFloat64(count()) AS n FROM ${source.relation} AS e`)).resolves.toMatchObject({ rows: 1 });
    } finally {
      await source.close();
    }
    // a mapped column of the wrong type, named with its config
    await expect(open("SELECT toString(CustomerID) AS customer_id, toString(InvoiceDate) AS ts, 'order' AS event, InvoiceNo AS invoice, 0 AS value FROM {lines}")).rejects.toThrow(
      'ClickHouse column "ts" (config columns.timestamp) of the source SELECT of config "online-retail" is String; the ClickHouse engine reads DateTime columns (UTC): convert it in the SELECT (e.g. toDateTime(x, \'UTC\')).',
    );
    // a server that does not answer is said so, not blamed on the config
    await expect(openEventSource({ engine: 'clickhouse', url: 'http://127.0.0.1:1', tables: { lines: LINES } }, retail)).rejects.toThrow(/^cannot reach ClickHouse at http:\/\/127\.0\.0\.1:1 /);
    // a table that is not there
    await expect(openEventSource({ engine: 'clickhouse', url, tables: { lines: 'cl_chsql_missing' } }, retail)).rejects.toThrow(
      /^config "online-retail": source SELECT \(over \{lines\}=cl_chsql_missing\) fails in ClickHouse at http:\/\/127\.0\.0\.1:\d+: .*cl_chsql_missing.*doesn't exist/,
    );
  });
});
