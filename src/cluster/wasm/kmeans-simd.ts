// AssemblyScript (not TypeScript): the WebAssembly SIMD kernel of k-means, compiled by `npm run build`
// (asc, the `assemblyscript` devDependency) into dist/cluster/wasm/kmeans-simd.wasm. The root tsconfig
// excludes this folder; its own tsconfig.json gives editors AssemblyScript's types.
//
// Every array lives in one shared WebAssembly.Memory that the caller (src/cluster/kmeans-wasm.ts) lays
// out once per fit and imports into one instance per thread; `header` points at the layout (H_* word
// offsets below, mirrored in kmeans-wasm.ts). Nothing here allocates: module globals are per instance,
// so per thread.
//
// Same bits as the JavaScript kernel (src/cluster/kmeans-kernels.ts): a distance is the sum over the
// columns t = 0..d-1, in that order, of (x_t - c_t)^2, each product rounded before it is added (no fused
// multiply-add in WebAssembly SIMD). The two lanes of an f64x2 are two centres, never two columns, so
// each lane adds exactly the terms of plain Lloyd's `sqDist` in its order. Cluster sums are added per
// column (lanes = two columns), an element-wise operation, so they too are the scalar kernel's bits.

// header words (i32), mirrored in src/cluster/kmeans-wasm.ts
const H_N = 0;
const H_D = 1;
const H_K = 2;
const H_CHUNK_ROWS = 3;
const H_DATA = 4;
const H_LABELS = 5;
const H_UPPER = 6;
const H_SECOND = 7;
const H_CENT_T = 8;
const H_CUM = 9;
const H_CUM_OTHER = 10;
const H_HALF = 11;
const H_CHUNK_SUMS = 12;
const H_CHUNK_COUNTS = 13;
const H_CHUNK_CHANGED = 14;
const H_CENT = 15;
const H_CHUNK_INERTIA = 16;
const H_FAILED = 17;

/**
 * Rows whose data rows are brought into the cache together before their distances (see `chunk`); 1M x 20,
 * k = 8, CPU per fit in alternating builds: 8 rows 4-5% less than none, 32 a further 3-7%, 64 no better.
 */
const BATCH = 32;

// the nearest centre of the last `nearest` call, its squared distance, and the second smallest one
let bestC: i32 = 0;
let best1: f64 = Infinity;
let best2: f64 = Infinity;
// where the touched values go, so that the loads bringing rows into the cache are not optimised away
let sink: f64 = 0;

@inline function word(h: usize, at: i32): i32 {
  return load<i32>(h + (<usize>at << 2));
}

/**
 * Folds the distances of one group of up to 8 centres (first centre `c`; lanes in centre order s0 lane 0,
 * s0 lane 1, s1 lane 0, ...; a padding lane is +Infinity) into bestC / best1 / best2, without a branch per
 * centre: per lane position the two smallest of the 4 vectors (a min/max network), then of the 2 lanes;
 * the group's nearest centre is the first lane equal to its smallest distance (the first centre wins a
 * tie, as in plain Lloyd), and an earlier group wins a tie with a later one. best2 is the second smallest
 * value (equal to best1 on a tie). pmin/pmax (b < a ? b : a) are single instructions; distances are never
 * NaN for finite rows.
 */
@inline function foldGroup(c: i32, s0: v128, s1: v128, s2: v128, s3: v128): void {
  const lo1 = f64x2.pmin(s0, s1);
  const hi1 = f64x2.pmax(s0, s1);
  const lo2 = f64x2.pmin(s2, s3);
  const hi2 = f64x2.pmax(s2, s3);
  const m1 = f64x2.pmin(lo1, lo2);
  const m2 = f64x2.pmin(f64x2.pmax(lo1, lo2), f64x2.pmin(hi1, hi2));
  const e = f64x2.extract_lane(m1, 0);
  const o = f64x2.extract_lane(m1, 1);
  const g1 = min<f64>(e, o);
  const g2 = min<f64>(max<f64>(e, o), min<f64>(f64x2.extract_lane(m2, 0), f64x2.extract_lane(m2, 1)));
  if (g1 < best1) {
    const t = f64x2.splat(g1);
    const mask = i64x2.bitmask(f64x2.eq(s0, t)) | (i64x2.bitmask(f64x2.eq(s1, t)) << 2) | (i64x2.bitmask(f64x2.eq(s2, t)) << 4) | (i64x2.bitmask(f64x2.eq(s3, t)) << 6);
    best2 = min<f64>(best1, g2);
    best1 = g1;
    bestC = c + ctz<i32>(mask);
  } else best2 = min<f64>(best2, g1);
}

/**
 * Squared distances from the row at `xp` to every centre, into bestC / best1 / best2. `centT` holds the
 * centres in groups (8 at a time, then one group of 8, 4 or 2 for the rest, padded with +Infinity, so a
 * padding lane's distance is +Infinity and never the nearest): per group
 * and column t, the group's values side by side, so one v128 load gives two centres' column t.
 */
function nearest(xp: usize, centT: usize, d: i32, k: i32): void {
  best1 = Infinity;
  best2 = Infinity;
  bestC = 0;
  const inf = f64x2.splat(Infinity);
  let cp = centT;
  let c = 0;
  while (c < k) {
    const rest = k - c;
    if (rest > 4) {
      let s0 = f64x2.splat(0);
      let s1 = f64x2.splat(0);
      let s2 = f64x2.splat(0);
      let s3 = f64x2.splat(0);
      for (let t = 0; t < d; t++) {
        const x = v128.load64_splat(xp + (<usize>t << 3));
        const p = cp + (<usize>t << 6);
        const v0 = f64x2.sub(x, v128.load(p));
        const v1 = f64x2.sub(x, v128.load(p, 16));
        const v2 = f64x2.sub(x, v128.load(p, 32));
        const v3 = f64x2.sub(x, v128.load(p, 48));
        s0 = f64x2.add(s0, f64x2.mul(v0, v0));
        s1 = f64x2.add(s1, f64x2.mul(v1, v1));
        s2 = f64x2.add(s2, f64x2.mul(v2, v2));
        s3 = f64x2.add(s3, f64x2.mul(v3, v3));
      }
      foldGroup(c, s0, s1, s2, s3);
      cp += <usize>d << 6;
      c += 8;
    } else if (rest > 2) {
      let s0 = f64x2.splat(0);
      let s1 = f64x2.splat(0);
      for (let t = 0; t < d; t++) {
        const x = v128.load64_splat(xp + (<usize>t << 3));
        const p = cp + (<usize>t << 5);
        const v0 = f64x2.sub(x, v128.load(p));
        const v1 = f64x2.sub(x, v128.load(p, 16));
        s0 = f64x2.add(s0, f64x2.mul(v0, v0));
        s1 = f64x2.add(s1, f64x2.mul(v1, v1));
      }
      foldGroup(c, s0, s1, inf, inf);
      cp += <usize>d << 5;
      c += 4;
    } else {
      let s0 = f64x2.splat(0);
      for (let t = 0; t < d; t++) {
        const x = v128.load64_splat(xp + (<usize>t << 3));
        const v0 = f64x2.sub(x, v128.load(cp + (<usize>t << 4)));
        s0 = f64x2.add(s0, f64x2.mul(v0, v0));
      }
      foldGroup(c, s0, inf, inf, inf);
      cp += <usize>d << 4;
      c += 2;
    }
  }
}

/** sums[0..d) += row, two columns at a time (element-wise: the scalar kernel's bits). */
@inline function addRow(sp: usize, xp: usize, d: i32): void {
  let t = 0;
  for (; t + 2 <= d; t += 2) {
    const o = <usize>t << 3;
    v128.store(sp + o, f64x2.add(v128.load(sp + o), v128.load(xp + o)));
  }
  if (t < d) {
    const o = <usize>t << 3;
    store<f64>(sp + o, load<f64>(sp + o) + load<f64>(xp + o));
  }
}

/** A row leaves the sums at `from` for those at `to` (kmeans-kernels.ts `moveRow`, element-wise: the same bits). */
@inline function moveRow(from: usize, to: usize, xp: usize, d: i32): void {
  let t = 0;
  for (; t + 2 <= d; t += 2) {
    const o = <usize>t << 3;
    const x = v128.load(xp + o);
    v128.store(from + o, f64x2.sub(v128.load(from + o), x));
    v128.store(to + o, f64x2.add(v128.load(to + o), x));
  }
  if (t < d) {
    const o = <usize>t << 3;
    const x = load<f64>(xp + o);
    store<f64>(from + o, load<f64>(from + o) - x);
    store<f64>(to + o, load<f64>(to + o) + x);
  }
}

/**
 * Chunk j of a pass (rows j * chunkRows up to the next chunk), as kmeans-kernels.ts `elkanChunk`:
 * cmd 1 = first assignment (every distance; every row goes into its cluster's sums), 2 = assignment
 * moving rows between cluster sums, 3 = assignment only (the final E-step), 4 = the chunk's inertia
 * (`chunkInertia`). For 1 to 3 the chunk's own slot of
 * sums and counts is cleared first; the rows that changed are written to chunkChanged[j].
 *
 * Bounds (Hamerly, "Making k-means even faster", SDM 2010), stored lazily as in the JavaScript kernel:
 * upper[i] = d(x, a) - cum[a] and second[i] = (lower bound on the second-closest distance) + cumOther[a],
 * where cum[c] sums centre c's shifts and cumOther[a] the largest shift of a centre other than a, per
 * iteration. A row whose upper bound is below half the distance from its centre to the nearest other
 * one, or below its second-closest bound, keeps its label without a distance. Any other row gets all k
 * distances at once (8 centres cost about what one sequential distance costs: 4 independent f64x2 sums
 * instead of one chain of d additions), which makes both its bounds exact.
 */
export function chunk(h: usize, cmd: i32, j: i32): void {
  const n = word(h, H_N);
  const d = word(h, H_D);
  const k = word(h, H_K);
  const chunkRows = word(h, H_CHUNK_ROWS);
  const data = <usize>word(h, H_DATA);
  const labels = <usize>word(h, H_LABELS);
  if (cmd === 4) {
    chunkInertia(h, j, n, d, chunkRows, data, labels);
    return;
  }
  const upper = <usize>word(h, H_UPPER);
  const second = <usize>word(h, H_SECOND);
  const centT = <usize>word(h, H_CENT_T);
  const cum = <usize>word(h, H_CUM);
  const cumOther = <usize>word(h, H_CUM_OTHER);
  const half = <usize>word(h, H_HALF);
  const kd = k * d;
  const sums = <usize>word(h, H_CHUNK_SUMS) + ((<usize>j * <usize>kd) << 3);
  const counts = <usize>word(h, H_CHUNK_COUNTS) + ((<usize>j * <usize>k) << 3);
  memory.fill(sums, 0, <usize>kd << 3);
  memory.fill(counts, 0, <usize>k << 3);
  const r0 = j * chunkRows;
  const r1 = min(n, r0 + chunkRows);
  const rowBytes = <usize>d << 3;
  let changed = 0;
  if (cmd === 1) {
    for (let i = r0; i < r1; i++) {
      const xp = data + <usize>i * rowBytes;
      nearest(xp, centT, d, k);
      const a = bestC;
      store<i32>(labels + (<usize>i << 2), a);
      store<f64>(upper + (<usize>i << 3), sqrt<f64>(best1) - load<f64>(cum + (<usize>a << 3)));
      store<f64>(second + (<usize>i << 3), sqrt<f64>(best2) + load<f64>(cumOther + (<usize>a << 3)));
      const cp = counts + (<usize>a << 3);
      store<f64>(cp, load<f64>(cp) + 1);
      addRow(sums + <usize>a * rowBytes, xp, d);
      changed++;
    }
    store<i32>(<usize>word(h, H_CHUNK_CHANGED) + (<usize>j << 2), changed);
    return;
  }
  // 1. the bound test over the chunk, in row order; the rows that fail it are listed (in the chunk's own
  // part of `failed`, one i32 per row)
  const failed = <usize>word(h, H_FAILED) + (<usize>r0 << 2);
  let m = 0;
  for (let i = r0; i < r1; i++) {
    const a0 = load<i32>(labels + (<usize>i << 2));
    const u = load<f64>(upper + (<usize>i << 3)) + load<f64>(cum + (<usize>a0 << 3));
    if (u <= load<f64>(half + (<usize>a0 << 3)) || u <= load<f64>(second + (<usize>i << 3)) - load<f64>(cumOther + (<usize>a0 << 3))) continue;
    store<i32>(failed + (<usize>m << 2), i);
    m++;
  }
  // 2. the listed rows, in row order (so cluster sums add in the same order), BATCH at a time: first one
  // load per cache line of each of their data rows, independent loads the processor keeps in flight together,
  // then their distances from the cache. The failing rows are scattered, so the hardware prefetcher does not
  // fetch them, and each row read on its own costs a full memory latency.
  let touched: f64 = 0;
  for (let b = 0; b < m; b += BATCH) {
    const e = min(m, b + BATCH);
    for (let q = b; q < e; q++) {
      const xp = data + <usize>load<i32>(failed + (<usize>q << 2)) * rowBytes;
      for (let o: usize = 0; o < rowBytes; o += 64) touched += load<f64>(xp + o);
      touched += load<f64>(xp + rowBytes - 8);
    }
    for (let q = b; q < e; q++) {
      const i = load<i32>(failed + (<usize>q << 2));
      const xp = data + <usize>i * rowBytes;
      const lp = labels + (<usize>i << 2);
      const a0 = load<i32>(lp);
      nearest(xp, centT, d, k);
      const a = bestC;
      store<f64>(upper + (<usize>i << 3), sqrt<f64>(best1) - load<f64>(cum + (<usize>a << 3)));
      store<f64>(second + (<usize>i << 3), sqrt<f64>(best2) + load<f64>(cumOther + (<usize>a << 3)));
      if (a !== a0) {
        changed++;
        store<i32>(lp, a);
        if (cmd === 2) {
          const cf = counts + (<usize>a0 << 3);
          const ct = counts + (<usize>a << 3);
          store<f64>(cf, load<f64>(cf) - 1);
          store<f64>(ct, load<f64>(ct) + 1);
          moveRow(sums + <usize>a0 * rowBytes, sums + <usize>a * rowBytes, xp, d);
        }
      }
    }
  }
  sink = touched;
  store<i32>(<usize>word(h, H_CHUNK_CHANGED) + (<usize>j << 2), changed);
}

/**
 * Command 4: the squared distances of the chunk's rows to their centres (row-major `cent`), added in row
 * order into chunkInertia[j]; each distance is `sqDist`'s sequential sum (kmeans-kernels.ts
 * `chunkedInertia`, the same bits).
 */
function chunkInertia(h: usize, j: i32, n: i32, d: i32, chunkRows: i32, data: usize, labels: usize): void {
  const cent = <usize>word(h, H_CENT);
  const r0 = j * chunkRows;
  const r1 = min(n, r0 + chunkRows);
  const rowBytes = <usize>d << 3;
  let s: f64 = 0;
  for (let i = r0; i < r1; i++) {
    const xp = data + <usize>i * rowBytes;
    const cp = cent + <usize>load<i32>(labels + (<usize>i << 2)) * rowBytes;
    let r: f64 = 0;
    for (let t = 0; t < d; t++) {
      const v = load<f64>(xp + (<usize>t << 3)) - load<f64>(cp + (<usize>t << 3));
      r += v * v;
    }
    s += r;
  }
  store<f64>(<usize>word(h, H_CHUNK_INERTIA) + (<usize>j << 3), s);
}

/**
 * Mean of the per-column population variances of the n x d matrix at `data` (kmeans-kernels.ts
 * `meanColumnVariance`, the same bits: per column the same sequential sums, two columns per f64x2).
 * `scratch` is 2 x d doubles.
 */
export function meanColumnVariance(data: usize, n: i32, d: i32, scratch: usize): f64 {
  const mean = scratch;
  const sq = scratch + (<usize>d << 3);
  memory.fill(scratch, 0, <usize>d << 4);
  const rowBytes = <usize>d << 3;
  for (let i = 0; i < n; i++) addRow(mean, data + <usize>i * rowBytes, d);
  const nf = <f64>n;
  for (let t = 0; t < d; t++) {
    const p = mean + (<usize>t << 3);
    store<f64>(p, load<f64>(p) / nf);
  }
  for (let i = 0; i < n; i++) {
    const xp = data + <usize>i * rowBytes;
    let t = 0;
    for (; t + 2 <= d; t += 2) {
      const o = <usize>t << 3;
      const v = f64x2.sub(v128.load(xp + o), v128.load(mean + o));
      v128.store(sq + o, f64x2.add(v128.load(sq + o), f64x2.mul(v, v)));
    }
    if (t < d) {
      const o = <usize>t << 3;
      const v = load<f64>(xp + o) - load<f64>(mean + o);
      store<f64>(sq + o, load<f64>(sq + o) + v * v);
    }
  }
  let s: f64 = 0;
  for (let t = 0; t < d; t++) s += load<f64>(sq + (<usize>t << 3)) / nf;
  return s / <f64>d;
}
