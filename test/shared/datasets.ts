import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where the real-data tests find their files. CDNOW (MIT) and Telco (Apache-2.0) ship in `data/` (their
 * LICENSE and SOURCE.md beside them), so a fresh clone runs those tests. The other sets cannot be shipped
 * (Sparkify: license unstated; bank churn: unstated; Online Retail, grocery GPL-3, OULAD) and are read from
 * `../shared/datasets/` next to the checkout; their tests skip, saying why, when that folder is absent.
 */
const ROOT = join(import.meta.dirname, '..', '..');

/** A data set shipped in data/ (cdnow, telco-customer-churn): always present in a checkout. */
export function shippedDataset(...parts: string[]): string {
  return join(ROOT, 'data', ...parts);
}

/** COHORTLAB_SHARED_DATASETS points elsewhere (or at a missing folder, to see the skips). */
const SHARED = process.env.COHORTLAB_SHARED_DATASETS ?? join(ROOT, '..', 'shared', 'datasets');
const reported = new Set<string>();

/**
 * A data set that is not shipped, under ../shared/datasets: its path, and `missing` true (after printing
 * once which folder is absent and why the test skips) when it is not there.
 */
export function sharedDataset(folder: string, ...parts: string[]): { path: string; missing: boolean } {
  const dir = join(SHARED, folder);
  const missing = !existsSync(dir);
  if (missing && !reported.has(folder)) {
    reported.add(folder);
    console.warn(`skipping the tests on ${folder}: ${dir} is absent (this data set cannot be shipped in data/; see data/README.md).`);
  }
  return { path: join(dir, ...parts), missing };
}
