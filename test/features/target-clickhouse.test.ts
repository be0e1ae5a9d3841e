import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventSource } from '../../src/engine/source.js';
import { loadEventsToClickHouse, warehouseConfig } from '../../src/engine/load.js';
import { computeFeatures, computeTargetLabels } from '../../src/features/index.js';
import { loadEvents, resolveConfig, type EventConfig, type EventStore } from '../../src/ingest/index.js';
import { resolveTarget } from '../../src/pipeline/target.js';
import { clickhouseUrls } from '../engine/clickhouse-helper.js';

/** The propensity label query compiled to ClickHouse gives the labels DuckDB gives (test/fixtures/upgrade-edges.csv). */
const urls = await clickhouseUrls();
const TABLE = 'cl_target_events';
const fx = (f: string) => join(import.meta.dirname, '..', 'fixtures', f);
let store: EventStore;
let config: EventConfig;

describe.skipIf(!urls)('propensity target labels on ClickHouse', () => {
  beforeAll(async () => {
    config = await resolveConfig({ config: fx('upgrade-config.json') });
    store = await loadEvents([fx('upgrade-edges.csv')], config);
    await loadEventsToClickHouse(store, { url: urls!.single, table: TABLE });
  }, 60_000);
  afterAll(() => store?.close());

  it('equal the DuckDB labels, edges included; an absent event is the same error', async () => {
    const duckTable = await computeFeatures(store, { asOf: '2026-03-14', horizonDays: 7 });
    const target = await resolveTarget('upgrade', config, store);
    const duck = await computeTargetLabels(store, duckTable, target);
    const source = await openEventSource({ engine: 'clickhouse', url: urls!.single, table: TABLE }, warehouseConfig(config));
    try {
      const chTable = await computeFeatures(source, { asOf: '2026-03-14', horizonDays: 7 });
      expect(chTable.userIds).toEqual(duckTable.userIds);
      const ch = await computeTargetLabels(source, chTable, await resolveTarget('upgrade', config, source));
      expect(Array.from(ch.label)).toEqual(Array.from(duck.label));
      expect(Array.from(ch.prior)).toEqual(Array.from(duck.prior));
      expect(Array.from(ch.label)).toEqual([1, 1, 0, 1, 0, 1]);
      await expect(resolveTarget('event:Submit Upgrad', config, source)).rejects.toThrow(/near names: "Submit Upgrade"/);
    } finally {
      await source.close();
    }
  });
});
