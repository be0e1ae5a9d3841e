import type { FeatureTable } from '../features/types.js';
import { CohortlabError } from '../shared/errors.js';
import { closestName as closest } from '../shared/names.js';

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

/** The closest known name for "did you mean" hints (shared/names.ts, also used by the cluster stage). */
export { closestName as closest } from '../shared/names.js';
