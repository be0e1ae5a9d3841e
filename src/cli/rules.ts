import { computeFeatures, readFeatureTable, type FeatureTable } from '../features/index.js';
import { openEventSource } from '../engine/index.js';
import { ltvBaseline, ltvDashboardOf, type LtvBaseline } from '../pipeline/index.js';
import { defaultHorizonDays, formatLtvDashboard } from '../ltv/index.js';
import { resolveConfig } from '../ingest/index.js';
import { SYNTHETIC_PRESET } from '../ingest/index.js';
import {
  CONTRACT_RULE_COLUMNS, SEGMENT_COLUMN_PREFIX, antiPatternWarnings, applyRules, defaultRulesDir, describeRuleReference, featureAffinity,
  formatDashboard, formatIcp, icpRefinement, loadSegmentRules, segmentDashboard,
} from '../rules/index.js';
import { CohortlabError } from '../shared/errors.js';
import { writeTable, type Column } from '../shared/table-io.js';
import { loadRuleReference, openModelStore, resolveModelsDir } from '../registry/index.js';
import { bool, date, list, str, MODELS_DIR_OPTION } from './args.js';
import type { Command } from './command.js';
import { ENGINE_OPTIONS, eventSourceSpec } from './engine.js';

export const rulesCommand: Command = {
  name: 'rules',
  summary: 'playbook scores, tiers and segments (and the §6.1 rule-file segments) for every user of a features file',
  usage: 'rules (--features FILE | --events FILE... --as-of DATE | --engine clickhouse --table NAME --as-of DATE) [--reference MODEL] [--rules DIR] [--config F | --preset NAME] --out FILE',
  options: [
    { name: 'features', type: 'string', description: 'features file written by "cohortlab features" (.parquet or .csv)', placeholder: 'FILE' },
    { name: 'events', type: 'list', description: 'event files instead of --features (with --as-of and --config/--preset): features computed as of --as-of, and on a purchase log the §9.1 LTV tables (BG/NBD, docs/ltv.md)', placeholder: 'FILE...' },
    { name: 'rules', type: 'string', description: 'folder of *.segment rule files (playbook §6.1 language)', placeholder: 'DIR', default: 'the shipped rules/ folder' },
    { name: 'config', type: 'string', description: 'mapping + taxonomy JSON (activation milestones, plans, cadence)', placeholder: 'FILE' },
    { name: 'preset', type: 'string', description: 'built-in config: synthetic, sparkify, cdnow', placeholder: 'NAME', default: "the features file's config, else synthetic" },
    { name: 'out', type: 'string', description: 'output .parquet or .csv, one row per user', placeholder: 'FILE', required: true },
    { name: 'by', type: 'string', description: 'column the §9.1 dashboard groups by (e.g. lifecycle_stage, rfm_segment, segment_power_users)', placeholder: 'COLUMN', default: 'behavioral_segment' },
    { name: 'icp', type: 'boolean', description: 'also print the §8 ICP refinement (best 20% vs worst 20%)' },
    { name: 'reference', type: 'string', description: "a trained model (NAME, NAME@VERSION, NAME@production) whose reference thresholds (§2.3 top 10% usage, §6.3 spend quintiles) to use, as score and /v1/predict do", placeholder: 'MODEL', default: 'fitted on the users of --features' },
    MODELS_DIR_OPTION,
    ...ENGINE_OPTIONS,
    { name: 'table', type: 'string', description: 'with --engine clickhouse: the events table, or NAME=TABLE[,NAME=TABLE] binding the {placeholders} of the config\'s source SELECT; features are computed there as of --as-of', placeholder: 'NAME' },
    { name: 'as-of', type: 'string', description: 'with --events or --engine clickhouse: the cutoff date of the features', placeholder: 'YYYY-MM-DD' },
  ],
  help: [
    'Output columns: user_id, engagement_score, engagement_tier, activation_score, activation_tier, expansion_readiness_score,',
    'expansion_readiness_tier, churn_risk_score, churn_risk_tier, behavioral_segment, lifecycle_stage, rfm_code, rfm_segment,',
    'at_risk_signals, segment_<slug> (0/1) per rule-file segment, then the extras: at_risk, intent_segment, plan_segment, champion,',
    'dormant, dormant_subsegment, rfm_recency, rfm_frequency, rfm_monetary, rfm_segment_nearest, sales_tier, campaign,',
    'recommendation_1, recommendation_2, and the points of every score component (<score>__<component>).',
    'already_churned (1/0: churn event, or idle past the §3.4 threshold; lifecycle and churn-risk tier "Churned" for them).',
    'Reference thresholds: the §2.3 Power User "top 10% usage" bar (over live users) and the §6.3 spend quintiles (logs valued',
    'by spend) are fitted on the users of --features itself, unless --reference MODEL gives the ones fitted when that model was',
    'trained; then a user gets the same rule columns here as from score and /v1/predict, whoever else is in the file.',
    'Prints the §9.1 dashboard by behavioral segment (already-churned users counted apart) and the §10 anti-pattern warnings.',
    'From --events (or a ClickHouse table) of a purchase log it also prints the §9.1 LTV tables: BG/NBD expected purchases over the',
    'inactivity threshold and 12-month CLV (with a value column), sum and mean per group and per lifecycle stage (docs/ltv.md).',
    'Thresholds and choices: docs/rules.md.',
    'Example: cohortlab rules --features data/sample/features.parquet --out data/sample/rules.csv',
    'Example: cohortlab rules --features new-users.parquet --reference default --out new-users-rules.csv',
  ].join('\n'),
  async run(args, ctx) {
    const featuresPath = str(args, 'features');
    const out = str(args, 'out')!;
    const configPath = str(args, 'config');
    const preset = str(args, 'preset');
    if (configPath && preset) throw new CohortlabError('BAD_ARGUMENT', 'give --config or --preset, not both.');
    let config = configPath || preset ? await resolveConfig({ config: configPath, preset }) : undefined;
    let table: FeatureTable;
    // From events (files or a ClickHouse table), the LTV tables of §9.1 too: BG/NBD on the purchases before the cutoff.
    let ltv: LtvBaseline | null = null;
    let ltvNote: string | null = null;
    if (featuresPath) {
      table = await readFeatureTable(featuresPath);
      config ??= table.config;
    } else {
      // Features computed where the events are (a ClickHouse table): only per-user rows come back.
      if (!config) throw new CohortlabError('BAD_ARGUMENT', 'give --features FILE, or --events FILE... / --engine clickhouse --table NAME with --as-of DATE and --config F or --preset NAME.');
      const spec = eventSourceSpec(args, ctx.env, config, list(args, 'events'), str(args, 'table'));
      const asOf = date(args, 'as-of');
      if (!spec) throw new CohortlabError('BAD_ARGUMENT', 'give --features FILE, --events FILE... --as-of DATE, or --engine clickhouse --table NAME --as-of DATE (see "cohortlab rules --help").');
      if (!asOf) throw new CohortlabError('BAD_ARGUMENT', `give --as-of YYYY-MM-DD with ${spec.engine === 'clickhouse' ? '--engine clickhouse' : '--events'}.`);
      const source = await openEventSource(spec, config, { logger: ctx.logger });
      try {
        table = await computeFeatures(source, { asOf, logger: ctx.logger });
        const b = await ltvBaseline(source, table, { horizonDays: defaultHorizonDays(config), logger: ctx.logger });
        ltv = b.baseline;
        if (!ltv) ltvNote = b.warnings.map((w) => `${w.code}: ${w.message}`).join(' ');
      } finally {
        await source.close();
      }
    }
    if (!config) {
      ctx.logger.warn(`features file ${featuresPath} carries no config (no .meta.json); using the synthetic preset (the §4.2 project-management milestones). Give --config or --preset to choose.`);
      config = SYNTHETIC_PRESET;
    }
    const rulesDir = str(args, 'rules') ?? defaultRulesDir();
    const segments = await loadSegmentRules(rulesDir);
    if (segments.length === 0) ctx.logger.warn(`no *.segment files in ${rulesDir}; only the built-in playbook models are applied.`);
    const refName = str(args, 'reference');
    const reference = refName === undefined ? undefined : (await loadRuleReference(openModelStore(resolveModelsDir(ctx.cwd, ctx.env, str(args, 'models-dir'))), refName)).reference;
    const started = performance.now();
    const result = applyRules(table, config, { segments, reference });
    if (result.reference) ctx.logger.info(describeRuleReference(result.reference));
    const affinity = featureAffinity(table, result, config);
    const secs = (performance.now() - started) / 1000;

    const names = ['user_id', ...CONTRACT_RULE_COLUMNS, ...segments.map((s) => SEGMENT_COLUMN_PREFIX + s.slug)];
    const extras = Object.keys(result.columns).filter((c) => !names.includes(c));
    const columns: Record<string, Column> = { user_id: result.userIds, ...result.columns };
    names.push(...extras);
    columns.recommendation_1 = affinity.recommendations.map((r) => r[0] ?? '');
    columns.recommendation_2 = affinity.recommendations.map((r) => r[1] ?? '');
    names.push('recommendation_1', 'recommendation_2');
    for (const [model, comps] of Object.entries(result.components)) {
      for (const [comp, values] of Object.entries(comps)) {
        const name = `${model}__${comp}`;
        columns[name] = values;
        names.push(name);
      }
    }
    await writeTable(out, { rows: result.userIds.length, names, columns });

    const dashboard = segmentDashboard(table, result, { segments, by: str(args, 'by') ?? 'behavioral_segment' });
    ctx.out(formatDashboard(dashboard));
    // §9.1 "LTV": by the dashboard's column and by lifecycle stage (expected purchases over the config's inactivity threshold).
    const by = str(args, 'by') ?? 'behavioral_segment';
    const groups = Object.fromEntries([...new Set([by, 'lifecycle_stage'])].filter((c) => Array.isArray(result.columns[c])).map((c) => [c, result.columns[c] as string[]]));
    if (ltv) ctx.out(`\n${formatLtvDashboard(ltvDashboardOf(ltv, groups, defaultHorizonDays(config)))}`);
    else ctx.out(`\nLTV (playbook §9.1): ${ltvNote ?? 'needs the purchase events (BG/NBD reads purchase days, which a features file does not carry): give --events FILE... --as-of DATE, or see the LTV tables train prints.'}`);
    if (bool(args, 'icp')) ctx.out(`\n${formatIcp(icpRefinement(table, result))}`);
    for (const w of antiPatternWarnings(dashboard, segments)) ctx.logger.warn(w.message);
    ctx.logger.info(
      `rules: ${result.userIds.length.toLocaleString('en-US')} users, ${segments.length} rule-file segments from ${rulesDir}, config "${config.name}" -> ${out} (${secs.toFixed(2)} s of rule compute)`,
    );
    return 0;
  },
};
