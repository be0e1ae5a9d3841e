import { loadEvents, type EventStore, type IngestReport, type LoadOptions } from '../ingest/index.js';
import type { EventConfig } from '../ingest/types.js';
import { sourceRelation } from '../features/sql.js';
import { queryColumns, streamColumns, type ColumnResult, type DuckDBLimits } from '../shared/duckdb.js';
import { CohortlabError } from '../shared/errors.js';
import { silentLogger } from '../shared/log.js';
import { CLICKHOUSE, DUCKDB, type Dialect, type EngineName } from './dialect.js';
import { openClickHouse, type ClickHouseOptions } from './clickhouse.js';

/**
 * Where the events are, behind one interface: the feature, label and scoring queries are compiled
 * to the source's dialect and run where the events live; only per-user rows come back to Node.
 * - duckdb: event files read into the embedded engine (src/ingest), the relation is `events`.
 * - clickhouse: a table in a ClickHouse server or cluster (a Distributed table works the same),
 *   read through the config's column mapping.
 */
export interface EventSource {
  readonly engine: EngineName;
  readonly dialect: Dialect;
  readonly config: EventConfig;
  readonly report: IngestReport;
  /** The normalized events relation (`user_id, ts, event, session_id, plan, value, signup_ts`) in the dialect. */
  readonly relation: string;
  /** Where the events are read from, for messages and model manifests. */
  readonly location: string;
  query(sql: string): Promise<ColumnResult>;
  stream(sql: string, blockRows: number): AsyncGenerator<ColumnResult>;
  /** A statement without a result (INSERT ... SELECT, CREATE TABLE ... AS). */
  command(sql: string): Promise<void>;
  close(): Promise<void>;
}

export interface ClickHouseSourceOptions extends ClickHouseOptions {
  /** The events table, `name` or `database.name`. */
  table: string;
}

export type ClickHouseEventSpec = { engine: 'clickhouse' } & ClickHouseSourceOptions;
export type EventSourceSpec = { engine: 'duckdb'; events: string[]; limits?: DuckDBLimits } | ClickHouseEventSpec;

export function duckdbSource(store: EventStore): EventSource {
  return {
    engine: 'duckdb',
    dialect: DUCKDB,
    config: store.config,
    report: store.report,
    relation: 'events',
    location: store.report.files.map((f) => f.path).join(', '),
    query: (sql) => queryColumns(store.conn, sql),
    stream: (sql, blockRows) => streamColumns(store.conn, sql, undefined, blockRows),
    command: async (sql) => {
      await store.conn.run(sql);
    },
    close: async () => store.close(),
  };
}

/** An EventStore (DuckDB) or an EventSource, as the source interface. */
export function asSource(s: EventStore | EventSource): EventSource {
  return 'dialect' in s ? s : duckdbSource(s);
}

export async function openEventSource(spec: EventSourceSpec, config: EventConfig, opts: LoadOptions = {}): Promise<EventSource> {
  if (spec.engine === 'duckdb') return duckdbSource(await loadEvents(spec.events, config, { ...opts, limits: spec.limits ?? opts.limits }));
  if (config.source) throw new CohortlabError('BAD_CONFIG', `config "${config.name}" defines its events as a DuckDB SELECT over files (source); the ClickHouse engine reads a table: define the same SELECT as a view in the warehouse and drop "source", or use --engine duckdb.`);
  return openClickHouseSource(spec, config, opts);
}

const TABLE_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

async function openClickHouseSource(spec: ClickHouseSourceOptions, config: EventConfig, opts: LoadOptions): Promise<EventSource> {
  const logger = opts.logger ?? silentLogger;
  if (!TABLE_RE.test(spec.table)) throw new CohortlabError('BAD_ARGUMENT', `--table "${spec.table}" is not a ClickHouse table name: use letters, digits and "_", optionally "database.table".`);
  const started = performance.now();
  const ch = await openClickHouse(spec);
  try {
    const location = `${spec.url.replace(/\/+$/, '')}/${spec.table}`;
    const d = CLICKHOUSE;
    const columns = await ch.query(`SELECT name, type FROM system.columns WHERE database = ${spec.table.includes('.') ? d.quoteString(spec.table.split('.')[0]) : 'currentDatabase()'} AND table = ${d.quoteString(spec.table.split('.').pop()!)}`);
    if (columns.rows === 0) throw new CohortlabError('TABLE_NOT_FOUND', `ClickHouse at ${spec.url} has no table "${spec.table}".`);
    const types = new Map((columns.columns[0] as string[]).map((n, i) => [n, (columns.columns[1] as string[])[i]]));
    const m = config.columns;
    for (const [role, name] of Object.entries({ user_id: m.user_id, timestamp: m.timestamp, event: m.event, session_id: m.session_id, plan: m.plan, value: m.value, signup: m.signup })) {
      if (!name) continue;
      const type = types.get(name);
      if (type === undefined) throw new CohortlabError('MISSING_COLUMN', `ClickHouse table "${spec.table}" has no column "${name}" (config columns.${role}); its columns are: ${[...types.keys()].join(', ')}.`);
      if ((role === 'timestamp' || role === 'signup') && !/^(Nullable\()?DateTime/.test(type)) {
        throw new CohortlabError('BAD_CONFIG', `ClickHouse column "${name}" (config columns.${role}) is ${type}; the ClickHouse engine reads DateTime columns (UTC): convert it in the table or a view.`);
      }
    }
    const relation = sourceRelation(config, d, spec.table);
    const all = `${spec.table.split('.').map(d.quoteIdent).join('.')}`;
    const s = await ch.query(`SELECT toFloat64(count()) AS n FROM ${all}`);
    const u = await ch.query(
      `SELECT toFloat64(count()) AS n, toFloat64(uniqExact(user_id)) AS users, toFloat64(uniqExact(user_id, session_id)) AS sessions,
        toFloat64(toUnixTimestamp(min(ts))) AS first, toFloat64(toUnixTimestamp(max(ts))) AS last FROM ${relation} AS src`,
    );
    const rowsRead = (s.columns[0] as Float64Array)[0];
    const [n, users, sessions, first, last] = u.columns.map((c) => (c as Float64Array)[0]);
    if (n === 0) throw new CohortlabError('EMPTY_INPUT', `ClickHouse table "${spec.table}" has no events${rowsRead > 0 ? ` after the config's exclusions (${rowsRead} rows excluded)` : ''}.`);
    const rejected: Record<string, number> = {};
    if (rowsRead > n) rejected['excluded by config'] = rowsRead - n;
    const report: IngestReport = {
      files: [{ path: location, bytes: 0, format: 'clickhouse', records: rowsRead }],
      rowsRead,
      rowsUsed: n,
      rejected,
      examples: {},
      users,
      firstEventMs: first * 1000,
      lastEventMs: last * 1000,
      sessions,
      sessionsInferred: !config.columns.session_id,
      signupsUnparsable: 0,
      seconds: (performance.now() - started) / 1000,
    };
    logger.info(`events: ${n.toLocaleString('en-US')} in ClickHouse ${location} (${users.toLocaleString('en-US')} users, ${new Date(report.firstEventMs).toISOString().slice(0, 10)} .. ${new Date(report.lastEventMs).toISOString().slice(0, 10)})${rowsRead > n ? `; ${(rowsRead - n).toLocaleString('en-US')} rows excluded by config` : ''}`);
    return {
      engine: 'clickhouse',
      dialect: d,
      config,
      report,
      relation,
      location,
      query: (sql) => ch.query(sql),
      stream: (sql, blockRows) => ch.stream(sql, blockRows),
      command: (sql) => ch.command(sql),
      close: () => ch.close(),
    };
  } catch (e) {
    await ch.close();
    throw e;
  }
}
