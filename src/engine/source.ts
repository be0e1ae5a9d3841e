import { loadEvents, type EventStore, type IngestReport, type LoadOptions } from '../ingest/index.js';
import type { EventConfig } from '../ingest/index.js';
import { sourceRelationFrom } from './relation.js';
import { queryColumns, streamColumns, type ColumnResult, type DuckDBLimits } from '../shared/duckdb.js';
import { CohortlabError } from '../shared/errors.js';
import { silentLogger } from '../shared/log.js';
import { CLICKHOUSE, DUCKDB, type Dialect, type EngineName } from './dialect.js';
import { openClickHouse, type ClickHouse, type ClickHouseOptions, type QuerySettings } from './clickhouse.js';
import { bindSourceTables, clickhouseSourceSelect, TABLE_RE } from './sql-source.js';

/**
 * Where the events are, behind one interface: the feature, label and scoring queries are compiled
 * to the source's dialect and run where the events live; only per-user rows come back to Node.
 * - duckdb: event files read into the embedded engine (src/ingest), the relation is `events`.
 * - clickhouse: a table in a ClickHouse server or cluster (a Distributed table works the same),
 *   read through the config's column mapping; or the config's SQL source (one SELECT over tables,
 *   src/engine/sql-source.ts) as a subquery, every query of it read-only.
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
  /** The events table, `name` or `database.name` (unused when the config's events are a SELECT, `source`). */
  table?: string;
  /** With a config `source`: placeholder -> table bindings (`--table name=db.table`), over `source.tables`. */
  tables?: Record<string, string>;
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
    // a Parquet log read in place is checked after every read: a file rewritten meanwhile is an error, not a mix
    query: async (sql) => {
      const r = await queryColumns(store.conn, sql);
      store.unchanged();
      return r;
    },
    stream: async function* (sql, blockRows) {
      for await (const block of streamColumns(store.conn, sql, undefined, blockRows)) {
        store.unchanged();
        yield block;
      }
    },
    command: async (sql) => {
      await store.conn.run(sql);
      store.unchanged();
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
  return openClickHouseSource(spec, config, opts);
}

/** Every query of a config's SQL source runs read-only: ClickHouse then refuses writes and table functions too. */
const READONLY = { readonly: 1 };

/** The mapped columns' types, checked as the ClickHouse engine reads them (timestamps DateTime, UTC). */
function checkMappedTypes(types: Map<string, string>, config: EventConfig, what: string): void {
  const m = config.columns;
  for (const [role, name] of Object.entries({ user_id: m.user_id, timestamp: m.timestamp, event: m.event, session_id: m.session_id, plan: m.plan, value: m.value, signup: m.signup })) {
    if (!name) continue;
    const type = types.get(name);
    if (type === undefined) throw new CohortlabError('MISSING_COLUMN', `${what} has no column "${name}" (config columns.${role}); its columns are: ${[...types.keys()].join(', ')}.`);
    if ((role === 'timestamp' || role === 'signup') && !/^(Nullable\()?DateTime/.test(type)) {
      throw new CohortlabError('BAD_CONFIG', `ClickHouse column "${name}" (config columns.${role}) of ${what} is ${type}; the ClickHouse engine reads DateTime columns (UTC): convert it in ${what.startsWith('the source') ? 'the SELECT (e.g. toDateTime(x, \'UTC\'))' : 'the table or a view'}.`);
    }
  }
}

const num = (r: ColumnResult, i: number) => (r.columns[i] as Float64Array)[0];

/** What the events relation reads from, where it is, its rows read and rejected, and the settings of its queries. */
interface ClickHouseFrom {
  /** The normalized events relation. */
  relation: string;
  location: string;
  files: IngestReport['files'];
  rowsRead: number;
  rejected: Record<string, number>;
  examples?: IngestReport['examples'];
  settings?: QuerySettings;
  what: string;
}

async function tableFrom(ch: ClickHouse, spec: ClickHouseSourceOptions, config: EventConfig): Promise<ClickHouseFrom> {
  const table = spec.table as string;
  if (!TABLE_RE.test(table)) throw new CohortlabError('BAD_ARGUMENT', `--table "${table}" is not a ClickHouse table name: use letters, digits and "_", optionally "database.table".`);
  const d = CLICKHOUSE;
  const location = `${spec.url.replace(/\/+$/, '')}/${table}`;
  const columns = await ch.query(`SELECT name, type FROM system.columns WHERE database = ${table.includes('.') ? d.quoteString(table.split('.')[0]) : 'currentDatabase()'} AND table = ${d.quoteString(table.split('.').pop()!)}`);
  if (columns.rows === 0) throw new CohortlabError('TABLE_NOT_FOUND', `ClickHouse at ${spec.url} has no table "${table}".`);
  checkMappedTypes(new Map((columns.columns[0] as string[]).map((n, i) => [n, (columns.columns[1] as string[])[i]])), config, `ClickHouse table "${table}"`);
  const from = table.split('.').map(d.quoteIdent).join('.');
  const rowsRead = num(await ch.query(`SELECT toFloat64(count()) AS n FROM ${from}`), 0);
  return { relation: sourceRelationFrom(config, d, from), location, files: [{ path: location, bytes: 0, format: 'clickhouse', records: rowsRead }], rowsRead, rejected: {}, what: `ClickHouse table "${table}"` };
}

/** Conditions on a SELECT's row: an empty or NULL user id; a NULL or zero timestamp (ClickHouse's value for one it could not parse). */
function unreadable(config: EventConfig): { badUser: string; badTs: string } {
  const u = CLICKHOUSE.quoteIdent(config.columns.user_id);
  const t = CLICKHOUSE.quoteIdent(config.columns.timestamp);
  return { badUser: `ifNull(match(toString(${u}), '^[[:space:]]*$'), 1)`, badTs: `ifNull(toUnixTimestamp(${t}) = 0, 1)` };
}

/**
 * The SELECT as the normalized events relation, without the rows `unreadable` flags. The user id and
 * timestamp are read through non-Nullable copies (a Nullable user_id would reach every per-user result,
 * and `score --into` cannot sort a MergeTree table by a Nullable column).
 */
function sqlSourceRelation(config: EventConfig, select: string): string {
  const { badUser, badTs } = unreadable(config);
  const u = CLICKHOUSE.quoteIdent(config.columns.user_id);
  const t = CLICKHOUSE.quoteIdent(config.columns.timestamp);
  const from = `(SELECT *, assumeNotNull(toString(${u})) AS cohortlab_user_id, assumeNotNull(${t}) AS cohortlab_ts FROM (${select}) AS q WHERE NOT ${badUser} AND NOT ${badTs}) AS src_select`;
  return sourceRelationFrom({ ...config, columns: { ...config.columns, user_id: 'cohortlab_user_id', timestamp: 'cohortlab_ts' } }, CLICKHOUSE, from);
}

/**
 * The normalized events relation of a ClickHouse source, without connecting (score --emit-sql):
 * over `table`, or over the config's SQL source bound to `tables`.
 */
export function clickhouseRelation(config: EventConfig, target: { table?: string; tables?: Record<string, string> }): string {
  if (!config.source) return sourceRelationFrom(config, CLICKHOUSE, (target.table as string).split('.').map(CLICKHOUSE.quoteIdent).join('.'));
  const tables = bindSourceTables(config, target.tables ?? {}, `"${config.name}"`);
  return sqlSourceRelation(config, clickhouseSourceSelect(config, tables, `"${config.name}"`));
}

/**
 * A config's SQL source (src/engine/sql-source.ts): the checked SELECT over its bound tables, as a
 * subquery without the rows the engine cannot read (empty user id; NULL or zero DateTime, which is
 * what ClickHouse makes of a timestamp it could not parse), counted like ingest's rejected rows.
 */
async function selectFrom(ch: ClickHouse, spec: ClickHouseSourceOptions, config: EventConfig, tables: Map<string, string>, select: string, opts: LoadOptions): Promise<ClickHouseFrom> {
  const d = CLICKHOUSE;
  const where = `"${config.name}"`;
  const base = spec.url.replace(/\/+$/, '');
  const bindings = [...tables].map(([n, t]) => `{${n}}=${t}`).join(', ');
  const what = `the source SELECT of config ${where}`;
  let desc: ColumnResult;
  try {
    desc = await ch.query(`DESCRIBE TABLE (${select})`, READONLY);
  } catch (e) {
    // An unreachable server or refused credentials stay what they are (the first query of the source is this one).
    if (e instanceof CohortlabError && e.code === 'BAD_ARGUMENT') throw e;
    const first = (e as Error).message.split('\n')[0].replace(/^ClickHouse at \S+( failed)?: /, '').replace(/, e\.what\(\) = DB::Exception$/, '');
    throw new CohortlabError(/Code: 60\b/.test(first) ? 'TABLE_NOT_FOUND' : 'BAD_CONFIG', `config ${where}: source SELECT (over ${bindings}) fails in ClickHouse at ${base}: ${first}`, { cause: e });
  }
  checkMappedTypes(new Map((desc.columns[0] as string[]).map((n, i) => [n, (desc.columns[1] as string[])[i]])), config, what);
  const { badUser, badTs } = unreadable(config);
  const u = d.quoteIdent(config.columns.user_id);
  const t = d.quoteIdent(config.columns.timestamp);
  const files: IngestReport['files'] = [];
  for (const table of new Set(tables.values())) {
    const n = num(await ch.query(`SELECT toFloat64(count()) AS n FROM ${table.split('.').map(d.quoteIdent).join('.')}`, READONLY), 0);
    files.push({ path: `${base}/${table}`, bytes: 0, format: 'clickhouse', records: n });
  }
  const c = await ch.query(`SELECT toFloat64(count()) AS n, toFloat64(countIf(${badUser})) AS bad_user, toFloat64(countIf(NOT ${badUser} AND ${badTs})) AS bad_ts FROM (${select}) AS q`, READONLY);
  const rejected: Record<string, number> = {};
  if (num(c, 1) > 0) rejected['empty user id'] = num(c, 1);
  if (num(c, 2) > 0) rejected['missing timestamp'] = num(c, 2);
  // A few rejected rows per reason, by their values (a SELECT's rows have no stable number in ClickHouse).
  const examples: IngestReport['examples'] = {};
  if (num(c, 1) + num(c, 2) > 0) {
    const ex = await ch.query(
      `SELECT if(${badUser}, 'empty user id', 'missing timestamp') AS reason, concat('user id ', if(isNull(${u}), 'NULL', concat('"', toString(${u}), '"')), ', ', ${d.quoteString(config.columns.timestamp)}, ' ', if(isNull(${t}), 'NULL', toString(${t}))) AS value
       FROM (${select}) AS q WHERE ${badUser} OR ${badTs} LIMIT 3 BY reason`,
      READONLY,
    );
    (ex.columns[0] as string[]).forEach((reason, i) => (examples[reason] ??= []).push({ file: what, where: 'a row', value: (ex.columns[1] as string[])[i] }));
  }
  if (opts.strict && Object.keys(rejected).length) {
    const [reason, n] = Object.entries(rejected)[0];
    throw new CohortlabError('BAD_ROWS', `--strict: ${Object.entries(rejected).map(([k, v]) => `${v} ${k}`).join(', ')} in ${what} (over ${bindings}); first: ${examples[reason]?.[0]?.value ?? reason} (${n} rows). Fix the rows or run without --strict to skip and count them.`);
  }
  return {
    relation: sqlSourceRelation(config, select),
    location: `${base} (source SELECT over ${bindings})`,
    files,
    rowsRead: num(c, 0),
    rejected,
    examples,
    settings: READONLY,
    what,
  };
}

async function openClickHouseSource(spec: ClickHouseSourceOptions, config: EventConfig, opts: LoadOptions): Promise<EventSource> {
  const logger = opts.logger ?? silentLogger;
  // A SQL source is bound and checked before connecting (one read-only SELECT, no table function).
  let sql: { tables: Map<string, string>; select: string } | undefined;
  if (config.source) {
    const tables = bindSourceTables(config, spec.tables ?? {}, `"${config.name}"`);
    sql = { tables, select: clickhouseSourceSelect(config, tables, `"${config.name}"`) };
  } else if (spec.table === undefined) {
    throw new CohortlabError('BAD_ARGUMENT', '--engine clickhouse needs --table NAME, the events table (or engine.table in the config).');
  }
  const started = performance.now();
  const ch = await openClickHouse(spec);
  try {
    const d = CLICKHOUSE;
    const src = sql ? await selectFrom(ch, spec, config, sql.tables, sql.select, opts) : await tableFrom(ch, spec, config);
    const settings = src.settings;
    const { relation } = src;
    const u = await ch.query(
      `SELECT toFloat64(count()) AS n, toFloat64(uniqExact(user_id)) AS users, toFloat64(uniqExact(user_id, session_id)) AS sessions,
        toFloat64(toUnixTimestamp(min(ts))) AS first, toFloat64(toUnixTimestamp(max(ts))) AS last FROM ${relation} AS src`,
      settings,
    );
    const { rowsRead, location } = src;
    const [n, users, sessions, first, last] = u.columns.map((c) => (c as Float64Array)[0]);
    const rejected = { ...src.rejected };
    const dropped = Object.values(rejected).reduce((a, b) => a + b, 0);
    if (rowsRead - dropped > n) rejected['excluded by config'] = rowsRead - dropped - n;
    if (n === 0) throw new CohortlabError('EMPTY_INPUT', `${src.what[0].toUpperCase()}${src.what.slice(1)} has no events${rowsRead > 0 ? ` after ${Object.entries(rejected).map(([k, v]) => `${v} rows ${k === 'excluded by config' ? k : `rejected (${k})`}`).join(', ')}` : ''}.`);
    const report: IngestReport = {
      files: src.files,
      rowsRead,
      rowsUsed: n,
      rejected,
      examples: src.examples ?? {},
      users,
      firstEventMs: first * 1000,
      lastEventMs: last * 1000,
      sessions,
      sessionsInferred: !config.columns.session_id,
      signupsUnparsable: 0,
      seconds: (performance.now() - started) / 1000,
    };
    const skipped = Object.entries(rejected).map(([k, v]) => `${v.toLocaleString('en-US')} rows ${k === 'excluded by config' ? k : `rejected (${k})`}`);
    logger.info(`events: ${n.toLocaleString('en-US')} in ClickHouse ${location} (${users.toLocaleString('en-US')} users, ${new Date(report.firstEventMs).toISOString().slice(0, 10)} .. ${new Date(report.lastEventMs).toISOString().slice(0, 10)})${skipped.length ? `; ${skipped.join(', ')}` : ''}`);
    return {
      engine: 'clickhouse',
      dialect: d,
      config,
      report,
      relation,
      location,
      // With a SQL source, reads run with readonly=1; `command` (score --into's INSERT ... SELECT) writes, so it cannot.
      query: (q) => ch.query(q, settings),
      stream: (q, blockRows) => ch.stream(q, blockRows, settings),
      command: (q) => ch.command(q),
      close: () => ch.close(),
    };
  } catch (e) {
    await ch.close();
    throw e;
  }
}
