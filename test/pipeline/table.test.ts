import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/index.js';
import { rocAuc } from '../../src/evaluate/index.js';
import { collectingLogger } from '../../src/shared/log.js';
import { readTable } from '../../src/shared/table-io.js';
import { runCli } from '../cli/run.js';
import { sharedDataset, shippedDataset } from '../shared/datasets.js';

const TELCO = shippedDataset('telco-customer-churn', 'Telco-Customer-Churn.csv.gz');
const bank = sharedDataset('bank-churn-modelling', 'Churn_Modelling.csv.gz');
const BANK = bank.path;
// 60 real bank rows + AccountStatus (the label in disguise) + 3 exact duplicates (test/fixtures/README.md).
const LEAK = join(import.meta.dirname, '..', 'fixtures', 'bank-churn-leak.csv');

type Report = { table: { id: string | null; positive: string | null; columns: { name: string; role: string; reason: string; trainAuc?: number }[]; duplicates: { rows: number; groups: number } }; warnings: { code: string; message: string }[] };
const readReport = async (models: string, ref: string) => JSON.parse(await readFile(join(models, ...ref.split('@'), 'report.json'), 'utf8')) as Report;

describe('train --table checks (bank fixture)', () => {
  it('drops the leaky column and the identifiers, keys scores by the id, and puts every warning in report.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cl-table-'));
    const models = join(dir, 'models');
    const out: string[] = [];
    const logger = collectingLogger();
    const ctx = { logger, out: (t: string) => out.push(t) };
    expect(await main(['train', '--table', LEAK, '--label', 'Exited', '--seed', '7', '--name', 'fx', '--models-dir', models, '--resamples', '50'], ctx)).toBe(0);
    expect(out.pop()).toBe('fx@1');
    const r = await readReport(models, 'fx@1');
    expect(r.table.id).toBe('CustomerId');
    expect(r.table.columns.map((c) => `${c.name}:${c.role}`)).toEqual([
      'RowNumber:dropped', 'CustomerId:id', 'Surname:dropped', 'CreditScore:numeric', 'Geography:one-hot', 'Gender:one-hot', 'Age:numeric', 'Tenure:numeric',
      'Balance:numeric', 'NumOfProducts:numeric', 'HasCrCard:numeric', 'IsActiveMember:numeric', 'EstimatedSalary:numeric', 'Exited:label', 'AccountStatus:dropped',
    ]);
    expect(r.table.duplicates).toMatchObject({ rows: 3, groups: 3 });
    // The table checks' warnings first, then the evaluation's (12 test rows: too few for a verdict).
    expect(r.warnings.map((w) => w.code)).toEqual(['TABLE_IDENTIFIER_LIKE_DROPPED', 'TABLE_DUPLICATE_ROWS', 'TABLE_LEAKY_COLUMN_DROPPED', 'INSUFFICIENT_EVIDENCE']);
    expect(r.warnings[2].message).toMatch(/column AccountStatus of .*bank-churn-leak.csv alone separates the label on the training rows \(ROC-AUC of its levels ordered by training churn rate 1.000/);
    const manifest = JSON.parse(await readFile(join(models, 'fx', '1', 'manifest.json'), 'utf8')) as { features: string[]; params: Record<string, unknown> };
    expect(manifest.features.filter((f) => /AccountStatus|Surname|RowNumber|CustomerId/.test(f))).toEqual([]);
    expect(manifest.params).toMatchObject({ id: 'CustomerId', positive: null, keepLeaky: false });
    // The roles are printed, one line per column.
    expect(logger.lines.find((l) => l.trim().startsWith('AccountStatus'))).toMatch(/dropped\s+train AUC 1.00\s+leak: ROC-AUC 1.000 > 0.98/);

    const scores = join(dir, 'scores.csv');
    expect(await main(['score', '--model', 'fx', '--models-dir', models, '--table', LEAK, '--out', scores], ctx)).toBe(0);
    const s = await readTable(scores);
    const raw = await readTable(LEAK, { textColumns: ['CustomerId'] });
    expect(s.columns.user_id).toEqual(raw.columns.CustomerId);
    // New customers: no label yet (blank), one id repeated: scored, with a warning about the repeat.
    const lines = (await readFile(LEAK, 'utf8')).trimEnd().split('\n');
    const fresh = join(dir, 'fresh.csv');
    const unlabelled = lines.map((l, i) => (i === 0 ? l : l.split(',').map((v, j) => (j === 13 ? '' : v)).join(',')));
    await writeFile(fresh, `${[...unlabelled, unlabelled[1]].join('\n')}\n`);
    const freshLogger = collectingLogger();
    expect(await main(['score', '--model', 'fx', '--models-dir', models, '--table', fresh, '--out', scores], { logger: freshLogger, out: () => {} })).toBe(0);
    expect((await readTable(scores)).rows).toBe(64);
    expect(freshLogger.lines.find((l) => l.startsWith('warning:'))).toMatch(/fresh.csv: the id column CustomerId repeats 1 value\(s\) \(e\.g\. "15634602"\)/);
    // A table without the id column cannot be keyed: exit 2 naming it.
    const noId = join(dir, 'no-id.csv');
    const text = (await readFile(LEAK, 'utf8')).split('\n').map((l) => l.split(',').filter((_, i) => i !== 1).join(',')).join('\n');
    await writeFile(noId, text);
    const e = await runCli(['score', '--model', 'fx', '--models-dir', models, '--table', noId, '--out', scores]);
    expect(e.code).toBe(2);
    expect(e.err).toMatch(/no-id.csv lacks the id column "CustomerId" that the model keys its scores by/);
  }, 60_000);

  it('--keep-leaky keeps the column with a warning; --id, --positive and --drop are honoured', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cl-table-'));
    const models = join(dir, 'models');
    const ctx = { logger: collectingLogger(), out: () => {} };
    expect(await main(['train', '--table', LEAK, '--label', 'AccountStatus', '--positive', 'closed', '--id', 'RowNumber', '--drop', 'Exited,Surname', '--keep-leaky', '--seed', '7', '--name', 'fx', '--models-dir', models, '--resamples', '50'], ctx)).toBe(0);
    const r = await readReport(models, 'fx@1');
    expect(r.table.id).toBe('RowNumber');
    expect(r.table.positive).toBe('closed');
    const role = (n: string) => r.table.columns.find((c) => c.name === n)!;
    expect(role('CustomerId')).toMatchObject({ role: 'dropped', reason: expect.stringMatching(/^identifier: named like an id/) });
    expect(role('Surname')).toMatchObject({ role: 'dropped', reason: 'dropped by --drop' });
    expect(role('AccountStatus')).toMatchObject({ role: 'label', reason: expect.stringMatching(/^churn = "closed" \(--positive\): 31 of 63 rows/) });
    // Surname dropped by the user: no identifier warning; nothing leaky left but --keep-leaky was asked.
    expect(r.warnings.map((w) => w.code)).toEqual(['TABLE_DUPLICATE_ROWS', 'INSUFFICIENT_EVIDENCE']);
    const k = join(dir, 'models2');
    expect(await main(['train', '--table', LEAK, '--label', 'Exited', '--keep-leaky', '--seed', '7', '--name', 'fx', '--models-dir', k, '--resamples', '50'], ctx)).toBe(0);
    const kr = await readReport(k, 'fx@1');
    expect(kr.table.columns.find((c) => c.name === 'AccountStatus')?.role).toBe('one-hot');
    expect(kr.warnings.find((w) => w.code === 'TABLE_LEAKY_COLUMN_KEPT')?.message).toMatch(/AccountStatus.*kept because of --keep-leaky/);
    // train --json prints the same warnings.
    const json: string[] = [];
    expect(await main(['train', '--table', LEAK, '--label', 'Exited', '--keep-leaky', '--seed', '7', '--name', 'fx', '--models-dir', k, '--resamples', '50', '--json'], { logger: collectingLogger(), out: (t: string) => json.push(t) })).toBe(0);
    expect((JSON.parse(json[0]) as Report).warnings).toEqual(kr.warnings);
    // --model auto (the default): the chosen kind and every candidate, with test metrics, in the --json output and report.json
    const printed = JSON.parse(json[0]) as { model: string; candidates: { kind: string; chosen: boolean; choiceLogLoss: number; test: { rocAuc: { value: number } | null } }[] };
    expect(printed.candidates.map((c) => c.kind)).toEqual(['logistic', 'mlp', 'gbdt']);
    expect(printed.candidates.filter((c) => c.chosen).map((c) => c.kind)).toEqual([printed.model]);
    expect(printed.model).toBe([...printed.candidates].sort((a, b) => a.choiceLogLoss - b.choiceLogLoss)[0].kind);
    const saved = JSON.parse(await readFile(join(k, 'fx', '2', 'report.json'), 'utf8')) as { evaluation: { candidates: unknown[] } };
    expect(saved.evaluation.candidates).toEqual(printed.candidates);
  }, 60_000);

  it('bad table options exit 2 with one sentence', async () => {
    const models = join(await mkdtemp(join(tmpdir(), 'cl-table-')), 'models');
    const base = ['train', '--table', LEAK, '--seed', '7', '--models-dir', models];
    const cases: [string[], RegExp][] = [
      [['--label', 'AccountStatus'], /label "AccountStatus" of .* has values "open" \(32 rows\), "closed" \(31 rows\), which are not yes\/no, 1\/0 or true\/false; name the churn value with --positive, e\.g\. --positive "closed"\./],
      [['--label', 'Exited', '--positive', 'yes'], /--positive "yes" is not a value of label "Exited" in .*; its values are "0" \(32 rows\), "1" \(31 rows\)\./],
      [['--label', 'Exited', '--drop', 'Salary,Age'], /--drop names a column "Salary" that .* lacks; its columns are: RowNumber, CustomerId, Surname, CreditScore, Geography, Gender, Age, Tenure, Balance, NumOfProducts, HasCrCard, IsActiveMember, EstimatedSalary, Exited, AccountStatus\./],
      [['--label', 'Exited', '--model', 'forest'], /--model must be auto, logistic, mlp or gbdt, got "forest"\./],
      [['--label', 'Exited', '--id', 'Geography'], /--id "Geography" repeats "(France|Spain|Germany)" on .* rows \d+ and \d+; an id must name one row/],
    ];
    for (const [extra, msg] of cases) {
      const r = await runCli([...base, ...extra]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(msg);
    }
    const ev = await runCli(['train', '--events', LEAK, '--preset', 'synthetic', '--id', 'x', '--seed', '7', '--models-dir', models]);
    expect(ev.code).toBe(2);
    expect(ev.err).toMatch(/--id apply to a per-user table: give --table FILE --label COLUMN with it/);
    expect(existsSync(join(models, 'default'))).toBe(false);
  }, 60_000);
});

describe.skipIf(bank.missing)('train --table / score --table on real tables (the bank table needs ../shared/datasets)', () => {
  it('trains on the Telco table, scores every customer from the raw columns, and refuses events', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cl-table-'));
    const models = join(dir, 'models');
    const out: string[] = [];
    const ctx = { logger: collectingLogger(), out: (t: string) => out.push(t) };
    expect(await main(['train', '--table', TELCO, '--label', 'Churn', '--seed', '7', '--name', 'telco', '--models-dir', models, '--resamples', '100'], ctx)).toBe(0);
    expect(out.pop()).toBe('telco@1');
    const r = await readReport(models, 'telco@1');
    expect(r.table.id).toBe('customerID');
    // 22 rows of the IBM table repeat another one exactly (20 groups), customerID aside.
    expect(r.table.duplicates).toMatchObject({ rows: 22, groups: 20 });
    expect(r.warnings.map((w) => w.code)).toEqual(['TABLE_DUPLICATE_ROWS']);
    const scores = join(dir, 'scores.csv');
    expect(await main(['score', '--model', 'telco', '--models-dir', models, '--table', TELCO, '--out', scores], ctx)).toBe(0);
    const s = await readTable(scores);
    const raw = await readTable(TELCO);
    expect(s.rows).toBe(7043);
    expect(s.columns.user_id).toEqual(raw.columns.customerID);
    // DuckDB reads the Yes/No column as a boolean: 1 = churned.
    const y = Uint8Array.from(raw.columns.Churn as Float64Array);
    // In-sample over all customers (80% were training rows): well above the held-out floor of 0.84.
    expect(rocAuc(s.columns.churn_probability as Float64Array, y)).toBeGreaterThan(0.84);
    expect(JSON.parse((s.columns.reasons as string[])[0])).toHaveLength(3);
    expect(await main(['score', '--model', 'telco', '--models-dir', models, '--events', TELCO, '--as-of', '2020-01-01', '--out', scores], ctx)).toBe(2);
  }, 120_000);

  it('bank churn: CustomerId detected as the id, RowNumber and Surname dropped, scores keyed by CustomerId', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cl-table-'));
    const models = join(dir, 'models');
    const logger = collectingLogger();
    const ctx = { logger, out: () => {} };
    expect(await main(['train', '--table', BANK, '--label', 'Exited', '--seed', '7', '--name', 'bank', '--models-dir', models, '--resamples', '100'], ctx)).toBe(0);
    const r = await readReport(models, 'bank@1');
    const role = Object.fromEntries(r.table.columns.map((c) => [c.name, c.role]));
    expect(role).toMatchObject({ RowNumber: 'dropped', CustomerId: 'id', Surname: 'dropped', Geography: 'one-hot', Age: 'numeric', Exited: 'label' });
    expect(r.table.columns.find((c) => c.name === 'Surname')!.reason).toMatch(/^identifier-like text: 2,932 distinct values over 10,000 rows \(29.3% unique/);
    expect(r.table.columns.find((c) => c.name === 'RowNumber')!.reason).toMatch(/^identifier: row number \(distinct integers 1\.\.10000/);
    expect(r.warnings.map((w) => w.code)).toEqual(['TABLE_IDENTIFIER_LIKE_DROPPED']);
    expect(logger.lines).toContain('id: CustomerId (detected: named like an id, distinct integers on all 10,000 rows; pass --id COLUMN to choose another)');
    const scores = join(dir, 'scores.csv');
    expect(await main(['score', '--model', 'bank', '--models-dir', models, '--table', BANK, '--out', scores], ctx)).toBe(0);
    const s = await readTable(scores);
    const raw = await readTable(BANK, { textColumns: ['CustomerId'] });
    expect(s.columns.user_id).toEqual(raw.columns.CustomerId);
    expect((s.columns.user_id as string[])[0]).toBe('15634602');
    const p = s.columns.churn_probability as Float64Array;
    expect(rocAuc(p, Uint8Array.from(raw.columns.Exited as Float64Array))).toBeGreaterThan(0.74);
    expect(Math.min(...p)).toBeGreaterThan(0.001);
    expect(Math.max(...p)).toBeLessThan(0.999);
  }, 120_000);
});
