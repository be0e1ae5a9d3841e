import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isMemorySize } from '../shared/duckdb.js';
import { CohortlabError } from '../shared/errors.js';
import { PRESETS } from './presets.js';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { EVENT_CONFIG_SCHEMA, type SchemaNode } from './config-schema.js';
import type { EventConfig } from './types.js';

/**
 * Validation of `cohortlab.config.json` against its JSON Schema (config-schema.ts, draft 2020-12)
 * with ajv; ajv's errors are rewritten as JSON-path sentences ("$.columns.timestamp is required").
 * Defaults are merged once, here, so every later stage sees a complete EventConfig.
 */
export { EVENT_CONFIG_SCHEMA } from './config-schema.js';

let compiled: ValidateFunction | null = null;
function schemaValidator(): ValidateFunction {
  compiled ??= new Ajv2020({ allErrors: true, verbose: true, strict: true }).compile(EVENT_CONFIG_SCHEMA);
  return compiled;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && Number.isInteger(v)) return 'integer';
  return typeof v;
}

/** "/exclude/0/column" -> "$.exclude[0].column". */
function jsonPath(pointer: string): string {
  return `$${pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('')}`;
}

function describeError(e: ErrorObject): string | null {
  const path = jsonPath(e.instancePath);
  const shown = (v: unknown) => { const t = typeOf(v); return `${t}${t === 'string' || t === 'number' || t === 'integer' ? ` ${JSON.stringify(v)}` : ''}`; };
  switch (e.keyword) {
    case 'required':
      return `${path}.${(e.params as { missingProperty: string }).missingProperty} is required`;
    case 'additionalProperties': {
      const known = Object.keys((e.parentSchema as SchemaNode | undefined)?.properties ?? {});
      return `${path}.${(e.params as { additionalProperty: string }).additionalProperty} is not a known setting${known.length ? ` (known: ${known.join(', ')})` : ''}`;
    }
    case 'enum':
      return `${path} must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(e.data)}`;
    case 'type': {
      const t = (e.params as { type: string | string[] }).type;
      return `${path} must be ${(Array.isArray(t) ? t : String(t).split(',')).join(' or ')}, got ${shown(e.data)}`;
    }
    case 'minimum':
      return `${path} must be >= ${(e.params as { limit: number }).limit}, got ${String(e.data)}`;
    case 'minLength':
      return `${path} must not be empty`;
    default:
      return `${path} ${e.message ?? 'is invalid'}`;
  }
}

/** Validates a parsed config and fills defaults. `where` names the file for messages. */
export function validateConfig(raw: unknown, where: string): EventConfig {
  const errors: string[] = [];
  const validate = schemaValidator();
  if (!validate(raw)) {
    // A type error makes the checks below it on the same value noise: keep the first message per path.
    const seen = new Set<string>();
    for (const e of validate.errors ?? []) {
      const m = describeError(e);
      const key = `${e.instancePath}|${e.keyword === 'required' || e.keyword === 'additionalProperties' ? m : ''}`;
      if (m && !seen.has(key)) {
        seen.add(key);
        errors.push(m);
      }
    }
  }
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
      cancel_page_view: tax.cancel_page_view ?? [], churn: tax.churn ?? [], upgrade: tax.upgrade ?? [],
    },
    activation: c.activation ?? { milestones: [] },
    plans: { values: {}, paid: [], ...c.plans },
    monetary: c.monetary ?? (c.columns.value ? 'sum_value' : 'plan'),
    usage_limit: c.usage_limit ?? null,
    ...(c.source ? { source: c.source } : {}),
    ...(c.refresh ? { refresh: c.refresh } : {}),
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
  if (config.source) {
    // Each declared file is a {placeholder} of the SELECT: an identifier, used at least once.
    for (const name of Object.keys(config.source.files)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new CohortlabError('BAD_CONFIG', `config ${where}: source.files key "${name}" must be a placeholder name (letters, digits, _), used in source.sql as {${name}}.`, { path: where });
      if (!config.source.sql.includes(`{${name}}`)) throw new CohortlabError('BAD_CONFIG', `config ${where}: source.files declares "${name}", but source.sql never reads {${name}}; remove it or use it.`, { path: where });
    }
    // The ClickHouse form (src/engine/sql-source.ts): tables map declared placeholders to warehouse tables.
    for (const [name, table] of Object.entries(config.source.tables ?? {})) {
      if (!(name in config.source.files)) throw new CohortlabError('BAD_CONFIG', `config ${where}: source.tables maps "${name}", which source.files does not declare as a placeholder (declared: ${Object.keys(config.source.files).join(', ') || 'none'}).`, { path: where });
      if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(table)) throw new CohortlabError('BAD_CONFIG', `config ${where}: source.tables.${name} "${table}" is not a ClickHouse table name; use letters, digits and "_", optionally "database.table".`, { path: where });
    }
    if (Object.keys(config.source.files).length === 0) throw new CohortlabError('BAD_CONFIG', `config ${where}: source.files declares no file; name each file the SELECT reads, e.g. { "lines": "orders.csv*" }.`, { path: where });
  }
  for (const [i, w] of (config.refresh?.webhooks ?? []).entries()) {
    if (!/^https?:\/\/[^\s]+$/.test(w.url)) throw new CohortlabError('BAD_CONFIG', `config ${where}: refresh.webhooks[${i}].url "${w.url}" must be an http(s) URL.`, { path: where });
    if (!/^[A-Z_][A-Z0-9_]*$/.test(w.secret_env)) throw new CohortlabError('BAD_CONFIG', `config ${where}: refresh.webhooks[${i}].secret_env must name an environment variable (e.g. COHORTLAB_WEBHOOK_SECRET), not hold the secret.`, { path: where });
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
