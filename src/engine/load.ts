import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore } from '../ingest/index.js';
import type { EventConfig } from '../ingest/types.js';
import { quoteLiteral } from '../shared/duckdb.js';
import type { Logger } from '../shared/log.js';
import { silentLogger } from '../shared/log.js';
import { CLICKHOUSE } from './dialect.js';
import { openClickHouse, type ClickHouseOptions } from './clickhouse.js';
import { internalError } from '../shared/errors.js';

/**
 * Puts normalized events (DuckDB's `events` table, after ingest: mapping, exclusions, timestamp parsing
 * and sessions applied) into ClickHouse, for tests, benchmarks and teams that start from files. The table
 * has the normalized columns; `warehouseConfig` is the config that reads it back.
 */
export const WAREHOUSE_COLUMNS = `user_id String, ts DateTime('UTC'), event String, session_id String, plan Nullable(String), value Float64, signup_ts Nullable(DateTime('UTC'))`;

/** The config reading a table written by `loadEventsToClickHouse` (exclusions were applied at ingest). */
export function warehouseConfig(config: EventConfig): EventConfig {
  return {
    ...config,
    columns: { user_id: 'user_id', timestamp: 'ts', event: 'event', session_id: 'session_id', plan: 'plan', value: 'value', signup: 'signup_ts', properties: [] },
    exclude: [],
  };
}

export interface LoadTarget extends ClickHouseOptions {
  /** Table to create (replaced when it exists). */
  table: string;
  /** Shard it by user_id across the nodes of this cluster (a Distributed table over `<table>_local` on each of `shardUrls`). */
  cluster?: { name: string; shardUrls: string[] };
}

/** TabSeparated escaping of a DuckDB text expression (backslash, tab, newline, carriage return). */
function tsvText(expr: string): string {
  return `replace(replace(replace(replace(${expr}, '\\', '\\\\'), chr(9), '\\t'), chr(10), '\\n'), chr(13), '\\r')`;
}

const ident = (t: string) => t.split('.').map(CLICKHOUSE.quoteIdent).join('.');

export async function loadEventsToClickHouse(store: EventStore, target: LoadTarget, logger: Logger = silentLogger): Promise<{ rows: number; seconds: number }> {
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'cohortlab-ch-'));
  try {
    const file = join(dir, 'events.tsv');
    const time = (c: string) => `CASE WHEN ${c} IS NULL THEN '\\N' ELSE strftime(${c}, '%Y-%m-%d %H:%M:%S') END`;
    await store.conn.run(`COPY (SELECT ${tsvText('user_id')}, ${time('ts')}, ${tsvText('event')}, ${tsvText('session_id')},
        CASE WHEN plan IS NULL THEN '\\N' ELSE ${tsvText('plan')} END, CAST(coalesce(value, 0) AS VARCHAR), ${time('signup_ts')}
      FROM events ORDER BY user_id, ts) TO ${quoteLiteral(file)} (FORMAT csv, HEADER false, DELIMITER '\t', QUOTE '', ESCAPE '')`);
    const table = ident(target.table);
    const main = await openClickHouse(target);
    try {
      if (target.cluster) {
        const local = ident(`${target.table}_local`);
        for (const url of target.cluster.shardUrls) {
          const shard = await openClickHouse({ ...target, url });
          try {
            await shard.command(`DROP TABLE IF EXISTS ${local}`);
            await shard.command(`CREATE TABLE ${local} (${WAREHOUSE_COLUMNS}) ENGINE = MergeTree ORDER BY (user_id, ts)`);
          } finally {
            await shard.close();
          }
        }
        await main.command(`DROP TABLE IF EXISTS ${table}`);
        const [db, name] = target.table.includes('.') ? target.table.split('.') : [target.database ?? 'default', target.table];
        await main.command(`CREATE TABLE ${table} (${WAREHOUSE_COLUMNS}) ENGINE = Distributed(${target.cluster.name}, ${CLICKHOUSE.quoteString(db)}, ${CLICKHOUSE.quoteString(`${name}_local`)}, cityHash64(user_id))`);
      } else {
        await main.command(`DROP TABLE IF EXISTS ${table}`);
        await main.command(`CREATE TABLE ${table} (${WAREHOUSE_COLUMNS}) ENGINE = MergeTree ORDER BY (user_id, ts)`);
      }
      // Synchronous distributed insert: the rows are on their shards when this returns.
      await main.insertTsv(target.table, createReadStream(file), target.cluster ? { insert_distributed_sync: 1 } : {});
      const n = await main.query(`SELECT toFloat64(count()) AS n FROM ${table}`);
      const rows = (n.columns[0] as Float64Array)[0];
      if (rows !== store.report.rowsUsed) throw internalError(`ClickHouse table ${target.table} holds ${rows} rows after the load, expected ${store.report.rowsUsed}`);
      const seconds = (performance.now() - started) / 1000;
      logger.info(`loaded ${rows.toLocaleString('en-US')} events into ClickHouse ${target.url}/${target.table}${target.cluster ? ` (Distributed over ${target.cluster.shardUrls.length} shards by user_id)` : ''} in ${seconds.toFixed(1)} s`);
      return { rows, seconds };
    } finally {
      await main.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
