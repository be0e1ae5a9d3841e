import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLICKHOUSE, DUCKDB, openClickHouse } from '../../src/engine/index.js';
import { readFeatureTable } from '../../src/features/index.js';
import { SPARKIFY_PRESET } from '../../src/ingest/index.js';
import { alreadyChurnedFlags, applyRules, inactivityThreshold, ladderColumns, ladderLabels, ladderSql, SEGMENT_LADDERS, type LadderParams, type LadderTest } from '../../src/rules/index.js';
import { queryColumns, withDuckDB } from '../../src/shared/duckdb.js';
import { clickhouseUrls } from '../engine/clickhouse-helper.js';

/**
 * The built-in segment ladders are one table (src/rules/tables/ladders.ts) compiled twice: to in-process labels
 * (`ladderLabels`, what applyRules uses) and to a SQL CASE (`ladderSql`, what the warehouse statement uses).
 * Both compilations must give every user the same label. Users: the 91 real Sparkify users of
 * test/fixtures/sparkify-features-2018-11-23.csv, plus copies of the first 6 with each rung's thresholds hit exactly
 * and, one at a time, just missed (the boundaries, where >= and > differ).
 */
const FEATURES = join(import.meta.dirname, '..', 'fixtures', 'sparkify-features-2018-11-23.csv');

async function ladderRows() {
  const table = await readFeatureTable(FEATURES);
  const rules = applyRules(table, SPARKIFY_PRESET);
  const params: LadderParams = {
    inactivityDays: inactivityThreshold(SPARKIFY_PRESET),
    powerUserMinWeeklySessions: rules.reference!.powerUserMinWeeklySessions ?? Infinity,
  };
  const r = rules.columns;
  const computed: Record<string, ArrayLike<number | string>> = {
    already_churned: alreadyChurnedFlags(table, params.inactivityDays), // as applyRules
    at_risk_signals: r.at_risk_signals as Float64Array,
    activation_score: r.activation_score as Float64Array,
    expansion_readiness_score: r.expansion_readiness_score as Float64Array,
    lifecycle_stage: r.lifecycle_stage as string[],
  };
  const names = [...new Set(SEGMENT_LADDERS.flatMap(ladderColumns))].sort();
  const base = names.map((c) => Array.from(computed[c] ?? table.columns[c]));
  const columns = base.map((col) => [...col]);
  // boundary copies of the first 6 users: every test of one rung's conjunction put on its threshold (the rung holds,
  // or for '>' just fails), then the same with one test moved just below its threshold
  const valueOf = (t: LadderTest) => (typeof t.value === 'object' ? params[t.value.param] : t.value);
  const copy = (set: Map<string, number | string>) => {
    for (let i = 0; i < 6; i++) names.forEach((c, j) => columns[j].push(set.has(c) ? set.get(c)! : base[j][i]));
  };
  for (const ladder of SEGMENT_LADDERS) {
    for (const all of ladder.rungs.flatMap((r) => r.when)) {
      const usable = all.filter((t) => typeof valueOf(t) === 'string' || Number.isFinite(valueOf(t)));
      copy(new Map(usable.map((t) => [t.column, valueOf(t)])));
      for (const moved of usable) {
        const v = valueOf(moved);
        if (typeof v === 'number') copy(new Map(usable.map((t) => [t.column, t === moved ? v - 1e-9 : valueOf(t)])));
      }
    }
  }
  return { table, rules, params, names, columns, n: columns[0].length };
}

describe('segment ladders: one table, compiled to JS and SQL', () => {
  it('the JS compilation is what applyRules assigns on the real Sparkify users', async () => {
    const { table, rules, params, names, columns } = await ladderRows();
    const n = table.userIds.length;
    const col = (c: string) => columns[names.indexOf(c)].slice(0, n) as (number | string)[];
    for (const ladder of SEGMENT_LADDERS) {
      expect(ladderLabels(ladder, n, col, params), ladder.name).toEqual(rules.columns[ladder.name]);
    }
    // not a ladder that gives everyone one label: the real users spread over several rungs
    expect(new Set(rules.columns.behavioral_segment as string[]).size).toBeGreaterThanOrEqual(3);
    expect(new Set(rules.columns.lifecycle_stage as string[]).size).toBeGreaterThanOrEqual(3);
  });

  it('DuckDB gives every user, boundary copies included, the label of the JS compilation', async () => {
    const { params, names, columns, n } = await ladderRows();
    expect(n).toBeGreaterThan(400);
    const lit = (v: number | string) => (typeof v === 'string' ? DUCKDB.quoteString(v) : Number.isFinite(v) ? `CAST(${v.toExponential()} AS DOUBLE)` : `CAST('${v}' AS DOUBLE)`);
    const values = Array.from({ length: n }, (_, i) => `(${i}, ${names.map((_, j) => lit(columns[j][i])).join(', ')})`).join(',\n');
    const relation = `(VALUES ${values}) AS v(row_id, ${names.map((c) => DUCKDB.quoteIdent(c)).join(', ')})`;
    const col = (c: string) => columns[names.indexOf(c)] as (number | string)[];
    await withDuckDB(async (conn) => {
      for (const ladder of SEGMENT_LADDERS) {
        const sql = ladderSql(ladder, DUCKDB, (c) => DUCKDB.quoteIdent(c), params);
        const got = await queryColumns(conn, `SELECT ${sql} AS label FROM ${relation} ORDER BY row_id`);
        const js = ladderLabels(ladder, n, col, params);
        expect(got.columns[0], ladder.name).toEqual(js);
        expect(new Set(js).size, `${ladder.name} uses several rungs`).toBeGreaterThanOrEqual(3);
      }
      // no live user at fit time: the Power User bar is +infinity in both compilations
      const lifecycle = SEGMENT_LADDERS.find((l) => l.name === 'lifecycle_stage')!;
      const none = { ...params, powerUserMinWeeklySessions: Infinity };
      const got = await queryColumns(conn, `SELECT ${ladderSql(lifecycle, DUCKDB, (c) => DUCKDB.quoteIdent(c), none)} AS label FROM ${relation} ORDER BY row_id`);
      const js = ladderLabels(lifecycle, n, col, none);
      expect(got.columns[0]).toEqual(js);
      expect(js).not.toContain('Power User');
    });
  });

  it('ClickHouse gives the same labels (its NaN and string rules are not DuckDB\'s)', async () => {
    const urls = await clickhouseUrls();
    if (!urls) return;
    const { params, names, columns, n } = await ladderRows();
    const lit = (v: number | string) => (typeof v === 'string' ? CLICKHOUSE.quoteString(v) : `toFloat64(${Number.isFinite(v) ? v.toExponential() : String(v).toLowerCase()})`);
    const tuples = Array.from({ length: n }, (_, i) => `(${i}, ${names.map((_, j) => lit(columns[j][i])).join(', ')})`).join(', ');
    const relation = `(SELECT t.1 AS row_id, ${names.map((c, j) => `t.${j + 2} AS ${CLICKHOUSE.quoteIdent(c)}`).join(', ')} FROM (SELECT arrayJoin([${tuples}]) AS t))`;
    const col = (c: string) => columns[names.indexOf(c)] as (number | string)[];
    const ch = await openClickHouse({ url: urls.single });
    try {
      for (const ladder of SEGMENT_LADDERS) {
        const sql = ladderSql(ladder, CLICKHOUSE, (c) => CLICKHOUSE.quoteIdent(c), params);
        const got = await ch.query(`SELECT ${sql} AS label FROM ${relation} ORDER BY row_id`);
        expect(got.columns[0], ladder.name).toEqual(ladderLabels(ladder, n, col, params));
      }
    } finally {
      await ch.close();
    }
  });
});
