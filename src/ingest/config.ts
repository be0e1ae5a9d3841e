import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isMemorySize } from '../shared/duckdb.js';
import { CohortlabError } from '../shared/errors.js';
import { PRESETS } from './presets.js';
import type { EventConfig } from './types.js';

/**
 * The JSON schema of `cohortlab.config.json` (printed by `cohortlab features --config-schema`) and the
 * validator that applies it. Validation names the JSON path and the expected type; defaults are
 * merged once, here, so every later stage sees a complete EventConfig.
 */
type Schema = {
  type?: 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | ('string' | 'null')[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: (string | number)[];
  minimum?: number;
  description?: string;
};

const stringList: Schema = { type: 'array', items: { type: 'string' } };
const nullableString: Schema = { type: ['string', 'null'] };

export const EVENT_CONFIG_SCHEMA: Schema & { $schema: string; title: string } = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'cohortlab event-log mapping and taxonomy',
  type: 'object',
  required: ['columns'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    name: { type: 'string', description: 'a name for this mapping' },
    format: { enum: ['auto', 'csv', 'ndjson', 'parquet', 'whitespace'], description: 'file format; auto = by extension' },
    timestamp_format: { enum: ['auto', 'iso', 'epoch_s', 'epoch_ms', 'yyyymmdd'] },
    columns: {
      type: 'object',
      required: ['user_id', 'timestamp'],
      additionalProperties: false,
      properties: {
        user_id: { type: 'string' },
        timestamp: { type: 'string' },
        event: nullableString,
        session_id: nullableString,
        plan: nullableString,
        value: nullableString,
        signup: nullableString,
        properties: stringList,
      },
    },
    default_event: { type: 'string', description: 'event name when columns.event is null' },
    exclude: {
      type: 'array',
      items: { type: 'object', required: ['column', 'values'], additionalProperties: false, properties: { column: { type: 'string' }, values: stringList } },
    },
    session_gap_minutes: { type: 'number', minimum: 1 },
    cadence: { enum: ['daily', 'weekly', 'monthly'], description: 'playbook 3.4 usage cadence' },
    inactivity_days: { type: 'number', minimum: 1 },
    taxonomy: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(
        ['core_features', 'session_start', 'invite', 'share', 'pricing_view', 'locked_feature_click', 'support_ticket', 'negative_support', 'failed_payment', 'downgrade', 'cancel_page_view', 'churn'].map((k) => [k, stringList]),
      ),
    },
    activation: {
      type: 'object',
      required: ['milestones'],
      additionalProperties: false,
      properties: {
        milestones: {
          type: 'array',
          items: { type: 'object', required: ['name', 'event', 'points'], additionalProperties: false, properties: { name: { type: 'string' }, event: { type: 'string' }, points: { type: 'number', minimum: 0 } } },
        },
      },
    },
    plans: {
      type: 'object',
      additionalProperties: false,
      properties: {
        values: { type: 'object', additionalProperties: { type: 'number' } },
        paid: stringList,
        rfm_monetary: { type: 'object', additionalProperties: { type: 'integer', minimum: 1 } },
      },
    },
    monetary: { enum: ['plan', 'sum_value'] },
    engine: {
      type: 'object',
      description: 'where the events live (command-line flags override it): duckdb (event files, the default) or a ClickHouse table',
      required: ['name'],
      additionalProperties: false,
      properties: {
        name: { enum: ['duckdb', 'clickhouse'] },
        clickhouse_url: { type: 'string', description: 'e.g. http://127.0.0.1:8123' },
        table: { type: 'string', description: 'the events table, name or database.name' },
        user: { type: 'string' },
        memory_limit: { type: 'string', description: 'DuckDB memory limit, e.g. "2GB"; past it DuckDB spills to temp_dir instead of failing (--memory-limit and $COHORTLAB_DUCKDB_MEMORY_LIMIT override it)' },
        temp_dir: { type: 'string', description: 'DuckDB spill folder (--temp-dir and $COHORTLAB_DUCKDB_TEMP_DIR override it); default: the system temp folder' },
        threads: { type: 'integer', minimum: 1, description: 'DuckDB worker threads (--threads and $COHORTLAB_DUCKDB_THREADS override it); default: one per core' },
      },
    },
    source: {
      type: 'object',
      required: ['files', 'sql'],
      additionalProperties: false,
      properties: { files: { type: 'object', additionalProperties: { type: 'string' } }, sql: { type: 'string' } },
    },
    usage_limit: {
      type: 'object',
      description: 'an object, or null for no limit',
      required: ['event', 'window_days', 'limits'],
      additionalProperties: false,
      properties: { event: { type: 'string' }, window_days: { type: 'number', minimum: 1 }, limits: { type: 'object', additionalProperties: { type: 'number' } } },
    },
  },
};

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && Number.isInteger(v)) return 'integer';
  return typeof v;
}

function check(value: unknown, schema: Schema, path: string, errors: string[]): void {
  if (schema.enum) {
    if (!schema.enum.includes(value as string)) errors.push(`${path} must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(value)}`);
    return;
  }
  if (schema.type) {
    const allowed = Array.isArray(schema.type) ? schema.type : [schema.type];
    const t = typeOf(value);
    const ok = allowed.some((a) => a === t || (a === 'number' && t === 'integer'));
    if (!ok) {
      errors.push(`${path} must be ${allowed.join(' or ')}, got ${t}${t === 'string' || t === 'number' || t === 'integer' ? ` ${JSON.stringify(value)}` : ''}`);
      return;
    }
  }
  if (typeof value === 'number' && schema.minimum !== undefined && value < schema.minimum) errors.push(`${path} must be >= ${schema.minimum}, got ${value}`);
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => check(v, schema.items as Schema, `${path}[${i}]`, errors));
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) errors.push(`${path}.${r} is required`);
    for (const [k, v] of Object.entries(obj)) {
      const sub = schema.properties?.[k];
      if (sub) check(v, sub, `${path}.${k}`, errors);
      else if (schema.additionalProperties === false) errors.push(`${path}.${k} is not a known setting (known: ${Object.keys(schema.properties ?? {}).join(', ')})`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') check(v, schema.additionalProperties, `${path}.${k}`, errors);
    }
  }
}

/** Validates a parsed config and fills defaults. `where` names the file for messages. */
export function validateConfig(raw: unknown, where: string): EventConfig {
  const errors: string[] = [];
  const rawObj = raw as Record<string, unknown> | null;
  // usage_limit may be null (no limit); the small validator has no oneOf, so null is removed before checking.
  if (rawObj && typeof rawObj === 'object' && rawObj.usage_limit === null) delete rawObj.usage_limit;
  check(raw, EVENT_CONFIG_SCHEMA, '$', errors);
  if (errors.length) {
    throw new CohortlabError('BAD_CONFIG', `config ${where} is invalid: ${errors.slice(0, 5).join('; ')}${errors.length > 5 ? `; and ${errors.length - 5} more` : ''}.`, { path: where });
  }
  const c = raw as Partial<EventConfig> & { columns: EventConfig['columns'] };
  const tax = (c.taxonomy ?? {}) as Partial<EventConfig['taxonomy']>;
  const config: EventConfig = {
    name: c.name ?? 'custom',
    format: c.format ?? 'auto',
    timestamp_format: c.timestamp_format ?? 'auto',
    columns: { session_id: null, plan: null, value: null, signup: null, properties: [], ...c.columns, event: c.columns.event ?? null },
    default_event: c.default_event,
    exclude: c.exclude ?? [],
    session_gap_minutes: c.session_gap_minutes ?? 30,
    cadence: c.cadence ?? 'weekly',
    inactivity_days: c.inactivity_days,
    taxonomy: {
      core_features: tax.core_features ?? [], session_start: tax.session_start ?? [], invite: tax.invite ?? [], share: tax.share ?? [],
      pricing_view: tax.pricing_view ?? [], locked_feature_click: tax.locked_feature_click ?? [], support_ticket: tax.support_ticket ?? [],
      negative_support: tax.negative_support ?? [], failed_payment: tax.failed_payment ?? [], downgrade: tax.downgrade ?? [],
      cancel_page_view: tax.cancel_page_view ?? [], churn: tax.churn ?? [],
    },
    activation: c.activation ?? { milestones: [] },
    plans: { values: {}, paid: [], ...c.plans },
    monetary: c.monetary ?? (c.columns.value ? 'sum_value' : 'plan'),
    usage_limit: c.usage_limit ?? null,
    ...(c.source ? { source: c.source } : {}),
  };
  if (c.engine) {
    config.engine = c.engine;
    const limit = c.engine.memory_limit;
    if (limit !== undefined && !isMemorySize(limit)) {
      throw new CohortlabError('BAD_CONFIG', `config ${where}: engine.memory_limit must be a size such as 2GB or 512MB, got ${JSON.stringify(limit)}.`, { path: where });
    }
    if (c.engine.temp_dir !== undefined && c.engine.temp_dir.trim() === '') {
      throw new CohortlabError('BAD_CONFIG', `config ${where}: engine.temp_dir must name a folder, got an empty string.`, { path: where });
    }
  }
  if (config.columns.event === null && !config.default_event) {
    throw new CohortlabError('BAD_CONFIG', `config ${where}: columns.event is null, so default_event must name the single kind of event (e.g. "purchase").`, { path: where });
  }
  if (config.monetary === 'sum_value' && !config.columns.value) {
    throw new CohortlabError('BAD_CONFIG', `config ${where}: monetary is "sum_value" but columns.value maps no column.`, { path: where });
  }
  const names = new Set<string>();
  for (const m of config.activation.milestones) {
    if (!/^[a-z][a-z0-9_]*$/.test(m.name)) throw new CohortlabError('BAD_CONFIG', `config ${where}: activation milestone name "${m.name}" must be lower_snake_case (it becomes the feature milestone_${m.name}).`, { path: where });
    if (names.has(m.name)) throw new CohortlabError('BAD_CONFIG', `config ${where}: activation milestone "${m.name}" appears twice.`, { path: where });
    names.add(m.name);
  }
  return config;
}

/** Playbook §3.4: dormant threshold by product cadence (daily 7+, weekly 21+, monthly 60+ days), unless overridden. */
export const INACTIVITY_DAYS_BY_CADENCE = { daily: 7, weekly: 21, monthly: 60 } as const;

export function inactivityDays(config: EventConfig): number {
  return config.inactivity_days ?? INACTIVITY_DAYS_BY_CADENCE[config.cadence];
}

/**
 * The config for a set of event files: --config or --preset when given, else the
 * `cohortlab.config.json` next to the first file (what `cohortlab generate` writes).
 */
export async function resolveConfigFor(events: string[], opts: { config?: string; preset?: string }, logger?: { info(m: string): void }): Promise<EventConfig> {
  if (opts.config || opts.preset || events.length === 0) return resolveConfig(opts);
  const beside = join(dirname(events[0]), 'cohortlab.config.json');
  const found = await stat(beside).then((s) => s.isFile(), () => false);
  if (!found) {
    throw new CohortlabError('BAD_ARGUMENT', `give --config FILE (a cohortlab.config.json) or --preset NAME (${Object.keys(PRESETS).join(', ')}); there is no cohortlab.config.json next to ${events[0]}.`);
  }
  logger?.info(`config: ${beside}`);
  return resolveConfig({ config: beside });
}

export async function resolveConfig(opts: { config?: string; preset?: string }): Promise<EventConfig> {
  if (opts.config && opts.preset) throw new CohortlabError('BAD_ARGUMENT', 'give either --config FILE or --preset NAME, not both.');
  if (opts.preset) {
    const preset = PRESETS[opts.preset];
    if (!preset) throw new CohortlabError('BAD_ARGUMENT', `unknown preset "${opts.preset}"; presets: ${Object.keys(PRESETS).join(', ')}.`);
    return structuredClone(preset);
  }
  if (!opts.config) throw new CohortlabError('BAD_ARGUMENT', `give --config FILE (a cohortlab.config.json) or --preset NAME (${Object.keys(PRESETS).join(', ')}).`);
  let text: string;
  try {
    text = await readFile(opts.config, 'utf8');
  } catch {
    throw new CohortlabError('FILE_NOT_FOUND', `config file "${opts.config}" does not exist.`, { path: opts.config });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CohortlabError('BAD_CONFIG', `config file "${opts.config}" is not valid JSON: ${(e as Error).message}.`, { path: opts.config });
  }
  return validateConfig(raw, `"${opts.config}"`);
}
