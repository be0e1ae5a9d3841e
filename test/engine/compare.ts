import { expect } from 'vitest';
import { WAREHOUSE_SCORE_COLUMNS } from '../../src/pipeline/score-sql.js';
import type { ColumnResult } from '../../src/shared/duckdb.js';
import type { LoadedModel } from '../../src/pipeline/load.js';

export interface Agreement {
  /** Max |difference| of the churn probabilities. */
  probability: number;
  /** Max |difference| of the PCA coordinates (0 without clusters). */
  pca: number;
  users: number;
}

/**
 * In-warehouse scores against in-process ones, per user: every rule, segment and cluster column of the
 * SQL result equal exactly (numbers and labels); the probability and PCA coordinates measured.
 * Returns the worst probability difference (the callers assert it), see `agreement` for the rest.
 */
export function compareWithInProcess(sqlResult: ColumnResult, inProcess: Awaited<ReturnType<LoadedModel['score']>>): number {
  return agreement(sqlResult, inProcess).probability;
}

export function agreement(sqlResult: ColumnResult, inProcess: Awaited<ReturnType<LoadedModel['score']>>): Agreement {
  const col = (name: string) => sqlResult.columns[sqlResult.names.indexOf(name)];
  expect(sqlResult.names.slice(0, WAREHOUSE_SCORE_COLUMNS.length)).toEqual([...WAREHOUSE_SCORE_COLUMNS]);
  expect(col('user_id')).toEqual(inProcess.userIds);
  const worst = (a: Float64Array, b: Float64Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  let pca = 0;
  for (const name of sqlResult.names) {
    if (name === 'user_id' || name === 'churn_probability') continue;
    const mine = col(name);
    const theirs = inProcess.columns[name];
    expect(theirs, `in-process scoring has no column ${name}`).toBeDefined();
    if (name === 'pc1' || name === 'pc2') pca = Math.max(pca, worst(mine as Float64Array, theirs as Float64Array));
    else if (Array.isArray(theirs)) expect(mine, name).toEqual(theirs);
    else expect(Array.from(mine as Float64Array), name).toEqual(Array.from(theirs as Float64Array));
  }
  // every segment_<slug> column of in-process scoring is in the statement
  for (const name of Object.keys(inProcess.columns).filter((n) => n.startsWith('segment_'))) expect(sqlResult.names, name).toContain(name);
  return { probability: worst(col('churn_probability') as Float64Array, inProcess.columns.churn_probability as Float64Array), pca, users: inProcess.userIds.length };
}
