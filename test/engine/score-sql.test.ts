import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DUCKDB } from '../../src/engine/dialect.js';
import { logisticWeights, scoreSql } from '../../src/engine/score-sql.js';
import { computeFeatures, cutoffOf } from '../../src/features/index.js';
import { loadEvents, type EventStore } from '../../src/ingest/index.js';
import { loadModel, type LoadedRegistryModel } from '../../src/registry/index.js';
import { queryColumns } from '../../src/shared/duckdb.js';
import { compareWithInProcess } from './compare.js';
import { trainedFixture } from '../serve/helper.js';

/**
 * In-warehouse scoring (one SQL statement: features, §4 scores and tiers, the logistic model's calibrated
 * probability) equals in-process scoring (feature SQL + compute.ts + the rule engine + tfjs), run here on
 * DuckDB; test/engine/clickhouse.test.ts runs the same statement on ClickHouse.
 */
let model: LoadedRegistryModel;
let store: EventStore;

beforeAll(async () => {
  const fx = await trainedFixture();
  model = await loadModel('default', { modelsDir: fx.modelsDir });
  store = await loadEvents([fx.events], model.config);
}, 180_000);
afterAll(() => store?.close());

describe('scoring inside the engine', () => {
  for (const asOf of ['2026-04-10', '2026-05-20']) {
    it(`equals in-process scores as of ${asOf} (probability to 1e-6, rule scores and tiers exactly)`, async () => {
      const table = await computeFeatures(store, { asOf });
      const inProcess = await model.score(table, { reasons: 0 });
      const sql = scoreSql(model.config, model.parts.churn, DUCKDB, { cutoffMs: cutoffOf(asOf), source: 'events', weights: logisticWeights(model.parts.churn) });
      const worst = compareWithInProcess(await queryColumns(store.conn, sql), inProcess);
      expect(worst).toBeLessThan(1e-6);
      // the already-churned flag is the one compute.ts derives
      const r = await queryColumns(store.conn, sql);
      expect(Array.from(r.columns[r.names.indexOf('already_churned')] as Float64Array)).toEqual(Array.from(table.alreadyChurned));
    }, 60_000);
  }

  it('refuses an MLP (it stays in-process) and says how to get a logistic model', () => {
    const mlp = { ...model.parts.churn, kind: 'mlp' as const };
    expect(() => scoreSql(model.config, mlp, DUCKDB, { cutoffMs: cutoffOf('2026-05-20'), source: 'events', weights: logisticWeights(model.parts.churn) })).toThrow(/needs a logistic churn model; this one is "mlp".*--model logistic/);
  });
});
