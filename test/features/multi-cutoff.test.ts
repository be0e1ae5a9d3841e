import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeFeatures, computeFeaturesAtCutoffs, cutoffOf, multiFeatureQuery, type FeatureOptions, type FeatureTable } from '../../src/features/index.js';
import { CDNOW_PRESET, loadEvents, type EventConfig, type EventStore } from '../../src/ingest/index.js';
import { SPARKIFY_PRESET, SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { DUCKDB } from '../../src/engine/dialect.js';
import { writeSynthetic } from '../../src/synth/index.js';
import { loadEventsToClickHouse, openEventSource, warehouseConfig, type EventSource } from '../../src/engine/index.js';
import { sharedDataset, shippedDataset } from '../shared/datasets.js';
import { queryColumns } from '../../src/shared/duckdb.js';
import { clickhouseUrls } from '../engine/clickhouse-helper.js';

/**
 * The features of every cutoff from one statement (features/sql.ts multiFeatureQuery) against computeFeatures at
 * each cutoff: same users in the same order, same plans, every feature within 1e-12 (relative above 1: sums of
 * values are added in another order), same already-churned flags and labels.
 */
function expectSameTables(multi: FeatureTable[], single: FeatureTable[], tolerance = 1e-12): number {
  expect(multi.map((t) => t.asOf)).toEqual(single.map((t) => t.asOf));
  let worst = 0;
  for (let k = 0; k < single.length; k++) {
    const [a, b] = [single[k], multi[k]];
    expect(b.userIds.length, a.asOf).toBeGreaterThan(0);
    expect(b.userIds, a.asOf).toEqual(a.userIds);
    expect(b.plan, a.asOf).toEqual(a.plan);
    expect(b.cutoffMs).toBe(a.cutoffMs);
    expect(Object.keys(b.columns), a.asOf).toEqual(Object.keys(a.columns));
    for (const name of Object.keys(a.columns)) {
      for (let i = 0; i < a.userIds.length; i++) {
        const [x, y] = [a.columns[name][i], b.columns[name][i]];
        const d = Math.abs(x - y) / Math.max(1, Math.abs(x));
        if (!(d <= tolerance) && !(Number.isNaN(x) && Number.isNaN(y))) throw new Error(`${a.asOf} feature ${name} of user ${a.userIds[i]}: one cutoff ${x}, all cutoffs ${y}`);
        if (d > worst) worst = d;
      }
    }
    expect(Array.from(b.alreadyChurned), a.asOf).toEqual(Array.from(a.alreadyChurned));
    expect(b.horizonDays).toBe(a.horizonDays);
    expect(b.label && Array.from(b.label), a.asOf).toEqual(a.label && Array.from(a.label));
  }
  return worst;
}

async function singleTables(store: EventStore | EventSource, cutoffs: FeatureOptions[]): Promise<FeatureTable[]> {
  const out: FeatureTable[] = [];
  for (const c of cutoffs) out.push(await computeFeatures(store, c));
  return out;
}

/** What train asks for on the demo's 180 days: two training cutoffs, validation, test (30-day horizon) and the snapshot. */
const SAMPLE_CUTOFFS: FeatureOptions[] = [
  { asOf: '2026-03-01', horizonDays: 30 }, { asOf: '2026-03-31', horizonDays: 30 }, { asOf: '2026-04-30', horizonDays: 30 },
  { asOf: '2026-05-30', horizonDays: 30 }, { asOf: '2026-06-29' },
];
/** CDNOW (purchases dated to the day, so every event is at 00:00 UTC, some at a cutoff instant): quarters with a 26-week horizon, and the last day. */
const CDNOW_CUTOFFS: FeatureOptions[] = [
  { asOf: '1997-03-31', horizonDays: 182 }, { asOf: '1997-06-30', horizonDays: 182 }, { asOf: '1997-09-30', horizonDays: 182 },
  { asOf: '1997-12-15', horizonDays: 182 }, { asOf: '1998-06-29' },
];

/**
 * Three real Sparkify sessions that run past midnight (fixtures/sparkify-midnight.json): the cutoffs after 11-08,
 * 11-15 and 11-25 each cut one of them (first event before the cutoff, last after it), which CDNOW and the demo
 * sample never do; the features there count only the session's events before the cutoff.
 */
const MIDNIGHT_CUTOFFS: FeatureOptions[] = [
  { asOf: '2018-11-08', horizonDays: 7 }, { asOf: '2018-11-15', horizonDays: 7 }, { asOf: '2018-11-18', horizonDays: 7 },
  { asOf: '2018-11-25' }, { asOf: '2018-11-26' },
];
const fixture = (name: string) => join(import.meta.dirname, '..', 'fixtures', name);

let sampleDir: string;
beforeAll(async () => {
  // the demo sample, smaller: a seeded synthetic product of 3,000 users over 180 days
  sampleDir = await mkdtemp(join(tmpdir(), 'cl-multi-'));
  await writeSynthetic(sampleDir, { users: 3000, days: 180, seed: 7 });
}, 120_000);

const datasets: { name: string; events: () => string; config: EventConfig; cutoffs: FeatureOptions[] }[] = [
  { name: 'the demo sample (3,000 synthetic users, seed 7)', events: () => join(sampleDir, 'events.parquet'), config: SYNTHETIC_PRESET, cutoffs: SAMPLE_CUTOFFS },
  { name: 'CDNOW (23,570 customers)', events: () => shippedDataset('cdnow', 'CDNOW_master.txt.gz'), config: CDNOW_PRESET, cutoffs: CDNOW_CUTOFFS },
  { name: 'Sparkify sessions past midnight (3 users, 60 events)', events: () => fixture('sparkify-midnight.json'), config: SPARKIFY_PRESET, cutoffs: MIDNIGHT_CUTOFFS },
];

/** Sessions with their first event before a cutoff and their last at or after it. */
async function sessionsCut(store: EventStore, cutoffs: FeatureOptions[]): Promise<number> {
  const at = cutoffs.map((c) => `(mn < to_timestamp(${cutoffOf(c.asOf) / 1000}) AND mx >= to_timestamp(${cutoffOf(c.asOf) / 1000}))`);
  const r = await queryColumns(store.conn, `SELECT CAST(count(*) AS DOUBLE) FROM (SELECT user_id, session_id, min(ts) AS mn, max(ts) AS mx FROM events GROUP BY ALL) WHERE ${at.join(' OR ')}`);
  return (r.columns[0] as Float64Array)[0];
}

describe('computeFeaturesAtCutoffs (DuckDB)', () => {
  for (const ds of datasets) {
    it(`on ${ds.name}: every cutoff equals computeFeatures at it (1e-12, text and labels exactly)`, async () => {
      const store = await loadEvents([ds.events()], ds.config);
      try {
        const multi = await computeFeaturesAtCutoffs(store, ds.cutoffs);
        expect(multi.map((t) => t.label !== undefined)).toEqual(ds.cutoffs.map((c) => c.horizonDays !== undefined));
        expect(expectSameTables(multi, await singleTables(store, ds.cutoffs))).toBeLessThanOrEqual(1e-12);
        // in four ranges of user_id (as a million users are cut): the same users, text and labels, the same numbers
        // (sums of values to 1e-12: DuckDB adds them in parallel, in no fixed order, in one statement as in four)
        const parted = await computeFeaturesAtCutoffs(store, ds.cutoffs, { partitionUsers: Math.ceil(store.report.users / 4) });
        expect(expectSameTables(parted, multi)).toBeLessThanOrEqual(1e-12);
        // asked in another order, with a repeat: the tables come back in the order asked
        const shuffled = [ds.cutoffs[4], ds.cutoffs[1], ds.cutoffs[1], ds.cutoffs[0]];
        const again = await computeFeaturesAtCutoffs(store, shuffled);
        expect(again.map((t) => t.asOf)).toEqual(shuffled.map((c) => c.asOf));
        expect(again[1].userIds).toEqual(multi[1].userIds);
        expect(Array.from(again[3].columns.tenure_days)).toEqual(Array.from(multi[0].columns.tenure_days));
      } finally {
        store.close();
      }
    }, 120_000);
  }

  it('on Sparkify sessions past midnight, cut by three cutoffs: each cutoff counts only their events before it', async () => {
    const store = await loadEvents([fixture('sparkify-midnight.json')], SPARKIFY_PRESET);
    try {
      expect(await sessionsCut(store, MIDNIGHT_CUTOFFS)).toBe(3);
      const [at8] = await computeFeaturesAtCutoffs(store, MIDNIGHT_CUTOFFS);
      // user 42's session 275 runs from 2018-11-08 23:59:36 to 11-09 02:13:56: at the cutoff 11-09 00:00 it holds 1 event
      const u = at8.userIds.indexOf('42');
      expect(at8.columns.total_sessions[u]).toBe(1);
      expect(at8.columns.actions_per_session_30d[u]).toBe(1);
      expect(at8.columns.avg_session_minutes_30d[u]).toBe(0);
    } finally {
      store.close();
    }
  });

  const sparkify = sharedDataset('sparkify-dend-log-data');
  it.skipIf(sparkify.missing)('on the whole Sparkify log (97 users, 11 sessions past midnight): 24 cutoffs a day apart equal computeFeatures at each', async () => {
    const store = await loadEvents([join(sparkify.path, '*.json.gz')], SPARKIFY_PRESET);
    try {
      const days = Array.from({ length: 24 }, (_, i) => new Date(Date.UTC(2018, 10, 4 + i)).toISOString().slice(0, 10));
      const cutoffs: FeatureOptions[] = days.map((asOf, i) => (i < 20 ? { asOf, horizonDays: 3 } : { asOf }));
      expect(await sessionsCut(store, cutoffs)).toBeGreaterThanOrEqual(8);
      expect(expectSameTables(await computeFeaturesAtCutoffs(store, cutoffs), await singleTables(store, cutoffs))).toBeLessThanOrEqual(1e-12);
    } finally {
      store.close();
    }
  }, 120_000);

  it('needs cutoffs whole days apart (every window counts whole days before its cutoff)', () => {
    const cutoffMs = cutoffOf('2026-03-01');
    expect(() => multiFeatureQuery(SYNTHETIC_PRESET, DUCKDB, { cutoffs: [{ cutoffMs }, { cutoffMs: cutoffMs + 3_600_000 }], source: 'events' })).toThrow(/whole days apart, got the cutoff 2026-03-02T01:00:00.000Z/);
    expect(() => multiFeatureQuery(SYNTHETIC_PRESET, DUCKDB, { cutoffs: [{ cutoffMs, label: { endMs: cutoffMs + 86_400_000 * 7 + 1, quietFromMs: cutoffMs } }], source: 'events' })).toThrow(/the horizon end/);
  });

  it('an as-of date asked with two horizons gets each its own label; an uncovered horizon is refused as by computeFeatures', async () => {
    const store = await loadEvents([shippedDataset('cdnow', 'CDNOW_master.txt.gz')], CDNOW_PRESET);
    try {
      const [short, long] = await computeFeaturesAtCutoffs(store, [{ asOf: '1997-06-30', horizonDays: 30 }, { asOf: '1997-06-30', horizonDays: 273 }]);
      expect(short.horizonDays).toBe(30);
      expect(long.horizonDays).toBe(273);
      const single = await singleTables(store, [{ asOf: '1997-06-30', horizonDays: 30 }, { asOf: '1997-06-30', horizonDays: 273 }]);
      expect(Array.from(short.label!)).toEqual(Array.from(single[0].label!));
      expect(Array.from(long.label!)).toEqual(Array.from(single[1].label!));
      expect(Array.from(long.label!)).not.toEqual(Array.from(short.label!));
      await expect(computeFeaturesAtCutoffs(store, [{ asOf: '1997-06-30', horizonDays: 30 }, { asOf: '1998-06-01', horizonDays: 60 }])).rejects.toThrow(/60-day horizon after 1998-06-01 ends at 1998-08-01T00:00:00Z.*pick --as-of/);
      await expect(computeFeaturesAtCutoffs(store, [{ asOf: '1996-01-01' }])).rejects.toThrow(/no events before the cutoff 1996-01-01/);
    } finally {
      store.close();
    }
  }, 60_000);
});

const urls = await clickhouseUrls();

describe.skipIf(!urls)('computeFeaturesAtCutoffs in ClickHouse 18.16 (single node and Distributed)', () => {
  for (const [i, ds] of datasets.entries()) {
    const table = `cl_multi_cutoff_${i}`;
    let store: EventStore;
    beforeAll(async () => {
      store = await loadEvents([ds.events()], ds.config);
      await loadEventsToClickHouse(store, { url: urls!.single, table });
      await loadEventsToClickHouse(store, { url: urls!.shards[0], table, cluster: { name: 'cohortlab_2shards', shardUrls: urls!.shards } });
    }, 180_000);
    afterAll(() => store?.close());

    it(`on ${ds.name}: every cutoff equals computeFeatures at it in ClickHouse (1e-12) and DuckDB's (1e-9)`, async () => {
      const duck = await singleTables(store, ds.cutoffs);
      for (const url of [urls!.single, urls!.shards[0]]) {
        const source = await openEventSource({ engine: 'clickhouse', url, table }, warehouseConfig(ds.config));
        try {
          const multi = await computeFeaturesAtCutoffs(source, ds.cutoffs);
          expect(expectSameTables(multi, await singleTables(source, ds.cutoffs))).toBeLessThanOrEqual(1e-12);
          expect(expectSameTables(multi, duck, 1e-9)).toBeLessThanOrEqual(1e-9);
        } finally {
          await source.close();
        }
      }
    }, 180_000);
  }
});
