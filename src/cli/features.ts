import { EVENT_CONFIG_SCHEMA, resolveConfig, resolveConfigFor } from '../ingest/index.js';
import { openEventSource } from '../engine/index.js';
import { computeFeatures, dictionaryMarkdown, profileEvents, writeFeatureTable } from '../features/index.js';
import { CohortlabError } from '../shared/errors.js';
import { bool, date, int, list, str, STRICT_OPTION } from './args.js';
import type { Command } from './command.js';
import { ENGINE_OPTIONS, eventSourceSpec } from './engine.js';

export const featuresCommand: Command = {
  name: 'features',
  summary: 'point-in-time user features (and the churn label when the horizon is covered) from an event log',
  usage: 'features (--events FILE... | --engine clickhouse --table NAME) (--config F | --preset NAME) --as-of DATE [--horizon-days H] --out FILE',
  options: [
    { name: 'events', type: 'list', description: 'event files: CSV, NDJSON, Parquet, gzip ok; quote globs ("logs/*.json.gz")', placeholder: 'FILE...' },
    { name: 'config', type: 'string', description: 'mapping + taxonomy JSON (schema: --config-schema)', default: 'cohortlab.config.json next to the events', placeholder: 'FILE' },
    { name: 'preset', type: 'string', description: 'built-in mapping: synthetic, sparkify, cdnow', placeholder: 'NAME' },
    { name: 'as-of', type: 'string', description: 'cutoff date, inclusive: features use events before the next midnight UTC', placeholder: 'YYYY-MM-DD' },
    { name: 'horizon-days', type: 'string', description: 'label: churned within H days after the cutoff (explicit churn event or inactive past the playbook 3.4 threshold)', placeholder: 'H' },
    { name: 'out', type: 'string', description: 'output .parquet or .csv (one row per user); a .meta.json is written beside it', placeholder: 'FILE' },
    STRICT_OPTION,
    ...ENGINE_OPTIONS,
    { name: 'table', type: 'string', description: 'with --engine clickhouse: the events table (name or database.name), or NAME=TABLE[,NAME=TABLE] binding the {placeholders} of the config\'s source SELECT', placeholder: 'NAME' },
    { name: 'dictionary', type: 'boolean', description: 'print the feature dictionary (markdown) for the config and exit' },
    { name: 'config-schema', type: 'boolean', description: 'print the JSON schema of the config file and exit' },
  ],
  help: 'Output columns: user_id, every feature of the dictionary (cohortlab features --dictionary --preset synthetic), plan, already_churned, and churned when --horizon-days is given.\nExample: cohortlab features --events data/sample/events.parquet --preset synthetic --as-of 2026-06-30 --out data/sample/features.parquet',
  async run(args, ctx) {
    if (bool(args, 'config-schema')) {
      ctx.out(JSON.stringify(EVENT_CONFIG_SCHEMA, null, 2));
      return 0;
    }
    const preset = str(args, 'preset');
    const configPath = str(args, 'config');
    if (bool(args, 'dictionary')) {
      const config = await resolveConfig({ config: configPath, preset: preset ?? (configPath ? undefined : 'synthetic') });
      ctx.out(dictionaryMarkdown(config));
      return 0;
    }
    const events = list(args, 'events');
    const config = await resolveConfigFor(events, { config: configPath, preset }, ctx.logger);
    const asOf = date(args, 'as-of');
    const out = str(args, 'out');
    const spec = eventSourceSpec(args, ctx.env, config, events, str(args, 'table'));
    if (!spec) throw new CohortlabError('BAD_ARGUMENT', 'give --events FILE..., or --engine clickhouse --table NAME (see "cohortlab features --help").');
    if (!asOf) throw new CohortlabError('BAD_ARGUMENT', 'give --as-of YYYY-MM-DD, the cutoff date of the features.');
    if (!out) throw new CohortlabError('BAD_ARGUMENT', 'give --out FILE (.parquet or .csv).');
    const horizon = str(args, 'horizon-days') === undefined ? undefined : int(args, 'horizon-days', 0, 1, 3650);
    const started = performance.now();
    const store = await openEventSource(spec, config, { strict: bool(args, 'strict'), logger: ctx.logger });
    try {
      const table = await computeFeatures(store, { asOf, horizonDays: horizon, logger: ctx.logger });
      // The checks of `cohortlab profile`, printed and kept in the .meta.json beside the output.
      const profile = await profileEvents(store, { asOf, horizonDays: horizon, atCutoff: { users: table.userIds.length, alreadyChurned: table.alreadyChurned.reduce((s, v) => s + v, 0) } });
      for (const w of profile.warnings) ctx.logger.warn(`${w.code}: ${w.message}`);
      await writeFeatureTable(out, table, profile.warnings);
      const secs = (performance.now() - started) / 1000;
      ctx.logger.info(
        `done: ${table.userIds.length.toLocaleString('en-US')} users x ${Object.keys(table.columns).length} features -> ${out} in ${secs.toFixed(2)} s (${Math.round(store.report.rowsUsed / secs).toLocaleString('en-US')} events/s)`,
      );
    } finally {
      await store.close();
    }
    return 0;
  },
};
