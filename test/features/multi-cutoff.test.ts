import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeFeatures, computeFeaturesAtCutoffs, type FeatureOptions, type FeatureTable } from '../../src/features/index.js';
import { CDNOW_PRESET, loadEvents, type EventConfig, type EventStore } from '../../src/ingest/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { writeSynthetic } from '../../src/synth/index.js';
import { loadEventsToClickHouse, openEventSource, warehouseConfig, type EventSource } from '../../src/engine/index.js';
import { shippedDataset } from '../shared/datasets.js';
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

let sampleDir: string;
beforeAll(async () => {
  // the demo sample, smaller: a seeded synthetic product of 3,000 users over 180 days
  sampleDir = await mkdtemp(join(tmpdir(), 'cl-multi-'));
  await writeSynthetic(sampleDir, { users: 3000, days: 180, seed: 7 });
}, 120_000);

const datasets: { name: string; events: () => string; config: EventConfig; cutoffs: FeatureOptions[] }[] = [
  { name: 'the demo sample (3,000 synthetic users, seed 7)', events: () => join(sampleDir, 'events.parquet'), config: SYNTHETIC_PRESET, cutoffs: SAMPLE_CUTOFFS },
  { name: 'CDNOW (23,570 customers)', events: () => shippedDataset('cdnow', 'CDNOW_master.txt.gz'), config: CDNOW_PRESET, cutoffs: CDNOW_CUTOFFS },
];

describe('computeFeaturesAtCutoffs (DuckDB)', () => {
  for (const ds of datasets) {
    it(`on ${ds.name}: every cutoff equals computeFeatures at it (1e-12, text and labels exactly)`, async () => {
      const store = await loadEvents([ds.events()], ds.config);
      try {
        const multi = await computeFeaturesAtCutoffs(store, ds.cutoffs);
        expect(multi.map((t) => t.label !== undefined)).toEqual(ds.cutoffs.map((c) => c.horizonDays !== undefined));
        expect(expectSameTables(multi, await singleTables(store, ds.cutoffs))).toBeLessThanOrEqual(1e-12);
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
