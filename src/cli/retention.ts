import { resolveConfigFor } from '../ingest/index.js';
import { openEventSource } from '../engine/index.js';
import { loadScoringModel } from '../pipeline/index.js';
import { openModelStore, resolveModelsDir, type ModelStore } from '../registry/index.js';
import type { Logger } from '../shared/log.js';
import { cohortColumnTable, computeRetention, durationsColumnTable, retentionHtml, retentionSummary, survivalColumnTable, type RetentionBy } from '../retention/index.js';
import { writeFileAtomic } from '../shared/atomic.js';
import { CohortlabError } from '../shared/errors.js';
import { writeTable } from '../shared/table-io.js';
import { bool, date, list, str, DUCKDB_LIMIT_OPTIONS, MODELS_DIR_OPTION, STRICT_OPTION } from './args.js';
import type { Command } from './command.js';
import { eventSourceSpec } from './engine.js';

/** --by: segment, lifecycle and cluster are the rule and model groupings; anything else names a feature column. */
async function retentionBy(by: string | undefined, modelRef: string | undefined, models: ModelStore, logger: Logger): Promise<RetentionBy> {
  if (by === undefined) return { kind: 'all' };
  if (by === 'segment') return { kind: 'segment' };
  if (by === 'lifecycle') return { kind: 'lifecycle' };
  if (by === 'cluster') {
    if (!modelRef) throw new CohortlabError('BAD_ARGUMENT', '--by cluster needs --model REF, the model whose clusters assign the users.');
    const model = await loadScoringModel(models, modelRef, { logger });
    if (!model.parts.clusters) throw new CohortlabError('MODEL_INCOMPATIBLE', `model ${model.name}@${model.version} has no clusters; --by cluster needs a model trained on events.`);
    return {
      kind: 'labels',
      name: `cluster (${model.name}@${model.version})`,
      labels: async (table) => (await model.score(table, { reasons: 0 })).columns.cluster_label as string[],
    };
  }
  return { kind: 'column', column: by };
}

/** A p-value as printed: below the smallest double it underflows to 0, which is not "p = 0". */
export function formatP(p: number): string {
  return p < 1e-300 ? 'p < 1e-300' : `p = ${p.toPrecision(3)}`;
}

export const retentionCommand: Command = {
  name: 'retention',
  summary: 'Kaplan-Meier retention per group (Greenwood bands, median lifetime, log-rank test) and the cohort table',
  usage: 'retention --events FILE... (--config F | --preset NAME) --as-of DATE [--by COLUMN|segment|lifecycle|cluster [--model REF]] [--landmark DATE] --out FILE [--durations FILE] [--cohorts FILE] [--report FILE] [--json]',
  options: [
    { name: 'events', type: 'list', description: 'event files: CSV, NDJSON, Parquet, gzip ok; quote globs', placeholder: 'FILE...' },
    { name: 'config', type: 'string', description: 'mapping + taxonomy JSON', default: 'cohortlab.config.json next to the events', placeholder: 'FILE' },
    { name: 'preset', type: 'string', description: 'built-in mapping: synthetic, sparkify, cdnow', placeholder: 'NAME' },
    { name: 'as-of', type: 'string', description: 'the date users still active are censored at (events before the next midnight UTC)', required: true, placeholder: 'YYYY-MM-DD' },
    { name: 'by', type: 'string', description: 'groups: a feature column with at most 20 values (plan, is_paid, ...), segment (playbook 2.1), lifecycle (2.3) or cluster (with --model)', default: 'one group, all', placeholder: 'GROUP' },
    { name: 'model', type: 'string', description: 'with --by cluster: the model whose clusters assign the users', placeholder: 'REF' },
    { name: 'landmark', type: 'string', description: 'assign groups at this earlier date and count time from it, among users live then (groups read off the outcome otherwise)', placeholder: 'YYYY-MM-DD' },
    { name: 'out', type: 'string', description: 'survival table .csv or .parquet: group, t_days, at_risk, churned, survival, lower, upper', required: true, placeholder: 'FILE' },
    { name: 'durations', type: 'string', description: 'per-user table: user_id, group, duration_days, churned (1 observed, 0 censored), + entry_days when users were first seen before the log (delayed entry)', placeholder: 'FILE' },
    { name: 'cohorts', type: 'string', description: 'cohort table: cohort, cohort_users, <period>s_later, active_users, share, complete', placeholder: 'FILE' },
    { name: 'cohort-period', type: 'string', description: 'week or month cohorts', default: "month for a monthly cadence config, else week", placeholder: 'week|month' },
    { name: 'report', type: 'string', description: 'HTML page: survival curves with bands, medians, log-rank test, cohort heat map', placeholder: 'FILE' },
    { name: 'summary', type: 'string', description: 'write the JSON summary (medians, log-rank, warnings) to this file', placeholder: 'FILE' },
    { name: 'json', type: 'boolean', description: 'print the JSON summary ({ groups, log_rank, warnings: [ { code, message } ] }) instead of the text one' },
    MODELS_DIR_OPTION,
    STRICT_OPTION,
    ...DUCKDB_LIMIT_OPTIONS,
  ],
  help: 'Durations (docs/retention.md): from the first-seen day (first event or signup) to the last-event day for users churned by the as-of date (explicit churn event or inactive past the playbook 3.4 threshold, as the labels), else censored at the as-of date.\nWarning codes (docs/errors.md, "Warnings"): GROUPS_FROM_OUTCOME, SMALL_GROUP, SIGNUPS_BEFORE_LOG, MEDIAN_NOT_REACHED.\nExample: cohortlab retention --events ../shared/datasets/cdnow/CDNOW_master.txt.gz --preset cdnow --as-of 1998-06-30 --by lifecycle --landmark 1997-06-30 --out km.csv --report retention.html',
  async run(args, ctx) {
    const events = list(args, 'events');
    if (!events.length) throw new CohortlabError('BAD_ARGUMENT', 'give --events FILE... (see "cohortlab retention --help").');
    const config = await resolveConfigFor(events, { config: str(args, 'config'), preset: str(args, 'preset') }, ctx.logger);
    const asOf = date(args, 'as-of') as string;
    const landmark = date(args, 'landmark');
    const period = str(args, 'cohort-period');
    if (period !== undefined && period !== 'week' && period !== 'month') throw new CohortlabError('BAD_ARGUMENT', `--cohort-period must be week or month, got "${period}".`);
    const models = openModelStore(resolveModelsDir(ctx.cwd, ctx.env, str(args, 'models-dir')));
    const by = await retentionBy(str(args, 'by'), str(args, 'model'), models, ctx.logger);
    const spec = eventSourceSpec(args, ctx.env, config, events, undefined);
    if (!spec) throw new CohortlabError('BAD_ARGUMENT', 'give --events FILE...');
    const store = await openEventSource(spec, config, { strict: bool(args, 'strict'), logger: ctx.logger });
    try {
      const r = await computeRetention(store, { asOf, by, landmark, cohortPeriod: period as 'week' | 'month' | undefined, logger: ctx.logger });
      for (const w of r.warnings) ctx.logger.warn(`${w.code}: ${w.message}`);
      await writeTable(str(args, 'out') as string, survivalColumnTable(r.curves));
      const durations = str(args, 'durations');
      if (durations) await writeTable(durations, durationsColumnTable(r));
      const cohorts = str(args, 'cohorts');
      if (cohorts) await writeTable(cohorts, cohortColumnTable(r.cohorts, r.cohortPeriod));
      const report = str(args, 'report');
      if (report) await writeFileAtomic(report, await retentionHtml(r));
      const summary = retentionSummary(r);
      const json = `${JSON.stringify(summary, null, 2)}\n`;
      const summaryPath = str(args, 'summary');
      if (summaryPath) await writeFileAtomic(summaryPath, json);
      if (bool(args, 'json')) ctx.out(json);
      else {
        const lines = [`retention as of ${asOf}${landmark ? ` from the landmark ${landmark}` : ''} by ${r.by}: ${r.userIds.length.toLocaleString('en-US')} users`];
        for (const { group, curve } of r.curves) {
          const ci = curve.medianLower === null ? 'none: no churn time passes the test inversion' : `${curve.medianLower}..${curve.medianUpper ?? 'not reached'}`;
          lines.push(`  users ${String(curve.users).padStart(7)}  churned ${String(curve.churned).padStart(7)}  median ${curve.medianDays === null ? 'not reached' : `${curve.medianDays} days (95% CI ${ci})`}  ${group}`);
        }
        if (r.logRank) lines.push(`  log-rank: chi-square ${r.logRank.chiSquare.toFixed(2)} on ${r.logRank.df} df, ${formatP(r.logRank.pValue)}`);
        ctx.out(lines.join('\n'));
      }
    } finally {
      await store.close();
    }
    return 0;
  },
};
