import type { Band, BandTable } from './types.js';

/**
 * Band lookup, the one place a threshold table is applied. A value gets the first row (highest band
 * first) whose lower bound it meets: `x >= min`, or `x > min` for an `exclusive` row. Every band is
 * therefore a half-open interval and the last row (min -Infinity) catches the rest, including NaN.
 */
export function bandIndex<T>(table: BandTable<T>, x: number): number {
  const bands = table.bands;
  for (let b = 0; b < bands.length; b++) {
    const row = bands[b];
    if (row.exclusive ? x > row.min : x >= row.min) return b;
  }
  return bands.length - 1;
}

export function bandValue<T>(table: BandTable<T>, x: number): T {
  return table.bands[bandIndex(table, x)].value;
}

/** Points of a numeric band table over a whole column, into `out` (vectorised: one loop, no objects). */
export function bandPoints(table: BandTable<number>, x: Float64Array, out = new Float64Array(x.length)): Float64Array {
  const bands = table.bands;
  const k = bands.length;
  const mins = new Float64Array(k);
  const excl = new Uint8Array(k);
  const pts = new Float64Array(k);
  for (let b = 0; b < k; b++) {
    mins[b] = bands[b].min;
    excl[b] = bands[b].exclusive ? 1 : 0;
    pts[b] = bands[b].value;
  }
  const last = pts[k - 1];
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    let p = last;
    for (let b = 0; b < k - 1; b++) {
      if (excl[b] ? v > mins[b] : v >= mins[b]) {
        p = pts[b];
        break;
      }
    }
    out[i] = p;
  }
  return out;
}

/** Labels of a tier table over a score column (the strings are shared, not copied). */
export function bandLabels<T extends { label: string }>(table: BandTable<T>, x: Float64Array): string[] {
  const bands = table.bands;
  const k = bands.length;
  const mins = bands.map((b) => b.min);
  const labels = bands.map((b) => b.value.label);
  const out = new Array<string>(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    let l = labels[k - 1];
    for (let b = 0; b < k - 1; b++) {
      if (bands[b].exclusive ? v > mins[b] : v >= mins[b]) {
        l = labels[b];
        break;
      }
    }
    out[i] = l;
  }
  return out;
}

/** The interval a band covers, in words, for docs and explanations: "[4, 7)", "(30, +inf)". */
export function bandInterval<T>(table: BandTable<T>, b: number): string {
  const row: Band<T> = table.bands[b];
  const lo = row.min === -Infinity ? '(-inf' : `${row.exclusive ? '(' : '['}${row.min}`;
  if (b === 0) return `${lo}, +inf)`;
  const above = table.bands[b - 1];
  // The band above starts at `above.min`; this band stops just before it (or at it, when above is exclusive).
  return `${lo}, ${above.min}${above.exclusive ? ']' : ')'}`;
}
