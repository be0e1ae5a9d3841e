import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createProvider } from '../../src/serve/index.js';
import { readTable, type ColumnTable } from '../../src/shared/table-io.js';
import { runCli } from '../cli/run.js';
import { trainedFixture, type Fixture } from './helper.js';
import { openModelStore } from '../../src/registry/index.js';

/**
 * Issue 17 part 9: a row of `cohortlab features --out` output posts to /v1/predict as it is
 * (`{ user_id, features: row }`): `plan` and `already_churned` are used, `churned` is ignored, `user_id` must be
 * the user's; any other name is still a 400 naming it. Rows are the real output of the command, read back
 * from Parquet and from CSV.
 */
let fx: Fixture;
let app: FastifyInstance;
let snap: ColumnTable;
let params: { asOf: string; snapshotAsOf: string; horizonDays: number };
let dir: string;

/** The rows of a features file as plain JSON objects, every column as the file gives it. */
async function rows(path: string): Promise<Record<string, unknown>[]> {
  const t = await readTable(path);
  return Array.from({ length: t.rows }, (_, i) => Object.fromEntries(t.names.map((n) => {
    const v = t.columns[n][i];
    return [n, typeof v === 'bigint' ? Number(v) : v];
  })));
}

const predict = async (body: unknown) => {
  const r = await app.inject({ method: 'POST', url: '/v1/predict', payload: body as object });
  return { status: r.statusCode, json: r.json() };
};

beforeAll(async () => {
  fx = await trainedFixture();
  app = await buildApp({ provider: await createProvider('default@1', openModelStore(fx.modelsDir)) });
  const mdir = join(fx.modelsDir, 'default', '1');
  snap = await readTable(join(mdir, 'scores.parquet'));
  params = JSON.parse(await readFile(join(mdir, 'manifest.json'), 'utf8')).params;
  dir = await mkdtemp(join(tmpdir(), 'cl-rows-'));
  // the snapshot's date (what scores.parquet was scored at), and the test cutoff with its label (a `churned` column)
  for (const [name, extra] of [['snap.parquet', []], ['snap.csv', []], ['test.parquet', ['--horizon-days', String(params.horizonDays)]]] as const) {
    const asOf = name.startsWith('snap') ? params.snapshotAsOf : params.asOf;
    const r = await runCli(['features', '--events', fx.events, '--preset', 'synthetic', '--as-of', asOf, ...extra, '--out', join(dir, name)]);
    if (r.code !== 0) throw new Error(r.err);
  }
}, 180_000);

afterAll(async () => {
  await app?.close();
});

describe('rows of `cohortlab features` output posted as they are', () => {
  it('every row of the snapshot-date file scores as the snapshot did: same probability, rule columns, cluster', async () => {
    const rs = await rows(join(dir, 'snap.parquet'));
    expect(Object.keys(rs[0])).toEqual(expect.arrayContaining(['user_id', 'plan', 'already_churned']));
    const churnedRows = rs.filter((r) => r.already_churned === 1).length;
    expect(churnedRows).toBeGreaterThan(0);
    const res = await predict({ users: rs.map((r) => ({ user_id: r.user_id, features: r })), top_reasons: 0 });
    expect(res.status).toBe(200);
    const at = new Map((snap.columns.user_id as string[]).map((u, i) => [u, i]));
    expect(res.json.predictions).toHaveLength(snap.rows);
    let churnedStage = 0;
    for (const p of res.json.predictions) {
      const i = at.get(p.user_id) as number;
      expect(p.churn_probability).toBeCloseTo((snap.columns.churn_probability as Float64Array)[i], 6);
      for (const k of ['churn_risk_score', 'engagement_score', 'activation_score', 'expansion_readiness_score', 'cluster']) expect(p[k], `${k} of ${p.user_id}`).toBe((snap.columns[k] as Float64Array)[i]);
      for (const k of ['churn_risk_tier', 'engagement_tier', 'behavioral_segment', 'lifecycle_stage', 'cluster_label']) expect(p[k], `${k} of ${p.user_id}`).toBe((snap.columns[k] as string[])[i]);
      if (p.lifecycle_stage === 'Churned') churnedStage++;
    }
    expect(churnedStage).toBeGreaterThanOrEqual(churnedRows);
  }, 60_000);

  it('already_churned is used: the same features with 0 instead of 1 are not a churned lifecycle', async () => {
    const rs = await rows(join(dir, 'snap.parquet'));
    // a user churned by an explicit churn event (recently active), so only the flag says so
    const gone = rs.filter((r) => r.already_churned === 1).sort((a, b) => Number(a.days_since_last_activity) - Number(b.days_since_last_activity))[0];
    const a = await predict({ users: [{ user_id: gone.user_id, features: gone }] });
    const b = await predict({ users: [{ user_id: gone.user_id, features: { ...gone, already_churned: 0 } }] });
    const c = await predict({ users: [{ user_id: gone.user_id, features: { ...gone, already_churned: true } }] });
    expect(a.json.predictions[0].lifecycle_stage).toBe('Churned');
    expect(c.json.predictions[0].lifecycle_stage).toBe('Churned');
    expect(b.json.predictions[0].lifecycle_stage).not.toBe('Churned');
  });

  it('CSV rows post the same as Parquet rows; a labelled row (churned) is accepted and its label ignored', async () => {
    const csv = await rows(join(dir, 'snap.csv'));
    const pq = await rows(join(dir, 'snap.parquet'));
    const a = await predict({ users: csv.slice(0, 40).map((r) => ({ user_id: r.user_id, features: r })), top_reasons: 0 });
    const b = await predict({ users: pq.slice(0, 40).map((r) => ({ user_id: r.user_id, features: r })), top_reasons: 0 });
    expect(a.status).toBe(200);
    expect(a.json.predictions).toEqual(b.json.predictions);
    const test = await rows(join(dir, 'test.parquet'));
    expect(Object.keys(test[0])).toContain('churned');
    const flipped = test.slice(0, 20).map((r) => ({ user_id: r.user_id, features: { ...r, churned: 1 - Number(r.churned) } }));
    const x = await predict({ users: test.slice(0, 20).map((r) => ({ user_id: r.user_id, features: r })) });
    const y = await predict({ users: flipped });
    expect(x.status).toBe(200);
    expect(y.json.predictions).toEqual(x.json.predictions);
  });

  it('a dated row echoes its as_of; another name is still a 400 naming it; a foreign user_id or a bad flag is a 400 at its path', async () => {
    const [r] = await rows(join(dir, 'snap.parquet'));
    const dated = await predict({ users: [{ user_id: r.user_id, features: { ...r, as_of: params.snapshotAsOf } }] });
    expect(dated.json.predictions[0].as_of).toBe(params.snapshotAsOf);
    const plain = await predict({ users: [{ user_id: r.user_id, features: r }] });
    expect(plain.json.predictions[0].as_of).toBeUndefined();
    const extra = await predict({ users: [{ user_id: r.user_id, features: { ...r, cohort_week: 3 } }] });
    expect(extra.status).toBe(400);
    expect(extra.json).toEqual({ code: 'INVALID_REQUEST', message: 'unknown feature "cohort_week" at body/users/0/features; GET /v1/models lists the model\'s features', path: '/users/0/features/cohort_week' });
    const other = await predict({ users: [{ user_id: 'someone-else', features: r }] });
    expect(other.status).toBe(400);
    expect(other.json).toMatchObject({ code: 'BAD_ARGUMENT', path: '/users/0/features/user_id' });
    expect(other.json.message).toBe(`user 0: features.user_id "${String(r.user_id)}" differs from user_id "someone-else"; send each row under its own user_id.`);
    const flag = await predict({ users: [{ user_id: r.user_id, features: { ...r, already_churned: 2 } }] });
    expect(flag.status).toBe(400);
    expect(flag.json.path).toBe('/users/0/features/already_churned');
    const date = await predict({ users: [{ user_id: r.user_id, features: { ...r, as_of: '30/06/2026' } }] });
    expect(date.status).toBe(400);
    expect(date.json.path).toBe('/users/0/features/as_of');
  });
});
