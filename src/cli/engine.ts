import type { EngineName } from '../engine/index.js';
import type { EventSourceSpec } from '../engine/index.js';
import { parseTableBindings } from '../engine/index.js';
import type { EventConfig } from '../ingest/index.js';
import { CohortlabError } from '../shared/errors.js';
import { checkThreads, duckdbLimits, type DuckDBLimits } from '../shared/duckdb.js';
import { DUCKDB_LIMIT_OPTIONS, str, type OptionSpec, type ParsedArgs } from './args.js';

/** Where the events are read from: the options shared by features, rules, train, evaluate and score. */
export const ENGINE_OPTIONS: OptionSpec[] = [
  { name: 'engine', type: 'string', description: 'where the events are: duckdb (the --events files) or clickhouse (a table in a ClickHouse server or cluster)', default: "the config's engine.name, else duckdb", placeholder: 'NAME' },
  { name: 'clickhouse-url', type: 'string', description: 'ClickHouse HTTP endpoint (password from $COHORTLAB_CLICKHOUSE_PASSWORD)', default: "$COHORTLAB_CLICKHOUSE_URL or the config's engine.clickhouse_url", placeholder: 'URL' },
  { name: 'clickhouse-user', type: 'string', description: 'ClickHouse user', default: "the config's engine.user, else default", placeholder: 'USER' },
  ...DUCKDB_LIMIT_OPTIONS,
];

/**
 * The event source a command reads: event files through DuckDB, or a ClickHouse table
 * (`--engine clickhouse --clickhouse-url URL --table NAME`, or the config's `engine` section).
 * `tableFlag` is the command's `--table` value, which names the warehouse table with the ClickHouse engine.
 */
export function eventSourceSpec(args: ParsedArgs, env: NodeJS.ProcessEnv, config: EventConfig, events: string[], tableFlag: string | undefined): EventSourceSpec | undefined {
  const engine = (str(args, 'engine') ?? (events.length ? 'duckdb' : config.engine?.name) ?? 'duckdb') as EngineName;
  if (engine !== 'duckdb' && engine !== 'clickhouse') throw new CohortlabError('BAD_ARGUMENT', `--engine must be duckdb or clickhouse, got "${engine}".`);
  if (engine === 'duckdb') return events.length ? { engine, events, limits: duckdbLimits(limitFlags(args), env, config.engine) } : undefined;
  if (events.length) throw new CohortlabError('BAD_ARGUMENT', `--engine clickhouse reads ${config.source ? "the tables of the config's source (source.tables, --table NAME=TABLE)" : 'a table (--table NAME)'}, not --events files; drop --events or use --engine duckdb.`);
  const url = str(args, 'clickhouse-url') ?? env.COHORTLAB_CLICKHOUSE_URL ?? config.engine?.clickhouse_url;
  if (!url) throw new CohortlabError('BAD_ARGUMENT', '--engine clickhouse needs --clickhouse-url URL (or $COHORTLAB_CLICKHOUSE_URL, or engine.clickhouse_url in the config).');
  return {
    engine,
    url,
    // A config whose events are a SELECT (source) reads the tables its placeholders name (--table NAME=TABLE,...).
    ...warehouseTarget(config, tableFlag),
    username: str(args, 'clickhouse-user') ?? config.engine?.user,
    password: env.COHORTLAB_CLICKHOUSE_PASSWORD,
  };
}

/**
 * What the ClickHouse engine reads: the events table, or, when the config's events are a SELECT (source),
 * the tables its placeholders name (--table NAME=TABLE[,NAME=TABLE], over source.tables; src/engine/sql-source.ts).
 */
export function warehouseTarget(config: EventConfig, tableFlag: string | undefined): { table?: string; tables?: Record<string, string> } {
  if (config.source && config.engine?.table) {
    throw new CohortlabError('BAD_CONFIG', `config "${config.name}": engine.table names one events table, but the config's events are a SELECT over {placeholders} (source); map each placeholder to its table in source.tables and drop engine.table.`);
  }
  return config.source ? { tables: parseTableBindings(tableFlag) } : { table: warehouseTable(config, tableFlag) };
}

/** The warehouse's events table: the command's --table, else the config's engine.table. */
export function warehouseTable(config: EventConfig, tableFlag: string | undefined): string {
  const table = tableFlag ?? config.engine?.table;
  if (!table) throw new CohortlabError('BAD_ARGUMENT', '--engine clickhouse needs --table NAME, the events table (or engine.table in the config).');
  return table;
}

/** --memory-limit, --temp-dir and --threads as given (the environment and the config fill the rest). */
function limitFlags(args: ParsedArgs): DuckDBLimits {
  const threads = str(args, 'threads');
  return { memoryLimit: str(args, 'memory-limit'), tempDir: str(args, 'temp-dir'), threads: threads === undefined ? undefined : checkThreads(threads, '--threads') };
}
