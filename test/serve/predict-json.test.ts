import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { openModelStore } from '../../src/registry/index.js';
import { loadServing } from '../../src/serve/index.js';
import { predictionObjects, predictionsBytes, predictRows, type PredictionRows } from '../../src/serve/predict.js';
import { predictResponseSchema } from '../../src/serve/schemas.js';
import { loadEvents } from '../../src/ingest/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { computeFeatures } from '../../src/features/index.js';
import type { ScoreResult } from '../../src/pipeline/types.js';
import { trainedFixture } from './helper.js';

/** The text fastify's schema serializer makes of the objects: what POST /v1/predict answered before predictionsBytes (predictionsJson then). */
async function schemaText(rows: PredictionRows): Promise<string> {
  const app = Fastify();
  app.get('/', { schema: { response: { 200: predictResponseSchema } } }, async () => ({ model: { name: 'm', version: 1 }, predictions: predictionObjects(rows) }));
  const r = await app.inject({ method: 'GET', url: '/' });
  await app.close();
  return r.body;
}
const direct = (rows: PredictionRows) => predictionsBytes(rows, '{"model":{"name":"m","version":1},"predictions":', '}').toString('utf8');

function literalRows(probability: string): PredictionRows {
  const f = (...v: number[]) => Float64Array.from(v);
  const result: ScoreResult = {
    userIds: ['u"1', 'ü\\2', '3\\'],
    columns: {
      [probability]: f(0.125, 1e-7, 0.9999),
      churn_risk_score: f(40, 0, 100),
      churn_risk_tier: ['Medium', 'Low', 'Churned'],
      engagement_score: f(12.5, 0, 88),
      engagement_tier: ['Low', 'Dormant', 'Power "User"'],
      // integers are written digit by digit below 1e9 (-0 as 0), by String() from there
      activation_score: f(3, 999_999_999, 1e9),
      activation_tier: ['a', 'b', 'c'],
      expansion_readiness_score: f(1, -0, -7),
      expansion_readiness_tier: ['x', 'y', 'z'],
      behavioral_segment: ['Power Users', 'Casual', 'At-Risk Users'],
      lifecycle_stage: ['Active', 'New', 'Churned'],
      cluster: f(0, 2, 1),
      cluster_label: ['heavy\n', 'light', 'gone'],
      already_churned: f(0, 0, 1),
    },
    reasons: [
      [{ feature: 'days_since_last_activity', direction: 'increases_risk', contribution: 0.5, value: 12 }, { feature: 'x', direction: 'decreases_risk', contribution: -1.25e-3, value: 0.1 }],
      [],
      [{ feature: 'y', direction: 'increases_risk', contribution: 2, value: -3 }],
    ],
  };
  const ltv = { p_alive: f(0.5, NaN, 1), expected_purchases: f(1.5, NaN, 0), clv: f(20.25, NaN, 0) };
  // users 0 and 2 in the features block, user 1 from events (dated, with LTV), in request order 2, 1, 0
  return {
    blocks: [{ result, probability }, { result, probability, asOf: '2026-01-31', ltv }],
    block: Uint32Array.from([0, 1, 0]),
    row: Uint32Array.from([2, 1, 0]),
    asOf: [undefined, '2026-01-31', '2025-12-31'],
  };
}

describe('predictionsBytes', () => {
  for (const probability of ['churn_probability', 'upgrade_probability', 'add_friend_probability']) {
    it(`writes the same text as the schema serializer (${probability}, escapes, NaN LTV, dated rows, empty reasons)`, async () => {
      const rows = literalRows(probability);
      expect(direct(rows)).toBe(await schemaText(rows));
    });
  }

  it('writes rows longer than its first buffer, and characters of two to four UTF-8 bytes, as the schema serializer does', async () => {
    const rows = literalRows('churn_probability');
    const long = (k: number) => `${'feature_'.repeat(40)}${k} ü € 😀`;
    const r = rows.blocks[0].result;
    const reasons = Array.from({ length: 20 }, (_, k) => ({ feature: long(k), direction: 'increases_risk' as const, contribution: k / 7, value: k }));
    const wide: PredictionRows = { ...rows, blocks: rows.blocks.map((b) => ({ ...b, result: { ...r, reasons: [reasons, reasons, reasons] } })) };
    // 20 reasons of 330 characters each: about 7,500 bytes per row, past the 600 + 128 per reason the buffer starts with
    expect(Buffer.byteLength(direct(wide))).toBeGreaterThan(4096 + 3 * (600 + 128 * 20));
    expect(direct(wide)).toBe(await schemaText(wide));
    expect(predictionsBytes(wide, 'head ü', '😀 tail').toString('utf8')).toBe(`head ü${predictionsBytes(wide, '', '').toString('utf8')}😀 tail`);
  });

  it('on a trained model, users given as features and as events in one request: the same text as the schema serializer', async () => {
    const fx = await trainedFixture();
    const l = await loadServing('default', openModelStore(fx.modelsDir));
    const store = await loadEvents([fx.events], SYNTHETIC_PRESET);
    const t = await computeFeatures(store, { asOf: '2026-04-30' });
    store.close();
    const featureUser = (i: number) => ({ user_id: t.userIds[i], features: { ...Object.fromEntries(l.model.featureNames.map((n) => [n, t.columns[n][i]])), ...(i === 1 ? { as_of: '2026-04-30' } : {}) } });
    const users = [featureUser(0), { user_id: 'ev-1', events: [{ timestamp: '2026-04-01T10:00:00Z', event: 'login' }, { timestamp: '2026-04-20T10:00:00Z', event: 'login' }] }, featureUser(1)];
    const rows = await predictRows(l, users, '2026-04-30', 3);
    expect(rows.blocks).toHaveLength(2);
    const text = direct(rows);
    expect(text).toBe(await schemaText(rows));
    const parsed = JSON.parse(text).predictions;
    expect(parsed.map((p: { user_id: string }) => p.user_id)).toEqual([t.userIds[0], 'ev-1', t.userIds[1]]);
    expect(parsed[1].as_of).toBe('2026-04-30');
    expect(parsed[0].reasons).toHaveLength(3);
  }, 240_000);
});
