import type { EventConfig, SqlSource } from '../ingest/index.js';
import { CohortlabError } from '../shared/errors.js';
import { CLICKHOUSE } from './dialect.js';

/**
 * The config's SQL event source (`source`, docs/event-sources.md) on the ClickHouse engine: the
 * SELECT's `{name}` placeholders read warehouse tables instead of files. Which table each one reads:
 * a `--table name=db.table` binding, else `source.tables[name]`, else the table named like the
 * placeholder (in the connection's database). The SELECT is `source.clickhouse_sql` when the config
 * has one (DuckDB and ClickHouse SQL differ: `any_value`, `CAST(... AS VARCHAR)` on Nullable...),
 * else `source.sql`.
 *
 * It must be one read-only SELECT over its placeholders: checked here by a tokenizer (string literals,
 * quoted identifiers and comments skipped) before connecting, and by the server, since every query of
 * such a source runs with the setting readonly=1 (ClickHouse 18.16 answers a table function under
 * readonly=1 with "Table functions are forbidden in readonly mode" and a write with "Cannot ... in
 * readonly mode"; a second statement is a syntax error there).
 */

/** A ClickHouse table name, `name` or `database.name`. */
export const TABLE_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Table functions of ClickHouse (18.16 and newer) refused wherever they are called; any other
 * `name(` right after FROM or JOIN is refused too (a table function not in this list).
 */
const TABLE_FUNCTIONS = new Set(
  [
    'url', 'file', 'remote', 'remoteSecure', 'mysql', 'numbers', 'numbers_mt', 'jdbc', 'odbc', 'hdfs', 's3', 's3Cluster', 'hdfsCluster',
    'urlCluster', 'fileCluster', 'cluster', 'clusterAllReplicas', 'postgresql', 'sqlite', 'mongodb', 'redis', 'generateRandom', 'zeros',
    'zeros_mt', 'executable', 'azureBlobStorage', 'gcs', 'input', 'merge', 'dictionary', 'values', 'view', 'loop', 'iceberg', 'deltaLake', 'hudi',
  ].map((s) => s.toLowerCase()),
);

/** Statements other than SELECT that a source's text might start with (for the message). */
const WRITES = /^(INSERT|CREATE|DROP|ALTER|RENAME|TRUNCATE|OPTIMIZE|ATTACH|DETACH|KILL|SYSTEM|SET|USE|GRANT|REVOKE|DELETE|UPDATE|EXCHANGE|BACKUP|RESTORE)$/i;

type Token = { kind: 'word' | 'quoted' | 'string' | 'number' | 'punct'; text: string; at: number };

/** The tokens of a ClickHouse statement, comments and whitespace dropped; string literals kept as one token. */
export function tokenize(sql: string, where: string, field = 'source.sql'): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (what: string, at: number): never => {
    throw new CohortlabError('BAD_CONFIG', `config ${where}: ${field} has ${what} at character ${at + 1}.`);
  };
  while (i < sql.length) {
    const c = sql[i];
    if (/\s/.test(c)) i++;
    else if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) fail('an unterminated /* comment', i);
      i = end + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      // A literal or quoted identifier: backslash escapes and doubled quotes, as ClickHouse reads them.
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) fail(`an unterminated ${c === "'" ? 'string literal' : 'quoted identifier'}`, i);
        if (sql[j] === '\\') j += 2;
        else if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      out.push({ kind: c === "'" ? 'string' : 'quoted', text: sql.slice(i, j + 1), at: i });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))!;
      out.push({ kind: 'word', text: m[0], at: i });
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9][0-9A-Za-z_.]*([eE][+-]?[0-9]+)?/.exec(sql.slice(i))!;
      out.push({ kind: 'number', text: m[0], at: i });
      i += m[0].length;
    } else {
      out.push({ kind: 'punct', text: c, at: i });
      i++;
    }
  }
  return out;
}

/**
 * One read-only SELECT (or WITH ... SELECT) reading no table function; a single trailing `;` and
 * trailing comments are dropped. Checked on the config's text (positions are the config's), `{placeholders}` in place.
 * Returns the statement as the subquery to read from.
 */
export function checkClickHouseSelect(sql: string, where: string, field = 'source.sql'): string {
  const tokens = tokenize(sql, where, field);
  let end = tokens.length;
  if (tokens[end - 1]?.text === ';') end--;
  const body = tokens.slice(0, end);
  if (body.length === 0) throw new CohortlabError('BAD_CONFIG', `config ${where}: ${field} is empty; write one SELECT over its {placeholders}.`);
  const semi = body.find((t) => t.kind === 'punct' && t.text === ';');
  if (semi) throw new CohortlabError('BAD_CONFIG', `config ${where}: ${field} must be one SELECT statement, but a second statement follows the ";" at character ${semi.at + 1}.`);
  const first = body[0].text;
  if (!/^(SELECT|WITH)$/i.test(first) && !(first === '(' && body.some((t) => /^SELECT$/i.test(t.text)))) {
    const what = WRITES.test(first) ? `${/^[AEIOU]/i.test(first) ? 'an' : 'a'} ${first.toUpperCase()} statement` : `a statement starting with "${first}"`;
    throw new CohortlabError('BAD_CONFIG', `config ${where}: ${field} is ${what}; it must be a read-only SELECT over its {placeholders}.`);
  }
  for (let k = 0; k + 1 < body.length; k++) {
    const t = body[k];
    if (t.kind !== 'word' || body[k + 1].text !== '(') continue;
    // `name(` is a function call; a table function when named so, or when it stands where a table does.
    const prev = body[k - 1]?.text.toUpperCase();
    // `ARRAY JOIN range(...)` unrolls an array expression: not a table.
    const atTable = prev === 'FROM' || (prev === 'JOIN' && body[k - 2]?.text.toUpperCase() !== 'ARRAY');
    if (TABLE_FUNCTIONS.has(t.text.toLowerCase()) || atTable) {
      throw new CohortlabError('BAD_CONFIG', `config ${where}: ${field} calls the table function ${t.text}() at character ${t.at + 1}; it may read only its {placeholders} (map each to a table in source.tables).`);
    }
  }
  // Up to the end of the last token: a trailing `-- comment` would swallow the `)` that closes the subquery.
  const last = body[body.length - 1];
  return sql.slice(0, last.at + last.text.length);
}

/** `--table name=db.table[,name=db.table...]` as a map (with a SQL source). */
export function parseTableBindings(flag: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!flag) return out;
  for (const part of flag.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(part);
    if (!m) throw new CohortlabError('BAD_ARGUMENT', `--table "${part}": the config's events are a SELECT over {placeholders}; bind them as --table NAME=TABLE (e.g. --table lines=shop.order_lines), comma-separated for several.`);
    if (m[1] in out) throw new CohortlabError('BAD_ARGUMENT', `--table binds the placeholder {${m[1]}} twice (${out[m[1]]} and ${m[2]}).`);
    out[m[1]] = m[2];
  }
  return out;
}

/** The placeholders of the SELECT the ClickHouse engine runs, in order of first use. */
export function clickhouseSourceText(source: SqlSource): string {
  return source.clickhouse_sql ?? source.sql;
}

/**
 * The table each placeholder of the ClickHouse SELECT reads: `--table` bindings, else `source.tables`,
 * else the placeholder's own name. Every name is checked against TABLE_RE.
 */
export function bindSourceTables(config: EventConfig, flags: Record<string, string>, where: string): Map<string, string> {
  const source = config.source as SqlSource;
  const declared = new Set([...Object.keys(source.files), ...Object.keys(source.tables ?? {})]);
  for (const name of Object.keys(flags)) {
    if (!declared.has(name)) throw new CohortlabError('BAD_ARGUMENT', `--table ${name}=${flags[name]}: "${name}" is not a placeholder of the config's source (placeholders: ${[...declared].join(', ')}).`);
  }
  const bound = new Map<string, string>();
  for (const m of clickhouseSourceText(source).matchAll(PLACEHOLDER)) {
    const name = m[1];
    if (bound.has(name)) continue;
    if (!declared.has(name)) throw new CohortlabError('BAD_CONFIG', `config ${where}: source.${source.clickhouse_sql ? 'clickhouse_sql' : 'sql'} uses the placeholder {${name}}, which neither source.files nor source.tables declares (declared: ${[...declared].join(', ')}).`);
    const table = flags[name] ?? source.tables?.[name] ?? name;
    const from = flags[name] ? `--table ${name}=${table}` : source.tables?.[name] ? `config ${where}: source.tables.${name}` : `config ${where}: the placeholder {${name}} (no source.tables entry, so the table of that name)`;
    if (!TABLE_RE.test(table)) throw new CohortlabError(flags[name] ? 'BAD_ARGUMENT' : 'BAD_CONFIG', `${from}: "${table}" is not a ClickHouse table name; use letters, digits and "_", optionally "database.table".`);
    bound.set(name, table);
  }
  if (bound.size === 0) throw new CohortlabError('BAD_CONFIG', `config ${where}: the ClickHouse SELECT of source reads no {placeholder}; name each table it reads as {name} (mapped in source.tables).`);
  return bound;
}

/** The checked SELECT with each placeholder replaced by its (quoted) table. */
export function clickhouseSourceSelect(config: EventConfig, tables: Map<string, string>, where: string): string {
  const source = config.source as SqlSource;
  const checked = checkClickHouseSelect(clickhouseSourceText(source), where, source.clickhouse_sql ? 'source.clickhouse_sql' : 'source.sql');
  return checked.replace(PLACEHOLDER, (_, name: string) => (tables.get(name) as string).split('.').map(CLICKHOUSE.quoteIdent).join('.'));
}
