import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/index.js';
import { rocAuc } from '../../src/evaluate/index.js';
import { collectingLogger } from '../../src/shared/log.js';
import { readTable } from '../../src/shared/table-io.js';

const TELCO = join(import.meta.dirname, '..', '..', '..', 'shared', 'datasets', 'telco-customer-churn', 'Telco-Customer-Churn.csv.gz');

describe.skipIf(!existsSync(TELCO))('train --table / score --table (a per-user warehouse table; needs ../shared/datasets)', () => {
  it('trains on the Telco table, scores every customer from the raw columns, and refuses events', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cl-table-'));
    const models = join(dir, 'models');
    const out: string[] = [];
    const ctx = { logger: collectingLogger(), out: (t: string) => out.push(t) };
    expect(await main(['train', '--table', TELCO, '--label', 'Churn', '--seed', '7', '--name', 'telco', '--models-dir', models, '--resamples', '100'], ctx)).toBe(0);
    expect(out.pop()).toBe('telco@1');
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
});
