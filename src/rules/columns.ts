import type { FeatureTable } from '../features/index.js';
import { CohortlabError } from '../shared/errors.js';

/** A feature column by name, checked: a missing or mis-sized column names the rule that needs it and the fix. */
export function featureColumn(table: FeatureTable, name: string, neededBy: string): Float64Array {
  const c = table.columns[name];
  const n = table.userIds.length;
  if (!c) {
    const known = Object.keys(table.columns).sort();
    const hint = closest(name, known);
    throw new CohortlabError(
      'MISSING_COLUMN',
      `the feature table has no column "${name}", which ${neededBy} needs${hint ? `; did you mean "${hint}"?` : '.'} Recompute the features with "cohortlab features" (columns present: ${known.join(', ') || '(none)'}).`,
    );
  }
  if (c.length !== n) {
    throw new CohortlabError('BAD_FEATURE', `feature column "${name}" has ${c.length} values for ${n} users; every column must have one value per user (needed by ${neededBy}).`);
  }
  return c;
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return prev[n];
}

/** The closest known name within a third of the name's length, or undefined. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}
