import { describe, expect, it } from 'vitest';
import { applyTableEncoding, fitTableEncoding, parseLabel, stratifiedSplit } from '../../src/churn/encode.js';
import type { ColumnTable } from '../../src/shared/table-io.js';

// A 6-row Telco-like table: text id, text numbers with a blank, a 3-level category, a Yes/No label.
const t: ColumnTable = {
  rows: 6,
  names: ['customerID', 'tenure', 'TotalCharges', 'Contract', 'Churn'],
  columns: {
    customerID: ['a-1', 'b-2', 'c-3', 'd-4', 'e-5', 'f-6'],
    tenure: Float64Array.from([1, 10, 0, 30, 2, 5]),
    TotalCharges: ['29.5', '300', ' ', '2000', '60', '150'],
    Contract: ['Month', 'Year', 'Month', 'Two', 'Month', 'Year'],
    Churn: ['Yes', 'No', 'yes', 'No', 'TRUE', '0'],
  },
};

describe('table encoding', () => {
  it('parseLabel reads Yes/No/true/0 and names a bad row', () => {
    expect(Array.from(parseLabel(t, 'Churn'))).toEqual([1, 0, 1, 0, 1, 0]);
    const bad = { ...t, columns: { ...t.columns, Churn: ['Yes', 'maybe', 'No', 'No', 'No', 'No'] } };
    expect(() => parseLabel(bad, 'Churn', 'x.csv')).toThrow(/x.csv row 3: label "Churn" is "maybe"/);
  });
  it('fitTableEncoding imputes blank numbers with the training median and flags them', () => {
    const { encoding, report } = fitTableEncoding(t, { label: 'Churn', trainRows: [0, 1, 2, 3, 4, 5], maxLevels: 2 });
    expect(encoding.idColumn).toBe('customerID');
    expect(report.blanks).toEqual({ TotalCharges: 1 });
    expect(encoding.columns.find((c) => c.source === 'TotalCharges')).toEqual({ source: 'TotalCharges', type: 'numeric', feature: 'TotalCharges', median: 150, blankFeature: 'TotalCharges__blank' });
    // Two most frequent levels kept (Month 3, Year 2); "Two" goes to __other.
    expect(encoding.features).toEqual(['tenure', 'TotalCharges', 'TotalCharges__blank', 'Contract=Month', 'Contract=Year', 'Contract=__other']);
    const enc = applyTableEncoding(encoding, t);
    expect(Array.from(enc.columns.TotalCharges)).toEqual([29.5, 300, 150, 2000, 60, 150]);
    expect(Array.from(enc.columns.TotalCharges__blank)).toEqual([0, 0, 1, 0, 0, 0]);
    expect(Array.from(enc.columns['Contract=__other'])).toEqual([0, 0, 0, 1, 0, 0]);
    expect(enc.userIds[3]).toBe('d-4');
  });
  it('stratifiedSplit keeps the class balance and is seeded', () => {
    const y = Uint8Array.from({ length: 100 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const a = stratifiedSplit(y, { seed: 3 });
    const b = stratifiedSplit(y, { seed: 3 });
    expect(a).toEqual(b);
    expect(a.test.length).toBe(20);
    expect(Array.from(a.test).filter((i) => y[i] === 1).length).toBe(5);
    expect(new Set([...a.train, ...a.valid, ...a.test]).size).toBe(100);
    expect(stratifiedSplit(y, { seed: 4 }).test).not.toEqual(a.test);
  });
});
