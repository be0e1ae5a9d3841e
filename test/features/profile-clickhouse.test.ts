import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventSource } from '../../src/engine/source.js';
import { loadEventsToClickHouse, warehouseConfig } from '../../src/engine/load.js';
import { profileEvents } from '../../src/features/index.js';
import { loadEvents, SPARKIFY_PRESET, type EventStore } from '../../src/ingest/index.js';
import { clickhouseUrls } from '../engine/clickhouse-helper.js';

/** The profile's queries compiled to ClickHouse give the profile of the same events read by DuckDB. */
const urls = await clickhouseUrls();
const TABLE = 'cl_profile_events';
const fx = (f: string) => join(import.meta.dirname, '..', 'fixtures', f);
const NOW = Date.UTC(2026, 11, 6);
let store: EventStore;

describe.skipIf(!urls)('profileEvents on ClickHouse', () => {
  beforeAll(async () => {
    store = await loadEvents([fx('sparkify-4h.json')], SPARKIFY_PRESET);
    await loadEventsToClickHouse(store, { url: urls!.single, table: TABLE });
  }, 60_000);
  afterAll(() => store?.close());

  it('equals the DuckDB profile (ClickHouse DateTime keeps whole seconds)', async () => {
    const duck = await profileEvents(store, { asOf: '2018-11-15', horizonDays: 1, nowMs: NOW });
    const source = await openEventSource({ engine: 'clickhouse', url: urls!.single, table: TABLE }, warehouseConfig(SPARKIFY_PRESET));
    try {
      const ch = await profileEvents(source, { asOf: '2018-11-15', horizonDays: 1, nowMs: NOW });
      for (const k of ['events', 'users', 'eventsPerUser', 'atCutoff', 'eventNames', 'absent', 'windowsBeyondHistory', 'timestamps', 'horizon'] as const) expect(ch[k], k).toEqual(duck[k]);
      expect(ch.warnings.map((w) => w.code)).toEqual(duck.warnings.map((w) => w.code));
      expect(ch.lastEvent).toBe(duck.lastEvent.replace(/\.\d+Z$/, 'Z'));
    } finally {
      await source.close();
    }
  });
});
