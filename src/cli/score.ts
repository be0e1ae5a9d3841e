import { computeFeatureBlocks, profileEvents, readFeatureTableBlocks, type DataWarning } from '../features/index.js';
import { writeFileAtomic } from '../shared/atomic.js';
import { resolveConfig } from '../ingest/index.js';
import { clickhouseRelation, openEventSource, type EventSourceSpec } from '../engine/index.js';
import { DIALECTS, type EngineName } from '../engine/index.js';
import { modelScoreSql } from '../pipeline/index.js';
import { cutoffOf } from '../features/index.js';
import type { EventConfig } from '../ingest/index.js';
import { modelSource, openModelStore, resolveModelsDir, type ModelStore } from '../registry/index.js';
import { loadScoringModel, loadTableScoringModel, ltvScorerAt, readLtvArtifact, withLtvColumns, type LoadedModel } from '../pipeline/index.js';
import { encodeTableForScoring, predictChurn, readPerUserTable, reasonCodes } from '../churn/index.js';
import { reasonsColumn, scoreResultTable, scoreStream } from '../pipeline/index.js';
import { CohortlabError } from '../shared/errors.js';
import { openTableWriter, writeTable, type TableWriter } from '../shared/table-io.js';
import { bool, date, int, list, str, MODEL_REF_OPTION, MODELS_DIR_OPTION, STRICT_OPTION } from './args.js';
import type { Command, CommandContext } from './command.js';
import { ENGINE_OPTIONS, eventSourceSpec, warehouseTarget } from './engine.js';

/** A model of `train --table`: encode the raw columns as at training, then probability and reasons (no rules or clusters: no events). */
async function scoreRawTable(ref: string | undefined, models: ModelStore, path: string, out: string, reasons: number, ctx: CommandContext): Promise<number> {
  const model = await loadTableScoringModel(models, ref, { logger: ctx.logger });
  if (!model.churn.encoding) throw new CohortlabError('MODEL_CORRUPT', `model ${model.name}@${model.version} was trained on a table but has no column encoding; re-train it.`);
  const t0 = performance.now();
  const enc = model.churn.encoding;
  // Rows are keyed by the model's id column (read as text, so 00123 keeps its zeros), as at training.
  const { userIds, columns } = encodeTableForScoring(enc, await readPerUserTable(path, [enc.idColumn]), path);
  if (enc.idColumn) {
    const seen = new Set<string>();
    const repeated = userIds.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
    if (repeated.length) ctx.logger.warn(`${path}: the id column ${enc.idColumn} repeats ${repeated.length.toLocaleString('en-US')} value(s) (e.g. "${repeated[0]}"); those scores cannot be joined back one to one.`);
  }
  const probability = predictChurn(model.churn, columns);
  const codes = reasons > 0 ? reasonCodes(model.churn, columns, { top: reasons }) : userIds.map(() => []);
  await writeTable(out, { rows: userIds.length, names: ['user_id', 'churn_probability', 'reasons'], columns: { user_id: userIds, churn_probability: probability, reasons: reasonsColumn(codes, reasons) } }, { metadata: { model: model.name, version: String(model.version) } });
  const secs = (performance.now() - t0) / 1000;
  ctx.logger.info(`scored ${userIds.length.toLocaleString('en-US')} users with ${model.name}@${model.version} (a per-user table model: churn probability and reasons only, no rule or cluster columns; user_id = ${enc.idColumn ? `column ${enc.idColumn}` : 'row1, row2, ... (the model has no id column)'}) in ${secs.toFixed(2)} s -> ${out}`);
  return 0;
}

/**
 * --emit-sql: print the statement that scores every user inside the engine (DuckDB: over cohortlab's normalized
 * `events` table; ClickHouse: over the mapped warehouse table, named without connecting to it). It carries
 * everything a model scores but the reason codes (docs/warehouse-scoring.md).
 */
function printScoreSql(model: LoadedModel, config: EventConfig, engine: EngineName, target: { table?: string; tables?: Record<string, string> }, asOf: string, ctx: CommandContext): number {
  const d = DIALECTS[engine];
  const source = engine === 'clickhouse' ? clickhouseRelation(config, target) : 'events';
  ctx.out(`${modelScoreSql(model.parts, d, { cutoffMs: cutoffOf(asOf), source, config })};`);
  return 0;
}

/** --into TABLE (ClickHouse): run the statement as INSERT ... SELECT, creating the table when missing. */
async function scoreIntoWarehouse(model: LoadedModel, config: EventConfig, spec: EventSourceSpec, asOf: string, into: string, ctx: CommandContext): Promise<number> {
  if (spec.engine !== 'clickhouse') throw new CohortlabError('BAD_ARGUMENT', '--into TABLE writes into the warehouse: use it with --engine clickhouse (with DuckDB, use --out FILE).');
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(into)) throw new CohortlabError('BAD_ARGUMENT', `--into "${into}" is not a ClickHouse table name: use letters, digits and "_", optionally "database.table".`);
  const d = DIALECTS.clickhouse;
  const statement = (source: string) => modelScoreSql(model.parts, d, { cutoffMs: cutoffOf(asOf), source, config });
  statement('events'); // a model that cannot be compiled fails before the connection
  const source = await openEventSource(spec, config, { logger: ctx.logger });
  try {
    const t0 = performance.now();
    const select = statement(source.relation);
    const target = into.split('.').map(d.quoteIdent).join('.');
    const [db, name] = into.includes('.') ? into.split('.') : [null, into];
    const exists = await source.query(`SELECT toFloat64(count()) AS n FROM system.tables WHERE database = ${db ? d.quoteString(db) : 'currentDatabase()'} AND name = ${d.quoteString(name)}`);
    const existed = (exists.columns[0] as Float64Array)[0] > 0;
    await source.command(existed ? `INSERT INTO ${target} ${select}` : `CREATE TABLE ${target} ENGINE = MergeTree ORDER BY user_id AS ${select}`);
    const n = await source.query(`SELECT toFloat64(count()) AS n FROM ${target}`);
    ctx.logger.info(`scored inside ClickHouse with ${model.name}@${model.version} as of ${asOf}: ${existed ? 'inserted into' : 'created'} ${into} (${(n.columns[0] as Float64Array)[0].toLocaleString('en-US')} rows now) in ${((performance.now() - t0) / 1000).toFixed(2)} s; no user rows came back to Node`);
    return 0;
  } finally {
    await source.close();
  }
}

export const scoreCommand: Command = {
  name: 'score',
  summary: 'batch scoring: churn probability, rule scores and segments, cluster and reason codes per user',
  usage: 'score --model REF (--events FILE... [--config F | --preset NAME] --as-of DATE | --table FILE) --out FILE',
  options: [
    MODEL_REF_OPTION,
    { name: 'events', type: 'list', description: 'event files to compute features from', placeholder: 'FILE...' },
    { name: 'config', type: 'string', description: 'mapping + taxonomy JSON', default: "the model's own", placeholder: 'FILE' },
    { name: 'preset', type: 'string', description: 'built-in mapping', placeholder: 'NAME' },
    { name: 'as-of', type: 'string', description: 'cutoff date of the features', placeholder: 'YYYY-MM-DD' },
    { name: 'table', type: 'string', description: 'a per-user features table (output of cohortlab features) instead of events; for a train --table model, the raw table (rows keyed by the model\'s id column); with --engine clickhouse: the events table, or NAME=TABLE[,NAME=TABLE] binding the {placeholders} of the config\'s source SELECT', placeholder: 'FILE|NAME' },
    { name: 'out', type: 'string', description: 'output .csv or .parquet (not with --emit-sql or --into)', placeholder: 'FILE' },
    { name: 'emit-sql', type: 'boolean', description: 'print the one SQL statement that scores every user inside the engine (features, the rule columns and rule-file segments, the logistic model\'s probability, the cluster; no reasons) and exit; --engine duckdb prints it over cohortlab\'s normalized events table' },
    { name: 'into', type: 'string', description: 'with --engine clickhouse: run that statement as INSERT INTO TABLE SELECT ... (the table is created when missing)', placeholder: 'TABLE' },
    { name: 'chunk', type: 'string', description: 'users scored per chunk (bounds memory)', default: '12500', placeholder: 'N' },
    { name: 'reasons', type: 'string', description: 'reason codes per user (0 = none, faster)', default: '3', placeholder: 'N' },
    MODELS_DIR_OPTION,
    STRICT_OPTION,
    ...ENGINE_OPTIONS,
  ],
  help: 'Output columns: user_id, churn_probability (upgrade_probability or <event>_probability for a train --target model, docs/propensity.md), the rules columns (engagement_score ... at_risk_signals, segment_*), cluster, cluster_label, pc1, pc2, already_churned, reasons (a list of {feature, direction, contribution, value}: LIST<STRUCT> in a .parquet, JSON text in a .csv), then p_alive, expected_purchases, clv (BG/NBD + Gamma-Gamma of the version\'s ltv.json, from the purchases before the cutoff; empty without one, for --table features files and for users without a purchase; not in --emit-sql / --into; docs/ltv.md). A .parquet output has native types (scores, RFM digits and cluster INTEGER, segment flags BOOLEAN, already_churned UTINYINT) and the model, version and as-of as key-value metadata; a .csv has the same cells as text (docs/scaling.md, "Parquet outputs").',
  async run(args, ctx) {
    const models = openModelStore(resolveModelsDir(ctx.cwd, ctx.env, str(args, 'models-dir')));
    const out = str(args, 'out');
    const tablePath = str(args, 'table');
    const inEngine = bool(args, 'emit-sql') || str(args, 'into') !== undefined;
    if (!out && !inEngine) throw new CohortlabError('BAD_ARGUMENT', '"cohortlab score" needs --out FILE (or --emit-sql / --into TABLE to score inside the engine). See "cohortlab score --help".');
    if ((await modelSource(models, str(args, 'model'))) === 'table') {
      if (!tablePath) throw new CohortlabError('BAD_ARGUMENT', `model ${str(args, 'model') ?? 'default'} was trained on a per-user table: score it with --table FILE (the same columns it was trained on).`);
      if (inEngine) throw new CohortlabError('BAD_ARGUMENT', `model ${str(args, 'model') ?? 'default'} was trained on a per-user table; --emit-sql and --into score events inside the engine.`);
      return scoreRawTable(str(args, 'model'), models, tablePath, out as string, int(args, 'reasons', 3, 0, 20), ctx);
    }
    const model = await loadScoringModel(models, str(args, 'model'), { logger: ctx.logger });
    const events = list(args, 'events');
    const config = str(args, 'config') || str(args, 'preset') ? await resolveConfig({ config: str(args, 'config'), preset: str(args, 'preset') }) : model.config;
    // --table names the warehouse's events table with the ClickHouse engine (flag or config), else a per-user features file.
    const warehouse = str(args, 'engine') === 'clickhouse' || (str(args, 'engine') === undefined && !events.length && config.engine?.name === 'clickhouse');
    const into = str(args, 'into');
    const asOf = date(args, 'as-of');
    if (inEngine && !asOf) throw new CohortlabError('BAD_ARGUMENT', `give --as-of YYYY-MM-DD with ${into === undefined ? '--emit-sql' : '--into'}.`);
    if (inEngine && into === undefined && !events.length) {
      // Printing needs no connection and no event files: the warehouse table's name, or DuckDB's normalized events table.
      if (warehouse) return printScoreSql(model, config, 'clickhouse', warehouseTarget(config, tablePath), asOf as string, ctx);
      if (str(args, 'engine') === 'duckdb') return printScoreSql(model, config, 'duckdb', {}, asOf as string, ctx);
    }
    const spec = warehouse || events.length ? eventSourceSpec(args, ctx.env, config, events, warehouse ? tablePath : undefined) : undefined;
    const featureFile = warehouse ? undefined : tablePath;
    if (featureFile && events.length) throw new CohortlabError('BAD_ARGUMENT', 'give either --events or --table, not both.');
    if (inEngine) {
      if (!spec) throw new CohortlabError('BAD_ARGUMENT', '--emit-sql and --into score events inside the engine: give --engine clickhouse --table NAME (or --engine duckdb).');
      return into === undefined ? printScoreSql(model, config, spec.engine, spec.engine === 'clickhouse' ? spec : {}, asOf as string, ctx) : scoreIntoWarehouse(model, config, spec, asOf as string, into, ctx);
    }
    if (!spec && !featureFile) throw new CohortlabError('BAD_ARGUMENT', 'give --events FILE... with --as-of DATE, --table FILE, or --engine clickhouse --table NAME (see "cohortlab score --help").');
    if (spec && !asOf) throw new CohortlabError('BAD_ARGUMENT', `give --as-of YYYY-MM-DD with ${spec.engine === 'clickhouse' ? '--engine clickhouse' : '--events'}.`);
    // 12,500: with the TreeSHAP worker two blocks ahead, 50,000-user blocks peaked at 1.04-1.10 GB scoring 876,769
    // users, 25,000 at 0.96-0.99 GB; since the Parquet writer's parts are written while the next is staged,
    // 25,000 peaked at 0.96-1.01 GB and 12,500 at 0.89-0.93 GB, in the same time
    const chunk = int(args, 'chunk', 12_500, 100, 10_000_000);
    const reasons = int(args, 'reasons', 3, 0, 20);
    const store = spec ? await openEventSource(spec, config, { strict: bool(args, 'strict'), logger: ctx.logger }) : null;
    // Users stream through in blocks: features (from the file, or computed where the events are), rules, model, write.
    const blocks = store ? computeFeatureBlocks(store, { asOf: asOf as string, blockRows: chunk }) : readFeatureTableBlocks(featureFile as string, chunk);
    const total = store ? store.report.users : 0;
    // p_alive, expected_purchases, clv from the version's ltv.json (purchases before the cutoff); empty without one or without events.
    const ltvStored = store ? await readLtvArtifact(models, model) : null;
    const ltv = store && ltvStored ? await ltvScorerAt(store, ltvStored, asOf as string) : null;
    let writer: TableWriter | null = null;
    let n = 0;
    let churned = 0;
    let warnings: DataWarning[] = [];
    const t0 = performance.now();
    try {
      // with a gbdt model and reasons, the next block is read and its TreeSHAP made in a worker meanwhile (scoreStream)
      for await (const { part, result } of scoreStream(blocks, model, { reasons, logger: ctx.logger })) {
        // every block's reasons column as wide as asked, so the file's LIST type is fixed by the first block
        const scored = withLtvColumns(scoreResultTable(result, { reasons }), ltv ? ltv(part.userIds) : null);
        // a Parquet output names its model, version and cutoff inside the file (readTableMetadata)
        writer ??= await openTableWriter(out as string, scored.names, { metadata: { model: model.name, version: String(model.version), ...(asOf ? { as_of: asOf } : {}) } });
        await writer.append(scored);
        n += part.userIds.length;
        churned += part.alreadyChurned.reduce((s, v) => s + v, 0);
        ctx.logger.progress('scoring users', n, total);
      }
      if (!writer) throw new CohortlabError('EMPTY_INPUT', `no users to score in ${store?.location ?? featureFile}.`);
      if (store) {
        // The checks of `cohortlab profile` at the scoring cutoff, printed and kept in <out>.meta.json.
        warnings = (await profileEvents(store, { asOf: asOf as string, atCutoff: { users: n, alreadyChurned: churned } })).warnings;
        for (const w of warnings) ctx.logger.warn(`${w.code}: ${w.message}`);
      }
      await writer.close();
      if (store) await writeFileAtomic(`${out}.meta.json`, `${JSON.stringify({ asOf, model: `${model.name}@${model.version}`, users: n, warnings }, null, 2)}\n`);
    } catch (e) {
      await writer?.abort();
      throw e;
    } finally {
      await store?.close();
    }
    const secs = (performance.now() - t0) / 1000;
    ctx.logger.info(
      `scored ${n.toLocaleString('en-US')} users with ${model.name}@${model.version} in ${secs.toFixed(2)} s (${Math.round(n / Math.max(secs, 1e-9)).toLocaleString('en-US')} users/s, features included); peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB -> ${out}`,
    );
    return 0;
  },
};
