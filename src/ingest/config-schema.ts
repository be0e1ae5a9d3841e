import type { ActivationMilestone, ColumnMapping, EventConfig, PlanConfig, RefreshConfig, SqlSource, Taxonomy, UsageLimit, WebhookConfig } from './types.js';

/**
 * The JSON Schema (draft 2020-12) of `cohortlab.config.json`: the single source of the config's
 * rules. ajv validates configs against it (config.ts), `cohortlab features --config-schema` prints
 * it, and every field carries a `description` and `examples`. The property lists are checked against
 * the TypeScript types at compile time (`satisfies Record<keyof T, ...>`: a field added to a type and
 * not here, or here and not in the type, fails the build) and again in test/ingest/config-schema.test.ts.
 */
export interface SchemaNode {
  type?: 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | readonly ('object' | 'string' | 'null')[];
  description?: string;
  examples?: readonly unknown[];
  properties?: Record<string, SchemaNode>;
  required?: readonly string[];
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  enum?: readonly (string | number)[];
  minimum?: number;
  minLength?: number;
  default?: unknown;
}

const names = (description: string, examples: string[][]): SchemaNode => ({ type: 'array', items: { type: 'string', minLength: 1 }, description, examples });
const column = (description: string, examples: (string | null)[]): SchemaNode => ({ type: ['string', 'null'], description, examples });

const COLUMN_PROPS = {
  user_id: { type: 'string', minLength: 1, description: 'column holding the user (or account, customer, enrolment) id', examples: ['user_id', 'userId', 'CustomerID'] },
  timestamp: { type: 'string', minLength: 1, description: 'column holding the event time (read as timestamp_format says)', examples: ['timestamp', 'ts', 'InvoiceDate'] },
  event: column('column holding the event name; null for logs with one kind of event (then default_event names it)', ['event', 'page', null]),
  session_id: column('column holding a session id; null to start a new session after session_gap_minutes of inactivity', ['session_id', 'sessionId', null]),
  plan: column('column holding the plan or tier at the event (the latest one before the cutoff is the user\'s plan)', ['plan', 'level', null]),
  value: column('column holding a monetary amount per event (summed when monetary is "sum_value")', ['dollar_value', 'value', null]),
  signup: column('column holding the signup time (epoch or ISO); null: tenure starts at the first event', ['signup_at', 'registration', null]),
  properties: { type: 'array', items: { type: 'string' }, description: 'extra columns carried along for users (not used by features)', examples: [['country'], []] },
} as const satisfies Record<keyof ColumnMapping, SchemaNode>;

const TAXONOMY_PROPS = {
  core_features: names('events that use a core feature of the product (feature breadth, playbook §2.1, §4.1)', [['created_project', 'added_task'], ['NextSong']]),
  session_start: names('events that open a session (app opened, login)', [['app_opened'], ['Login']]),
  invite: names('events that invite another person (playbook §2.4, §3.2)', [['invited_member']]),
  share: names('events that share something outside the product', [['shared_item']]),
  pricing_view: names('pricing-page views (expansion readiness, playbook §4.3)', [['viewed_pricing'], ['Upgrade']]),
  locked_feature_click: names('clicks on a feature the plan does not include', [['clicked_locked_feature']]),
  support_ticket: names('support tickets opened', [['opened_support_ticket'], ['Help']]),
  negative_support: names('negative support interactions or dissatisfaction signals (churn risk, playbook §4.4)', [['negative_support_rating'], ['cancelled_order']]),
  failed_payment: names('failed payments (churn risk, playbook §4.4)', [['payment_failed']]),
  downgrade: names('plan downgrades', [['downgraded_plan'], ['Submit Downgrade']]),
  cancel_page_view: names('views of the cancel page', [['viewed_cancel_page'], ['Cancel']]),
  churn: names('explicit churn events (cancellation, withdrawal); a user with one is churned from then on', [['cancelled_subscription'], ['unregistered']]),
  upgrade: names('plan upgrades: the outcome of `train --target upgrade` (the first one after a cutoff; users who upgraded before it are left out)', [['upgraded_plan'], ['Submit Upgrade']]),
} as const satisfies Record<keyof Taxonomy, SchemaNode>;

const MILESTONE_PROPS = {
  name: { type: 'string', description: 'lower_snake_case name; the feature becomes milestone_<name>', examples: ['created_first_project', 'first_order'] },
  event: { type: 'string', description: 'the event that reaches the milestone (first occurrence)', examples: ['created_project', 'order'] },
  points: { type: 'number', minimum: 0, description: 'activation points of the milestone (playbook §4.2; the points of all milestones usually sum to 100)', examples: [20, 100] },
} as const satisfies Record<keyof ActivationMilestone, SchemaNode>;

const PLAN_PROPS = {
  values: { type: 'object', additionalProperties: { type: 'number' }, description: 'monthly value of each plan (playbook §2.5, §6.3 monetary)', examples: [{ free: 0, pro: 39 }] },
  paid: { type: 'array', items: { type: 'string' }, description: 'plans that count as paying', examples: [['basic', 'pro', 'enterprise'], []] },
  rfm_monetary: { type: 'object', additionalProperties: { type: 'integer', minimum: 1 }, description: 'playbook §6.3 monetary score (1-5) per plan; inactive free users get 1', examples: [{ enterprise: 5, pro: 4, free: 2 }] },
} as const satisfies Record<keyof PlanConfig, SchemaNode>;

const USAGE_LIMIT_PROPS = {
  event: { type: 'string', description: 'the metered event', examples: ['added_task'] },
  window_days: { type: 'number', minimum: 1, description: 'days over which the allowance applies', examples: [30] },
  limits: { type: 'object', additionalProperties: { type: 'number' }, description: 'allowance per plan in the window; a plan without an entry has no limit', examples: [{ free: 40, pro: 600 }] },
} as const satisfies Record<keyof UsageLimit, SchemaNode>;

const ENGINE_PROPS = {
  name: { enum: ['duckdb', 'clickhouse'], description: 'duckdb: event files read by the embedded engine; clickhouse: a table in a ClickHouse server', examples: ['duckdb', 'clickhouse'] },
  clickhouse_url: { type: 'string', description: 'ClickHouse HTTP endpoint', examples: ['http://127.0.0.1:8123'] },
  table: { type: 'string', description: 'the ClickHouse events table, name or database.name', examples: ['events', 'analytics.events'] },
  user: { type: 'string', description: 'ClickHouse user (the password comes from $COHORTLAB_CLICKHOUSE_PASSWORD)', examples: ['default'] },
  memory_limit: { type: 'string', description: 'DuckDB memory limit; past it DuckDB spills to temp_dir instead of failing (--memory-limit and $COHORTLAB_DUCKDB_MEMORY_LIMIT override it)', examples: ['2GB', '512MB'] },
  temp_dir: { type: 'string', description: 'DuckDB spill folder (--temp-dir and $COHORTLAB_DUCKDB_TEMP_DIR override it); default: the system temp folder', examples: ['/var/tmp/cohortlab'] },
  threads: { type: 'integer', minimum: 1, description: 'DuckDB worker threads (--threads and $COHORTLAB_DUCKDB_THREADS override it); default: one per core', examples: [4] },
} as const satisfies Record<keyof NonNullable<EventConfig['engine']>, SchemaNode>;

const SOURCE_PROPS = {
  files: {
    type: 'object',
    additionalProperties: { type: 'string', minLength: 1 },
    description: 'placeholder name -> the file name (or glob) it reads; a --events path whose file name matches binds to it, or pass --events NAME=PATH',
    examples: [{ lines: 'onlineretail.csv*' }, { registration: 'studentRegistration.csv*', submissions: 'studentAssessment.csv*' }],
  },
  sql: {
    type: 'string',
    minLength: 1,
    description: 'one read-only DuckDB SELECT over {name} placeholders (one per file); its output columns are what "columns" maps, and its rows are checked and counted like a file\'s',
    examples: ["SELECT CAST(CustomerID AS VARCHAR) AS customer_id, InvoiceDate AS ts, 'order' AS event, Quantity * UnitPrice AS value FROM {lines}"],
  },
  tables: {
    type: 'object',
    additionalProperties: { type: 'string', minLength: 1 },
    description: 'with --engine clickhouse: placeholder name -> the warehouse table it reads ("table" or "database.table"); a placeholder without an entry reads the table of its own name; --table NAME=TABLE overrides',
    examples: [{ lines: 'shop.order_lines' }],
  },
  clickhouse_sql: {
    type: 'string',
    minLength: 1,
    description: 'with --engine clickhouse: the same SELECT in ClickHouse SQL (18.16 or newer), when "sql" uses DuckDB-only syntax; one read-only SELECT over the {placeholders}, no table functions; default: "sql"',
    examples: ["SELECT toString(CustomerID) AS customer_id, InvoiceDate AS ts, 'order' AS event, Quantity * UnitPrice AS value FROM {lines} WHERE CustomerID IS NOT NULL"],
  },
} as const satisfies Record<keyof SqlSource, SchemaNode>;

const WEBHOOK_PROPS = {
  url: { type: 'string', minLength: 1, description: 'the receiver (https in production); each batch is POSTed as {"records": [...]}', examples: ['https://hooks.example.com/cohortlab'] },
  secret_env: { type: 'string', minLength: 1, description: 'environment variable holding the HMAC-SHA256 signing secret (the secret never goes in this file)', examples: ['COHORTLAB_WEBHOOK_SECRET'] },
  batch_size: { type: 'integer', minimum: 1, description: 'records per POST', default: 500, examples: [500] },
} as const satisfies Record<keyof WebhookConfig, SchemaNode>;

const REFRESH_PROPS = {
  keep: { type: 'integer', minimum: 1, description: 'snapshots kept in the model\'s history (models/NAME/history); older ones are removed after each refresh (default: all)', examples: [90, 24] },
  track: names('columns whose changes become records (--changes, webhooks); default: behavioral_segment, lifecycle_stage, cluster_label and every segment_* column', [['behavioral_segment', 'lifecycle_stage', 'cluster_label'], ['churn_risk_tier']]),
  webhooks: {
    type: 'array',
    description: 'receivers of the changes of each refresh: signed (X-Cohortlab-Signature), batched, retried with backoff, an Idempotency-Key per batch, a dead-letter file for what fails',
    examples: [[{ url: 'https://hooks.example.com/cohortlab', secret_env: 'COHORTLAB_WEBHOOK_SECRET' }]],
    items: { type: 'object', required: ['url', 'secret_env'], additionalProperties: false, properties: WEBHOOK_PROPS },
  },
} as const satisfies Record<keyof RefreshConfig, SchemaNode>;

const CONFIG_PROPS = {
  name: { type: 'string', description: 'a name for this mapping (shown in messages and feature dictionaries)', examples: ['synthetic', 'online-retail'] },
  format: { enum: ['auto', 'csv', 'ndjson', 'parquet', 'whitespace'], description: 'event file format; auto = by extension (.csv, .json/.ndjson/.jsonl, .parquet, optionally .gz)', default: 'auto', examples: ['auto', 'whitespace'] },
  timestamp_format: { enum: ['auto', 'iso', 'epoch_s', 'epoch_ms', 'yyyymmdd'], description: 'how timestamps are written; auto: numbers >= 1e11 are epoch ms, smaller numbers epoch s, text ISO 8601', default: 'auto', examples: ['iso', 'epoch_ms'] },
  columns: {
    type: 'object',
    required: ['user_id', 'timestamp'],
    additionalProperties: false,
    description: 'which source column holds what (with "source", the columns of its SELECT)',
    examples: [{ user_id: 'user_id', timestamp: 'timestamp', event: 'event' }],
    properties: COLUMN_PROPS,
  },
  default_event: { type: 'string', description: 'event name when columns.event is null', examples: ['purchase'] },
  exclude: {
    type: 'array',
    description: 'rows to skip (and count), by column value',
    examples: [[{ column: 'auth', values: ['Logged Out'] }]],
    items: {
      type: 'object',
      required: ['column', 'values'],
      additionalProperties: false,
      properties: {
        column: { type: 'string', description: 'the column to test', examples: ['auth'] },
        values: { type: 'array', items: { type: 'string' }, description: 'values whose rows are skipped', examples: [['Logged Out', 'Guest']] },
      },
    },
  },
  session_gap_minutes: { type: 'number', minimum: 1, description: 'minutes of inactivity that start a new session when columns.session_id is null', default: 30, examples: [30] },
  cadence: { enum: ['daily', 'weekly', 'monthly'], description: 'playbook §3.4 usage cadence; sets the dormant / churn inactivity threshold (7, 21, 60 days)', default: 'weekly', examples: ['weekly', 'monthly'] },
  inactivity_days: { type: 'number', minimum: 1, description: 'overrides the cadence\'s inactivity threshold (days without activity = dormant, and churned for labels)', examples: [90, 273] },
  taxonomy: { type: 'object', additionalProperties: false, description: 'which event names mean what; every list may be empty, names not listed still count as activity', examples: [{ core_features: ['order'], churn: ['cancelled_subscription'] }], properties: TAXONOMY_PROPS },
  activation: {
    type: 'object',
    required: ['milestones'],
    additionalProperties: false,
    description: 'playbook §4.2 activation milestones; without any, every user is "Not activated"',
    examples: [{ milestones: [{ name: 'first_order', event: 'order', points: 100 }] }],
    properties: {
      milestones: { type: 'array', description: 'the milestones, each reached by the first occurrence of its event', examples: [[{ name: 'first_order', event: 'order', points: 100 }]], items: { type: 'object', required: ['name', 'event', 'points'], additionalProperties: false, properties: MILESTONE_PROPS } },
    },
  },
  plans: { type: 'object', additionalProperties: false, description: 'plan values and which plans pay', examples: [{ values: { free: 0, pro: 39 }, paid: ['pro'] }], properties: PLAN_PROPS },
  monetary: { enum: ['plan', 'sum_value'], description: 'monetary value: the value of the latest plan, or the sum of columns.value before the cutoff (default: sum_value when columns.value is mapped, else plan)', examples: ['plan', 'sum_value'] },
  engine: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    description: 'where the events live (command-line flags override it): duckdb (event files, the default) or a ClickHouse table',
    examples: [{ name: 'clickhouse', clickhouse_url: 'http://127.0.0.1:8123', table: 'events' }],
    properties: ENGINE_PROPS,
  },
  usage_limit: {
    type: ['object', 'null'],
    required: ['event', 'window_days', 'limits'],
    additionalProperties: false,
    description: 'a metered allowance per plan (feature usage_pct_of_limit), or null for none',
    examples: [{ event: 'added_task', window_days: 30, limits: { free: 40, pro: 600 } }, null],
    properties: USAGE_LIMIT_PROPS,
  },
  source: {
    type: 'object',
    required: ['files', 'sql'],
    additionalProperties: false,
    description: 'events defined as one SELECT over named files (DuckDB) or warehouse tables (ClickHouse), for logs that need a join or a computed column (docs/event-sources.md)',
    examples: [{ files: { lines: 'onlineretail.csv*' }, sql: "SELECT CAST(CustomerID AS VARCHAR) AS customer_id, InvoiceDate AS ts, 'order' AS event FROM {lines}" }],
    properties: SOURCE_PROPS,
  },
  refresh: {
    type: 'object',
    additionalProperties: false,
    description: 'what cohortlab refresh and serve --refresh do with each dated snapshot: history retention, tracked columns, webhooks (docs/refresh.md)',
    examples: [{ keep: 90, webhooks: [{ url: 'https://hooks.example.com/cohortlab', secret_env: 'COHORTLAB_WEBHOOK_SECRET' }] }],
    properties: REFRESH_PROPS,
  },
} as const satisfies Record<keyof EventConfig, SchemaNode>;

export const EVENT_CONFIG_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'cohortlab event-log mapping and taxonomy',
  description: 'How cohortlab reads an event log (columns, formats, an optional SELECT over several files) and what its events mean (taxonomy, activation milestones, plans).',
  type: 'object',
  required: ['columns'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string', description: 'the schema this file follows (for editors)', examples: ['../docs/config.schema.json'] },
    ...CONFIG_PROPS,
  },
} as const;
