import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLICKHOUSE_DEFAULT_MAX_QUERY_SIZE, openClickHouse, quoteIdentifier, quoteString, type ClickHouse } from '../../src/engine/clickhouse.js';
import { loadEventsToClickHouse } from '../../src/engine/load.js';
import { loadEvents, type EventStore } from '../../src/ingest/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { queryColumns } from '../../src/shared/duckdb.js';
import { writeSynthetic } from '../../src/synth/index.js';
import { clickhouseUrls } from './clickhouse-helper.js';

/**
 * The ClickHouse client and loader against real 18.16 servers (scripts/clickhouse.sh): results column-wise,
 * streaming in blocks, errors that arrive after the first rows, hostile text as inline literals, as
 * identifiers, through insertRows and through the events loader, and the 2-shard Distributed table.
 */
const urls = await clickhouseUrls();

const HOSTILE = ["it's", "a\\'; DROP TABLE x; --", 'tab\tnew\nline\r', 'nul\0byte', 'ünï©ødé 🚀 中文', '\\', "\\'", "''", '`b`ack', '\\N', 'Code: 60, e.displayText() = x', ''];

describe.skipIf(!urls)('ClickHouse client on 18.16', () => {
  let ch: ClickHouse;
  beforeAll(async () => {
    ch = await openClickHouse({ url: urls!.single });
  });
  afterAll(() => ch?.close());

  it('reports the server version and returns numbers column-wise (NULL and nan as NaN, inf kept) and text as strings', async () => {
    expect(await ch.version()).toMatch(/^\d+\.\d+/);
    const r = await ch.query(
      "SELECT toUInt8(number) AS u, toInt32(number) - 1 AS i, number / 4 AS x, if(number = 1, nan, toFloat64(number)) AS f, if(number = 2, NULL, toNullable(toFloat64(number))) AS n, if(number = 0, inf, -inf) AS inf, toString(number) AS s, toDateTime((number + 1) * 86400, 'UTC') AS t, toDateTime(0, 'UTC') AS zero FROM system.numbers LIMIT 3",
    );
    expect(r.names).toEqual(['u', 'i', 'x', 'f', 'n', 'inf', 's', 't', 'zero']);
    expect(r.rows).toBe(3);
    expect(Array.from(r.columns[0] as Float64Array)).toEqual([0, 1, 2]);
    expect(Array.from(r.columns[1] as Float64Array)).toEqual([-1, 0, 1]);
    expect(Array.from(r.columns[2] as Float64Array)).toEqual([0, 0.25, 0.5]);
    expect(Array.from(r.columns[3] as Float64Array)).toEqual([0, NaN, 2]);
    expect(Array.from(r.columns[4] as Float64Array)).toEqual([0, 1, NaN]);
    expect(Array.from(r.columns[5] as Float64Array)).toEqual([Infinity, -Infinity, -Infinity]);
    expect(r.columns[6]).toEqual(['0', '1', '2']);
    expect(r.columns[7]).toEqual(['1970-01-02 00:00:00', '1970-01-03 00:00:00', '1970-01-04 00:00:00']);
    // 18.16: DateTime 0 is the "empty" value and prints as zeros (docs/clickhouse.md)
    expect((r.columns[8] as string[])[0]).toBe('0000-00-00 00:00:00');
    const empty = await ch.query('SELECT toFloat64(number) AS a, toString(number) AS b FROM system.numbers LIMIT 0');
    expect(empty).toEqual({ names: ['a', 'b'], columns: [new Float64Array(0), []], rows: 0 });
  });

  it('streams a result in blocks of the asked size, equal to the whole query', async () => {
    const sql = 'SELECT toFloat64(number) AS n, toString(number * 7) AS s FROM system.numbers LIMIT 10007';
    const sizes: number[] = [];
    const ns: number[] = [];
    const ss: string[] = [];
    for await (const b of ch.stream(sql, 1000)) {
      sizes.push(b.rows);
      ns.push(...(b.columns[0] as Float64Array));
      ss.push(...(b.columns[1] as string[]));
    }
    expect(sizes).toEqual([...Array(10).fill(1000), 7]);
    const whole = await ch.query(sql);
    expect(ns).toEqual(Array.from(whole.columns[0] as Float64Array));
    expect(ss).toEqual(whole.columns[1]);
    const none: number[] = [];
    for await (const b of ch.stream('SELECT 1 AS a FROM system.one WHERE 0', 10)) none.push(b.rows);
    expect(none).toEqual([]);
  });

  it('fails on an error that arrives after rows were sent (HTTP 200), instead of ending the result early', async () => {
    // 18.16 appends "Code: 395, e.displayText() = ..." to the body; one text column would otherwise take it as a value
    const oneColumn = 'SELECT toString(number + throwIf(number = 300000)) AS s FROM system.numbers LIMIT 600000';
    await expect(ch.query(oneColumn)).rejects.toThrow(/failed while sending the result: Code: 395.*throwIf/);
    let seen = 0;
    const read = async () => {
      for await (const b of ch.stream('SELECT number, throwIf(number = 300000) AS x FROM system.numbers LIMIT 600000', 50_000)) seen += b.rows;
    };
    await expect(read()).rejects.toThrow(/Code: 395/);
    expect(seen).toBeLessThan(300_000);
    // the client is still usable
    expect((await ch.query('SELECT 1 AS a')).rows).toBe(1);
  });

  it('round-trips hostile text as inline literals and as identifiers', async () => {
    const r = await ch.query(`SELECT ${HOSTILE.map((h, i) => `${quoteString(h)} AS ${quoteIdentifier(`c${i} ${h}`)}`).join(', ')}`);
    expect(r.columns.map((c) => (c as string[])[0])).toEqual(HOSTILE);
    expect(r.names).toEqual(HOSTILE.map((h, i) => `c${i} ${h}`));
    // a literal cannot end the statement or the string early: the comparison is true only for the exact text
    const eq = await ch.query(`SELECT ${HOSTILE.map((h, i) => `toFloat64(${quoteString(h)} = ${quoteString(h)}) AS e${i}`).join(', ')}`);
    expect(eq.columns.map((c) => (c as Float64Array)[0])).toEqual(HOSTILE.map(() => 1));
  });

  it('insertRows streams columns into a table: hostile text, NULL, NaN and infinities come back', async () => {
    const table = 'cl_test_insert_rows';
    await ch.command(`DROP TABLE IF EXISTS ${table}`);
    await ch.command(`CREATE TABLE ${table} (k UInt32, s String, n Nullable(String), x Float64) ENGINE = MergeTree ORDER BY k`);
    const big = 20_000; // several TSV chunks
    const k = Array.from({ length: big }, (_, i) => i);
    const s = k.map((i) => HOSTILE[i % HOSTILE.length] + i);
    const n = k.map((i) => (i % 3 === 0 ? null : HOSTILE[(i * 7) % HOSTILE.length]));
    const x = Float64Array.from(k, (i) => (i === 1 ? NaN : i === 2 ? Infinity : i === 3 ? -Infinity : i / 8));
    expect(await ch.insertRows(table, { k, s, n, x })).toBe(big);
    const r = await ch.query(`SELECT toFloat64(k) AS k, s, n, isNull(n) AS isnull, x FROM ${table} ORDER BY k`);
    expect(r.rows).toBe(big);
    expect(r.columns[1]).toEqual(s);
    expect(r.columns[2]).toEqual(n.map((v) => v ?? ''));
    expect(Array.from(r.columns[3] as Float64Array)).toEqual(n.map((v) => (v === null ? 1 : 0)));
    expect(Array.from(r.columns[4] as Float64Array)).toEqual(Array.from(x));
    await expect(ch.insertRows(table, { k: [1, 2], s: ['a'] })).rejects.toThrow(/column s has 1 values, k has 2/);
    await ch.command(`DROP TABLE ${table}`);
  });

  it('runs a statement longer than the server\'s default max_query_size (256 KiB), as a scoring statement with many trees is', async () => {
    const text = 'x'.repeat(300_000);
    const sql = `SELECT toFloat64(length('${text}')) AS n`;
    expect(Buffer.byteLength(sql)).toBeGreaterThan(CLICKHOUSE_DEFAULT_MAX_QUERY_SIZE);
    expect(Array.from((await ch.query(sql)).columns[0] as Float64Array)).toEqual([300_000]);
  });

    it('names a missing table in one sentence', async () => {
    await expect(ch.query('SELECT * FROM cl_no_such_table')).rejects.toThrow(/Code: 60.*cl_no_such_table doesn't exist/);
  });
});

describe.skipIf(!urls)('loading events into ClickHouse 18.16: one node and a Distributed table on 2 shards', () => {
  let dir: string;
  let store: EventStore;
  const TABLE = 'cl_test_load';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-chload-'));
    await writeSynthetic(join(dir, 'data'), { users: 120, days: 60, seed: 5 });
    store = await loadEvents([join(dir, 'data', 'events.parquet')], SYNTHETIC_PRESET);
    await loadEventsToClickHouse(store, { url: urls!.single, table: TABLE });
    await loadEventsToClickHouse(store, { url: urls!.shards[0], table: TABLE, cluster: { name: 'cohortlab_2shards', shardUrls: urls!.shards } });
  }, 120_000);
  afterAll(() => store?.close());

  it('holds every event on the single node and across the shards, each shard holding some, no user on both', async () => {
    const per: number[] = [];
    const owners = new Map<string, number>();
    for (const [i, url] of urls!.shards.entries()) {
      const ch = await openClickHouse({ url });
      const r = await ch.query(`SELECT user_id, toFloat64(count()) AS n FROM ${TABLE}_local GROUP BY user_id`);
      await ch.close();
      per.push((r.columns[1] as Float64Array).reduce((a, b) => a + b, 0));
      for (const u of r.columns[0] as string[]) {
        expect(owners.get(u)).toBeUndefined();
        owners.set(u, i);
      }
    }
    expect(per.every((n) => n > 0)).toBe(true);
    expect(per[0] + per[1]).toBe(store.report.rowsUsed);
    expect(owners.size).toBe(store.report.users);
  });

  it('per-user groups and uniqExact aggregates through the Distributed table equal DuckDB and the single node', async () => {
    const duck = await queryColumns(
      store.conn,
      `SELECT user_id, CAST(count(*) AS DOUBLE) AS n, CAST(count(DISTINCT session_id) AS DOUBLE) AS sessions, CAST(count(DISTINCT event) AS DOUBLE) AS kinds,
        CAST(epoch(min(ts)) AS DOUBLE) AS first, CAST(epoch(max(ts)) AS DOUBLE) AS last FROM events GROUP BY user_id ORDER BY user_id`,
    );
    const sql = `SELECT user_id, toFloat64(count()) AS n, toFloat64(uniqExact(session_id)) AS sessions, toFloat64(uniqExact(event)) AS kinds,
        toFloat64(toUnixTimestamp(min(ts))) AS first, toFloat64(toUnixTimestamp(max(ts))) AS last FROM ${TABLE} GROUP BY user_id ORDER BY user_id`;
    for (const url of [urls!.single, urls!.shards[0]]) {
      const ch = await openClickHouse({ url });
      const r = await ch.query(sql);
      const totals = await ch.query(`SELECT toFloat64(uniqExact(user_id)) AS users, toFloat64(uniqExact(session_id)) AS sessions, toFloat64(count()) AS n FROM ${TABLE}`);
      await ch.close();
      expect(r.columns[0]).toEqual(duck.columns[0]);
      for (let c = 1; c < duck.names.length; c++) expect(Array.from(r.columns[c] as Float64Array)).toEqual(Array.from(duck.columns[c] as Float64Array));
      const dTotals = await queryColumns(store.conn, 'SELECT CAST(count(DISTINCT user_id) AS DOUBLE) AS users, CAST(count(DISTINCT session_id) AS DOUBLE) AS sessions, CAST(count(*) AS DOUBLE) AS n FROM events');
      expect(totals.columns.map((c) => (c as Float64Array)[0])).toEqual(dTotals.columns.map((c) => (c as Float64Array)[0]));
    }
  });

  it('hostile user ids, events and plans survive the load, and timestamps stay UTC to the second', async () => {
    const csv = join(dir, 'hostile.csv');
    const users = ["o'brien", 'back\\slash', 'tab\there', '"quoted, comma"', 'ünï 🚀', '\\N', 'multi\nline'];
    const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
    const lines = ['user_id,timestamp,event,session_id,plan,signup_at'];
    users.forEach((u, i) => {
      lines.push([q(u), `2026-03-${String(10 + i).padStart(2, '0')}T23:59:5${i}Z`, q(`ev'\\${i}`), q(`s\t${i}`), q(i % 2 ? "pl'an" : 'free'), '2026-01-01T00:00:00Z'].join(','));
      lines.push([q(u), `2026-03-29T01:30:0${i}Z`, 'app_opened', q(`s\t${i}`), q(i % 2 ? "pl'an" : 'free'), '2026-01-01T00:00:00Z'].join(','));
    });
    await writeFile(csv, lines.join('\n') + '\n');
    const hostile = await loadEvents([csv], SYNTHETIC_PRESET);
    try {
      expect(hostile.report.rowsUsed).toBe(2 * users.length);
      await loadEventsToClickHouse(hostile, { url: urls!.single, table: 'cl_test_hostile' });
      const ch = await openClickHouse({ url: urls!.single });
      const got = await ch.query('SELECT user_id, event, session_id, plan, toFloat64(toUnixTimestamp(ts)) AS t, toFloat64(toUnixTimestamp(signup_ts)) AS s FROM cl_test_hostile');
      await ch.command('DROP TABLE cl_test_hostile');
      await ch.close();
      const want = await queryColumns(hostile.conn, 'SELECT user_id, event, session_id, plan, CAST(epoch(ts) AS DOUBLE) AS t, CAST(epoch(signup_ts) AS DOUBLE) AS s FROM events');
      const rows = (r: typeof got) => Array.from({ length: r.rows }, (_, i) => JSON.stringify(r.columns.map((c) => c[i]))).sort();
      expect(rows(got)).toEqual(rows(want));
      expect(new Set(got.columns[0] as string[])).toEqual(new Set(users));
      expect(Math.min(...(got.columns[4] as Float64Array))).toBe(Date.UTC(2026, 2, 10, 23, 59, 50) / 1000);
    } finally {
      hostile.close();
    }
  });
});
