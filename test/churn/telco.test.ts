import { describe, expect, it } from 'vitest';
import { readChurnTable, trainChurn } from '../../src/churn/index.js';
import { shippedDataset } from '../shared/datasets.js';

// The real IBM Telco table (data/telco-customer-churn/SOURCE.md): 7,043 customers, 26.54% churn.
// Public results: ROC-AUC about 0.84 for logistic regression / gradient boosting.
const FILE = shippedDataset('telco-customer-churn', 'Telco-Customer-Churn.csv.gz');

describe('Telco per-user table', () => {
  it('trainChurn(logistic) reaches ROC-AUC >= 0.84 on the stratified held-out 20%, with its interval', async () => {
    const split = await readChurnTable(FILE, { label: 'Churn', seed: 42 });
    expect(split.report.blanks).toEqual({ TotalCharges: 11 });
    expect(split.test.userIds.length).toBe(1409);
    const r = await trainChurn({
      train: [split.train], valid: split.valid, test: split.test, features: split.features,
      params: { kind: 'logistic', seed: 42 }, source: 'table', encoding: split.encoding, notes: split.notes, resamples: 500, importanceRepeats: 1,
    });
    const auc = r.report.metrics.model.rocAuc!;
    expect(auc.value).toBeGreaterThanOrEqual(0.84);
    expect(auc.lo).toBeGreaterThan(0.8);
    expect(auc.hi).toBeLessThan(0.9);
    // A per-user table has no rule score: the model is measured against the majority class, on 1,409 users.
    expect(r.report.verdict.model_beats_rule).toBeNull();
    expect(r.report.verdict.kind).toBe('better');
    expect(r.report.verdict.strongest_baseline).toBe('majority');
    expect(r.report.evidence).toEqual({ test_users: 1409, test_churners: r.report.testChurners, test_stayers: 1409 - r.report.testChurners, minimum: 50 });
  }, 120_000);
});
