import { join } from 'node:path';
import { CHURN_TARGET, computeFeatures, computeTargetLabels, outcomeNames, withTargetLabels, type FeatureTable, type TargetSpec } from '../features/index.js';
import { resolveConfig } from '../ingest/index.js';
import { openEventSource } from '../engine/index.js';
import { applyRules } from '../rules/index.js';
import { evaluateChurn, labelWindowOverlaps, renderEvaluationHtml, type InSampleOverlap } from '../evaluate/index.js';
import { driftOf, ltvBaseline, propensityBaselines, rfmRisk, scoreResultTable } from '../pipeline/index.js';
import { scorerLine } from './train.js';
import { formatSetSizes } from '../churn/index.js';
import { loadScoringModel } from '../pipeline/index.js';
import { openModelStore, resolveModelsDir, type EventsModelParams } from '../registry/index.js';
import { CohortlabError } from '../shared/errors.js';
import { bool, date, int, list, str, MODEL_REF_OPTION, MODELS_DIR_OPTION, STRICT_OPTION } from './args.js';
import type { Command } from './command.js';
import { ENGINE_OPTIONS, eventSourceSpec } from './engine.js';
import { makeDir, writeFileAtomic } from '../shared/atomic.js';

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 're-run the model-vs-rule evaluation of a saved model on new events (no refitting)',
  usage: 'evaluate --model REF (--events FILE... | --engine clickhouse --table NAME) --as-of DATE [--horizon-days H] [--out DIR]',
  options: [
    MODEL_REF_OPTION,
    { name: 'events', type: 'list', description: 'event files covering the cutoff and the horizon after it', placeholder: 'FILE...' },
    { name: 'config', type: 'string', description: 'mapping + taxonomy JSON', default: "the model's own", placeholder: 'FILE' },
    { name: 'preset', type: 'string', description: 'built-in mapping', placeholder: 'NAME' },
    { name: 'as-of', type: 'string', description: 'cutoff of the evaluation', required: true, placeholder: 'YYYY-MM-DD' },
    { name: 'horizon-days', type: 'string', description: 'label horizon', default: "the model's", placeholder: 'H' },
    { name: 'out', type: 'string', description: 'folder for report.json and report.html', default: './evaluations/NAME@VERSION-ASOF', placeholder: 'DIR' },
    { name: 'seed', type: 'string', description: 'bootstrap seed', default: "the model's", placeholder: 'S' },
    MODELS_DIR_OPTION,
    STRICT_OPTION,
    ...ENGINE_OPTIONS,
    { name: 'table', type: 'string', description: 'with --engine clickhouse: the events table, or NAME=TABLE[,NAME=TABLE] binding the {placeholders} of the config\'s source SELECT', placeholder: 'NAME' },
    { name: 'json', type: 'boolean', description: 'print the report (verdict, evidence, warnings, metrics) as one JSON document on stdout' },
  ],
  async run(args, ctx) {
    const models = openModelStore(resolveModelsDir(ctx.cwd, ctx.env, str(args, 'models-dir')));
    const model = await loadScoringModel(models, str(args, 'model'), { logger: ctx.logger });
    const asOf = date(args, 'as-of') as string;
    const horizon = int(args, 'horizon-days', model.params.horizonDays, 1, 3650);
    const config = str(args, 'config') || str(args, 'preset') ? await resolveConfig({ config: str(args, 'config'), preset: str(args, 'preset') }) : model.config;
    const spec = eventSourceSpec(args, ctx.env, config, list(args, 'events'), str(args, 'table'));
    if (!spec) throw new CohortlabError('BAD_ARGUMENT', 'give --events FILE..., or --engine clickhouse --table NAME (see "cohortlab evaluate --help").');
    const saved = (model.manifest.params as { target?: { kind: TargetSpec['kind']; event: string | null; events?: string[] } }).target;
    const target: TargetSpec = saved && saved.kind !== 'churn' ? { kind: saved.kind, event: saved.event, events: saved.events ?? [] } : CHURN_TARGET;
    const store = await openEventSource(spec, config, { strict: bool(args, 'strict'), logger: ctx.logger });
    let table: FeatureTable;
    let ltv: Awaited<ReturnType<typeof ltvBaseline>>;
    try {
      table = await computeFeatures(store, { asOf, horizonDays: horizon, logger: ctx.logger });
      // a `train --target` version is evaluated on its own target (pipeline/target.ts), not on churn
      if (target.kind !== 'churn') table = withTargetLabels(table, await computeTargetLabels(store, table, target));
      // The "bgnbd" baseline (churn only) refitted on the purchases before this cutoff (unsupervised: nothing after it is read).
      ltv = target.kind === 'churn' ? await ltvBaseline(store, table, { horizonDays: horizon, logger: ctx.logger }) : { baseline: null, warnings: [] };
    } finally {
      await store.close();
    }
    const missing = model.featureNames.filter((f) => !table.columns[f]);
    if (missing.length) throw new CohortlabError('MODEL_INCOMPATIBLE', `model ${model.name}@${model.version} needs features these events do not give: ${missing.join(', ')}.`);
    const rules = applyRules(table, model.config, { segments: model.parts.segments, reference: model.parts.reference }); // the thresholds fitted at train
    const seed = int(args, 'seed', model.manifest.seed, 0, 2 ** 31 - 1);
    const inSample = modelOverlaps(model.params, { cutoff: asOf, horizonDays: horizon });
    if (inSample.length) ctx.logger.warn(`in-sample: the outcomes after ${asOf} (${inSample[0].evaluated[0]} to ${inSample[0].evaluated[1]}) overlap those the model was fitted on: ${inSample.map((o) => `${o.role} cutoff ${o.cutoff} (${o.window[0]} to ${o.window[1]}, ${o.days} days)`).join('; ')}; the result is labelled in_sample, not evidence.`);
    const baselines = target.kind === 'churn' ? { rule: rules.columns.churn_risk_score as Float64Array, rfm: rfmRisk(rules) } : propensityBaselines(rules);
    const report = evaluateChurn(model.parts.churn, table, {
      ruleScore: baselines.rule,
      otherRules: { rfm: baselines.rfm, ...(ltv.baseline ? { bgnbd: ltv.baseline.score } : {}) },
      warnings: ltv.warnings,
      target,
      inSample,
      seed,
      title: `${model.name}@${model.version} on events as of ${asOf} (${horizon}-day horizon)`,
      logger: ctx.logger,
    });
    // issue 21: how far these users have moved from the training snapshot (live users, the version's reference sample)
    report.drift = await driftOf(model, models, { asOf, table: scoreResultTable(await model.score(table, { reasons: 0 })), features: table.columns });
    if (report.drift) (report.drift.summary.retrain_advised ? ctx.logger.warn : ctx.logger.info).call(ctx.logger, report.drift.summary.text);
    const out = str(args, 'out') ?? join(ctx.cwd, 'evaluations', `${model.name}@${model.version}-${asOf}`);
    await makeDir(out);
    await writeFileAtomic(join(out, 'report.json'), `${JSON.stringify(report)}\n`);
    await writeFileAtomic(join(out, 'report.html'), await renderEvaluationHtml(report));
    if (bool(args, 'json')) {
      ctx.out(JSON.stringify({ ...report, report: join(out, 'report.json') }));
      return 0;
    }
    for (const line of formatSetSizes(report.context.data?.sets ?? [], outcomeNames(target))) ctx.out(line);
    ctx.out(`ROC-AUC ${scorerLine(report)}`);
    ctx.out(`verdict: ${report.verdict.kind}: ${report.verdict.text}`);
    ctx.out(`report: ${join(out, 'report.html')}`);
    return 0;
  },
};

/** Overlaps of the evaluated label window with the model's own training and validation label windows (from its manifest). */
function modelOverlaps(p: EventsModelParams, evaluated: { cutoff: string; horizonDays: number }): InSampleOverlap[] {
  const h = p.horizonDays;
  return labelWindowOverlaps(evaluated, [
    ...p.cutoffs.train.map((cutoff) => ({ role: 'train' as const, cutoff, horizonDays: h })),
    { role: 'validation' as const, cutoff: p.cutoffs.valid, horizonDays: h },
  ]);
}
