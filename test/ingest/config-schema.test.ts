import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { EVENT_CONFIG_SCHEMA, PRESETS, resolveConfig, validateConfig } from '../../src/ingest/index.js';
import type { ActivationMilestone, ColumnMapping, EventConfig, PlanConfig, SqlSource, Taxonomy, UsageLimit } from '../../src/ingest/types.js';
import type { SchemaNode } from '../../src/ingest/config-schema.js';
import { runCli } from '../cli/run.js';

// The TypeScript types against the schema, at compile time (tsc runs over test/): each line fails the
// typecheck when a field is in the type and not the schema, or the other way round.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Props<S> = S extends { properties: infer P } ? keyof P : never;
type P = typeof EVENT_CONFIG_SCHEMA.properties;
const typeChecks: true[] = [
  true as Equal<Exclude<Props<typeof EVENT_CONFIG_SCHEMA>, '$schema'>, keyof EventConfig>,
  true as Equal<Props<P['columns']>, keyof ColumnMapping>,
  true as Equal<Props<P['taxonomy']>, keyof Taxonomy>,
  true as Equal<Props<P['activation']['properties']['milestones']['items']>, keyof ActivationMilestone>,
  true as Equal<Props<P['plans']>, keyof PlanConfig>,
  true as Equal<Props<P['usage_limit']>, keyof UsageLimit>,
  true as Equal<Props<P['engine']>, keyof NonNullable<EventConfig['engine']>>,
  true as Equal<Props<P['source']>, keyof SqlSource>,
];

/** Every property at any depth, with its JSON path. */
function walk(node: SchemaNode, path: string, out: [string, SchemaNode][] = []): [string, SchemaNode][] {
  for (const [k, v] of Object.entries(node.properties ?? {})) {
    out.push([`${path}.${k}`, v]);
    walk(v, `${path}.${k}`, out);
  }
  if (node.items) walk(node.items, `${path}[]`, out);
  return out;
}

const examplesDir = join(import.meta.dirname, '..', '..', 'data', 'examples');

describe('the config JSON Schema', () => {
  it('matches the TypeScript types (compile time) and every field has a description and an example', () => {
    expect(typeChecks.every(Boolean)).toBe(true);
    const fields = walk(EVENT_CONFIG_SCHEMA as unknown as SchemaNode, '$');
    expect(fields.length).toBeGreaterThan(50);
    const lacking = fields.filter(([, v]) => !v.description || !Array.isArray(v.examples) || v.examples.length === 0).map(([p]) => p);
    expect(lacking).toEqual([]);
  });

  it('is valid draft 2020-12 (ajv strict) and its own examples validate against it', () => {
    const validate = new Ajv2020({ strict: true }).compile(EVENT_CONFIG_SCHEMA);
    for (const [path, node] of walk(EVENT_CONFIG_SCHEMA as unknown as SchemaNode, '$')) {
      const sub = new Ajv2020({ strict: false }).compile(node as object);
      for (const ex of node.examples ?? []) expect(sub(ex), `${path} example ${JSON.stringify(ex)}`).toBe(true);
    }
    expect(validate({ columns: { user_id: 'u', timestamp: 't' }, usage_limit: null })).toBe(true);
  });

  it('accepts every preset (two of them with usage_limit: null) and every example config', async () => {
    expect(Object.values(PRESETS).filter((p) => p.usage_limit === null).length).toBeGreaterThanOrEqual(2);
    for (const [name, preset] of Object.entries(PRESETS)) expect(validateConfig(structuredClone(preset), name).name).toBe(preset.name);
    const files = (await readdir(examplesDir)).filter((f) => f.endsWith('.json')).sort();
    expect(files).toEqual(['grocery.json', 'online-retail.json', 'oulad.json']);
    for (const f of files) expect((await resolveConfig({ config: join(examplesDir, f) })).columns.user_id).toBeTruthy();
  });

  it('keeps JSON-path messages', () => {
    const base = { columns: { user_id: 'u', timestamp: 't', event: 'e' } };
    expect(() => validateConfig({ ...base, usage_limit: { event: 'x', window_days: 0, limits: {} } }, 'c.json')).toThrow('$.usage_limit.window_days must be >= 1, got 0');
    expect(() => validateConfig({ ...base, usage_limit: 'none' }, 'c.json')).toThrow('$.usage_limit must be object or null, got string "none"');
    expect(() => validateConfig({ ...base, exclude: [{ column: 'auth', values: 'Logged Out' }] }, 'c.json')).toThrow('$.exclude[0].values must be array, got string "Logged Out"');
    expect(() => validateConfig({ ...base, activation: { milestones: [{ name: 'a', event: 'b' }] } }, 'c.json')).toThrow('$.activation.milestones[0].points is required');
    expect(() => validateConfig({ ...base, source: { files: {}, sql: 'SELECT 1', extra: 1 } }, 'c.json')).toThrow('$.source.extra is not a known setting (known: files, sql, tables, clickhouse_sql)');
  });

  it('is what --config-schema prints', async () => {
    const out: string[] = [];
    expect((await runCli(['features', '--config-schema'], { out: (t) => out.push(t) })).code).toBe(0);
    expect(JSON.parse(out.join(''))).toEqual(JSON.parse(JSON.stringify(EVENT_CONFIG_SCHEMA)));
    // docs/config.schema.json (what the example configs' "$schema" points editors to) is that output, regenerated by
    // `node bin/cohortlab.js features --config-schema > docs/config.schema.json`.
    const committed = await readFile(join(import.meta.dirname, '..', '..', 'docs', 'config.schema.json'), 'utf8');
    expect(JSON.parse(committed)).toEqual(JSON.parse(out.join('')));
  });
});
