import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyTableEncoding, columnAuc, fitTableEncoding, inspectTable, LEAK_AUC, parseLabel, readLabel, readPerUserTable, splitChurnTable, stratifiedSplit } from '../../src/churn/index.js';
import { rocAuc } from '../../src/evaluate/index.js';
import { createRng } from '../../src/shared/rng.js';
import type { ColumnTable } from '../../src/shared/table-io.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
// 60 real rows of the bank churn table (test/fixtures/README.md); the leak one adds AccountStatus (= the label) and 3 duplicates.
const SAMPLE = join(FIXTURES, 'bank-churn-sample.csv');
const LEAK = join(FIXTURES, 'bank-churn-leak.csv');

function table(columns: ColumnTable['columns']): ColumnTable {
  const names = Object.keys(columns);
  return { rows: columns[names[0]].length, names, columns };
}

// A 16-row Telco-like table: text id, text numbers with a blank, a 3-level category, a Yes/No label.
const t = table({
  customerID: Array.from({ length: 16 }, (_, i) => `c-${i + 1}`),
  tenure: Float64Array.from([1, 10, 0, 30, 2, 5, 7, 12, 3, 40, 8, 9, 22, 4, 6, 11]),
  TotalCharges: ['29.5', '300', ' ', '2000', '60', '150', '70', '80', '90', '100', '110', '120', '130', '140', '160', '170'],
  Contract: ['Month', 'Year', 'Month', 'Two', 'Month', 'Year', 'Month', 'Year', 'Month', 'Year', 'Month', 'Year', 'Month', 'Year', 'Month', 'Month'],
  Churn: ['Yes', 'No', 'yes', 'No', 'TRUE', '0', 'Yes', 'No', 'No', 'No', 'Yes', 'No', 'No', 'No', 'Yes', 'No'],
});

describe('readLabel', () => {
  it('reads Yes/No/true/0 by itself and names a stray value with its row', () => {
    expect(Array.from(parseLabel(t, 'Churn')).slice(0, 6)).toEqual([1, 0, 1, 0, 1, 0]);
    const bad = { ...t, columns: { ...t.columns, Churn: ['Yes', 'maybe', ...(t.columns.Churn as string[]).slice(2)] } };
    expect(() => parseLabel(bad, 'Churn', 'x.csv')).toThrow(/x.csv row 3: label "Churn" is "maybe"; .*--positive/);
  });
  it('asks for --positive with the values seen when they are not yes/no words, and reads any label with it', () => {
    const cc = table({ Attrition_Flag: ['Existing Customer', 'Attrited Customer', 'Existing Customer', 'Existing Customer'] });
    expect(() => readLabel(cc, 'Attrition_Flag', { path: 'bank.csv' })).toThrow(
      /label "Attrition_Flag" of bank.csv has values "Existing Customer" \(3 rows\), "Attrited Customer" \(1 rows\), which are not yes\/no.*--positive "Attrited Customer"/,
    );
    expect(Array.from(readLabel(cc, 'Attrition_Flag', { positive: 'Attrited Customer' }).y)).toEqual([0, 1, 0, 0]);
    // Case does not matter when no value matches exactly; the value seen is kept.
    expect(readLabel(cc, 'Attrition_Flag', { positive: 'attrited customer' }).positive).toBe('Attrited Customer');
    expect(() => readLabel(cc, 'Attrition_Flag', { positive: 'Closed', path: 'bank.csv' })).toThrow(/--positive "Closed" is not a value of label "Attrition_Flag" in bank.csv; its values are "Existing Customer" \(3 rows\), "Attrited Customer" \(1 rows\)/);
    // Several stayed values: everything but the positive one.
    const ou = table({ final_result: ['Pass', 'Withdrawn', 'Fail', 'Distinction', 'Withdrawn'] });
    const r = readLabel(ou, 'final_result', { positive: 'Withdrawn' });
    expect(Array.from(r.y)).toEqual([0, 1, 0, 0, 1]);
    expect(r.note).toMatch(/churn = "Withdrawn" \(--positive\): 2 of 5 rows \(40.0%\); stayed = "Distinction", "Fail", "Pass"/);
  });
  it('refuses a label with one class or a blank', () => {
    expect(() => readLabel(table({ c: ['No', 'No', 'no'] }), 'c', { path: 'a.csv' })).toThrow(/label "c" of a.csv has one class only \(no churner/);
    expect(() => readLabel(table({ c: ['No', ' ', 'Yes'] }), 'c', { path: 'a.csv' })).toThrow(/a.csv row 3: label "c" is blank/);
    expect(() => readLabel(table({ c: ['a', 'b'] }), 'c', { positive: 'a' })).not.toThrow();
  });
});

describe('fitTableEncoding', () => {
  it('imputes blank numbers with the training median, flags them, and caps levels', () => {
    const trainRows = Array.from({ length: 16 }, (_, i) => i);
    const { encoding, report } = fitTableEncoding(t, { label: 'Churn', trainRows, maxLevels: 2 });
    expect(encoding.idColumn).toBe('customerID');
    expect(report.blanks).toEqual({ TotalCharges: 1 });
    // Median of the 15 non-blank training values.
    expect(encoding.columns.find((c) => c.source === 'TotalCharges')).toEqual({ source: 'TotalCharges', type: 'numeric', feature: 'TotalCharges', median: 120, blankFeature: 'TotalCharges__blank' });
    // Two most frequent levels kept (Month 8, Year 7); "Two" goes to __other.
    expect(encoding.features).toEqual(['tenure', 'TotalCharges', 'TotalCharges__blank', 'Contract=Month', 'Contract=Year', 'Contract=__other']);
    expect(report.cappedColumns).toEqual(['Contract']);
    const enc = applyTableEncoding(encoding, t);
    expect(Array.from(enc.columns.TotalCharges).slice(0, 6)).toEqual([29.5, 300, 120, 2000, 60, 150]);
    expect(Array.from(enc.columns.TotalCharges__blank).slice(0, 6)).toEqual([0, 0, 1, 0, 0, 0]);
    expect(Array.from(enc.columns['Contract=__other']).slice(0, 6)).toEqual([0, 0, 0, 1, 0, 0]);
    expect(enc.userIds[3]).toBe('c-4');
    // 5 churners: too few for the leak check, which says so.
    expect(report.leakNote).toMatch(/not run \(6 churners and 10 stayers.*needs 10 of each/);
  });

  it('gives every column of the real bank sample a role: CustomerId the id, RowNumber and Surname dropped as identifiers', async () => {
    const bank = await readPerUserTable(SAMPLE, ['Exited']);
    const trainRows = Array.from({ length: bank.rows }, (_, i) => i);
    const { encoding, report } = fitTableEncoding(bank, { label: 'Exited', trainRows, path: 'bank.csv' });
    const roles = Object.fromEntries(report.columns.map((c) => [c.name, c.role]));
    expect(roles).toEqual({
      RowNumber: 'dropped', CustomerId: 'id', Surname: 'dropped', CreditScore: 'numeric', Geography: 'one-hot', Gender: 'one-hot', Age: 'numeric', Tenure: 'numeric',
      Balance: 'numeric', NumOfProducts: 'numeric', HasCrCard: 'numeric', IsActiveMember: 'numeric', EstimatedSalary: 'numeric', Exited: 'label',
    });
    const reason = (n: string) => report.columns.find((c) => c.name === n)!.reason;
    expect(reason('RowNumber')).toMatch(/^identifier: row number \(distinct integers 1\.\.140 increasing in file order\); not a feature \(the id is CustomerId\)/);
    expect(reason('CustomerId')).toMatch(/^detected: named like an id, distinct integers on all 60 rows; scores are keyed by it/);
    expect(reason('Surname')).toMatch(/^identifier: a distinct text value on every row/);
    expect(reason('Exited')).toBe('churn = "1": 30 of 60 rows (50.0%); stayed = "0"');
    expect(encoding.features).toEqual([
      'CreditScore', 'Geography=France', 'Geography=Germany', 'Geography=Spain', 'Geography=__other', 'Gender=Female', 'Gender=Male', 'Gender=__other',
      'Age', 'Tenure', 'Balance', 'NumOfProducts', 'HasCrCard', 'IsActiveMember', 'EstimatedSalary',
    ]);
    // The training AUC of Age is the plain ROC-AUC of the column against the label.
    const y = readLabel(bank, 'Exited').y;
    expect(report.columns.find((c) => c.name === 'Age')!.trainAuc).toBeCloseTo(rocAuc(bank.columns.Age as Float64Array, y), 4);
    expect(report.warnings).toEqual([]);
    expect(applyTableEncoding(encoding, bank).userIds.slice(0, 2)).toEqual(['15634602', '15647311']);
  });
});

describe('inspectTable: ids, identifiers, --drop', () => {
  const n = 30;
  const y = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 'Yes' : 'No'));
  it('--id keys by the given column and drops the id-like one it passed over', async () => {
    const bank = await readPerUserTable(SAMPLE, ['Exited']);
    const i = inspectTable(bank, { label: 'Exited', idColumn: 'RowNumber' });
    expect(i.idColumn).toBe('RowNumber');
    expect(i.decided.get('CustomerId')).toEqual({ role: 'dropped', reason: 'identifier: named like an id, a distinct integer on every row; not a feature (the id is RowNumber)' });
    expect(() => inspectTable(bank, { label: 'Exited', idColumn: 'Gender', path: 'b.csv' })).toThrow(/--id "Gender" repeats "(Female|Male)" on b.csv rows \d+ and \d+; an id must name one row/);
    expect(() => inspectTable(bank, { label: 'Exited', idColumn: 'Cust', path: 'b.csv' })).toThrow(/b.csv has no id column "Cust" \(--id\); it has: RowNumber, CustomerId/);
  });
  it('detects a text id, a row number when nothing else, or none (rows keyed row1.. with a warning)', () => {
    const plan = Array.from({ length: n }, (_, i) => ['a', 'b', 'c'][i % 3]);
    const email = Array.from({ length: n }, (_, i) => `u${i}@x.org`);
    expect(inspectTable(table({ email, plan, churned: y }), { label: 'churned' }).idColumn).toBe('email');
    const idx = Float64Array.from({ length: n }, (_, i) => i);
    const r = inspectTable(table({ 'Unnamed: 0': idx, plan, churned: y }), { label: 'churned' });
    expect(r.idColumn).toBe('Unnamed: 0');
    expect(r.idNote).toMatch(/detected: a row number, the only column with a distinct value on every row/);
    const none = inspectTable(table({ plan, churned: y }), { label: 'churned', path: 'p.csv' });
    expect(none.idColumn).toBeNull();
    // 30 rows over 3 plans x 2 labels: duplicates too.
    expect(none.warnings.map((w) => w.code)).toEqual(['TABLE_NO_ID', 'TABLE_DUPLICATE_ROWS']);
    const enc = fitTableEncoding(table({ plan, churned: y }), { label: 'churned', trainRows: Array.from({ length: n }, (_, i) => i) }).encoding;
    expect(applyTableEncoding(enc, table({ plan, churned: y })).userIds.slice(0, 2)).toEqual(['row1', 'row2']);
  });
  it('drops near-unique text (more than 20 levels, over 20% unique) with a warning, keeps a 10-level category, drops constants', () => {
    const m = 100;
    const yy = Array.from({ length: m }, (_, i) => (i % 4 === 0 ? '1' : '0'));
    const surname = Array.from({ length: m }, (_, i) => `s${i % 30}`);
    const city = Array.from({ length: m }, (_, i) => `c${i % 10}`);
    const country = Array.from({ length: m }, () => 'UK');
    const r = inspectTable(table({ surname, city, country, y: yy }), { label: 'y', path: 't.csv' });
    expect(r.decided.get('surname')?.reason).toMatch(/^identifier-like text: 30 distinct values over 100 rows \(30.0% unique/);
    expect(r.warnings.find((w) => w.code === 'TABLE_IDENTIFIER_LIKE_DROPPED')?.message).toMatch(/column surname of t.csv dropped as identifier-like text/);
    expect(r.decided.get('country')).toEqual({ role: 'dropped', reason: 'constant: every row is "UK"' });
    expect(r.candidates).toEqual(['city']);
  });
  it('--drop leaves columns out, and names unknown ones with the columns there are', async () => {
    const bank = await readPerUserTable(SAMPLE, ['Exited']);
    const i = inspectTable(bank, { label: 'Exited', drop: ['Gender', ' Tenure'] });
    expect(i.decided.get('Gender')).toEqual({ role: 'dropped', reason: 'dropped by --drop' });
    expect(i.candidates).not.toContain('Tenure');
    expect(() => inspectTable(bank, { label: 'Exited', drop: ['Gender', 'Salary', 'Age2'], path: 'b.csv' })).toThrow(
      /--drop names columns "Salary", "Age2" that b.csv lacks; its columns are: RowNumber, CustomerId, Surname, CreditScore/,
    );
    expect(() => inspectTable(bank, { label: 'Exited', drop: ['Exited'] })).toThrow(/--drop names the label "Exited"/);
  });
});

describe('leak check', () => {
  it('drops a column that is the label in disguise (bank fixture AccountStatus), with a warning naming it and its AUC', async () => {
    const leak = await readPerUserTable(LEAK, ['Exited']);
    const s = splitChurnTable(leak, { label: 'Exited', seed: 7 }, 'leak.csv');
    const col = s.report.columns.find((c) => c.name === 'AccountStatus')!;
    expect(col.role).toBe('dropped');
    expect(col.trainAuc).toBe(1);
    expect(col.reason).toMatch(/^leak: ROC-AUC 1.000 > 0.98 on the training rows/);
    expect(s.features.some((f) => f.startsWith('AccountStatus'))).toBe(false);
    const w = s.warnings.find((x) => x.code === 'TABLE_LEAKY_COLUMN_DROPPED')!;
    expect(w.message).toMatch(/column AccountStatus of leak.csv alone separates the label on the training rows \(ROC-AUC of its levels ordered by training churn rate 1.000/);
    // --keep-leaky keeps it, still with a warning.
    const kept = splitChurnTable(leak, { label: 'Exited', seed: 7, keepLeaky: true }, 'leak.csv');
    expect(kept.features).toContain('AccountStatus=closed');
    expect(kept.warnings.map((x) => x.code)).toContain('TABLE_LEAKY_COLUMN_KEPT');
    expect(kept.warnings.map((x) => x.code)).not.toContain('TABLE_LEAKY_COLUMN_DROPPED');
  });
  it('catches numeric leaks in either direction and through the blank flag; leaves ordinary columns', () => {
    const m = 80;
    const rng = createRng(3);
    const churned = Array.from({ length: m }, (_, i) => (i % 2 === 0 ? 'yes' : 'no'));
    const cols = {
      daysToClose: Float64Array.from({ length: m }, (_, i) => (i % 2 === 0 ? 1 + rng.next() * 30 : 40 + rng.next() * 30)),
      closedOn: Array.from({ length: m }, (_, i) => (i % 2 === 0 ? String(20 + (i % 7)) : '')),
      noise: Float64Array.from({ length: m }, () => rng.next()),
      churned,
    };
    const trainRows = Array.from({ length: m }, (_, i) => i);
    const { report } = fitTableEncoding(table(cols), { label: 'churned', trainRows, path: 'n.csv' });
    const by = Object.fromEntries(report.columns.map((c) => [c.name, c]));
    expect(by.daysToClose.role).toBe('dropped');
    expect(by.daysToClose.reason).toMatch(/^leak: ROC-AUC 0.000 < 0.02 on the training rows \(its values\)/);
    expect(by.closedOn.role).toBe('dropped');
    expect(by.closedOn.reason).toMatch(/\(its blank flag\)/);
    expect(by.noise.role).toBe('numeric');
    expect(Math.abs(by.noise.trainAuc! - 0.5)).toBeLessThan(1 - LEAK_AUC + 0.3);
  });
  it('columnAuc equals the evaluation ROC-AUC, ties included', () => {
    const rng = createRng(11);
    const s = Float64Array.from({ length: 300 }, () => Math.floor(rng.next() * 7));
    const y = Uint8Array.from(s, (v) => (rng.next() < 0.2 + v / 10 ? 1 : 0));
    expect(columnAuc(s, y)).toBeCloseTo(rocAuc(s, y), 12);
    expect(columnAuc([1, 2, 3], [0, 0, 0])).toBeNaN();
  });
});

describe('duplicates and the split', () => {
  it('counts exact duplicate rows (all columns but the identifiers, label included)', async () => {
    const leak = await readPerUserTable(LEAK, ['Exited']);
    const i = inspectTable(leak, { label: 'Exited', path: 'leak.csv' });
    expect(i.duplicates.rows).toBe(3);
    expect(i.duplicates.groups).toBe(3);
    expect(i.duplicates.examples).toEqual([['15647311', '99000001'], ['15737888', '99000002'], ['15656148', '99000003']]);
    expect(i.duplicates.comparedColumns).not.toContain('RowNumber');
    expect(i.warnings.find((w) => w.code === 'TABLE_DUPLICATE_ROWS')?.message).toMatch(/^leak.csv: 3 row\(s\) repeat another row exactly \(3 group\(s\); every column but CustomerId, RowNumber equal, label included/);
    // A different label is not a duplicate: row 62 (the copy of row 3) gets the other label.
    const ex = (leak.columns.Exited as string[]).slice();
    ex[60] = ex[60] === '1' ? '0' : '1';
    expect(inspectTable({ ...leak, columns: { ...leak.columns, Exited: ex } }, { label: 'Exited', keepLeaky: true }).duplicates.rows).toBe(2);
  });
  it('never splits a duplicate group across train, validation and test; without groups it is the plain split', () => {
    const n = 200;
    // Groups of 1 to 4 rows; a group shares its label.
    const groups = new Int32Array(n);
    const y = new Uint8Array(n);
    let g = 0;
    for (let i = 0; i < n; g++) {
      const size = 1 + (g % 4);
      for (let k = 0; k < size && i < n; k++, i++) {
        groups[i] = g;
        y[i] = g % 3 === 0 ? 1 : 0;
      }
    }
    for (let seed = 0; seed < 40; seed++) {
      const s = stratifiedSplit(y, { seed, groups });
      const side = new Map<number, string>();
      for (const [name, rows] of Object.entries(s)) {
        for (const r of rows) {
          const prev = side.get(groups[r]);
          expect(prev === undefined || prev === name, `seed ${seed}: group ${groups[r]} in ${prev} and ${name}`).toBe(true);
          side.set(groups[r], name);
        }
      }
      expect(s.train.length + s.valid.length + s.test.length).toBe(n);
      expect(Math.abs(s.test.length - 40)).toBeLessThanOrEqual(6);
    }
    // Breaking the rule is visible: the same rows split without groups straddle.
    const plain = stratifiedSplit(y, { seed: 1 });
    const testGroups = new Set(Array.from(plain.test, (r) => groups[r]));
    expect(Array.from(plain.train).some((r) => testGroups.has(groups[r]))).toBe(true);
    // Singleton groups: the same split as without groups.
    expect(stratifiedSplit(y, { seed: 5, groups: Int32Array.from({ length: n }, (_, i) => i) })).toEqual(stratifiedSplit(y, { seed: 5 }));
  });
  it('keeps the class balance and is seeded', () => {
    const y = Uint8Array.from({ length: 100 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const a = stratifiedSplit(y, { seed: 3 });
    expect(a).toEqual(stratifiedSplit(y, { seed: 3 }));
    expect(a.test.length).toBe(20);
    expect(Array.from(a.test).filter((i) => y[i] === 1).length).toBe(5);
    expect(new Set([...a.train, ...a.valid, ...a.test]).size).toBe(100);
    expect(stratifiedSplit(y, { seed: 4 }).test).not.toEqual(a.test);
  });
});

describe('readChurnTable', () => {
  it('keeps a detected id as written (leading zeros) and refuses a table with no feature left', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { readChurnTable } = await import('../../src/churn/index.js');
    const dir = await mkdtemp(join(tmpdir(), 'cl-enc-'));
    const rows = Array.from({ length: 60 }, (_, i) => ({ cid: String(i + 1).padStart(4, '0'), status: i % 3 === 0 ? 'closed' : 'open', x: ((i * 37) % 101) / 100, churn: i % 3 === 0 ? 'yes' : 'no' }));
    const withX = join(dir, 'x.csv');
    await writeFile(withX, `cid,status,x,churn\n${rows.map((r) => `${r.cid},${r.status},${r.x},${r.churn}`).join('\n')}\n`);
    const s = await readChurnTable(withX, { label: 'churn', seed: 1 });
    expect(s.encoding.idColumn).toBe('cid');
    expect(s.test.userIds.every((id) => /^0\d{3}$/.test(id))).toBe(true);
    expect(s.features).toEqual(['x']);
    const without = join(dir, 'no-x.csv');
    await writeFile(without, `cid,status,churn\n${rows.map((r) => `${r.cid},${r.status},${r.churn}`).join('\n')}\n`);
    await expect(readChurnTable(without, { label: 'churn', seed: 1 })).rejects.toThrow(/no-x.csv has no feature column left for a model: dropped status \(leak\); .*or --keep-leaky\./);
  });
});
