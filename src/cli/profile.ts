import { resolveConfigFor } from '../ingest/index.js';
import { openEventSource } from '../engine/index.js';
import { formatProfile, profileEvents } from '../features/index.js';
import { CohortlabError } from '../shared/errors.js';
import { writeFileAtomic } from '../shared/atomic.js';
import { bool, date, int, list, str, STRICT_OPTION } from './args.js';
import type { Command } from './command.js';
import { ENGINE_OPTIONS, eventSourceSpec } from './engine.js';

/**
 * `cohortlab profile`: the data checks to run first on a new log (src/features/profile.ts). It reads
 * the events once, prints a one-screen summary and the warnings that `features`, `train` and `score`
 * would print too; `--json` prints the whole profile, `--out FILE` writes it.
 */
export const profileCommand: Command = {
  name: 'profile',
  summary: 'data checks to run first: span vs feature windows and horizon, odd timestamps, churned and live users, events per user, taxonomy names absent',
  usage: 'profile (--events FILE... | --engine clickhouse --table NAME) (--config F | --preset NAME) [--as-of DATE] [--horizon-days H] [--json] [--out FILE]',
  options: [
    { name: 'events', type: 'list', description: 'event files: CSV, NDJSON, Parquet, gzip ok; quote globs ("logs/*.json.gz")', placeholder: 'FILE...' },
    { name: 'config', type: 'string', description: 'mapping + taxonomy JSON (schema: cohortlab features --config-schema)', default: 'cohortlab.config.json next to the events', placeholder: 'FILE' },
    { name: 'preset', type: 'string', description: 'built-in mapping: synthetic, sparkify, cdnow', placeholder: 'NAME' },
    { name: 'as-of', type: 'string', description: 'cutoff date to check (users already churned / live at it)', default: 'the last event day; with --horizon-days, the latest cutoff whose horizon the log covers (what train uses)', placeholder: 'YYYY-MM-DD' },
    { name: 'horizon-days', type: 'string', description: 'label horizon to check against the last event', placeholder: 'H' },
    { name: 'json', type: 'boolean', description: 'print the profile as one JSON document ({ ..., warnings: [ { code, message } ] }) instead of the summary' },
    { name: 'out', type: 'string', description: 'also write the JSON profile to this file', placeholder: 'FILE' },
    STRICT_OPTION,
    ...ENGINE_OPTIONS,
    { name: 'table', type: 'string', description: 'with --engine clickhouse: the events table (name or database.name), or NAME=TABLE[,NAME=TABLE] binding the {placeholders} of the config\'s source SELECT', placeholder: 'NAME' },
  ],
  help: 'Warning codes (docs/errors.md, "Warnings"): LOG_SHORTER_THAN_WINDOWS, TIMESTAMPS_BEFORE_2000, TIMESTAMPS_IN_FUTURE, HORIZON_NOT_COVERED, MOST_USERS_ALREADY_CHURNED, FEW_LIVE_USERS, FEW_EVENTS_PER_USER, TAXONOMY_EVENTS_ABSENT, NO_ACTIVATION_MILESTONES, MILESTONE_EVENTS_ABSENT, ROWS_REJECTED.\nExit code 0 whatever the warnings (they are findings, not failures).\nExample: cohortlab profile --events "../shared/datasets/sparkify-dend-log-data/*.json.gz" --preset sparkify --horizon-days 7',
  async run(args, ctx) {
    const events = list(args, 'events');
    const config = await resolveConfigFor(events, { config: str(args, 'config'), preset: str(args, 'preset') }, ctx.logger);
    const spec = eventSourceSpec(args, ctx.env, config, events, str(args, 'table'));
    if (!spec) throw new CohortlabError('BAD_ARGUMENT', 'give --events FILE..., or --engine clickhouse --table NAME (see "cohortlab profile --help").');
    const horizonDays = str(args, 'horizon-days') === undefined ? undefined : int(args, 'horizon-days', 0, 1, 3650);
    const store = await openEventSource(spec, config, { strict: bool(args, 'strict'), logger: ctx.logger });
    try {
      const profile = await profileEvents(store, { asOf: date(args, 'as-of'), horizonDays, logger: ctx.logger });
      const json = `${JSON.stringify(profile, null, 2)}\n`;
      const out = str(args, 'out');
      if (out) await writeFileAtomic(out, json);
      ctx.out(bool(args, 'json') ? json : formatProfile(profile).join('\n'));
    } finally {
      await store.close();
    }
    return 0;
  },
};
