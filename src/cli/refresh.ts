import { resolveConfig } from '../ingest/index.js';
import { openEventSource } from '../engine/index.js';
import { defaultRefreshAsOf, loadScoringModel, publishRefresh, refreshModel, refreshSettings } from '../pipeline/index.js';
import { openModelStore, resolveModelsDir } from '../registry/index.js';
import { CohortlabError } from '../shared/errors.js';
import { SALT_ENV } from '../shared/pseudonym.js';
import { bool, date, int, list, str, MODEL_REF_OPTION, MODELS_DIR_OPTION, STRICT_OPTION } from './args.js';
import type { Command } from './command.js';
import { ENGINE_OPTIONS, eventSourceSpec } from './engine.js';

/** `cohortlab refresh` (issue 21): a dated snapshot into the model's history, its changes and drift. */
export const refreshCommand: Command = {
  name: 'refresh',
  summary: 'score the current population as of a date into the model\'s history (sizes, changes, drift, webhooks)',
  usage: 'refresh --model REF (--events FILE... [--config F | --preset NAME] | --engine clickhouse --table NAME) [--as-of DATE] [--changes FILE]',
  options: [
    MODEL_REF_OPTION,
    { name: 'events', type: 'list', description: 'event files (the whole log up to the date; DuckDB)', placeholder: 'FILE...' },
    { name: 'config', type: 'string', description: 'mapping + taxonomy JSON (its "refresh" block sets keep, track and webhooks)', default: "the model's own", placeholder: 'FILE' },
    { name: 'preset', type: 'string', description: 'built-in mapping', placeholder: 'NAME' },
    { name: 'table', type: 'string', description: 'with --engine clickhouse: the events table (or NAME=TABLE bindings of the config\'s source)', placeholder: 'NAME' },
    { name: 'as-of', type: 'string', description: 'the date scored (inclusive)', default: 'the last complete UTC day, but not past the last event day', placeholder: 'YYYY-MM-DD' },
    { name: 'changes', type: 'string', description: 'write every user whose tracked segment, lifecycle stage or cluster changed since the previous snapshot (NDJSON: user_id, segment, from, to, as_of)', placeholder: 'FILE' },
    { name: 'keep', type: 'string', description: 'keep the newest N snapshots in the history', default: "the config's refresh.keep, else all", placeholder: 'N' },
    { name: 'track', type: 'list', description: 'columns whose changes are records', default: "the config's refresh.track, else behavioral_segment lifecycle_stage cluster_label segment_*", placeholder: 'COLUMN...' },
    { name: 'dead-letter', type: 'string', description: 'where webhook batches that still fail after the retries are appended', default: 'models/NAME/history/dead-letter.ndjson', placeholder: 'FILE' },
    { name: 'json', type: 'boolean', description: 'print the snapshot record (sizes, drift, changes count) as JSON on stdout' },
    { name: 'chunk', type: 'string', description: 'users scored per block', default: '50000', placeholder: 'N' },
    MODELS_DIR_OPTION,
    STRICT_OPTION,
    ...ENGINE_OPTIONS,
  ],
  help: [
    'Writes models/NAME/history/<as_of>.json (record) and <as_of>-<hex>.parquet (the score columns per user, ids as the model',
    'keeps them; a model without ids gets keyed hashes that join snapshots and show no id). Refreshing a date again replaces it.',
    'Prints one line per refresh and one drift line (PSI against the version\'s training sample; 0.1 watch, 0.25 act, with a',
    'noise bound so a small refresh does not cry drift) that says whether retraining is advised. docs/refresh.md.',
    'Webhooks: the config\'s refresh.webhooks ([{ url, secret_env, batch_size }]) receive the changes, signed and batched.',
    'Example: cohortlab refresh --model default --events data/sample/events.parquet --as-of 2026-06-30 --changes changes.ndjson',
  ].join('\n'),
  async run(args, ctx) {
    const modelsDir = resolveModelsDir(ctx.cwd, ctx.env, str(args, 'models-dir'));
    const models = openModelStore(modelsDir);
    const model = await loadScoringModel(models, str(args, 'model'), { logger: ctx.logger });
    const config = str(args, 'config') || str(args, 'preset') ? await resolveConfig({ config: str(args, 'config'), preset: str(args, 'preset') }) : model.config;
    const events = list(args, 'events');
    const spec = eventSourceSpec(args, ctx.env, config, events, str(args, 'table'));
    if (!spec) throw new CohortlabError('BAD_ARGUMENT', 'give --events FILE... (or --engine clickhouse --table NAME): refresh scores the population from its events.');
    const { keep, track, dest } = refreshSettings(config, ctx.env, model, {
      modelsDir,
      keep: str(args, 'keep') !== undefined ? int(args, 'keep', 0, 1, 1_000_000) : undefined,
      track: list(args, 'track').length ? list(args, 'track') : undefined,
      changesFile: str(args, 'changes'),
      deadLetterFile: str(args, 'dead-letter'),
    });
    const source = await openEventSource(spec, config, { strict: bool(args, 'strict'), logger: ctx.logger });
    try {
      const asOf = date(args, 'as-of') ?? defaultRefreshAsOf(source);
      const r = await refreshModel({
        models, model, source, asOf, keep, track, salt: ctx.env[SALT_ENV], blockRows: int(args, 'chunk', 50_000, 100, 10_000_000), logger: ctx.logger,
      });
      const rec = r.record;
      const churned = rec.users ? ` (${rec.already_churned.toLocaleString('en-US')} already churned)` : '';
      ctx.logger.info(
        `refreshed ${rec.model.name}@${rec.model.version} as of ${rec.as_of}: ${rec.users.toLocaleString('en-US')} users${churned} in ${r.seconds.toFixed(1)} s; ` +
          `${r.replaced ? 'replaced the snapshot of that date' : 'new snapshot'}; ${rec.previous ? `${(rec.changes ?? 0).toLocaleString('en-US')} changes since ${rec.previous}` : 'the first of the history (no changes to count)'}` +
          `${r.pruned.length ? `; removed ${r.pruned.length} old snapshot(s) (keep ${keep}): ${r.pruned.join(', ')}` : ''}`,
      );
      if (rec.drift?.summary.retrain_advised) ctx.logger.warn(rec.drift.summary.text);
      else if (rec.drift) ctx.logger.info(rec.drift.summary.text);
      else ctx.logger.warn(`no drift measured: ${rec.model.name}@${rec.model.version} was trained before versions stored their training sample (drift-reference.parquet); retrain to measure drift`);
      const published = await publishRefresh(r, dest, { logger: ctx.logger });
      if (published.written !== null) ctx.logger.info(`changes: ${published.written.toLocaleString('en-US')} records -> ${dest.changesFile}`);
      if (bool(args, 'json')) ctx.out(JSON.stringify({ ...rec, replaced: r.replaced, pruned: r.pruned, changes_written: published.written, deliveries: published.deliveries }, null, 2));
      return 0;
    } finally {
      await source.close();
    }
  },
};
