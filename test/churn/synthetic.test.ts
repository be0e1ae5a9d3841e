import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trainChurn } from '../../src/evaluate/index.js';
import { computeFeatures, type FeatureTable } from '../../src/features/index.js';
import { featureNames } from '../../src/features/dictionary.js';
import { resolveConfig } from '../../src/ingest/config.js';
import { loadEvents } from '../../src/ingest/index.js';
import { applyRules } from '../../src/rules/index.js';
import { readTable } from '../../src/shared/table-io.js';
import { writeSynthetic } from '../../src/synth/index.js';

// End to end on a small seeded synthetic product (3,000 users, 180 days, seed 7): features at four
// cutoffs 30 days apart (the last = truth.json's as_of), train on the two oldest, validate on the
// third, test on the last; rule churn_risk_score from the rule engine on the same test users.
// Measured when written: model (logistic) ROC-AUC 0.778 vs rule 0.670, difference +0.108 (95% CI
// +0.066 to +0.151); true-probability ceiling 0.953 (gap 0.175, see docs/churn.md). With the exact logistic
// regression and model choice (issue 18, measured 2026-12-06): logistic 0.937, mlp 0.937, gbdt 0.926 (chosen on
// validation log loss), ceiling 0.950, gap 0.023.
const dir = mkdtempSync(join(tmpdir(), 'cohortlab-churn-synth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The backtest both cases train on: features at four cutoffs one horizon apart (the last = truth.json's as_of), the
 * rule churn_risk_score and the true churn probability of the test users. Generated once, on first use (so either case
 * also runs alone).
 */
let backtest: Promise<{ tables: FeatureTable[]; features: string[]; ruleScoreTest: Float64Array; truthTest: Float64Array; asOf: string }> | undefined;
function syntheticBacktest() {
  backtest ??= (async () => {
    await writeSynthetic(dir, { users: 3000, days: 180, seed: 7 }, { parquet: false });
    const truthJson = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as { as_of: string; horizon_days: number };
    const config = await resolveConfig({ config: join(dir, 'cohortlab.config.json') });
    const store = await loadEvents([join(dir, 'events.csv')], config);
    const H = truthJson.horizon_days;
    const back = (k: number) => new Date(Date.parse(`${truthJson.as_of}T00:00:00Z`) - k * H * 86_400_000).toISOString().slice(0, 10);
    const tables: FeatureTable[] = [];
    try {
      for (const d of [back(3), back(2), back(1), truthJson.as_of]) tables.push(await computeFeatures(store, { asOf: d, horizonDays: H }));
    } finally {
      store.close();
    }
    const test = tables[3];
    const truthCsv = await readTable(join(dir, 'truth.csv'));
    const p = new Map((truthCsv.columns.user_id as string[]).map((u, i) => [u, (truthCsv.columns.churn_probability as Float64Array)[i]]));
    return {
      tables,
      features: featureNames(config).filter((f) => f in test.columns),
      ruleScoreTest: applyRules(test, config).columns.churn_risk_score as Float64Array,
      truthTest: Float64Array.from(test.userIds, (u) => p.get(u) ?? NaN),
      asOf: truthJson.as_of,
    };
  })();
  return backtest;
}

async function trainOnBacktest(kind: 'logistic' | 'auto') {
  const b = await syntheticBacktest();
  const r = await trainChurn({
    train: b.tables.slice(0, 2), valid: b.tables[2], test: b.tables[3], features: b.features,
    params: { kind, seed: 7 },
    ruleScoreTest: b.ruleScoreTest,
    truthTest: b.truthTest,
    resamples: 300, importanceRepeats: 1,
  });
  return { r, asOf: b.asOf };
}

/** The model's ROC-AUC interval over the rule's lies above 0 (verdict better) and the true probability ranks better still. */
function expectBeatsRuleBelowCeiling(r: Awaited<ReturnType<typeof trainOnBacktest>>['r']): void {
    const diff = r.report.differences.find((d) => d.b === 'rule' && d.metric === 'rocAuc')!;
    expect(diff.lo).toBeGreaterThan(0);
    expect(r.report.verdict.model_beats_rule).toBe(true);
    expect(r.report.verdict.kind).toBe('better');
    expect(r.report.ceiling!.truthAuc).toBeGreaterThan(r.report.metrics.model.rocAuc!.value);
}

describe('trainChurn on the synthetic product', () => {
  it('trainChurn(logistic) beats the rule churn-risk score on the same test users (floor)', async () => {
    const { r, asOf } = await trainOnBacktest('logistic');
    expect(r.report.context.data!.excludedAlreadyChurned![asOf]).toBeGreaterThan(0);
    expect(r.report.metrics.model.rocAuc!.value).toBeGreaterThan(0.74);
    expectBeatsRuleBelowCeiling(r);
  }, 180_000);

  it('trainChurn(auto) (the default): every kind on the same test users, and the gap to the true-probability ceiling', async () => {
    const { r } = await trainOnBacktest('auto');
    const fmt = (iv: { value: number; lo: number; hi: number } | null) => (iv ? `${iv.value.toFixed(3)} [${iv.lo.toFixed(3)}, ${iv.hi.toFixed(3)}]` : 'n/a');
    for (const c of r.candidates) console.log(`synthetic 3,000 users: ${c.kind} validation log loss ${c.choiceLogLoss.toFixed(4)}, test ROC-AUC ${fmt(c.test.rocAuc)}${c.chosen ? ' (chosen)' : ''}`);
    console.log(`synthetic 3,000 users: model ${fmt(r.report.metrics.model.rocAuc)}, rule ${fmt(r.report.metrics.rule.rocAuc)}, ceiling ${r.report.ceiling!.truthAuc.toFixed(3)}, gap ${r.report.ceiling!.modelGap.toFixed(3)}`);
    const best = [...r.candidates].sort((x, y) => x.choiceLogLoss - y.choiceLogLoss)[0];
    expect(r.model.kind).toBe(best.kind);
    expect(r.report.metrics.model.rocAuc!.value).toBeGreaterThan(0.74);
    // issue 18: close at least half of the 0.175 gap to the ceiling the tfjs logistic model left (measured: gbdt chosen, gap 0.023)
    expect(r.report.ceiling!.modelGap).toBeLessThan(0.175 / 2);
    expectBeatsRuleBelowCeiling(r);
  }, 180_000);
});
