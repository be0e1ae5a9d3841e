import { afterEach, describe, expect, it } from 'vitest';
import { trainedGbdtFixture } from '../serve/helper.js';
import { openModelStore } from '../../src/registry/index.js';
import { loadScoringModel, readSnapshotFeatures, scoreStream, type LoadedModel } from '../../src/pipeline/index.js';
import { startShapThread } from '../../src/churn/index.js';
import type { FeatureTable } from '../../src/features/index.js';
import { CohortlabError } from '../../src/shared/errors.js';

afterEach(() => {
  delete process.env.COHORTLAB_SCORE_THREADS;
});

async function snapshot(): Promise<{ model: LoadedModel; table: FeatureTable }> {
  const fx = await trainedGbdtFixture();
  const store = openModelStore(fx.modelsDir);
  const model = await loadScoringModel(store, 'default');
  const snap = (await readSnapshotFeatures(store, model))!;
  const n = snap.table.rows;
  const columns = Object.fromEntries(model.featureNames.map((f) => [f, Float64Array.from(snap.table.columns[f] as ArrayLike<number>)]));
  return { model, table: { asOf: snap.asOf!, cutoffMs: NaN, userIds: Array.from({ length: n }, (_, i) => `u${i}`), columns, plan: Array(n).fill(''), alreadyChurned: new Uint8Array(n) } };
}

/** The table in blocks of `size` rows (the last one shorter), as a stream. */
async function* blocks(t: FeatureTable, size: number): AsyncGenerator<FeatureTable> {
  for (let a = 0; a < t.userIds.length; a += size) {
    const b = Math.min(t.userIds.length, a + size);
    yield { ...t, userIds: t.userIds.slice(a, b), columns: Object.fromEntries(Object.entries(t.columns).map(([k, v]) => [k, v.slice(a, b)])), plan: t.plan.slice(a, b), alreadyChurned: t.alreadyChurned.slice(a, b) };
  }
}

async function scoreAll(model: LoadedModel, table: FeatureTable, threads: boolean) {
  process.env.COHORTLAB_SCORE_THREADS = threads ? '1' : '0';
  const lines: string[] = [];
  const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), progress: () => {} };
  const out = [];
  for await (const { part, result } of scoreStream(blocks(table, 97), model, { reasons: 3, logger })) out.push({ ids: part.userIds, result });
  return { out, lines };
}

describe('scoreStream', () => {
  it('with a gbdt model, TreeSHAP in a worker a block ahead gives the bits of scoring block by block here', async () => {
    const { model, table } = await snapshot();
    expect(model.parts.churn.kind).toBe('gbdt');
    expect(table.userIds.length).toBeGreaterThan(300); // several blocks of 97
    const here = await scoreAll(model, table, false);
    const par = await scoreAll(model, table, true);
    expect(here.lines).toEqual([]);
    expect(par.lines).toEqual(['reason codes: TreeSHAP in a worker thread, a block ahead of the scoring here']);
    expect(par.out.length).toBe(Math.ceil(table.userIds.length / 97));
    expect(par.out.map((b) => b.ids)).toEqual(here.out.map((b) => b.ids));
    for (let b = 0; b < par.out.length; b++) {
      expect(par.out[b].result.columns).toEqual(here.out[b].result.columns);
      expect(par.out[b].result.reasons).toEqual(here.out[b].result.reasons);
    }
    // reasons are there, three per user
    expect(par.out[0].result.reasons![0].length).toBe(3);
  }, 180_000);

  it("a block without the model's features fails with score's own error, the worker closed", async () => {
    const { model, table } = await snapshot();
    const { [model.parts.churn.features[0]]: _gone, ...columns } = table.columns;
    process.env.COHORTLAB_SCORE_THREADS = '1';
    const run = async () => {
      for await (const _ of scoreStream(blocks({ ...table, columns }, 97), model, { reasons: 3 })) void _;
    };
    await expect(run()).rejects.toMatchObject({ code: 'MODEL_INCOMPATIBLE' });
  }, 180_000);

  it("passes on the worker's own error, with its code", async () => {
    const { model } = await snapshot();
    const churn = model.parts.churn;
    if (churn.kind !== 'gbdt') throw new Error('a gbdt model is needed');
    process.env.COHORTLAB_SCORE_THREADS = '1';
    const thread = startShapThread(churn.gbdt.fitted)!;
    try {
      const err = await thread.contributions({ data: new Float32Array(3), rows: 1, cols: 3 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CohortlabError);
      expect(err).toMatchObject({ code: 'BAD_ARGUMENT' });
      expect((err as Error).message).toMatch(/treeShap: x has 3 columns but the model was fitted on \d+/);
    } finally {
      await thread.close();
    }
  }, 180_000);
});
