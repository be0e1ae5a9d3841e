/**
 * One error type and one catalogue for everything that can go wrong (issue 19 part 4). Each code has its
 * HTTP status, what it means and the fix; the server answers with the status, the CLI exits 2 for a 4xx
 * code (bad input or usage) and 1 for a 5xx code (internal; `exit` overrides), and docs/errors.md's table is generated
 * from the catalogue (`renderErrorTable`, checked by test/shared/errors.test.ts).
 *
 * The message of a 4xx error is sent to the caller: it names what is wrong, where, and the fix, and never
 * carries SQL. A 5xx error's message and `detail` (a query, a stack of causes) go to the log only; the
 * caller gets the catalogue's `template` (with the request id), never the message.
 */
export interface ErrorEntry {
  /** HTTP status of the answer; >= 500 also means the CLI exits 1 (internal) instead of 2. */
  status: number;
  /** What it means (docs/errors.md, markdown). */
  meaning: string;
  /** How to fix it (docs/errors.md, markdown). */
  fix: string;
  /**
   * The client-facing message when it is fixed by the code (server-side conditions and every 5xx): `{name}`
   * placeholders filled by `errorMessage`. Codes without one are thrown with a message built from the values.
   */
  template?: string;
  /** CLI exit code when it is not the status's (4xx: 2, 5xx: 1), e.g. a damaged version the user removes. */
  exit?: 1 | 2;
}

const CATALOGUE = {
  BAD_ARGUMENT: {
    status: 400,
    meaning: "a flag, option or request field has a wrong value (the message quotes it and the allowed range)",
    fix: "pass the value the message asks for; `cohortlab <command> --help` lists the options",
  },
  FILE_NOT_FOUND: {
    status: 400,
    meaning: "an input file, folder or glob does not exist or matches nothing",
    fix: "check the path; quote globs (`'logs/*.json.gz'`) so the shell does not expand them",
  },
  EMPTY_INPUT: {
    status: 400,
    meaning: "a file has no bytes or no records, or no event lies before the cutoff",
    fix: "check the file; pick a later `--as-of`",
  },
  UNKNOWN_FORMAT: {
    status: 400,
    meaning: "the format cannot be told from the file extension, or a text event file is UTF-16 (it starts with a UTF-16 byte-order mark)",
    fix: "rename to `.csv`, `.json`/`.ndjson`/`.jsonl`, `.parquet` (optionally `.gz`), or set `\"format\"` in the config; convert UTF-16 to UTF-8 (`iconv -f UTF-16 -t UTF-8`)",
  },
  MISSING_COLUMN: {
    status: 400,
    meaning: "a mapped column is not in the file, the ClickHouse table or the `source` SELECT's result (the message lists the columns it has), or a CSV header names a mapped column twice",
    fix: "fix `columns` in the config; rename or drop the repeated column",
  },
  BAD_CONFIG: {
    status: 400,
    meaning: "the config JSON breaks its schema (JSON path given), or its `source.sql` is not one read-only SELECT over its `{placeholders}` (a second statement, a non-SELECT, a table function such as `read_csv`, an undeclared placeholder, or a query that fails on the given files; with `--engine clickhouse`, the same for `source.clickhouse_sql` (table functions such as `url()`, `remote()`, `numbers()`), a `source.tables` entry that is not a table name, or a SELECT that fails in the server)",
    fix: "fix the named setting; `cohortlab features --config-schema` prints the schema; [event sources](event-sources.md)",
  },
  BAD_ROWS: {
    status: 400,
    meaning: "`--strict` and rows were rejected (reason, file and line given; for a `source.sql`, the row of the SELECT; over ClickHouse tables, the first rejected row's values); in the API, an event of a request that cannot be read; a file bound to a `source.sql` placeholder that DuckDB cannot read",
    fix: "fix the rows, or run without `--strict` to skip and count them",
  },
  BAD_FEATURE: {
    status: 400,
    meaning: "a features table or request has an empty, non-numeric or infinite feature (column and row, or JSON path, given)",
    fix: "recompute the features, or send finite numbers",
  },
  TOO_FEW_LIVE_USERS: {
    status: 400,
    meaning: "`cohortlab cluster`: fewer users are live at the cutoff (not already churned) than 2 x `--min-size`, and clusters are fitted on live users (the message gives both numbers)",
    fix: "an earlier `--as-of`, a smaller `--min-size`, or `--include-churned` to fit on everyone (`train` does not stop: it fits on everyone and warns `CLUSTER_FIT_ON_ALL_USERS`)",
  },
  HORIZON_NOT_COVERED: {
    status: 400,
    meaning: "the label horizon after the cutoff ends after the last event (checked to its instant, not its day; the tail after the last event may be 1% of the label's quiet window, `min(inactivity, H)` days, see `src/features/horizon.ts`)",
    fix: "pick the earlier `--as-of` the message names, or a shorter `--horizon-days`",
  },
  TABLE_NOT_FOUND: {
    status: 400,
    meaning: "`--engine clickhouse`: the events table is not in the server's database, or a table a config's `source` SELECT reads (bound by `--table NAME=TABLE`, `source.tables` or the placeholder's name) is not",
    fix: "check `--table` (`name` or `database.name`, or `NAME=TABLE` with a `source`), `source.tables` and `--clickhouse-url`",
  },
  WRITE_FAILED: {
    status: 400,
    meaning: "an output file, report or model version could not be written (disk full, a file size limit, permission, read-only file system, a path part that is a file); no partial file is left",
    fix: "free space or fix the path or permissions, then run again",
  },
  ONE_CLASS: {
    status: 400,
    meaning: "the test users (or validation users) of `train`, or the users of `evaluate`, are all churners or all stayers: no ranking can be measured; `train` registers nothing",
    fix: "pick a cutoff/horizon where both outcomes occur (`cohortlab profile` shows the churn share), or a larger table",
  },
  NEEDS_FORCE: {
    status: 400,
    meaning: "`models promote` of a version whose verdict is `insufficient_evidence` or `in_sample`",
    fix: "retrain on more users / evaluate on a later period, or pass `--force` to promote anyway",
  },
  INPUT_CHANGED: {
    status: 409,
    meaning: "an event file read in place (a Parquet log with typed times is a view over its files, not a copy) changed size or modification time while the command was reading it; what it computed would mix two versions of the log",
    fix: "rerun once the file is written; for a file rewritten while commands run, copy it first, or load it with `loadEvents(files, config, { inPlace: false })`",
  },
  NO_MEMBER_IDS: {
    status: 409,
    meaning: "`/v1/users/:id`, `/v1/members` or `/v1/export` on a model trained without storing user ids (the privacy default)",
    fix: "train with `--keep-user-ids`, or `--pseudonymize` (keyed hashes; set `COHORTLAB_PSEUDONYM_SALT` on the server to look up raw ids)",
  },
  RULE_SYNTAX: {
    status: 400,
    meaning: "a segment rule file does not parse (file:line:column and what was expected)",
    fix: "fix the rule file at the printed position",
  },
  RULE_UNKNOWN_NAME: {
    status: 400,
    meaning: "a rule uses an unknown function, window or name (the known ones are listed)",
    fix: "use one of the listed names, or `features.<column>`",
  },
  NOT_FITTED: {
    status: 400,
    meaning: "an estimator was used before `fit`",
    fix: "fit it first (a code error in a notebook or script)",
  },
  MODEL_NOT_FOUND: {
    status: 404,
    meaning: "no such model name or version in the registry (the versions that exist are listed)",
    fix: "`cohortlab models list`; train one, or pass `--models-dir`",
  },
  SNAPSHOT_NOT_FOUND: {
    status: 404,
    meaning: "no refresh snapshot of the model at that date (the dates the history holds are listed), or the history is empty",
    fix: "run `cohortlab refresh --model NAME --as-of DATE ...` first; `cohortlab history --model NAME` lists the dates",
  },
  MODEL_INCOMPATIBLE: {
    status: 422,
    meaning: "the model was trained on other features or another kind of input, or by another format version (a manifest `kind`/`formatVersion` this release does not read); or it has no `rules-reference.json` (trained before the rule reference thresholds were saved); or its reference thresholds hold no §6.3 spend quintiles and the config values users by spend",
    fix: "compute features with the model's config; score table models with `--table`; re-train (with the spend-valued config)",
  },
  MODEL_CORRUPT: {
    status: 503,
    meaning: "a file of a version is missing or does not match its sha256 in the manifest; or its `manifest.json` is not JSON or has a field missing or of the wrong type (the message names the file and the field, docs/registry.md)",
    fix: "remove the version (`cohortlab models rm`) and re-train",
    // 503, not 500 with its message (which names files of the registry): the server keeps the version it had.
    exit: 2,
    template: 'a file of the model version is missing or fails its checksum; the server keeps serving the version it had loaded (request id {requestId}; the log names the file)',
  },
  BAD_MODEL_NAME: {
    status: 400,
    meaning: "a model name could escape the registry or has odd characters",
    fix: "use 1-64 lower-case letters, digits, `-` or `_`",
  },
  REGISTRY_CONFLICT: {
    status: 400,
    meaning: "no version number could be allocated (many concurrent writers)",
    fix: "retry",
  },
  TOO_FEW_PURCHASES: {
    status: 400,
    meaning: "`cohortlab ltv`: no customer bought on two different days before the as-of date (BG/NBD's dropout parameters need repeat buyers), or fewer than 2 repeat buyers with a positive spend for Gamma-Gamma (the message gives the counts)",
    fix: "a later `--as-of`, a longer log, or the right `--purchase-events`",
  },
  TARGET_EVENT_ABSENT: {
    status: 400,
    meaning: "`train --target event:NAME`: NAME does not occur in the log; `--target upgrade`: none of the config's `taxonomy.upgrade` events occurs in it (the message lists near names of the log)",
    fix: "the exact event name (names are case-sensitive), or the right `taxonomy.upgrade` list (docs/propensity.md)",
  },
  UNKNOWN_USER: {
    status: 404,
    meaning: "`GET /v1/users/:id` for a user not in the scored snapshot",
    fix: "score new users with `POST /v1/predict`",
  },
  RETENTION_NOT_STORED: {
    status: 404,
    meaning: "`GET /v1/retention`: the loaded version holds no `retention.json` (written when a version is trained; versions from before it have none), or none for the asked `by` (`cluster` on a version without clusters)",
    fix: "train a new version; or compute the curves from the events with `cohortlab retention` (docs/retention.md)",
  },
  INVALID_REQUEST: {
    status: 400,
    meaning: "(server) the request breaks the route's schema: a missing or unknown feature, a wrong type, too many users (the `path` is the JSON path)",
    fix: 'send what `GET /v1/openapi.json` describes for the route',
  },
  MALFORMED_JSON: {
    status: 400,
    meaning: '(server) the body is not valid JSON, or is empty',
    fix: 'send one JSON object with `content-type: application/json`',
    template: 'the body is not valid JSON{detail}',
  },
  BAD_QUERY: {
    status: 400,
    meaning: '(server) query parameters that do not go together: `/v1/transitions` with half a date pair, a reversed pair, or a pair and `monthly=true`',
    fix: 'give both `from` and `to` (from before to), or `monthly=true`, or neither',
  },
  UNKNOWN_COLUMN: {
    status: 400,
    meaning: '(server) `by=` names no segment column of the scored snapshot, `sort=` no column of it (`/v1/members`, `/v1/export`), `column=` none of the history (`/v1/history`), or `features=` no stored feature (`/v1/clusters/:cluster`); the message lists the valid ones',
    fix: 'use one of the listed columns',
  },
  UNAUTHORIZED: {
    status: 401,
    meaning: '(server) `COHORTLAB_API_KEY` is set and the request has no or a wrong bearer key',
    fix: 'send `Authorization: Bearer <key>`',
    template: 'this server requires "Authorization: Bearer <key>" (COHORTLAB_API_KEY)',
  },
  NOT_FOUND: {
    status: 404,
    meaning: '(server) no such route',
    fix: '`GET /v1/openapi.json` lists the routes',
    template: 'no route {method} {url}; GET /v1/openapi.json lists the routes',
  },
  NO_CLUSTERS: {
    status: 404,
    meaning: '(server) the loaded version has no clusters',
    fix: 'train a version with clusters',
    template: 'this model has no clusters',
  },
  NO_PROPENSITY_MODEL: {
    status: 404,
    meaning: '(server) `GET /v1/propensity` and the server was started without `--propensity-model`',
    fix: 'start it with `serve --model REF --propensity-model UPGRADE_REF` (a version trained with `train --target upgrade`)',
    template: 'no propensity model is loaded; start the server with serve --propensity-model REF',
  },
  UNKNOWN_CLUSTER: {
    status: 404,
    meaning: '(server) `cluster=K`, `/v1/clusters/K` or `compare=K` beyond the clusters of the loaded version (the message gives the range)',
    fix: 'pick a cluster of `GET /v1/clusters`',
  },
  UNKNOWN_SEGMENT: {
    status: 404,
    meaning: '(server) no user of the scored snapshot has `segment=NAME` in the `by` column (the message lists the values)',
    fix: 'pick one of the listed values',
  },
  BODY_TOO_LARGE: {
    status: 413,
    meaning: '(server) the body is larger than the 32 MB limit',
    fix: 'split the batch',
    template: 'the body is larger than {mb} MB; send at most {users} users per request',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    meaning: '(server) a body that is not `application/json`',
    fix: 'send `content-type: application/json`',
    template: 'send the body as application/json',
  },
  ENGINE_FAILED: {
    status: 502,
    meaning: 'ClickHouse failed a query or answered something unreadable (`--engine clickhouse`); the query is in the log (`COHORTLAB_DEBUG=1`), not in the message',
    fix: 'check the server (`--clickhouse-url`) and its log; run again',
    template: 'the query engine failed; request id {requestId}',
  },
  INTERNAL: {
    status: 500,
    meaning: 'a bug: an internal check failed; the CLI exits 1 (the stack with `COHORTLAB_DEBUG=1`), the server answers a generic 500 with the request id and logs the details',
    fix: 'report it with the log lines of that request id',
    template: 'internal error; request id {requestId}',
  },
} as const satisfies Record<string, ErrorEntry>;

/** Every stable error code: the keys of the catalogue. */
export type ErrorCode = keyof typeof CATALOGUE;

export const ERROR_CATALOGUE: Readonly<Record<ErrorCode, ErrorEntry>> = CATALOGUE;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(CATALOGUE, code);
}

/** A code's fixed message with its `{placeholders}` filled (a code without a template: its meaning). */
export function errorMessage(code: ErrorCode, values: Record<string, string | number> = {}): string {
  const e: ErrorEntry = CATALOGUE[code];
  return (e.template ?? e.meaning).replace(/\{(\w+)\}/g, (_, k: string) => String(values[k] ?? ''));
}

/** 5xx codes: the caller sees the template, never the message (it may quote SQL, paths or values). */
export function isInternalCode(code: ErrorCode): boolean {
  return CATALOGUE[code].status >= 500;
}

/** The CLI's exit code for a code: 2 = bad input or usage (the user fixes it), 1 = internal. */
export function exitCodeOf(code: ErrorCode): 1 | 2 {
  const e: ErrorEntry = CATALOGUE[code];
  return e.exit ?? (e.status >= 500 ? 1 : 2);
}

export class CohortlabError extends Error {
  readonly code: ErrorCode;
  /** Where the problem is: a file, "file:line", a JSON path, a query parameter or a route. */
  readonly path: string | undefined;
  /** For the log only, never for a client (e.g. the SQL of a failed query). */
  readonly detail: string | undefined;
  constructor(code: ErrorCode, message: string, options: { path?: string; cause?: unknown; detail?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CohortlabError';
    this.code = code;
    this.path = options.path;
    this.detail = options.detail;
  }

  /** The HTTP status of the code (ERROR_CATALOGUE). */
  get status(): number {
    return CATALOGUE[this.code].status;
  }
}

export function isCohortlabError(e: unknown): e is CohortlabError {
  return e instanceof CohortlabError;
}

/** An internal check failed (a bug, exit 1 / HTTP 500): the message goes to the log, never to a client. */
export function internalError(message: string, options: { cause?: unknown; detail?: string } = {}): CohortlabError {
  return new CohortlabError('INTERNAL', message, options);
}

/** Exhaustive switch helper: a new union member that is not handled fails to compile. */
export function assertNever(x: never, what: string): never {
  throw internalError(`unhandled ${what}: ${JSON.stringify(x)}`);
}

/** The table of docs/errors.md (between its `errors:begin`/`errors:end` markers), generated from the catalogue. */
export function renderErrorTable(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = (Object.entries(CATALOGUE) as [ErrorCode, ErrorEntry][]).map(([code, e]) => `| \`${code}\` | ${e.status} | ${exitCodeOf(code)} | ${cell(e.meaning)} | ${cell(e.fix)} |`);
  return ['| code | HTTP | exit | what it means | how to fix |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** Rewrites the generated table of a markdown file (docs/errors.md) in place. */
export async function writeErrorTable(file: string): Promise<void> {
  const { readFile, writeFile } = await import('node:fs/promises');
  await writeFile(file, replaceErrorTable(await readFile(file, 'utf8')));
}

/** The markdown text with the table between its markers replaced by `renderErrorTable()`. */
export function replaceErrorTable(markdown: string): string {
  const begin = '<!-- errors:begin -->';
  const end = '<!-- errors:end -->';
  const i = markdown.indexOf(begin);
  const j = markdown.indexOf(end);
  if (i < 0 || j < i) throw internalError(`the markdown has no ${begin} ... ${end} markers`);
  return `${markdown.slice(0, i + begin.length)}\n${renderErrorTable()}\n${markdown.slice(j)}`;
}
