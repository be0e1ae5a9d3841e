/**
 * Seeded randomness. Every random choice in cohortlab takes an `Rng` made here from a seed;
 * `Math.random` is never used. The generator is sfc32 seeded through splitmix32, so any 32-bit
 * integer seed gives a well-mixed, reproducible stream.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Fills `out` with `out.length` draws of `int(n)`: the same numbers, and the same stream afterwards, as that many calls. */
  ints(n: number, out: Uint32Array): Uint32Array;
  /** Standard normal (Box-Muller, one value per call). */
  normal(): number;
  /** A new independent generator derived from this one (for sub-tasks that must not shift this stream). */
  fork(): Rng;
}

export const DEFAULT_SEED = 42;

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function createRng(seed: number = DEFAULT_SEED): Rng {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  const init = splitmix32(Math.floor(seed) | 0);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  const u32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) u32();
  const next = (): number => u32() / 4294967296;
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    ints: (n: number, out: Uint32Array) => {
      // u32 unrolled over local copies of the state (a bootstrap draws millions)
      let sa = a;
      let sb = b;
      let sc = c;
      let sd = d;
      for (let i = 0; i < out.length; i++) {
        const t = (((sa + sb) >>> 0) + sd) >>> 0;
        sd = (sd + 1) >>> 0;
        sa = sb ^ (sb >>> 9);
        sb = (sc + (sc << 3)) >>> 0;
        sc = (sc << 21) | (sc >>> 11);
        sc = (sc + t) >>> 0;
        out[i] = Math.floor((t / 4294967296) * n);
      }
      a = sa;
      b = sb;
      c = sc;
      d = sd;
      return out;
    },
    normal: () => {
      let u = next();
      while (u <= 1e-300) u = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    fork: () => createRng(u32()),
  };
}

/** Fisher-Yates shuffle of 0..n-1 with the given generator. */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/**
 * `m` distinct indices out of 0..n-1 in draw order (partial Fisher-Yates: m draws, rng.int(n - i) at
 * step i); every seeded row sample of the cluster and churn stages is this one. Callers sort when they
 * want ascending indices.
 */
export function sampleWithoutReplacement(n: number, m: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p.slice(0, m);
}
