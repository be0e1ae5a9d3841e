import { describe, expect, it } from 'vitest';
import { GradientBoostedTrees, type GbdtNode, type GbdtState } from '../../src/churn/gbdt.js';
import type { Matrix as RealMatrix } from '../../src/shared/matrix.js';
import { treeShap } from '../../src/churn/treeshap.js';
import { createRng } from '../../src/shared/rng.js';

function randomData(seed: number, n: number, d: number, nanShare: number): { x: RealMatrix; y: Uint8Array } {
  const rng = createRng(seed);
  const data = new Float64Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) data[i * d + j] = rng.next() < nanShare ? NaN : j % 3 === 2 ? rng.int(5) : rng.normal();
    const v = (j: number) => (Number.isNaN(data[i * d + j]) ? 0.7 : data[i * d + j]);
    const z = v(0) - 0.8 * v(1) * v(d - 1) + 0.3 * v(2) - 0.5;
    y[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { x: { data, rows: n, cols: d }, y };
}

/**
 * Brute force: phi_i = sum over S not containing i of |S|! (M - |S| - 1)! / M! (v(S + i) - v(S)), with
 * v(S) = E[f | x_S]: a split on a feature in S follows x, any other split averages its children by cover.
 */
function bruteShapley(trees: GbdtNode[][], baseline: number, x: ArrayLike<number>, m: number, cover: 'count' | 'hessian'): { phi: number[]; base: number } {
  const cv = (nd: GbdtNode) => (cover === 'count' ? nd.count : nd.cover);
  const value = (t: GbdtNode[], i: number, known: Set<number>): number => {
    const nd = t[i];
    if (nd.feature < 0) return nd.value;
    if (known.has(nd.feature)) {
      const v = x[nd.feature];
      const left = v <= nd.threshold || (Number.isNaN(v) && nd.missingGoesLeft);
      return value(t, left ? nd.left : nd.right, known);
    }
    return (cv(t[nd.left]) * value(t, nd.left, known) + cv(t[nd.right]) * value(t, nd.right, known)) / cv(nd);
  };
  const v = (known: Set<number>) => trees.reduce((s, t) => s + value(t, 0, known), baseline);
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const phi = new Array<number>(m).fill(0);
  for (let mask = 0; mask < 1 << m; mask++) {
    const S = new Set<number>();
    for (let j = 0; j < m; j++) if (mask & (1 << j)) S.add(j);
    const vS = v(S);
    for (let i = 0; i < m; i++) {
      if (S.has(i)) continue;
      const w = (fact(S.size) * fact(m - S.size - 1)) / fact(m);
      phi[i] += w * (v(new Set([...S, i])) - vS);
    }
  }
  return { phi, base: v(new Set()) };
}

describe('treeShap (exact, path-dependent)', () => {
  it('one hand-made stump: the split feature gets f(x) - E[f], the others 0', () => {
    // root on feature 1 at 0.5, 30 rows left (value -1), 10 rows right (value 3): E[f] = (30 * -1 + 10 * 3) / 40 = 0
    const state: GbdtState = {
      nFeatures: 2, baseline: 0.25, binEdges: [[], []], validLoss: [], stoppedEarly: false,
      trees: [[
        { feature: 1, threshold: 0.5, missingGoesLeft: true, left: 1, right: 2, value: 0, count: 40, cover: 8 },
        { feature: -1, threshold: 0, missingGoesLeft: false, left: -1, right: -1, value: -1, count: 30, cover: 6 },
        { feature: -1, threshold: 0, missingGoesLeft: false, left: -1, right: -1, value: 3, count: 10, cover: 2 },
      ]],
    };
    const r = treeShap(state, { data: Float64Array.from([9, 1, 9, 0, 0, NaN]), rows: 3, cols: 2 });
    expect(r.baseValue).toBe(0.25);
    expect(Array.from(r.contributions)).toEqual([0, 3, 0, -1, 0, -1]);
    // with hessian cover: E[f] = (6 * -1 + 2 * 3) / 8 = 0 too; the contribution is the same
    expect(Array.from(treeShap(state, { data: Float64Array.from([9, 1]), rows: 1, cols: 2 }, { cover: 'hessian' }).contributions)).toEqual([0, 3]);
  });

  it('equals brute-force Shapley values on a chain deeper than the leaf tables (16 features on one path, one repeated)', () => {
    // inner node k splits feature k (k = 0..15) at 0: left is a leaf, right the next inner node; a 17th inner node
    // splits feature 3 again. The deepest leaves see 16 unique features (more than a leaf table holds: computed
    // from their bits each time), the shallow ones a few (tables).
    const m = 16;
    const nodes: GbdtNode[] = [];
    const inner = (feature: number, count: number) => nodes.push({ feature, threshold: 0, missingGoesLeft: feature % 2 === 0, left: -1, right: -1, value: 0, count, cover: count / 4 }) - 1;
    const leaf = (value: number, count: number) => nodes.push({ feature: -1, threshold: 0, missingGoesLeft: false, left: -1, right: -1, value, count, cover: count / 4 }) - 1;
    let count = 2 ** 18;
    let at = inner(0, count);
    for (let k = 0; k <= m; k++) {
      const leftCount = Math.round(count * (0.3 + 0.02 * k));
      const l = leaf(((k * 7) % 5) - 2 + 0.1 * k, leftCount);
      const rest = count - leftCount;
      const r = k < m ? inner(k === m - 1 ? 3 : k + 1, rest) : leaf(1.5, rest);
      nodes[at].left = l;
      nodes[at].right = r;
      at = r;
      count = rest;
    }
    const state: GbdtState = { nFeatures: m, baseline: -0.4, binEdges: Array.from({ length: m }, () => []), validLoss: [], stoppedEarly: false, trees: [nodes] };
    const rng = createRng(12);
    const rows = 6;
    const data = new Float64Array(rows * m);
    // rows 0-1 reach the deepest leaves (every split goes right), then mixed ones with missing values
    for (let i = 0; i < rows; i++) for (let j = 0; j < m; j++) data[i * m + j] = i < 2 ? 1 + (j === 3 && i === 1 ? -2 : 0) : rng.next() < 0.1 ? NaN : rng.normal() + 0.8;
    const r = treeShap(state, { data, rows, cols: m });
    for (let i = 0; i < rows; i++) {
      const b = bruteShapley(state.trees, state.baseline, data.subarray(i * m, (i + 1) * m), m, 'count');
      expect(r.baseValue).toBeCloseTo(b.base, 12);
      for (let j = 0; j < m; j++) expect(Math.abs(r.contributions[i * m + j] - b.phi[j])).toBeLessThan(1e-12);
    }
  });

  it('equals brute-force Shapley values on a small ensemble of 4 features (count and hessian cover)', () => {
    const { x, y } = randomData(11, 400, 4, 0.1);
    const s = new GradientBoostedTrees({ maxIter: 4, maxLeafNodes: 8, minSamplesLeaf: 10, learningRate: 0.5 }).fit(x, y).fitted;
    expect(s.trees.every((t) => new Set(t.filter((n) => n.feature >= 0).map((n) => n.feature)).size >= 2)).toBe(true);
    for (const cover of ['count', 'hessian'] as const) {
      const rows = 25;
      const r = treeShap(s, { data: x.data.subarray(0, rows * 4), rows, cols: 4 }, { cover });
      for (let i = 0; i < rows; i++) {
        const b = bruteShapley(s.trees, s.baseline, x.data.subarray(i * 4, i * 4 + 4), 4, cover);
        expect(r.baseValue).toBeCloseTo(b.base, 12);
        for (let j = 0; j < 4; j++) expect(Math.abs(r.contributions[i * 4 + j] - b.phi[j])).toBeLessThan(1e-12);
      }
    }
  });

  it('a row gets the same bits alone, in a batch with near-duplicate rows (most sides shared), or in reversed order', () => {
    const { x, y } = randomData(5, 2000, 8, 0.1);
    const m = new GradientBoostedTrees({ maxIter: 30, maxLeafNodes: 31, minSamplesLeaf: 5, seed: 5 }).fit(x, y);
    // 400 rows: 200 drawn, then each repeated with a tiny move that keeps most of its sides
    const drawn = randomData(6, 200, 8, 0.1).x;
    const data = new Float64Array(400 * 8);
    data.set(drawn.data);
    for (let k = 0; k < 200 * 8; k++) data[200 * 8 + k] = drawn.data[k] + 1e-9;
    const batch = { data, rows: 400, cols: 8 };
    const all = treeShap(m.fitted, batch).contributions;
    for (const i of [0, 7, 199, 200, 207, 399]) {
      const alone = treeShap(m.fitted, { data: data.slice(i * 8, i * 8 + 8), rows: 1, cols: 8 }).contributions;
      expect(Array.from(all.subarray(i * 8, i * 8 + 8))).toEqual(Array.from(alone));
    }
    // and the reversed batch gives every row the same bits
    const reversed = new Float64Array(400 * 8);
    for (let i = 0; i < 400; i++) reversed.set(data.subarray((399 - i) * 8, (400 - i) * 8), i * 8);
    const back = treeShap(m.fitted, { data: reversed, rows: 400, cols: 8 }).contributions;
    for (let i = 0; i < 400; i++) expect(Array.from(back.subarray((399 - i) * 8, (400 - i) * 8))).toEqual(Array.from(all.subarray(i * 8, i * 8 + 8)));
  });

  it('past the patterns a tree keeps (16,384 here) and across blocks of rows (32,768), rows keep the same bits', () => {
    const { x, y } = randomData(8, 3000, 30, 0);
    const m = new GradientBoostedTrees({ maxIter: 2, maxLeafNodes: 48, minSamplesLeaf: 2, seed: 8 }).fit(x, y);
    // 40,000 fresh rows of 30 features against 47 splits: nearly every row has its own side pattern (checked while
    // writing this test: both trees reach the 16,384 kept), so the later rows take the one-by-one path, and the rows
    // span two blocks
    const big = randomData(9, 40000, 30, 0).x;
    const all = treeShap(m.fitted, big).contributions;
    const fresh = structuredClone(m.fitted); // a copy of the model keeps its own (empty) patterns
    for (const i of [0, 16383, 16384, 32767, 32768, 39999]) {
      const alone = treeShap(fresh, { data: big.data.slice(i * 30, i * 30 + 30), rows: 1, cols: 30 }).contributions;
      expect(Array.from(all.subarray(i * 30, i * 30 + 30))).toEqual(Array.from(alone));
    }
    // and a second pass over the full trees gives the same bits again
    expect(Array.from(treeShap(m.fitted, big).contributions)).toEqual(Array.from(all));
  });

  it("each row's margin is predictRaw's bits: kept patterns, patterns past the limit, a tree past 52 splits, a lone leaf, missing values", () => {
    const { x, y } = randomData(11, 3000, 30, 0.05);
    // 2 trees of 48 leaves (47 splits: patterns) and, below, a tree of 60 leaves (59 splits: the recursion)
    const m = new GradientBoostedTrees({ maxIter: 2, maxLeafNodes: 48, minSamplesLeaf: 2, seed: 11 }).fit(x, y);
    const deep = new GradientBoostedTrees({ maxIter: 1, maxLeafNodes: 60, minSamplesLeaf: 2, seed: 11 }).fit(x, y).fitted.trees[0];
    expect(deep.filter((nd) => nd.feature >= 0).length).toBeGreaterThan(52);
    const lone: GbdtNode = { ...deep.find((nd) => nd.feature < 0)!, value: 0.125 };
    const state: GbdtState = { ...m.fitted, trees: [m.fitted.trees[0], [lone], deep, m.fitted.trees[1]] };
    // 40,000 rows: past the 16,384 patterns the 48-leaf trees keep, across two blocks
    const big = randomData(12, 40000, 30, 0.05).x;
    const want = GradientBoostedTrees.fromJSON({ ...m.toJSON(), state }).predictRaw(big);
    for (const pass of [1, 2]) expect(Array.from(treeShap(state, big).margin), `pass ${pass}`).toEqual(Array.from(want));
  }, 60_000);

  it('trees in two parts, the second after the first, give the bits of all the trees at once, wherever the split falls', () => {
    const { x, y } = randomData(13, 2000, 8, 0.1);
    const m = new GradientBoostedTrees({ maxIter: 12, maxLeafNodes: 31, minSamplesLeaf: 5, seed: 13 }).fit(x, y);
    const T = m.fitted.trees.length;
    const test = randomData(14, 500, 8, 0.1).x;
    const all = treeShap(m.fitted, test);
    for (const k of [1, 5, T - 1, T]) {
      const fresh = structuredClone(m.fitted); // each side keeps its own patterns, as in two threads
      const first = treeShap(fresh, test, { trees: { from: 0, to: k } });
      const rest = treeShap(structuredClone(m.fitted), test, { trees: { from: k, to: T, after: first } });
      expect(Array.from(rest.contributions), `split at ${k}`).toEqual(Array.from(all.contributions));
      expect(Array.from(rest.margin), `split at ${k}`).toEqual(Array.from(all.margin));
    }
    expect(() => treeShap(m.fitted, test, { trees: { from: 2, to: T } })).toThrow(/result of trees 0 \.\. from - 1/);
    expect(() => treeShap(m.fitted, test, { trees: { from: 0, to: T + 1 } })).toThrow(/within the model/);
  });

  it('contributions + base value = raw margin to 1e-9 on random data (deep trees, missing values, repeated features)', () => {
    for (const seed of [1, 2, 3]) {
      const { x, y } = randomData(seed, 2000, 8, 0.15);
      const m = new GradientBoostedTrees({ maxIter: 40, maxLeafNodes: 31, minSamplesLeaf: 5, seed }).fit(x, y);
      const test = randomData(seed + 100, 300, 8, 0.15).x;
      const margin = m.predictRaw(test);
      for (const cover of ['count', 'hessian'] as const) {
        const r = treeShap(m.fitted, test, { cover });
        let worst = 0;
        for (let i = 0; i < test.rows; i++) {
          let s = r.baseValue;
          for (let j = 0; j < 8; j++) s += r.contributions[i * 8 + j];
          worst = Math.max(worst, Math.abs(s - margin[i]));
        }
        expect(worst).toBeLessThan(1e-9);
        expect(Array.from(r.margin)).toEqual(Array.from(margin));
      }
      // not a trivial decomposition: several features carry weight
      const r = treeShap(m.fitted, test);
      const mass = Array.from({ length: 8 }, (_, j) => { let s = 0; for (let i = 0; i < test.rows; i++) s += Math.abs(r.contributions[i * 8 + j]); return s; });
      expect(mass.filter((v) => v > 1).length).toBeGreaterThanOrEqual(3);
    }
  });

  it('bad input names what is wrong', () => {
    const { x, y } = randomData(1, 200, 3, 0);
    const s = new GradientBoostedTrees({ maxIter: 2 }).fit(x, y).fitted;
    expect(() => treeShap(s, { data: new Float64Array(4), rows: 2, cols: 2 })).toThrow(/x has 2 columns but the model was fitted on 3/);
    expect(() => treeShap(s, x, { cover: 'gain' as never })).toThrow(/cover = "gain" is invalid/);
  });
});
