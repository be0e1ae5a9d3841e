#!/usr/bin/env node
// `npm run bench`: every benchmark in its own process (so peak RSS is per benchmark), in pipeline order.
// Each prints its figures and the ratio against a peer measured in the same run. Pass names to run a subset:
//   npm run bench -- ingest cluster
// Options go to every benchmark run, in the --name=value form: npm run bench -- million --users=100000
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const order = ['synth', 'ingest', 'rules', 'cluster', 'churn', 'tables', 'retention', 'score', 'parquet', 'serve', 'engines', 'warehouse-score', 'scale', 'load', 'million'];
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const pass = process.argv.slice(2).filter((a) => a.startsWith('--'));
let failed = 0;
// hours at its default size: run only when named (npm run bench -- million)
const onlyWhenNamed = new Set(['million']);
for (const name of order) {
  if (wanted.length ? !wanted.includes(name) : onlyWhenNamed.has(name)) continue;
  const file = join(here, `${name}.js`);
  if (!existsSync(file)) continue;
  console.log(`\n=== bench ${name} ===`);
  const r = spawnSync(process.execPath, ['--expose-gc', file, ...pass], { stdio: 'inherit', env: { ...process.env, TZ: 'UTC' } });
  if (r.status !== 0) {
    failed++;
    console.log(`bench ${name} exited with ${r.status}`);
  }
}
process.exitCode = failed ? 1 : 0;
