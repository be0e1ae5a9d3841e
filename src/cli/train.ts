import { resolveConfigFor } from '../ingest/index.js';
import { trainPipeline } from '../pipeline/train.js';
import { DEFAULT_MODEL_NAME, resolveModelsDir, validateName } from '../registry/index.js';
import { CohortlabError } from '../shared/errors.js';
import { bool, date, int, list, str, MODELS_DIR_OPTION, STRICT_OPTION } from './args.js';
import type { Command } from './command.js';
import { outcomeNames, type EvaluationReport } from '../evaluate/index.js';
import type { ChurnModelRequest } from '../churn/index.js';
import { SALT_ENV, saltFrom } from '../shared/pseudonym.js';
import { ENGINE_OPTIONS, eventSourceSpec } from './engine.js';

export const trainCommand: Command = {
  name: 'train',
  summary: 'the whole pipeline (features, rules, clusters, churn model vs rule score) into a new registry version',
  usage: 'train (--events FILE... (--config F | --preset NAME) | --table FILE --label COLUMN [--id COLUMN] [--positive VALUE] [--drop COLUMNS] [--keep-leaky]) [--as-of DATE] --seed S [--name NAME]',
  options: [
    { name: 'events', type: 'list', description: 'event files (CSV, NDJSON, Parquet; gzip; quoted globs)', placeholder: 'FILE...' },
    { name: 'config', type: 'string', description: 'mapping + taxonomy JSON', default: 'cohortlab.config.json next to the events', placeholder: 'FILE' },
    { name: 'preset', type: 'string', description: 'built-in mapping: synthetic, sparkify, cdnow', placeholder: 'NAME' },
    { name: 'table', type: 'string', description: 'a per-user table (CSV/Parquet) instead of events, e.g. a warehouse export; with --engine clickhouse: the events table, or NAME=TABLE[,NAME=TABLE] binding the {placeholders} of the config\'s source SELECT', placeholder: 'FILE|NAME' },
    { name: 'label', type: 'string', description: 'with --table: the churn column (Yes/No, 1/0, true/false read as they are; other values need --positive)', placeholder: 'COLUMN' },
    { name: 'id', type: 'string', description: 'with --table: the column that keys the rows (scores are keyed by it, also in score --table)', default: 'detected: a distinct column named like an id, else distinct text, else a row number', placeholder: 'COLUMN' },
    { name: 'positive', type: 'string', description: 'with --table: the label value that means churned (e.g. "Attrited Customer"); every other value = stayed', placeholder: 'VALUE' },
    { name: 'drop', type: 'string', description: 'with --table: comma-separated columns left out of the features', placeholder: 'COLUMNS' },
    { name: 'keep-leaky', type: 'boolean', description: 'with --table: keep a column that alone separates the label on the training rows (ROC-AUC > 0.98 or < 0.02; dropped by default with a warning)' },
    { name: 'as-of', type: 'string', description: 'test cutoff (its label must be observable)', default: 'last event day - horizon', placeholder: 'YYYY-MM-DD' },
    { name: 'horizon-days', type: 'string', description: 'churn horizon after each cutoff', default: '30', placeholder: 'H' },
    { name: 'train-cutoffs', type: 'string', description: 'training cutoffs before the validation cutoff', default: '2', placeholder: 'N' },
    { name: 'seed', type: 'string', description: 'seed of every random choice (same seed + data = same model)', required: true, placeholder: 'S' },
    { name: 'name', type: 'string', description: 'model name in the registry', default: DEFAULT_MODEL_NAME, placeholder: 'NAME' },
    { name: 'target', type: 'string', description: 'what the model predicts: churn; upgrade (the config\'s taxonomy.upgrade events); or event:NAME (any event of the log), each within the horizon among users who have not done it before the cutoff (docs/propensity.md)', default: 'churn', placeholder: 'churn|upgrade|event:NAME' },
    { name: 'model', type: 'string', description: 'churn model: auto (logistic, mlp and gbdt fitted, the lowest validation log loss kept), logistic, mlp or gbdt', default: 'auto', placeholder: 'KIND' },
    { name: 'k', type: 'string', description: 'number of clusters, or auto (chosen by evidence)', default: 'auto', placeholder: 'N|auto' },
    { name: 'rules', type: 'string', description: 'folder of segment rule files (playbook 6.1 language)', default: 'the shipped rules/', placeholder: 'DIR' },
    { name: 'truth', type: 'string', description: 'truth.csv of the synthetic generator (default: beside the events when present)', placeholder: 'FILE' },
    { name: 'resamples', type: 'string', description: 'bootstrap resamples of the evaluation intervals', default: '1000', placeholder: 'N' },
    MODELS_DIR_OPTION,
    STRICT_OPTION,
    { name: 'keep-user-ids', type: 'boolean', description: 'store the scored snapshot with user ids (for /v1/users/:id, member lists and exports); by default no user id is stored' },
    { name: 'pseudonymize', type: 'boolean', description: `store keyed hashes of the user ids instead (salt from $${SALT_ENV}, never stored)` },
    ...ENGINE_OPTIONS,
    { name: 'json', type: 'boolean', description: 'print one JSON document on stdout: version, verdict, evidence, warnings, set sizes, metrics' },
  ],
  help: 'Writes models/NAME/VERSION/ (manifest.json, report.json, report.html, scores.parquet, the model files) and prints the version.\nExamples:\n  cohortlab train --events data/sample/events.parquet --preset synthetic --seed 7\n  cohortlab train --table ../shared/datasets/telco-customer-churn/Telco-Customer-Churn.csv.gz --label Churn --seed 7 --name telco\n  cohortlab train --table ../shared/datasets/bank-churn-modelling/Churn_Modelling.csv.gz --label Exited --id CustomerId --seed 7 --name bank\nWith --table every column\'s role (id, label, numeric, one-hot, dropped and why) is printed and kept in report.json (table.columns); the checks\' warnings go to report.json warnings (docs/churn.md, "Per-user tables").',
  async run(args, ctx) {
    const events = list(args, 'events');
    const engine = str(args, 'engine');
    const kindText = str(args, 'model');
    if (kindText !== undefined && !['auto', 'logistic', 'mlp', 'gbdt'].includes(kindText)) throw new CohortlabError('BAD_ARGUMENT', `--model must be auto, logistic, mlp or gbdt, got "${kindText}".`);
    const kText = str(args, 'k') ?? 'auto';
    const k = kText === 'auto' ? 'auto' : int(args, 'k', 0, 2, 50);
    const name = validateName(str(args, 'name') ?? DEFAULT_MODEL_NAME);
    // --table is a per-user file, unless the events are in a warehouse table (--engine clickhouse or the config's engine).
    const perUser = str(args, 'label') !== undefined || (engine !== 'clickhouse' && str(args, 'config') === undefined && str(args, 'preset') === undefined);
    const table = perUser ? str(args, 'table') : undefined;
    if (table && events.length) throw new CohortlabError('BAD_ARGUMENT', 'give either --events or --table, not both.');
    const tableOnly = ['id', 'positive', 'drop', 'keep-leaky'].filter((o) => args.flags[o] !== undefined && args.flags[o] !== false); // --keep-leaky=no is not a table option given
    if (tableOnly.length && !table) throw new CohortlabError('BAD_ARGUMENT', `${tableOnly.map((o) => `--${o}`).join(', ')} apply to a per-user table: give --table FILE --label COLUMN with ${tableOnly.length === 1 ? 'it' : 'them'}.`);
    const target = str(args, 'target');
    if (table && target !== undefined && target !== 'churn') throw new CohortlabError('BAD_ARGUMENT', `--target ${target} needs an event log (--events with --config/--preset); a per-user table has one label column (--label).`);
    const config = table ? undefined : await resolveConfigFor(events, { config: str(args, 'config'), preset: str(args, 'preset') }, ctx.logger);
    const spec = config ? eventSourceSpec(args, ctx.env, config, events, str(args, 'table')) : undefined;
    const result = await trainPipeline({
      source: spec,
      config,
      table,
      label: str(args, 'label'),
      idColumn: str(args, 'id'),
      positive: str(args, 'positive'),
      drop: str(args, 'drop')?.split(',').map((c) => c.trim()).filter((c) => c !== ''),
      keepLeaky: bool(args, 'keep-leaky'),
      asOf: date(args, 'as-of'),
      horizonDays: int(args, 'horizon-days', 30, 1, 3650),
      trainCutoffs: int(args, 'train-cutoffs', 2, 1, 24),
      seed: int(args, 'seed', 0, 0, 2 ** 31 - 1),
      name,
      modelsDir: resolveModelsDir(ctx.cwd, ctx.env, str(args, 'models-dir')),
      kind: kindText as ChurnModelRequest | undefined,
      k,
      rulesDir: str(args, 'rules'),
      truth: str(args, 'truth'),
      resamples: int(args, 'resamples', 1000, 0, 100000),
      target,
      strict: bool(args, 'strict'),
      keepUserIds: bool(args, 'keep-user-ids'),
      pseudonymizeSalt: bool(args, 'pseudonymize') ? saltFrom(ctx.env) : undefined,
      logger: ctx.logger,
    });
    const e = result.evaluation;
    if (bool(args, 'json')) {
      ctx.out(JSON.stringify({ version: `${result.version.name}@${result.version.version}`, dir: result.version.dir, target: e.target ?? { kind: 'churn', event: null }, verdict: e.verdict, evidence: e.evidence, warnings: result.warnings ?? e.warnings, sets: e.context.data?.sets ?? [], metrics: e.metrics, differences: e.differences, ceiling: e.ceiling, model: e.context.model?.kind ?? null, candidates: e.candidates ?? [] }));
      return 0;
    }
    const o = outcomeNames(e.target ? { ...e.target, events: [] } : null);
    ctx.logger.info(`test users ${e.testUsers.toLocaleString('en-US')}, ${o.target} rate ${(100 * e.testChurnRate).toFixed(1)}%: ROC-AUC ${scorerLine(e)}${e.ceiling ? `; truth ceiling ${e.ceiling.truthAuc.toFixed(3)}` : ''}`);
    ctx.logger.info(`verdict${o.target === 'churn' ? '' : ` (${o.target} model vs §4.3 expansion readiness)`}: ${e.verdict.kind}`);
    ctx.out(`${result.version.name}@${result.version.version}`);
    return 0;
  },
};

/** "model 0.936 [0.929, 0.942] vs rule churn-risk (4.4) 0.708 [...], RFM (6.3) ..., recency ..., majority 0.500": every scorer on the same users. */
export function scorerLine(e: EvaluationReport): string {
  const fmt = (x: { value: number; lo: number; hi: number } | null | undefined) => (x ? `${x.value.toFixed(3)} [${x.lo.toFixed(3)}, ${x.hi.toFixed(3)}]` : 'n/a');
  const others = Object.keys(e.metrics).filter((k) => k !== 'model' && k !== 'truth');
  const short = outcomeNames(e.target ? { ...e.target, events: [] } : null).short;
  return `model ${fmt(e.metrics.model?.rocAuc)} vs ${others.map((k) => `${short[k] ?? k} ${fmt(e.metrics[k]?.rocAuc)}`).join(', ')}`;
}
