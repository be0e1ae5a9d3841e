import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEvents, type EventStore } from '../../src/ingest/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { writeSynthetic } from '../../src/synth/index.js';
import { loadEventsToClickHouse } from '../../src/engine/load.js';

/**
 * The local ClickHouse servers of scripts/clickhouse.sh (CI starts them). Without them the tests
 * skip with a message; with COHORTLAB_REQUIRE_CLICKHOUSE=1 (set by .ci/run) they fail instead.
 */
export interface ClickHouseUrls {
  single: string;
  shards: string[];
}

export async function clickhouseUrls(): Promise<ClickHouseUrls | null> {
  const single = process.env.COHORTLAB_CLICKHOUSE_URL ?? 'http://127.0.0.1:28123';
  const shard1 = process.env.COHORTLAB_CLICKHOUSE_SHARDS_URL ?? 'http://127.0.0.1:28124';
  const shard2 = shard1.replace(/:(\d+)$/, (_, p: string) => `:${Number(p) + 1}`);
  const up = async (u: string) => fetch(`${u}/?query=SELECT%201`).then((r) => r.ok, () => false);
  const ok = (await Promise.all([single, shard1, shard2].map(up))).every(Boolean);
  if (ok) return { single, shards: [shard1, shard2] };
  if (process.env.COHORTLAB_REQUIRE_CLICKHOUSE === '1') throw new Error(`ClickHouse is required (COHORTLAB_REQUIRE_CLICKHOUSE=1) but ${single} / ${shard1} / ${shard2} do not answer: run "bash scripts/clickhouse.sh start".`);
  console.warn(`skipping ClickHouse tests: no server at ${single} and ${shard1} (start them with "bash scripts/clickhouse.sh start")`);
  return null;
}

export interface LoadedEvents {
  dir: string;
  events: string;
  store: EventStore;
  urls: ClickHouseUrls;
}

/**
 * An events file (default: a small seeded synthetic product) in DuckDB and in ClickHouse as `table`
 * (single node) and as a Distributed `table` on the 2-shard cluster.
 */
export async function loadEventsIntoClickHouse(urls: ClickHouseUrls, table: string, events?: string): Promise<LoadedEvents> {
  const dir = await mkdtemp(join(tmpdir(), 'cl-ch-'));
  if (!events) {
    await writeSynthetic(join(dir, 'data'), { users: 400, days: 120, seed: 3 });
    events = join(dir, 'data', 'events.parquet');
  }
  const store = await loadEvents([events], SYNTHETIC_PRESET);
  await loadEventsToClickHouse(store, { url: urls.single, table });
  await loadEventsToClickHouse(store, { url: urls.shards[0], table, cluster: { name: 'cohortlab_2shards', shardUrls: urls.shards } });
  return { dir, events, store, urls };
}
