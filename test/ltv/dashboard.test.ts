import { describe, expect, it } from 'vitest';
import { formatLtvDashboard, ltvByGroup, type LtvDashboard } from '../../src/ltv/index.js';

/** playbook §9.1 "LTV" per group: sums and means by hand on five users. */
describe('ltvByGroup', () => {
  const labels = ['Power', 'Casual', 'Power', 'Dormant', 'Casual'];
  const expectedPurchases = [2, 0.5, 1, 0.25, 1.5];
  const clv = [100, 10, 60, 5, 30];
  const customer = [1, 1, 1, 0, 1];

  it('sums and means expected purchases and CLV per group, in the given order then alphabetically', () => {
    const t = ltvByGroup('behavioral_segment', labels, { expectedPurchases, clv, customer }, ['Power']);
    expect(t).toEqual({
      by: 'behavioral_segment',
      rows: [
        { group: 'Power', users: 2, customers: 2, expectedPurchasesSum: 3, expectedPurchasesMean: 1.5, clvSum: 160, clvMean: 80 },
        { group: 'Casual', users: 2, customers: 2, expectedPurchasesSum: 2, expectedPurchasesMean: 1, clvSum: 40, clvMean: 20 },
        { group: 'Dormant', users: 1, customers: 0, expectedPurchasesSum: 0.25, expectedPurchasesMean: 0.25, clvSum: 5, clvMean: 5 },
      ],
    });
  });

  it('without a spend model the CLV cells are null and the printed table says why', () => {
    const t = ltvByGroup('lifecycle_stage', labels, { expectedPurchases, clv: null, customer });
    expect(t.rows.map((r) => [r.group, r.clvSum, r.clvMean])).toEqual([['Casual', null, null], ['Dormant', null, null], ['Power', null, null]]);
    const d: LtvDashboard = { asOf: '2011-09-10', horizonDays: 90, clvMonths: 12, monthlyDiscount: 0.01, note: 'no value column in the config (columns.value): no spend model, so no CLV; expected purchases only', tables: [t] };
    const text = formatLtvDashboard(d);
    expect(text).toMatch(/^Lifetime value \(playbook §9.1 "LTV"\) as of 2011-09-10: BG\/NBD expected purchases over 90 days\n\(no value column/);
    expect(text).not.toMatch(/CLV sum/);
    expect(text).toMatch(/Casual\s+2\s+2\s+2\.0\s+1\.000/);
  });

  it('refuses scores of another length', () => {
    expect(() => ltvByGroup('cluster_label', labels, { expectedPurchases: [1, 2], clv: null, customer })).toThrow(/5 labels but 2 expected purchases/);
  });
});
