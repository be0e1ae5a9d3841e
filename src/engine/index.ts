/**
 * The engines: where events are read and queries run (DuckDB in-process, ClickHouse in a warehouse). Lowest
 * layer beside ingest: the dialects every stage's SQL compiles to (features/sql.ts, rules/sql.ts,
 * churn/sql.ts, cluster/sql.ts), event sources, the warehouse relation of a config and the loader.
 * It imports no stage but ingest; the scoring statement is assembled by the pipeline (pipeline/score-sql.ts).
 */
export { CLICKHOUSE, DIALECTS, DUCKDB, sqlNumber, type Dialect, type EngineName, type NamedQuery } from './dialect.js';
export {
  asSource, clickhouseRelation, duckdbSource, openEventSource,
  type ClickHouseEventSpec, type ClickHouseSourceOptions, type EventSource, type EventSourceSpec,
} from './source.js';
export {
  bindSourceTables, checkClickHouseSelect, clickhouseSourceSelect, clickhouseSourceText, parseTableBindings, tokenize, TABLE_RE,
} from './sql-source.js';
export { loadEventsToClickHouse, warehouseConfig, WAREHOUSE_COLUMNS, type LoadTarget } from './load.js';
export {
  CLICKHOUSE_DEFAULT_MAX_QUERY_SIZE, openClickHouse, quoteIdentifier, quoteString,
  type ClickHouse, type ClickHouseOptions, type InsertColumn, type QuerySettings,
} from './clickhouse.js';
export { SOURCE_COLUMNS, sourceRelation, sourceRelationFrom } from './relation.js';
