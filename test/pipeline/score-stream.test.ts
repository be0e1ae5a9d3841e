import { afterEach, describe, expect, it } from 'vitest';
import { trainedGbdtFixture } from '../serve/helper.js';
import { openModelStore } from '../../src/registry/index.js';
import { loadScoringModel, readSnapshotFeatures, scoreStream, type LoadedModel } from '../../src/pipeline/index.js';
import { shapInput, startShapThread, treeShap } from '../../src/churn/index.js';
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
    expect(par.lines).toEqual(['reason codes: TreeSHAP shared with a worker thread, a block ahead of the scoring here']);
    expect(par.out.length).toBe(Math.ceil(table.userIds.length / 97));
    expect(par.out.map((b) => b.ids)).toEqual(here.out.map((b) => b.ids));
    for (let b = 0; b < par.out.length; b++) {
      expect(par.out[b].result.columns).toEqual(here.out[b].result.columns);
      expect(par.out[b].result.reasons).toEqual(here.out[b].result.reasons);
    }
    // reasons are there, three per user
    expect(par.out[0].result.reasons![0].length).toBe(3);
    // the probabilities from TreeSHAP's margins are the bits of the trees walked without reasons
    const plain = await model.score(table, { reasons: 0 });
    const column = (b: { result: { columns: Record<string, unknown> } }[]) => b.flatMap((x) => Array.from(x.result.columns.churn_probability as Float64Array));
    expect(column(par.out)).toEqual(Array.from(plain.columns.churn_probability as Float64Array));
    expect(column(here.out)).toEqual(Array.from(plain.columns.churn_probability as Float64Array));
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
      const err = await thread.explain({ data: new Float32Array(3), rows: 1, cols: 3 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CohortlabError);
      expect(err).toMatchObject({ code: 'BAD_ARGUMENT' });
      expect((err as Error).message).toMatch(/treeShap: x has 3 columns but the model was fitted on \d+/);
    } finally {
      await thread.close();
    }
  }, 180_000);

  it('the worker takes the first trees and this thread the rest: the same bits as treeShap of all the trees', async () => {
    const { model, table } = await snapshot();
    const churn = model.parts.churn;
    if (churn.kind !== 'gbdt') throw new Error('a gbdt model is needed');
    process.env.COHORTLAB_SCORE_THREADS = '1';
    const T = churn.gbdt.fitted.trees.length;
    const x = shapInput(churn, table.columns)!;
    const want = treeShap(churn.gbdt.fitted, x);
    const thread = startShapThread(churn.gbdt.fitted)!;
    try {
      expect(thread.split).toBe(T); // nothing timed yet: every tree in the worker
      const first = await thread.explain({ ...x, data: x.data.slice() });
      expect(first.trees).toBe(T);
      expect(thread.finish(first)).toEqual({ ...first.shap, x: first.x });
      // no other work here: half the trees each (this thread's trees taken to cost the worker's until timed)
      thread.otherWork(x.rows, 0);
      expect(thread.split).toBe(Math.round(T / 2));
      const second = await thread.explain({ ...x, data: x.data.slice() });
      expect(second.trees).toBe(Math.round(T / 2));
      const got = thread.finish(second);
      expect(Array.from(got.contributions)).toEqual(Array.from(want.contributions));
      expect(Array.from(got.margin)).toEqual(Array.from(want.margin));
      expect(Array.from(second.x.data)).toEqual(Array.from(x.data)); // the matrix came back
    } finally {
      await thread.close();
    }
  }, 180_000);
});
