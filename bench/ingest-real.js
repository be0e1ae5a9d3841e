#!/usr/bin/env node
// The real logs read both ways (issue 23 part 3): each log loaded through the stage pass alone (`lean: false`, the
// ingest before the lean pass) and as it is read now, with the report of each, whether the reports and the events
// (a hash of every column of every row) are identical, which pass produced them, and the CPU seconds of each.
// Usage: npm run build && node bench/ingest-real.js [--datasets=DIR]   (DIR: ../shared/datasets, see its README)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CDNOW_PRESET, SPARKIFY_PRESET, formatIngestReport, loadEvents, validateConfig } from 'cohortlab';
import { DuckDBInstance } from '@duckdb/node-api';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
};
const D = resolve(arg('datasets', join(here, '..', '..', 'shared', 'datasets')));
const example = (name) => validateConfig(JSON.parse(readFileSync(join(here, '..', 'data', 'examples', `${name}.json`), 'utf8')), name);
// The Online Retail invoice lines as an event log: one event per line, the invoice as the session, the unit price as the value.
const retailLines = validateConfig(
  {
    name: 'retail-lines', format: 'csv', timestamp_format: 'iso',
    columns: { user_id: 'CustomerID', timestamp: 'InvoiceDate', event: 'StockCode', session_id: 'InvoiceNo', plan: null, value: 'UnitPrice', signup: null, properties: [] },
    cadence: 'monthly', taxonomy: {}, activation: { milestones: [] }, plans: { values: {}, paid: [] },
  },
  'retail lines',
);

const work = mkdtempSync(join(tmpdir(), 'cohortlab-ingest-real-'));
try {
  // A clean real CSV: the Online Retail lines that have a customer id (406,829 of 541,909), quoting and all, written by DuckDB.
  const customers = join(work, 'retail-customers.csv');
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`COPY (SELECT * FROM read_csv('${join(D, 'online-retail', 'onlineretail.csv.gz')}', all_varchar = true) WHERE CustomerID IS NOT NULL) TO '${customers}' (HEADER)`);
  // The same lines as Parquet, all of them and those with a customer id (text columns, as a CSV export would give).
  const linesParquet = join(work, 'retail-lines.parquet');
  const customersParquet = join(work, 'retail-customers.parquet');
  await c.run(`COPY (SELECT * FROM read_csv('${join(D, 'online-retail', 'onlineretail.csv.gz')}', all_varchar = true)) TO '${linesParquet}' (FORMAT parquet)`);
  await c.run(`COPY (SELECT * FROM read_parquet('${linesParquet}') WHERE CustomerID IS NOT NULL) TO '${customersParquet}' (FORMAT parquet)`);
  c.closeSync();
  db.closeSync();

  const cases = [
    ['grocery (CSV, gzipped)', [join(D, 'grocery-elog', 'groceryElog.csv.gz')], example('grocery')],
    ['Online Retail lines (CSV, gzipped; 135,080 lines without a customer id)', [join(D, 'online-retail', 'onlineretail.csv.gz')], retailLines],
    ['Online Retail lines with a customer id (CSV)', [customers], retailLines],
    ['Online Retail lines (Parquet; 135,080 without a customer id)', [linesParquet], { ...retailLines, format: 'parquet' }],
    ['Online Retail lines with a customer id (Parquet)', [customersParquet], { ...retailLines, format: 'parquet' }],
    ['Online Retail invoices (SQL source)', [join(D, 'online-retail', 'onlineretail.csv.gz')], example('online-retail')],
    ['CDNOW (whitespace, gzipped)', [join(D, 'cdnow', 'CDNOW_master.txt.gz')], CDNOW_PRESET],
    ['Sparkify (NDJSON, 30 gzipped files)', [join(D, 'sparkify-dend-log-data', '*.json.gz')], SPARKIFY_PRESET],
  ];
  for (const [name, files, config] of cases) {
    const runs = [];
    for (const leanPass of [false, true]) {
      const c0 = process.cpuUsage();
      const said = [];
      const logger = { info: (m) => said.push(m), warn: () => {}, progress: () => {} };
      const s = await loadEvents(files, config, { lean: leanPass, logger });
      const cpu = process.cpuUsage(c0);
      // The lean pass reads CSV and Parquet logs, and says when it hands them to the stage pass.
      const lean = leanPass && files.every((f) => /\.(csv|parquet)(\.gz)?$/.test(f)) && !config.source && !said.some((m) => m.includes('reading again'));
      const h = (await s.conn.runAndReadAll(`SELECT count(*)::VARCHAR, sum(hash(user_id, ts, event, session_id, plan, value, signup_ts))::VARCHAR FROM events`)).getRows()[0];
      runs.push({ pass: lean ? 'lean' : 'stage', cpu: (cpu.user + cpu.system) / 1e6, lines: formatIngestReport({ ...s.report, seconds: 0 }), hash: h.join(' ') });
      s.close();
    }
    const [before, now] = runs;
    const same = JSON.stringify(before.lines) === JSON.stringify(now.lines) && before.hash === now.hash;
    console.log(`== ${name}: report and events ${same ? 'identical' : 'DIFFER'}; stage pass alone ${before.cpu.toFixed(2)} CPU s, now (${now.pass} pass) ${now.cpu.toFixed(2)} CPU s`);
    for (const l of now.lines) console.log(`   ${l}`);
    if (!same) for (const l of before.lines) console.log(`   before: ${l}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
