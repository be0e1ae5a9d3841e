/**
 * The event-log mapping and taxonomy (`cohortlab.config.json`). The JSON schema users validate
 * against is generated from `EVENT_CONFIG_SCHEMA` in config.ts; keep the two in step.
 */
export type EventFormat = 'auto' | 'csv' | 'ndjson' | 'parquet' | 'whitespace';
export type TimestampFormat = 'auto' | 'iso' | 'epoch_s' | 'epoch_ms' | 'yyyymmdd';
/** Playbook §3.4: product usage cadence, which sets the dormant / churn inactivity threshold. */
export type Cadence = 'daily' | 'weekly' | 'monthly';

export interface ColumnMapping {
  user_id: string;
  timestamp: string;
  /** Event-name column; null for logs with one kind of event (CDNOW purchases), see `default_event`. */
  event: string | null;
  session_id?: string | null;
  plan?: string | null;
  /** Monetary amount of an event (CDNOW `dollar_value`). */
  value?: string | null;
  /** Signup time per user (epoch or ISO); when absent tenure starts at the first event. */
  signup?: string | null;
  /** Extra columns kept as properties (not used by features, carried for users). */
  properties?: string[];
}

/** Which event names mean what. Every list may be empty; names not listed are still counted as activity. */
export interface Taxonomy {
  core_features: string[];
  session_start: string[];
  invite: string[];
  share: string[];
  pricing_view: string[];
  locked_feature_click: string[];
  support_ticket: string[];
  negative_support: string[];
  failed_payment: string[];
  downgrade: string[];
  cancel_page_view: string[];
  churn: string[];
  /**
   * Plan upgrades (issue 20 part 5): the events `train --target upgrade` predicts. Not a feature input
   * (the §4.3 expansion-readiness score reads pricing views and limits, not upgrades); absent = [].
   */
  upgrade: string[];
}

export interface ActivationMilestone {
  /** Feature column becomes `milestone_<name>`. */
  name: string;
  event: string;
  points: number;
}

export interface PlanConfig {
  /** Monthly value of each plan (playbook §2.5 plan segments, §6.3 monetary). */
  values: Record<string, number>;
  /** Plans that count as paying. */
  paid: string[];
  /** Playbook §6.3 monetary score per plan (5=Enterprise ... 2=Active free); inactive free users get 1. */
  rfm_monetary?: Record<string, number>;
}

export interface UsageLimit {
  event: string;
  window_days: number;
  /** Allowance per plan in the window; a plan without an entry has no limit. */
  limits: Record<string, number>;
}

/**
 * Events defined as one DuckDB SELECT over named files (logs that need a join or a computed column).
 * `{name}` in `sql` reads the file bound to `name`: `--events name=PATH`, or a path whose file name
 * matches `files[name]` (a file name or glob).
 */
export interface SqlSource {
  files: Record<string, string>;
  sql: string;
  /**
   * With the ClickHouse engine: placeholder -> warehouse table (`name` or `database.name`); a placeholder
   * without an entry reads the table named like it (src/engine/sql-source.ts).
   */
  tables?: Record<string, string>;
  /** With the ClickHouse engine: the SELECT in ClickHouse SQL, when `sql` uses DuckDB-only syntax. */
  clickhouse_sql?: string;
}

export interface EventConfig {
  name: string;
  format: EventFormat;
  timestamp_format: TimestampFormat;
  columns: ColumnMapping;
  /** Event name used when `columns.event` is null. */
  default_event?: string;
  /** Rows whose `column` value is in `values` are skipped and counted (e.g. Sparkify logged-out events). */
  exclude?: { column: string; values: string[] }[];
  session_gap_minutes: number;
  cadence: Cadence;
  /** Overrides the §3.4 threshold of the cadence (7 / 21 / 60 days). */
  inactivity_days?: number;
  taxonomy: Taxonomy;
  activation: { milestones: ActivationMilestone[] };
  plans: PlanConfig;
  /** Where the events live when no event files are given (issue: ClickHouse engine); flags override it. */
  engine?: { name: 'duckdb' | 'clickhouse'; clickhouse_url?: string; table?: string; user?: string; memory_limit?: string; temp_dir?: string; threads?: number };
  /** `plan`: monetary value = value of the latest plan; `sum_value`: sum of the value column before the cutoff. */
  monetary: 'plan' | 'sum_value';
  usage_limit?: UsageLimit | null;
  /** The events as one SELECT over named files; `columns` then names the SELECT's output columns. */
  source?: SqlSource;
  /** What `cohortlab refresh` and `serve --refresh` do with each snapshot (issue 21): history retention, tracked columns, webhooks. */
  refresh?: RefreshConfig;
}

/** A webhook the segment changes of each refresh are POSTed to (signed batches, docs/refresh.md). */
export interface WebhookConfig {
  url: string;
  /** The environment variable holding the HMAC-SHA256 signing secret (never the secret itself). */
  secret_env: string;
  /** Records per POST (default 500). */
  batch_size?: number;
}

export interface RefreshConfig {
  /** Snapshots kept in the model's history; the oldest go first (default: all). */
  keep?: number;
  /** Columns whose changes are records (default: behavioral_segment, lifecycle_stage, cluster_label and every segment_* column). */
  track?: string[];
  webhooks?: WebhookConfig[];
}
