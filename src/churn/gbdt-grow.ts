/** Binning and the leaf-wise tree grower of gbdt.ts (sklearn's binning.py, grower.py and splitting.py). */
import type { Rng } from '../shared/rng.js';
import type { GbdtNode, GbdtParams } from './gbdt.js';

/**
 * Bin upper edges of one column, as sklearn's `_find_binning_thresholds`: with at most `maxBins`
 * distinct values, the midpoints between consecutive ones; otherwise the percentiles at
 * 100 k / maxBins (k = 1..maxBins-1, numpy's "midpoint" interpolation), duplicates removed.
 * `values` are the non-missing values (any order; sorted in place).
 */
export function findBinEdges(values: Float64Array, maxBins: number): number[] {
  values.sort();
  // the distinct values, as far as maxBins + 1 of them (past maxBins only the percentiles are read)
  const distinct: number[] = [];
  for (let i = 0; i < values.length && distinct.length <= maxBins; i++) if (i === 0 || values[i] !== values[i - 1]) distinct.push(values[i]);
  if (distinct.length <= maxBins) {
    const edges: number[] = [];
    for (let i = 0; i + 1 < distinct.length; i++) edges.push((distinct[i] + distinct[i + 1]) / 2);
    return edges;
  }
  const n = values.length;
  const edges: number[] = [];
  for (let k = 1; k < maxBins; k++) {
    // numpy percentile, method='midpoint': average of the two order statistics around (n - 1) q
    const pos = ((n - 1) * k) / maxBins;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    const v = (values[lo] + values[hi]) / 2;
    if (edges.length === 0 || v > edges[edges.length - 1]) edges.push(v);
  }
  return edges;
}

/** Bin of one value: the first edge >= v; NaN -> edges.length + 1 (the bin after the last value bin). */
export function binOf(edges: Float64Array, v: number): number {
  if (v !== v) return edges.length + 1;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v <= edges[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

interface SplitInfo {
  gain: number;
  feature: number;
  bin: number; // x-bin <= bin goes left; bin = nb-1 means "all values left, missing right"
  missingGoesLeft: boolean;
  gL: number;
  hL: number;
  cL: number;
}

interface GrowNode {
  id: number;
  start: number;
  end: number;
  g: number;
  h: number;
  depth: number;
  hist: Float64Array | null;
  split: SplitInfo | null;
}

/** One tree at a time, leaf-wise, on binned columns; buffers are reused across trees. */
export class TreeGrower {
  /** Row indices, partitioned so that every node owns [start, end). */
  indices: Uint32Array;
  private readonly tmp: Uint32Array;
  private readonly pool: Float64Array[] = [];
  private readonly featOrder: Int32Array;
  /** Non-missing bins per feature (edges + 1); the missing bin of feature f is nBins[f]. */
  private readonly nBins: number[];
  private readonly featOff: Int32Array;
  /**
   * The same bins row-major (row i at [i d, (i + 1) d)) as histogram slots: feature f's bin b is slot
   * featOff[f] / 3 + b, so building a histogram reads one index per value (16-bit while the slots fit).
   */
  private readonly slots: Uint16Array | Uint32Array;
  private readonly histSize: number;

  constructor(
    private readonly binned: Uint8Array,
    private readonly n: number,
    private readonly d: number,
    private readonly edges: Float64Array[],
    private readonly p: GbdtParams,
    private readonly rng: Rng,
  ) {
    this.nBins = edges.map((e) => e.length + 1);
    // compact histograms: feature f owns (value bins + missing bin) x (sum g, sum h, count) from featOff[f]
    this.featOff = new Int32Array(d);
    let off = 0;
    for (let f = 0; f < d; f++) {
      this.featOff[f] = off;
      off += (this.nBins[f] + 1) * 3;
    }
    this.histSize = off;
    this.slots = off / 3 <= 65536 ? new Uint16Array(n * d) : new Uint32Array(n * d);
    for (let f = 0; f < d; f++) {
      const col = f * n;
      const first = this.featOff[f] / 3;
      for (let i = 0; i < n; i++) this.slots[i * d + f] = first + binned[col + i];
    }
    this.indices = new Uint32Array(n);
    this.tmp = new Uint32Array(n);
    this.featOrder = new Int32Array(d);
  }

  private takeHist(): Float64Array {
    const h = this.pool.pop();
    if (h) {
      h.fill(0);
      return h;
    }
    return new Float64Array(this.histSize);
  }

  /**
   * Histogram of a node's rows. Row-major bins: one row's d bins share a cache line and its gradient
   * and hessian are read once (measured 1.6x faster than sklearn's column-by-column loop here, where a
   * node's rows are scattered). Four features at a time: their slots differ, so every slot still adds
   * its rows in row order (the same sums); 1.5-1.7x the one-at-a-time loop on 98,000 x 44.
   */
  private buildHist(node: GrowNode, grad: Float64Array, hess: Float64Array): Float64Array {
    const hist = this.takeHist();
    const { indices: idx, slots, d } = this;
    for (let k = node.start; k < node.end; k++) {
      const i = idx[k];
      const g = grad[i];
      const h = hess[i];
      const ro = i * d;
      let f = 0;
      for (; f + 3 < d; f += 4) {
        const o0 = slots[ro + f] * 3;
        const o1 = slots[ro + f + 1] * 3;
        const o2 = slots[ro + f + 2] * 3;
        const o3 = slots[ro + f + 3] * 3;
        hist[o0] += g;
        hist[o0 + 1] += h;
        hist[o0 + 2] += 1;
        hist[o1] += g;
        hist[o1 + 1] += h;
        hist[o1 + 2] += 1;
        hist[o2] += g;
        hist[o2 + 1] += h;
        hist[o2 + 2] += 1;
        hist[o3] += g;
        hist[o3 + 1] += h;
        hist[o3 + 2] += 1;
      }
      for (; f < d; f++) {
        const o = slots[ro + f] * 3;
        hist[o] += g;
        hist[o + 1] += h;
        hist[o + 2] += 1;
      }
    }
    return hist;
  }

  private findSplit(node: GrowNode): SplitInfo | null {
    const p = this.p;
    const hist = node.hist!;
    const l2 = p.l2Regularization;
    const cnt = node.end - node.start;
    if (p.maxDepth !== null && node.depth >= p.maxDepth) return null;
    if (cnt < 2 * p.minSamplesLeaf || node.h < 2 * p.minHessianLeaf) return null;
    const G = node.g;
    const H = node.h;
    const parentScore = (G * G) / (H + l2);
    let best: SplitInfo | null = null;
    let nf = this.d;
    const order = this.featOrder;
    for (let f = 0; f < this.d; f++) order[f] = f;
    if (p.colsampleByNode < 1) {
      nf = Math.max(1, Math.ceil(p.colsampleByNode * this.d));
      for (let i = 0; i < nf; i++) {
        const j = i + this.rng.int(this.d - i);
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
      order.subarray(0, nf).sort();
    }
    const minLeaf = p.minSamplesLeaf;
    const minH = p.minHessianLeaf;
    for (let q = 0; q < nf; q++) {
      const f = order[q];
      const base = this.featOff[f];
      const nb = this.nBins[f];
      const mo = base + nb * 3;
      const mc = hist[mo + 2];
      // missing on the right: scan left to right; with missing values also "all values left"
      let gL = 0;
      let hL = 0;
      let cL = 0;
      const lastBin = mc > 0 ? nb - 1 : nb - 2;
      for (let b = 0; b <= lastBin; b++) {
        const o = base + b * 3;
        gL += hist[o];
        hL += hist[o + 1];
        cL += hist[o + 2];
        const cR = cnt - cL;
        if (cL < minLeaf) continue;
        if (cR < minLeaf) break;
        const hR = H - hL;
        if (hL < minH || hR < minH) continue;
        const gR = G - gL;
        const gain = (gL * gL) / (hL + l2) + (gR * gR) / (hR + l2) - parentScore;
        if (gain > 0 && (best === null || gain > best.gain)) {
          best = { gain, feature: f, bin: b, missingGoesLeft: false, gL, hL, cL };
        }
      }
      if (mc > 0) {
        // missing on the left: scan right to left
        let gR = 0;
        let hR = 0;
        let cR = 0;
        for (let b = nb - 1; b >= 1; b--) {
          const o = base + b * 3;
          gR += hist[o];
          hR += hist[o + 1];
          cR += hist[o + 2];
          const cLm = cnt - cR;
          if (cR < minLeaf) continue;
          if (cLm < minLeaf) break;
          const hLm = H - hR;
          if (hLm < minH || hR < minH) continue;
          const gLm = G - gR;
          const gain = (gLm * gLm) / (hLm + l2) + (gR * gR) / (hR + l2) - parentScore;
          if (gain > 0 && (best === null || gain > best.gain)) {
            best = { gain, feature: f, bin: b - 1, missingGoesLeft: true, gL: gLm, hL: hLm, cL: cLm };
          }
        }
      }
    }
    if (best && !best.missingGoesLeft) {
      // no missing value of this feature in the node: future NaNs follow the larger child (sklearn)
      const mc = hist[this.featOff[best.feature] + this.nBins[best.feature] * 3 + 2];
      if (mc === 0) best.missingGoesLeft = best.cL > cnt - best.cL;
    }
    return best;
  }

  grow(rows: Uint32Array, grad: Float64Array, hess: Float64Array): { nodes: GbdtNode[]; leafRanges: [number, number, number][] } {
    const p = this.p;
    const lr = p.learningRate;
    const l2 = p.l2Regularization;
    const m = rows.length;
    this.indices.set(rows);
    let G = 0;
    let H = 0;
    for (let k = 0; k < m; k++) {
      G += grad[rows[k]];
      H += hess[rows[k]];
    }
    const nodes: GbdtNode[] = [];
    const leafValue = (g: number, h: number) => (-g / (h + l2 + 1e-15)) * lr;
    const mk = (g: number, h: number, start: number, end: number, depth: number): GrowNode => {
      const id = nodes.length;
      nodes.push({ feature: -1, threshold: 0, missingGoesLeft: false, left: -1, right: -1, value: leafValue(g, h), count: end - start, cover: h });
      return { id, start, end, g, h, depth, hist: null, split: null };
    };
    const root = mk(G, H, 0, m, 0);
    root.hist = this.buildHist(root, grad, hess);
    root.split = this.findSplit(root);
    const open: GrowNode[] = [];
    const leafRanges: [number, number, number][] = [];
    const finalize = (nd: GrowNode) => {
      leafRanges.push([nd.id, nd.start, nd.end]);
      if (nd.hist) this.pool.push(nd.hist);
      nd.hist = null;
    };
    if (root.split) open.push(root);
    else finalize(root);
    let leaves = 1;
    const { binned, n } = this;
    const idx = this.indices;
    const tmp = this.tmp;
    while (open.length > 0) {
      // best gain first (sklearn's heap; ties: the earlier node)
      let bi = 0;
      for (let k = 1; k < open.length; k++) if (open[k].split!.gain > open[bi].split!.gain) bi = k;
      const nd = open.splice(bi, 1)[0];
      const s = nd.split!;
      // stable partition of [start, end)
      const col = s.feature * n;
      const missL = s.missingGoesLeft;
      const missingBin = this.nBins[s.feature];
      let a = nd.start;
      let bcount = 0;
      for (let k = nd.start; k < nd.end; k++) {
        const i = idx[k];
        const b = binned[col + i];
        const goLeft = b === missingBin ? missL : b <= s.bin;
        if (goLeft) idx[a++] = i;
        else tmp[bcount++] = i;
      }
      idx.set(tmp.subarray(0, bcount), a);
      const node = nodes[nd.id];
      node.feature = s.feature;
      const edges = this.nBins[s.feature] - 1;
      // bin nb-1 has no upper edge: "every value left, missing right"
      node.threshold = s.bin < edges ? this.edges[s.feature][s.bin] : Number.MAX_VALUE;
      node.missingGoesLeft = s.missingGoesLeft;
      const L = mk(s.gL, s.hL, nd.start, a, nd.depth + 1);
      const R = mk(nd.g - s.gL, nd.h - s.hL, a, nd.end, nd.depth + 1);
      node.left = L.id;
      node.right = R.id;
      leaves += 1;
      if (leaves >= p.maxLeafNodes) {
        this.pool.push(nd.hist!);
        nd.hist = null;
        finalize(L);
        finalize(R);
        for (const o of open) finalize(o);
        open.length = 0;
        break;
      }
      // histograms: build the smaller child, subtract for the larger
      const small = L.end - L.start <= R.end - R.start ? L : R;
      const large = small === L ? R : L;
      small.hist = this.buildHist(small, grad, hess);
      const ph = nd.hist!;
      const sh = small.hist;
      for (let k = 0; k < ph.length; k++) ph[k] -= sh[k];
      large.hist = ph;
      nd.hist = null;
      for (const c of [L, R]) {
        c.split = this.findSplit(c);
        if (c.split) open.push(c);
        else finalize(c);
      }
    }
    return { nodes, leafRanges };
  }
}
