import { historySizes } from '../pipeline/index.js';
import { openModelStore, openVersion, resolveModelsDir, type HistoryStore, type SnapshotRecord } from '../registry/index.js';
import type { DriftVariable } from '../evaluate/index.js';
import { CohortlabError } from '../shared/errors.js';
import { bool, date, str, MODEL_REF_OPTION, MODELS_DIR_OPTION } from './args.js';
import type { Command, CommandContext } from './command.js';

/** The history of the model REF names (histories are kept per name; a snapshot names the version that scored it). */
export async function historyOf(args: Parameters<Command['run']>[0], ctx: CommandContext): Promise<{ name: string; history: HistoryStore }> {
  const models = openModelStore(resolveModelsDir(ctx.cwd, ctx.env, str(args, 'models-dir')));
  const v = await openVersion(models, str(args, 'model'), { verify: false });
  return { name: v.name, history: models.history(v.name) };
}

async function recordAt(history: HistoryStore, asOf: string | undefined): Promise<SnapshotRecord> {
  const dates = await history.list();
  if (!dates.length) throw new CohortlabError('SNAPSHOT_NOT_FOUND', `the history ${history.location} is empty: run "cohortlab refresh --model NAME --events FILE... --as-of DATE" first.`);
  return history.read(asOf ?? dates[dates.length - 1]);
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  return rows.map((r, i) => r.map((c, j) => (j === 0 ? c.padEnd(w[j]) : c.padStart(w[j]))).join('  ') + (i === 0 ? `\n${w.map((x) => '-'.repeat(x)).join('  ')}` : '')).join('\n');
}

const row = (v: DriftVariable) => [v.name, v.kind, v.psi.toFixed(4), v.noise_bound.toFixed(4), v.not_advice ? `${v.status} (${v.not_advice})` : v.status, v.ks ? v.ks.statistic.toFixed(3) : '', v.ks ? v.ks.p_value.toExponential(1) : '', `${v.current_n}`];

export const driftCommand: Command = {
  name: 'drift',
  summary: 'drift of a refresh against the training snapshot: PSI (and KS) per feature, prediction and rule scores',
  usage: 'drift --model REF [--as-of DATE] [--json]',
  options: [
    MODEL_REF_OPTION,
    { name: 'as-of', type: 'string', description: 'the refresh to show', default: 'the newest snapshot', placeholder: 'YYYY-MM-DD' },
    { name: 'json', type: 'boolean', description: 'print the drift report as JSON ({ features: [ { name, psi, noise_bound, status, ks, bins } ], prediction, rule_scores, summary, thresholds })' },
    MODELS_DIR_OPTION,
  ],
  help: 'PSI over 10 bins fixed on the version\'s training sample (drift-reference.parquet): below 0.1 stable, 0.1-0.25 watch, 0.25+ act;\na shift is called only above the 99% noise bound of PSI for the two sample sizes, and not at all under 100 users on a side\n(status too_few). KS (statistic, p) for continuous variables, for reference. docs/refresh.md.',
  async run(args, ctx) {
    const { history } = await historyOf(args, ctx);
    const rec = await recordAt(history, date(args, 'as-of'));
    if (!rec.drift) throw new CohortlabError('MODEL_INCOMPATIBLE', `the snapshot of ${rec.as_of} has no drift: ${rec.model.name}@${rec.model.version} was trained before versions stored their training sample; retrain, then refresh.`);
    const d = rec.drift;
    if (bool(args, 'json')) {
      ctx.out(JSON.stringify({ model: rec.model, as_of: rec.as_of, ...d }, null, 2));
      return 0;
    }
    const vars = [...(d.prediction ? [d.prediction] : []), ...d.features, ...d.rule_scores];
    ctx.out(`${d.summary.text}\n\n${table([['variable', 'kind', 'PSI', 'noise', 'status', 'KS D', 'KS p', 'users'], ...vars.map(row)])}`);
    return 0;
  },
};

export const historyCommand: Command = {
  name: 'history',
  summary: 'a model\'s snapshots over time: users, sizes of a segment column, changes, drift verdicts',
  usage: 'history --model REF [--by COLUMN] [--json]',
  options: [
    MODEL_REF_OPTION,
    { name: 'by', type: 'string', description: 'the column whose sizes are shown', default: 'behavioral_segment', placeholder: 'COLUMN' },
    { name: 'json', type: 'boolean', description: 'print every snapshot (as_of, model, users, sizes of every tracked column, changes, drift verdict) as JSON' },
    MODELS_DIR_OPTION,
  ],
  help: 'Snapshots come from "cohortlab refresh" (or serve --refresh). Transitions between two of them: cohortlab transitions --model REF --from DATE --to DATE.',
  async run(args, ctx) {
    const { name, history } = await historyOf(args, ctx);
    const points = await historySizes(history);
    if (bool(args, 'json')) {
      ctx.out(JSON.stringify({ model: name, snapshots: points }, null, 2));
      return 0;
    }
    if (!points.length) throw new CohortlabError('SNAPSHOT_NOT_FOUND', `the history of "${name}" (${history.location}) is empty: run "cohortlab refresh --model ${name} --events FILE... --as-of DATE" first.`);
    const by = str(args, 'by') ?? 'behavioral_segment';
    const missing = points.filter((p) => !p.sizes[by]);
    if (missing.length === points.length) throw new CohortlabError('UNKNOWN_COLUMN', `--by ${by} is not a tracked column of the history; it has: ${Object.keys(points[points.length - 1].sizes).join(', ')}.`);
    const values = [...new Set(points.flatMap((p) => Object.keys(p.sizes[by] ?? {})))].sort();
    const rows = [['as_of', 'version', 'users', ...values, 'changes', 'drift'], ...points.map((p) => [
      p.as_of, String(p.model.version), p.users.toLocaleString('en-US'), ...values.map((v) => (p.sizes[by]?.[v] ?? 0).toLocaleString('en-US')),
      p.changes === null ? '-' : p.changes.toLocaleString('en-US'),
      p.drift ? (p.drift.retrain_advised ? 'act' : p.drift.watch.length ? 'watch' : 'stable') : '-',
    ])];
    ctx.out(`History of "${name}" by ${by} (${points.length} snapshot(s), ${history.location}):\n${table(rows)}`);
    return 0;
  },
};
