import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findBinEdges, GradientBoostedTrees, type GbdtNode } from '../../src/churn/gbdt.js';
import type { Matrix as RealMatrix } from '../../src/shared/matrix.js';
import { splitChurnTable, type ChurnTableSplit } from '../../src/churn/table.js';
import { rocAuc } from '../../src/evaluate/metrics.js';
import { createRng } from '../../src/shared/rng.js';
import { readTable, type ColumnTable } from '../../src/shared/table-io.js';
import { shippedDataset } from '../shared/datasets.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TELCO = shippedDataset('telco-customer-churn', 'Telco-Customer-Churn.csv.gz');
const col = (v: number[]): RealMatrix => ({ data: Float64Array.from(v), rows: v.length, cols: 1 });
const leaves = (t: GbdtNode[]) => t.filter((n) => n.feature < 0);

// The same two helpers as test/fixtures/sklearn/gbdt_designs.mjs (which writes the designs for the sklearn peer).
/** Rows with already_churned = 0, without that column (a user already gone has no churn to predict). */
function activeUsersTable(t: ColumnTable): ColumnTable {
  const keep: number[] = [];
  for (let i = 0; i < t.rows; i++) if (Number(t.columns.already_churned[i]) === 0) keep.push(i);
  const columns: ColumnTable['columns'] = {};
  for (const name of t.names) {
    if (name === 'already_churned') continue;
    const c = t.columns[name];
    columns[name] = Array.isArray(c) ? keep.map((i) => c[i]) : Float64Array.from(keep, (i) => c[i]);
  }
  return { names: t.names.filter((n) => n !== 'already_churned'), columns, rows: keep.length };
}
/** Training (train + validation of the split: the 80%) and test designs, row-major, with labels. */
function toDesign(split: ChurnTableSplit): { train: RealMatrix & { y: Uint8Array }; test: RealMatrix & { y: Uint8Array } } {
  const mat = (tables: ChurnTableSplit['train'][]) => {
    const rows = tables.reduce((s, t) => s + t.userIds.length, 0);
    const d = split.features.length;
    const data = new Float64Array(rows * d);
    const y = new Uint8Array(rows);
    let r = 0;
    for (const t of tables) {
      for (let i = 0; i < t.userIds.length; i++, r++) {
        for (let j = 0; j < d; j++) data[r * d + j] = t.columns[split.features[j]][i];
        y[r] = t.label![i];
      }
    }
    return { data, rows, cols: d, y };
  };
  return { train: mat([split.train, split.valid]), test: mat([split.test]) };
}

describe('GradientBoostedTrees by hand', () => {
  // 8 rows, one tree, one split. Baseline: rate 1/2 -> margin 0, p = 0.5, g = p - y = +-0.5, h = 0.25.
  // Split x <= 3.5: left y = 0,0,0 (G = 1.5, H = 0.75), right y = 1,1,0,1,1 (G = -1.5, H = 1.25);
  // gain 1.5^2/1.75 + 1.5^2/2.25 = 2.2857, the best (x <= 6.5 gives 1.067, x <= 5.5 0.14).
  // Leaf values with l2 = 1, learning rate 0.5: -1.5 / 1.75 * 0.5 = -0.428571..., 1.5 / 2.25 * 0.5 = 0.333...
  const x = col([1, 2, 3, 4, 5, 6, 7, 8]);
  const y = [0, 0, 0, 1, 1, 0, 1, 1];
  const m = new GradientBoostedTrees({ maxIter: 1, maxLeafNodes: 2, minSamplesLeaf: 1, l2Regularization: 1, learningRate: 0.5 }).fit(x, y);

  it('one depth-1 tree with leaf values -G/(H+l2) x lr and the midpoint threshold', () => {
    const s = m.fitted;
    expect(s.baseline).toBe(0);
    expect(s.trees).toHaveLength(1);
    const [root, l, r] = s.trees[0];
    expect(root).toMatchObject({ feature: 0, threshold: 3.5, left: 1, right: 2, count: 8, cover: 2 });
    expect(l.value).toBeCloseTo((-1.5 / 1.75) * 0.5, 12);
    expect(r.value).toBeCloseTo((1.5 / 2.25) * 0.5, 12);
    expect([l.count, r.count]).toEqual([3, 5]);
    const raw = m.predictRaw(col([3.5, 3.500001, -100, 100]));
    expect(Array.from(raw)).toEqual([l.value, r.value, l.value, r.value]);
    // no NaN in training: a NaN goes to the child with more training rows (the right one, 5 rows)
    expect(m.predictRaw(col([NaN]))[0]).toBe(r.value);
  });

  it('missing values get the direction of larger gain, learned from the training rows', () => {
    // rows 4 and 5 are NaN and churned: sending NaN right makes the split x <= 3.5 pure
    const xm = col([1, 2, 3, NaN, NaN, 6, 7, 8]);
    const ym = [0, 0, 0, 1, 1, 1, 1, 1];
    const t = new GradientBoostedTrees({ maxIter: 1, maxLeafNodes: 2, minSamplesLeaf: 1, learningRate: 1 }).fit(xm, ym).fitted.trees[0];
    expect(t[0]).toMatchObject({ feature: 0, threshold: 4.5, missingGoesLeft: false });
    // the same with NaN among stayers: it goes left
    const t2 = new GradientBoostedTrees({ maxIter: 1, maxLeafNodes: 2, minSamplesLeaf: 1, learningRate: 1 }).fit(col([NaN, 2, NaN, 4, 5, 6, 7, 8]), [0, 0, 0, 1, 1, 1, 1, 1]).fitted.trees[0];
    expect(t2[0]).toMatchObject({ feature: 0, threshold: 3, missingGoesLeft: true });
    // a split "every value left, missing right" (the only informative one)
    const t3 = new GradientBoostedTrees({ maxIter: 1, maxLeafNodes: 2, minSamplesLeaf: 1, learningRate: 1 }).fit(col([1, 2, 1, 2, NaN, NaN, NaN, NaN]), [0, 0, 0, 0, 1, 1, 1, 1]).fitted.trees[0];
    expect(t3[0]).toMatchObject({ feature: 0, threshold: Number.MAX_VALUE, missingGoesLeft: false });
    expect(leaves(t3).map((n) => n.count)).toEqual([4, 4]);
  });

  it('bin edges: midpoints of distinct values, else numpy midpoint percentiles (255 bins at most)', () => {
    expect(findBinEdges(Float64Array.from([3, 1, 2, 2, 1]), 255)).toEqual([1.5, 2.5]);
    const many = Float64Array.from({ length: 1001 }, (_, i) => i);
    const e = findBinEdges(many, 4);
    // np.percentile(arange(1001), [25, 50, 75], method='midpoint') = [250, 500, 750]
    expect(e).toEqual([250, 500, 750]);
    expect(findBinEdges(Float64Array.from({ length: 100_000 }, (_, i) => i % 7919), 255)).toHaveLength(254);
  });
});

describe('GradientBoostedTrees contract', () => {
  const rng = createRng(3);
  const n = 3000;
  const d = 6;
  const data = new Float64Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) data[i * d + j] = j === 5 ? rng.int(4) : rng.normal();
    if (rng.next() < 0.1) data[i * d + 2] = NaN;
    const z = 1.2 * data[i * d] - data[i * d + 1] ** 2 + (Number.isNaN(data[i * d + 2]) ? 1 : 0) + 0.5 * data[i * d + 5] - 1;
    y[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  const x: RealMatrix = { data, rows: n, cols: d };
  const tr: RealMatrix = { data: data.subarray(0, 2000 * d), rows: 2000, cols: d };
  const va: RealMatrix = { data: data.subarray(2000 * d), rows: 1000, cols: d };

  it('respects maxLeafNodes, maxDepth and minSamplesLeaf; every node count = sum of its children', () => {
    const s = new GradientBoostedTrees({ maxIter: 5, maxLeafNodes: 7, minSamplesLeaf: 50 }).fit(x, y).fitted;
    for (const t of s.trees) {
      expect(leaves(t).length).toBe(7);
      for (const nd of t) {
        if (nd.feature < 0) expect(nd.count).toBeGreaterThanOrEqual(50);
        else {
          expect(t[nd.left].count + t[nd.right].count).toBe(nd.count);
          expect(t[nd.left].cover + t[nd.right].cover).toBeCloseTo(nd.cover, 9);
        }
      }
    }
    const depthOf = (t: GbdtNode[], i = 0): number => (t[i].feature < 0 ? 0 : 1 + Math.max(depthOf(t, t[i].left), depthOf(t, t[i].right)));
    const sd = new GradientBoostedTrees({ maxIter: 3, maxDepth: 2 }).fit(x, y).fitted;
    for (const t of sd.trees) expect(depthOf(t)).toBe(2);
  });

  it('training log loss goes down tree by tree; same seed, same model; toJSON round trip predicts the same', () => {
    const m = new GradientBoostedTrees({ maxIter: 30, subsample: 0.7, colsampleByNode: 0.6, seed: 5 }).fit(x, y);
    const loss = (k: number) => {
      const z = m.predictRaw(x, k);
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.log1p(Math.exp(-(y[i] ? 1 : -1) * z[i]));
      return s / n;
    };
    expect(loss(30)).toBeLessThan(loss(10));
    expect(loss(10)).toBeLessThan(loss(0));
    const again = new GradientBoostedTrees({ maxIter: 30, subsample: 0.7, colsampleByNode: 0.6, seed: 5 }).fit(x, y);
    expect(again.toJSON()).toEqual(m.toJSON());
    const other = new GradientBoostedTrees({ maxIter: 30, subsample: 0.7, colsampleByNode: 0.6, seed: 6 }).fit(x, y);
    expect(other.toJSON().state.trees).not.toEqual(m.toJSON().state.trees);
    const back = GradientBoostedTrees.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    expect(Array.from(back.predictRaw(x))).toEqual(Array.from(m.predictRaw(x)));
    const p = m.predictProba(x);
    expect(Math.min(...p)).toBeGreaterThan(0);
    expect(Math.max(...p)).toBeLessThan(1);
  });

  it('Float32 input (dataset.ts Matrix) gives the same trees as the same numbers in Float64', () => {
    const f32: RealMatrix = { data: Float32Array.from(data), rows: n, cols: d };
    const f64: RealMatrix = { data: Float64Array.from(f32.data), rows: n, cols: d };
    const a = new GradientBoostedTrees({ maxIter: 10 }).fit(f32, y);
    const b = new GradientBoostedTrees({ maxIter: 10 }).fit(f64, y);
    expect(a.toJSON()).toEqual(b.toJSON());
    expect(Array.from(a.predictRaw(f32))).toEqual(Array.from(b.predictRaw(f64)));
  });

  it('early stopping on a validation set: sklearn rule (no gain > tol over nIterNoChange trees)', () => {
    const m = new GradientBoostedTrees({ maxIter: 500, learningRate: 0.3, nIterNoChange: 5 }).fit(tr, y.subarray(0, 2000), { valid: { x: va, y: y.subarray(2000) } });
    const s = m.fitted;
    expect(s.stoppedEarly).toBe(true);
    expect(s.trees.length).toBeLessThan(500);
    expect(s.validLoss).toHaveLength(s.trees.length + 1);
    const k = s.validLoss.length;
    const ref = s.validLoss[k - 6];
    expect(Math.min(...s.validLoss.slice(k - 5))).toBeGreaterThanOrEqual(ref - 1e-7);
    // the recorded losses are the staged ones
    const z = m.predictRaw(va, 3);
    let ll = 0;
    for (let i = 0; i < 1000; i++) ll += Math.log1p(Math.exp(-(y[2000 + i] ? 1 : -1) * z[i]));
    expect(s.validLoss[3]).toBeCloseTo(ll / 1000, 12);
  });

  it('sample weights: a weight of 2 equals the row twice (up to bin edges, here fixed by a small grid)', () => {
    const xs = col(Array.from({ length: 60 }, (_, i) => i % 6));
    const ys = Array.from({ length: 60 }, (_, i) => (i % 6 >= 3 ? (i % 5 === 0 ? 0 : 1) : i % 7 === 0 ? 1 : 0));
    const w = ys.map((_, i) => (i % 4 === 0 ? 2 : 1));
    const rows: number[] = [];
    w.forEach((wi, i) => { for (let k = 0; k < wi; k++) rows.push(i); });
    const p = { maxIter: 3, maxLeafNodes: 3, minSamplesLeaf: 1 };
    const a = new GradientBoostedTrees(p).fit(xs, ys, { sampleWeight: w }).predictRaw(col([0, 1, 2, 3, 4, 5]));
    const b = new GradientBoostedTrees(p).fit(col(rows.map((i) => i % 6)), rows.map((i) => ys[i])).predictRaw(col([0, 1, 2, 3, 4, 5]));
    for (let i = 0; i < 6; i++) expect(a[i]).toBeCloseTo(b[i], 12);
  });

  it('bad params and inputs: one sentence naming the value; predict before fit is NOT_FITTED', () => {
    expect(() => new GradientBoostedTrees({ maxBins: 300 }).fit(x, y)).toThrow(/maxBins = 300 is invalid; it must be an integer in 2..255/);
    expect(() => new GradientBoostedTrees({ subsample: 0 }).fit(x, y)).toThrow(/subsample = 0/);
    expect(() => new GradientBoostedTrees().fit(col([1, Infinity]), [0, 1])).toThrow(/row 1, column 0 is Infinity/);
    expect(() => new GradientBoostedTrees().predictRaw(x)).toThrow(expect.objectContaining({ code: 'NOT_FITTED' }));
    expect(() => new GradientBoostedTrees().fit(x, new Uint8Array(n).fill(1))).toThrow(expect.objectContaining({ code: 'ONE_CLASS', message: expect.stringMatching(/every one of the 3000 rows .* is labelled 1/) }));
    // a constant column and an all-NaN column never split; NaN-only-vs-values can
    const cst = { data: Float64Array.from({ length: 200 }, (_, k) => (k % 2 === 0 ? 5 : NaN)), rows: 100, cols: 2 };
    const yc = Array.from({ length: 100 }, (_, i) => i % 3 === 0 ? 1 : 0);
    expect(new GradientBoostedTrees({ maxIter: 3 }).fit(cst, yc).fitted.trees.every((t) => t.length === 1)).toBe(true);
    const m = new GradientBoostedTrees({ maxIter: 2 }).fit(x, y);
    expect(() => m.predictRaw(col([1]))).toThrow(/x has 1 columns but the model was fitted on 6/);
    const j = m.toJSON();
    j.state.trees[1][0].left = 99;
    expect(() => GradientBoostedTrees.fromJSON(j)).toThrow(/tree 1 node 0 is malformed/);
  });
});

// sklearn HistGradientBoostingClassifier ROC-AUCs on the same encoded designs (80/20 stratified split, seed 0),
// recorded by test/fixtures/sklearn/gbdt_reference.py (output in gbdt-reference.json), settings as below.
const SKLEARN = { telco: 0.831069, synthetic: 0.92812 };
const MATCHING = { maxIter: 100, learningRate: 0.1, maxLeafNodes: 31, minSamplesLeaf: 20, l2Regularization: 0 };

describe('GradientBoostedTrees against sklearn HistGradientBoosting on real data', () => {
  it('Telco (7,043 customers): ROC-AUC within 0.005 of sklearn on the held-out 20%', async () => {
    const { train, test } = toDesign(splitChurnTable(await readTable(TELCO), { label: 'Churn', seed: 0 }));
    expect([train.rows, test.rows, train.cols]).toEqual([5634, 1409, 53]);
    const auc = rocAuc(new GradientBoostedTrees(MATCHING).fit(train, train.y).predictProba(test), test.y);
    expect(Math.abs(auc - SKLEARN.telco)).toBeLessThan(0.005);
  }, 120_000);

  const dir = mkdtempSync(join(tmpdir(), 'cohortlab-gbdt-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it.skipIf(!existsSync(join(ROOT, 'dist', 'cli', 'index.js')))('the synthetic product (3,000 users, 30-day horizon), users not already churned: ROC-AUC within 0.005 of sklearn', async () => {
    const cli = (args: string[]) => {
      const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'cohortlab.js'), ...args], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
      expect(r.status, r.stderr).toBe(0);
    };
    cli(['generate', '--users', '3000', '--days', '180', '--seed', '7', '--out', dir]);
    const { as_of: asOf, horizon_days: h } = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8'));
    cli(['features', '--events', join(dir, 'events.parquet'), '--config', join(dir, 'cohortlab.config.json'), '--as-of', asOf, '--horizon-days', String(h), '--out', join(dir, 'features.csv')]);
    const { train, test } = toDesign(splitChurnTable(activeUsersTable(await readTable(join(dir, 'features.csv'))), { label: 'churned', seed: 0 }));
    expect([train.rows, test.rows]).toEqual([1266, 316]);
    const auc = rocAuc(new GradientBoostedTrees(MATCHING).fit(train, train.y).predictProba(test), test.y);
    expect(Math.abs(auc - SKLEARN.synthetic)).toBeLessThan(0.005);
  }, 300_000);
});

describe('columnChangeProba (permutation importance)', () => {
  /** Every column shuffled by each step (row i takes row (i * step + 11) mod n): columnChangeProba's bits are predictProba's. */
  function expectPredictProbaBits(opts: { seed: number; n: number; d: number; nan: number; label: (row: number[]) => number; params: ConstructorParameters<typeof GradientBoostedTrees>[0]; steps: number[] }) {
    const { n, d } = opts;
    const rng = createRng(opts.seed);
    const data = new Float64Array(n * d);
    const yy = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) data[i * d + j] = rng.next() < opts.nan ? NaN : rng.normal();
      const row = Array.from(data.subarray(i * d, i * d + d), (v) => v || 0);
      yy[i] = rng.next() < 1 / (1 + Math.exp(-opts.label(row))) ? 1 : 0;
    }
    const x = { data, rows: n, cols: d };
    const m = new GradientBoostedTrees(opts.params).fit(x, yy);
    const changed = m.columnChangeProba(x);
    for (let j = 0; j < d; j++) {
      for (const step of opts.steps) {
        const work = new Float64Array(data);
        for (let i = 0; i < n; i++) work[i * d + j] = data[((i * step + 11) % n) * d + j];
        const w = { data: work, rows: n, cols: d };
        expect(Array.from(changed(w, j))).toEqual(Array.from(m.predictProba(w)));
      }
    }
  }

  it('a matrix changed in one column gets predictProba\'s bits, whichever column (missing values too)', () => {
    expectPredictProbaBits({
      seed: 12, n: 1500, d: 6, nan: 0.05, label: (r) => r[0] - 0.5 * r[3],
      params: { maxIter: 25, maxLeafNodes: 15, colsampleByNode: 0.5, seed: 3 }, steps: [7919],
    });
  });

  it('rows whose path splits on the changed column more than once, below other columns, get predictProba\'s bits', () => {
    // three columns and 31 leaves: most paths test a column several times, and the first test of a column is often
    // below others (the walk restarts there; a restart at the wrong node changes some rows' leaves)
    expectPredictProbaBits({
      seed: 4, n: 2000, d: 3, nan: 0.03, label: ([a, b, c]) => Math.sin(2 * a) * b - c * c + 1,
      params: { maxIter: 20, maxLeafNodes: 31, seed: 5 }, steps: [7919, 31],
    });
  });
});
