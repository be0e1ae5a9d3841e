import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { SYNTHETIC_PRESET } from '../ingest/index.js';
import { CohortlabError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { readTable, type ColumnTable } from '../shared/table-io.js';
import { generateSynthetic, writeTruthCsv } from './generate.js';
import { MOVABLE_TYPES, MOVE_TO, type MovementRecord } from './movement.js';
import { LATENT_TYPES, type LatentType, type SynthParams, type SynthResult } from './types.js';

/** The only I/O of the generator: files of `cohortlab generate` (../shared/CONTRACT.md). */
export interface SynthFiles {
  eventsCsv: string;
  eventsParquet?: string;
  truthCsv: string;
  truthJson: string;
  config: string;
  /** With movement only: truth-movement.csv. */
  truthMovement?: string;
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
  if (result.movement !== undefined) {
    files.truthMovement = join(dir, 'truth-movement.csv');
    writeFileSync(files.truthMovement, movementCsv(result.movement.records));
  }
  // Movement and shift keys only when asked for: without them truth.json stays what it always was.
  const truthJson = {
    as_of: result.asOf,
    horizon_days: result.horizonDays,
    ...(result.movement === undefined ? {} : { movement: { rate: result.movement.rate, period_days: result.movement.periodDays, from: MOVABLE_TYPES, to: MOVE_TO } }),
    ...(result.shift === undefined ? {} : { shift: { after: result.shift.after, factor: result.shift.factor } }),
  };
  writeFileSync(files.truthJson, `${JSON.stringify(truthJson, null, 2)}\n`);
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

export const MOVEMENT_CSV_HEADER = 'user_id,from_type,to_type,moved_at\n';

/** truth-movement.csv text: one row per realized move, in user order; `moved_at` is 00:00 UTC of the move day. */
export function movementCsv(records: readonly MovementRecord[]): string {
  let text = MOVEMENT_CSV_HEADER;
  for (const r of records) text += `${r.userId},${r.fromType},${r.toType},${new Date(r.movedAtMs).toISOString().slice(0, 19)}Z\n`;
  return text;
}

/** truth-movement.csv of `cohortlab generate --movement` read back (the argument of `latentTypesAt`). */
export function readMovementCsv(path: string): MovementRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CohortlabError('BAD_ARGUMENT', `cannot read movement truth "${path}": ${(e as Error).message}; give the truth-movement.csv of "cohortlab generate --movement".`, { path, cause: e });
  }
  const lines = text.split('\n');
  if (`${lines[0]}\n` !== MOVEMENT_CSV_HEADER) {
    throw new CohortlabError('MISSING_COLUMN', `movement truth "${path}" has header "${lines[0]}", not "${MOVEMENT_CSV_HEADER.trim()}"; give the truth-movement.csv of "cohortlab generate --movement".`, { path });
  }
  const isType = (t: string): t is LatentType => (LATENT_TYPES as readonly string[]).includes(t);
  const out: MovementRecord[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === '') continue;
    const [userId, fromType, toType, movedAt] = lines[i].split(',');
    const movedAtMs = Date.parse(movedAt ?? '');
    if (!userId || !isType(fromType) || !isType(toType) || Number.isNaN(movedAtMs)) {
      throw new CohortlabError('BAD_ARGUMENT', `movement truth "${path}" line ${i + 1} ("${lines[i]}") is not user_id, a latent type twice and an ISO time; regenerate the file.`, { path });
    }
    out.push({ userId, fromType, toType, movedAtMs });
  }
  return out;
}
