import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { SYNTHETIC_PRESET } from '../ingest/presets.js';
import { CohortlabError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { readTable, type ColumnTable } from '../shared/table-io.js';
import { generateSynthetic, writeTruthCsv } from './generate.js';
import type { SynthParams, SynthResult } from './types.js';

/** The only I/O of the generator: files of `cohortlab generate` (../shared/CONTRACT.md). */
export interface SynthFiles {
  eventsCsv: string;
  eventsParquet?: string;
  truthCsv: string;
  truthJson: string;
  config: string;
}

export interface WriteSyntheticReport extends SynthResult {
  files: SynthFiles;
  timingsMs: { generate: number; parquet: number; total: number };
}

/** Buffered synchronous writer: big chunks straight to the file descriptor. */
function fileWriter(path: string): { write: (text: string) => void; close: () => void } {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    throw new CohortlabError('BAD_ARGUMENT', `cannot write ${path}: ${(e as Error).message}; choose a writable --out directory.`, { path, cause: e });
  }
  return {
    write: (text) => {
      writeSync(fd, text);
    },
    close: () => closeSync(fd),
  };
}

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/**
 * CSV -> Parquet with DuckDB: every column read as text (user ids stay VARCHAR), timestamps cast to
 * TIMESTAMP (UTC), rows in file order.
 */
export async function convertEventsToParquet(csvPath: string, parquetPath: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    await conn.run('SET preserve_insertion_order = true');
    // COPY targets cannot be bound parameters; both paths are quoted as SQL string literals.
    await conn.run(
      `COPY (SELECT user_id, CAST(timestamp AS TIMESTAMP) AS timestamp, event, session_id, plan, CAST(signup_at AS TIMESTAMP) AS signup_at
         FROM read_csv(${sqlString(csvPath)}, header = true, all_varchar = true, delim = ',', quote = '"'))
       TO ${sqlString(parquetPath)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)`,
    );
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/**
 * Generates the synthetic product into `dir`: events.csv (streamed), events.parquet (unless
 * `parquet: false`), truth.csv, truth.json `{ as_of, horizon_days }` and cohortlab.config.json
 * (SYNTHETIC_PRESET, the mapping and taxonomy to read the events).
 */
export async function writeSynthetic(
  dir: string,
  params: Partial<SynthParams> & Pick<SynthParams, 'users' | 'days' | 'seed'>,
  opts: { logger?: Logger; parquet?: boolean } = {},
): Promise<WriteSyntheticReport> {
  const logger = opts.logger ?? silentLogger;
  const t0 = performance.now();
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CohortlabError('BAD_ARGUMENT', `cannot create output directory ${dir}: ${(e as Error).message}; choose another --out.`, { path: dir, cause: e });
  }
  const files: SynthFiles = {
    eventsCsv: join(dir, 'events.csv'),
    truthCsv: join(dir, 'truth.csv'),
    truthJson: join(dir, 'truth.json'),
    config: join(dir, 'cohortlab.config.json'),
  };
  const events = fileWriter(files.eventsCsv);
  let result: SynthResult;
  try {
    result = generateSynthetic(params, events.write, { logger });
  } finally {
    events.close();
  }
  const tGen = performance.now();
  const truth = fileWriter(files.truthCsv);
  try {
    writeTruthCsv(result.truth, truth.write);
  } finally {
    truth.close();
  }
  writeFileSync(files.truthJson, `${JSON.stringify({ as_of: result.asOf, horizon_days: result.horizonDays }, null, 2)}\n`);
  writeFileSync(files.config, `${JSON.stringify(SYNTHETIC_PRESET, null, 2)}\n`);
  let tParquet = performance.now();
  if (opts.parquet !== false) {
    files.eventsParquet = join(dir, 'events.parquet');
    logger.info(`converting ${result.events.toLocaleString('en-US')} events to Parquet ...`);
    const tp = performance.now();
    await convertEventsToParquet(files.eventsCsv, files.eventsParquet);
    tParquet = performance.now() - tp;
  } else tParquet = 0;
  return { ...result, files, timingsMs: { generate: tGen - t0, parquet: tParquet, total: performance.now() - t0 } };
}

/** The truth.csv of `cohortlab generate` read back: the table, its user ids and each user's latent type. */
export async function readTruthCsv(path: string): Promise<{ table: ColumnTable; ids: string[]; types: Map<string, string> }> {
  const table = await readTable(path);
  const ids = table.columns.user_id;
  const types = table.columns.latent_type;
  if (!Array.isArray(ids) || !Array.isArray(types)) {
    throw new CohortlabError('MISSING_COLUMN', `truth file "${path}" needs user_id and latent_type columns (the truth.csv of "cohortlab generate"); it has: ${table.names.join(', ')}.`, { path });
  }
  return { table, ids, types: new Map(ids.map((u, i) => [u, types[i]])) };
}
