import type { Matrix } from '../shared/matrix.js';
import { internalError } from '../shared/errors.js';
import type { GbdtNode } from './gbdt.js';

/**
 * Compiled trees for fast prediction: inner nodes of all trees in flat typed arrays; a child >= 0 is
 * an inner node, a child < 0 is leaf ~child (its value in `leafValue`). A tree that is a single leaf
 * has root ~leaf.
 */
export interface Compiled {
  roots: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  /** 1 when NaN goes right. */
  nanRight: Uint8Array;
  /** children: [2 a] left, [2 a + 1] right. */
  child: Int32Array;
  leafValue: Float64Array;
}

export function compile(trees: GbdtNode[][]): Compiled {
  let inner = 0;
  let leaves = 0;
  for (const t of trees) for (const nd of t) if (nd.feature < 0) leaves++; else inner++;
  const c: Compiled = {
    roots: new Int32Array(trees.length),
    feature: new Int32Array(inner),
    threshold: new Float64Array(inner),
    nanRight: new Uint8Array(inner),
    child: new Int32Array(2 * inner),
    leafValue: new Float64Array(leaves),
  };
  let ni = 0;
  let nl = 0;
  trees.forEach((t, k) => {
    const ref = new Int32Array(t.length);
    t.forEach((nd, j) => {
      if (nd.feature < 0) {
        c.leafValue[nl] = nd.value;
        ref[j] = ~nl++;
      } else ref[j] = ni++;
    });
    c.roots[k] = ref[0];
    t.forEach((nd, j) => {
      if (nd.feature < 0) return;
      const a = ref[j];
      c.feature[a] = nd.feature;
      c.threshold[a] = nd.threshold;
      c.nanRight[a] = nd.missingGoesLeft ? 0 : 1;
      c.child[2 * a] = ref[nd.left];
      c.child[2 * a + 1] = ref[nd.right];
    });
  });
  return c;
}

const PREDICT_BLOCK = 512;

/**
 * Adds trees [from, to) of `c` to `out` for every row of x (row-major), a block of rows at a time so
 * the block and the trees stay in cache. The cost is one data-dependent branch per level (about 6-7
 * per tree on 31 leaves), which the CPU mispredicts half the time; level-by-level passes over a block
 * and four interleaved walks were measured no faster (docs/churn.md).
 */
export function addTrees(c: Compiled, from: number, to: number, x: Matrix, out: Float64Array): void {
  const { roots, feature, threshold, nanRight, child, leafValue } = c;
  const data = x.data;
  const d = x.cols;
  const n = x.rows;
  for (let b0 = 0; b0 < n; b0 += PREDICT_BLOCK) {
    const b1 = Math.min(n, b0 + PREDICT_BLOCK);
    for (let t = from; t < to; t++) {
      const root = roots[t];
      if (root < 0) {
        const v = leafValue[~root];
        for (let i = b0; i < b1; i++) out[i] += v;
        continue;
      }
      for (let i = b0; i < b1; i++) {
        const o = i * d;
        let nd = root;
        do {
          const v = data[o + feature[nd]];
          nd = child[2 * nd + (v <= threshold[nd] ? 0 : v === v ? 1 : nanRight[nd])];
        } while (nd >= 0);
        out[i] += leafValue[~nd];
      }
    }
  }
}

/**
 * Predictions of rows that differ from `x` in one column only (permutation importance shuffles one feature at a
 * time): each tree's leaf for every row of `x` is kept (one small integer per tree and row). For a changed column a
 * row keeps its leaf when its new value passes the tests of that column on the leaf's path (the interval they leave,
 * and where a missing value goes); else it is walked again from the first node of its path that splits on that
 * column: the nodes above it test other columns, so the changed row reaches it too. Every row still adds its trees
 * in order from the same start, so the margins are addTrees' bits exactly.
 */
export function columnChangePredictor(c: Compiled, trees: number, x: Matrix, start: number): (changed: Matrix, column: number) => Float64Array {
  const n = x.rows;
  const leaves = c.leafValue.length;
  const leafOf = leaves <= 0xff ? new Uint8Array(trees * n) : leaves <= 0xffff ? new Uint16Array(trees * n) : new Uint32Array(trees * n);
  const d = x.cols;
  const uses: Set<number>[] = [];
  // per leaf and column j (at leaf * d + j): the first inner node on the leaf's path that splits on j (-1 when none
  // does), and what the path asks of j: a value v with lo < v <= hi, or a missing value when nanOk is 1
  const first = new Int32Array(leaves * d).fill(-1);
  const lo = new Float64Array(leaves * d);
  const hi = new Float64Array(leaves * d);
  const nanOk = new Uint8Array(leaves * d);
  const onPath = new Int32Array(d).fill(-1);
  const pathLo = new Float64Array(d).fill(-Infinity);
  const pathHi = new Float64Array(d).fill(Infinity);
  const pathNan = new Uint8Array(d).fill(1);
  const visit = (nd: number, used: Set<number>): void => {
    if (nd < 0) {
      first.set(onPath, ~nd * d);
      lo.set(pathLo, ~nd * d);
      hi.set(pathHi, ~nd * d);
      nanOk.set(pathNan, ~nd * d);
      return;
    }
    const j = c.feature[nd];
    used.add(j);
    const fresh = onPath[j] < 0;
    if (fresh) onPath[j] = nd;
    const [l0, h0, nan0] = [pathLo[j], pathHi[j], pathNan[j]];
    const th = c.threshold[nd];
    // left: v <= th, a missing value when it does not go right
    pathHi[j] = Math.min(h0, th);
    pathNan[j] = nan0 & (1 - c.nanRight[nd]);
    visit(c.child[2 * nd], used);
    pathHi[j] = h0;
    pathLo[j] = Math.max(l0, th);
    pathNan[j] = nan0 & c.nanRight[nd];
    visit(c.child[2 * nd + 1], used);
    pathLo[j] = l0;
    pathNan[j] = nan0;
    if (fresh) onPath[j] = -1;
  };
  for (let t = 0; t < trees; t++) {
    const root = c.roots[t];
    const used = new Set<number>();
    if (root >= 0) visit(root, used); // a root < 0 is a lone leaf
    uses.push(used);
    for (let i = 0; i < n; i++) leafOf[t * n + i] = leafOfRow(c, root, x.data, i * d);
  }
  return (changed, column) => {
    if (changed.rows !== n || changed.cols !== d) throw internalError(`columnChangePredictor: the changed matrix is ${changed.rows} x ${changed.cols}, not ${n} x ${d}`);
    const out = new Float64Array(n).fill(start);
    const data = changed.data;
    for (let t = 0; t < trees; t++) {
      const kept = t * n;
      if (uses[t].has(column)) {
        for (let i = 0; i < n; i++) {
          let leaf = leafOf[kept + i];
          const k = leaf * d + column;
          const from = first[k];
          if (from >= 0) {
            const v = data[i * d + column];
            if (!(v === v ? lo[k] < v && v <= hi[k] : nanOk[k] === 1)) leaf = leafOfRow(c, from, data, i * d);
          }
          out[i] += c.leafValue[leaf];
        }
      } else {
        for (let i = 0; i < n; i++) out[i] += c.leafValue[leafOf[kept + i]];
      }
    }
    return out;
  };
}

/** The leaf (index into leafValue) a row reaches from node `root` (a lone leaf when < 0) down. */
function leafOfRow(c: Compiled, root: number, data: Matrix['data'], o: number): number {
  if (root < 0) return ~root;
  let nd = root;
  do {
    const v = data[o + c.feature[nd]];
    nd = c.child[2 * nd + (v <= c.threshold[nd] ? 0 : v === v ? 1 : c.nanRight[nd])];
  } while (nd >= 0);
  return ~nd;
}
