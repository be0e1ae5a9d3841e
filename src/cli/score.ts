import { computeFeatures, readFeatureTable, sliceFeatureTable, type FeatureTable } from '../features/index.js';
import { loadEvents, resolveConfig } from '../ingest/index.js';
import { loadModel, resolveModelsDir } from '../registry/index.js';
import { scoreResultTable } from '../pipeline/score.js';
import { CohortlabError } from '../shared/errors.js';
import { openTableWriter, type TableWriter } from '../shared/table-io.js';
import { bool, date, int, list, str } from './args.js';
import type { Command } from './command.js';

export const scoreCommand: Command = {
  name: 'score',
  summary: 'batch scoring: churn probability, rule scores and segments, cluster and reason codes per user',
  usage: 'score --model REF (--events FILE... [--config F | --preset NAME] --as-of DATE | --table FILE) --out FILE',
  options: [
    { name: 'model', type: 'string', description: 'NAME, NAME@VERSION or NAME@production', default: 'default', placeholder: 'REF' },
    { name: 'events', type: 'list', description: 'event files to compute features from', placeholder: 'FILE...' },
    { name: 'config', type: 'string', description: 'mapping + taxonomy JSON', default: "the model's own", placeholder: 'FILE' },
    { name: 'preset', type: 'string', description: 'built-in mapping', placeholder: 'NAME' },
    { name: 'as-of', type: 'string', description: 'cutoff date of the features', placeholder: 'YYYY-MM-DD' },
    { name: 'table', type: 'string', description: 'a per-user features table (output of cohortlab features) instead of events', placeholder: 'FILE' },
    { name: 'out', type: 'string', description: 'output .csv or .parquet', required: true, placeholder: 'FILE' },
    { name: 'chunk', type: 'string', description: 'users scored per chunk (bounds memory)', default: '50000', placeholder: 'N' },
    { name: 'reasons', type: 'string', description: 'reason codes per user (0 = none, faster)', default: '3', placeholder: 'N' },
    { name: 'models-dir', type: 'string', description: 'registry folder', default: '$COHORTLAB_MODELS_DIR or ./models', placeholder: 'DIR' },
    { name: 'strict', type: 'boolean', description: 'fail on any rejected event row' },
  ],
  help: 'Output columns: user_id, churn_probability, the rules columns (engagement_score ... at_risk_signals, segment_*), cluster, cluster_label, pc1, pc2, reasons (JSON list of {feature, direction, contribution, value}).',
  async run(args, ctx) {
    const model = await loadModel(str(args, 'model'), { modelsDir: resolveModelsDir(ctx.cwd, ctx.env, str(args, 'models-dir')), logger: ctx.logger });
    const out = str(args, 'out') as string;
    const tablePath = str(args, 'table');
    const events = list(args, 'events');
    if (!tablePath && events.length === 0) throw new CohortlabError('BAD_ARGUMENT', 'give --events FILE... with --as-of DATE, or --table FILE (see "cohortlab score --help").');
    const started = performance.now();
    let table: FeatureTable;
    if (tablePath) table = await readFeatureTable(tablePath);
    else {
      const asOf = date(args, 'as-of');
      if (!asOf) throw new CohortlabError('BAD_ARGUMENT', 'give --as-of YYYY-MM-DD with --events.');
      const config = str(args, 'config') || str(args, 'preset') ? await resolveConfig({ config: str(args, 'config'), preset: str(args, 'preset') }) : model.config;
      const store = await loadEvents(events, config, { strict: bool(args, 'strict'), logger: ctx.logger });
      try {
        table = await computeFeatures(store, { asOf, logger: ctx.logger });
      } finally {
        store.close();
      }
    }
    const featuresSeconds = (performance.now() - started) / 1000;
    const chunk = int(args, 'chunk', 50_000, 100, 10_000_000);
    const reasons = int(args, 'reasons', 3, 0, 20);
    const n = table.userIds.length;
    let writer: TableWriter | null = null;
    const t0 = performance.now();
    try {
      for (let start = 0; start < n; start += chunk) {
        const part = sliceFeatureTable(table, start, Math.min(n, start + chunk));
        const scored = scoreResultTable(await model.score(part, { reasons }));
        writer ??= await openTableWriter(out, scored.names);
        await writer.append(scored);
        ctx.logger.progress('scoring', Math.min(n, start + chunk), n);
      }
      await writer?.close();
    } catch (e) {
      await writer?.abort();
      throw e;
    }
    const secs = (performance.now() - t0) / 1000;
    ctx.logger.info(
      `scored ${n.toLocaleString('en-US')} users with ${model.name}@${model.version} in ${secs.toFixed(2)} s (${Math.round(n / Math.max(secs, 1e-9)).toLocaleString('en-US')} users/s; features ${featuresSeconds.toFixed(2)} s); peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB -> ${out}`,
    );
    return 0;
  },
};
