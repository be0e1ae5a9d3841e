import { CohortlabError } from '../shared/errors.js';
import { createRng, permutation } from '../shared/rng.js';

/**
 * Seeded stratified split of row indices: the test share of each class, then a validation share of the rest.
 * With `groups` (a group number per row, e.g. exact duplicates; a group's rows share the label), rows are
 * shuffled as without groups, and a group is placed whole, when its first row comes up, on the first side
 * (test, validation, train) with room for all of it, so none straddles the split; without
 * duplicates the split equals the ungrouped one, and with few it differs in few rows. Each list ascending.
 */
export function stratifiedSplit(y: Uint8Array, opts: { seed: number; testShare?: number; validShare?: number; groups?: Int32Array }): { train: Uint32Array; valid: Uint32Array; test: Uint32Array } {
  const testShare = opts.testShare ?? 0.2;
  const validShare = opts.validShare ?? 0.2;
  if (!(testShare > 0 && testShare < 1) || !(validShare > 0 && validShare < 1)) {
    throw new CohortlabError('BAD_ARGUMENT', `stratifiedSplit: testShare ${testShare} and validShare ${validShare} must both be in (0, 1).`);
  }
  const rng = createRng(opts.seed);
  const train: number[] = [];
  const valid: number[] = [];
  const test: number[] = [];
  for (const cls of [0, 1]) {
    const rows: number[] = [];
    const members = new Map<number, number[]>();
    for (let i = 0; i < y.length; i++) {
      if (y[i] !== cls) continue;
      rows.push(i);
      if (opts.groups) {
        const g = opts.groups[i];
        const m = members.get(g);
        if (m) m.push(i);
        else members.set(g, [i]);
      }
    }
    // Rows are shuffled as without groups; a group is placed whole when its first row comes up.
    const p = permutation(rows.length, rng);
    const nTest = Math.round(testShare * rows.length);
    const nValid = Math.round(validShare * (rows.length - nTest));
    const placed = new Set<number>();
    let inTest = 0;
    let inValid = 0;
    for (let k = 0; k < rows.length; k++) {
      const r = rows[p[k]];
      const g = opts.groups ? opts.groups[r] : -1;
      if (opts.groups && placed.has(g)) continue;
      if (opts.groups) placed.add(g);
      const unit = opts.groups ? (members.get(g) as number[]) : [r];
      if (inTest + unit.length <= nTest) {
        test.push(...unit);
        inTest += unit.length;
      } else if (inValid + unit.length <= nValid) {
        valid.push(...unit);
        inValid += unit.length;
      } else train.push(...unit);
    }
  }
  const asc = (a: number[]) => Uint32Array.from(a.sort((u, v) => u - v));
  return { train: asc(train), valid: asc(valid), test: asc(test) };
}
