import { expect } from 'vitest';
import { WAREHOUSE_SCORE_COLUMNS } from '../../src/engine/score-sql.js';
import type { LoadedRegistryModel } from '../../src/registry/index.js';
import type { ColumnResult } from '../../src/shared/duckdb.js';

/** Max |difference| of the probabilities; every rule column compared exactly. */
export function compareWithInProcess(sqlResult: ColumnResult, inProcess: Awaited<ReturnType<LoadedRegistryModel['score']>>): number {
  const col = (name: string) => sqlResult.columns[sqlResult.names.indexOf(name)];
  expect(sqlResult.names).toEqual([...WAREHOUSE_SCORE_COLUMNS]);
  expect(col('user_id')).toEqual(inProcess.userIds);
  for (const c of ['engagement_score', 'activation_score', 'expansion_readiness_score', 'churn_risk_score']) {
    expect(Array.from(col(c) as Float64Array), c).toEqual(Array.from(inProcess.columns[c] as Float64Array));
  }
  for (const c of ['engagement_tier', 'activation_tier', 'expansion_readiness_tier', 'churn_risk_tier']) expect(col(c), c).toEqual(inProcess.columns[c]);
  const p = col('churn_probability') as Float64Array;
  const q = inProcess.columns.churn_probability as Float64Array;
  let worst = 0;
  for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i] - q[i]));
  return worst;
}

