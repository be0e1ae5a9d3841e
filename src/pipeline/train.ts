import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { computeFeaturesAtCutoffs, featureDictionary, isoDate, latestCoveredAsOf, profileEvents, type FeatureTable } from '../features/index.js';
import { inactivityDays, type EventConfig } from '../ingest/index.js';
import { openEventSource, type EventSourceSpec } from '../engine/index.js';
import {
  antiPatternWarnings, applyRules, defaultRulesDir, describeRuleReference, fitRuleReference, loadSegmentRules, segmentDashboard, transitionMatrix,
} from '../rules/index.js';
import { assignClusters, fitClusters, truthAgreement, type ClusterFit } from '../cluster/index.js';
import { RETENTION_FILE, storedRetention } from '../retention/index.js';
import { checkBothOutcomes, planBacktest, setSize, shapInput, startShapThread, suggestCutoffs, fitChurn, type ChurnModelRequest, type DuplicateReport, type TableColumnReport } from '../churn/index.js';
import { evaluateChurnFit, labelWindowOverlaps, renderEvaluationHtml, type EvaluationReport, type ReportWarning } from '../evaluate/index.js';
import {
  CLUSTERS_FILE, CONFIG_FILE, MANIFEST_FORMAT_VERSION, MANIFEST_KIND, PREVIOUS_SCORES_FILE, REPORT_FILE, RULES_FOLDER, RULES_REFERENCE_FILE,
  SCORES_FILE, TEST_PREDICTIONS_FILE, type ManifestFields, type ModelStore, type WrittenVersion,
} from '../registry/index.js';
import { CohortlabError } from '../shared/errors.js';
import { readTruthCsv } from '../synth/index.js';
import { saltFingerprint } from '../shared/pseudonym.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { writeTable } from '../shared/table-io.js';
import { scoreWithParts, scoreResultTable, type ModelParts } from './score.js';
import type { ScoreResult } from './types.js';
import { trainFromTable } from './train-table.js';
import { driftReferenceTable, DRIFT_REFERENCE_FILE } from './drift-reference.js';
import { snapshotFeaturesTable, SNAPSHOT_FEATURES_FILE } from './snapshot-features.js';
import { codeVersion, fingerprint, hashFiles, MEMBER_NOTE, memberMode, memberTable, packageVersion, summaryMetrics, testPredictions, writeChurn } from './version-files.js';
import { fitLtvAt, ltvArtifact, ltvBaseline, ltvDashboardOf, ltvScorerFor, withLtvColumns, writeLtvArtifact } from './ltv-baseline.js';
import { formatLtvDashboard } from '../ltv/index.js';
import { labelForTarget, probabilityColumn, propensityBaselines, resolveTarget } from './target.js';
import { targetTitle } from '../features/index.js';

/**
 * The whole pipeline, into the registry (`cohortlab train`):
 *
 *   ingest ──> features at each backtest cutoff (train < valid < test, labelled) + the latest snapshot
 *          ──> rules (playbook scores and segments, incl. the §4.4 churn-risk score)
 *          ──> cluster (fit on the test cutoff's users, assign the snapshot)
 *          ──> churn (fit on train cutoffs, early-stop + calibrate on valid, evaluate on test vs the rule score)
 *          ──> score the snapshot ──> registry version (written to a temp folder, renamed into place)
 *
 * A per-user table (`--table FILE --label COLUMN`) skips the event stages: stratified split, churn, evaluate.
 */
export interface TrainOptions {
  events?: string[];
  /** Where the events are, instead of `events`: files with DuckDB limits, or a warehouse table (`--engine clickhouse`). */
  source?: EventSourceSpec;
  config?: EventConfig;
  table?: string;
  label?: string;
  /** With `table`: the column that keys the rows (default: detected), the label's churn value, columns left out, and whether leaky columns stay. */
  idColumn?: string;
  positive?: string;
  drop?: string[];
  keepLeaky?: boolean;
  /** The test cutoff (its label must be observable); default: the last event day minus the horizon. */
  asOf?: string;
  horizonDays?: number;
  /** Training cutoffs before the validation one (default 2). */
  trainCutoffs?: number;
  seed: number;
  name: string;
  /** The registry the version is written to (`openModelStore(dir)`, or `createMemoryStore()` in tests). */
  models: ModelStore;
  /** Default 'auto' (events and tables): logistic, mlp and gbdt fitted, the lowest validation log loss kept. */
  kind?: ChurnModelRequest;
  k?: number | 'auto';
  rulesDir?: string;
  truth?: string;
  strict?: boolean;
  /** Store the scored snapshot with raw user ids (behind /v1/users/:id, members and exports). Default: no ids. */
  keepUserIds?: boolean;
  /** Store it with keyed hashes of the ids instead (the salt is never stored). */
  pseudonymizeSalt?: string;
  /** Bootstrap resamples of the evaluation (default 1000). */
  resamples?: number;
  /** `churn` (default), `upgrade` (the config's taxonomy.upgrade events) or `event:NAME` (pipeline/target.ts). Events only. */
  target?: string;
  logger?: Logger;
}

export interface TrainResult {
  version: WrittenVersion;
  evaluation: EvaluationReport;
  clusters: ClusterFit['report'] | null;
  seconds: number;
  /** `--table`: every column's role and the checks' warnings (also in report.json). */
  table?: { columns: TableColumnReport[]; duplicates: DuplicateReport; idColumn: string | null };
  /** report.json's top-level warnings: data checks, evaluation, playbook §10 and clusters (what `train --json` prints). */
  warnings?: EvaluationReport['warnings'];
}

const DAY_MS = 86_400_000;

/**
 * Truth of the synthetic generator beside the events (truth.csv + truth.json): the latent type of
 * every user (cluster recovery) and, when it refers to the test cutoff, the true churn probability (the ceiling).
 */
async function readTruth(path: string | undefined, test: FeatureTable, logger: Logger, column: string | null = 'churn_probability'): Promise<{ probability: Float64Array | null; types: Map<string, string> } | null> {
  if (!path) return null;
  const { table: t, ids, types } = await readTruthCsv(path);
  const meta = JSON.parse(await readFile(join(dirname(path), 'truth.json'), 'utf8').catch(() => '{}')) as { as_of?: string; horizon_days?: number };
  if (meta.as_of !== test.asOf || meta.horizon_days !== test.horizonDays) {
    logger.info(`truth: ${path} is for as-of ${meta.as_of} + ${meta.horizon_days} days, the test cutoff is ${test.asOf} + ${test.horizonDays}; the ceiling is not reported.`);
    return { probability: null, types };
  }
  // the truth of the target: churn_probability, or p_upgrade for --target upgrade (none for other events)
  if (!column || !t.columns[column]) return { probability: null, types };
  const p = t.columns[column] as Float64Array;
  const byId = new Map(ids.map((id, i) => [id, p[i]]));
  const probability = new Float64Array(test.userIds.length);
  for (let i = 0; i < probability.length; i++) {
    const v = byId.get(test.userIds[i]);
    if (v === undefined) throw new CohortlabError('BAD_ARGUMENT', `truth file ${path} has no row for user ${test.userIds[i]}.`, { path });
    probability[i] = v;
  }
  return { probability, types };
}

/** Playbook §6.3 RFM as a churn score: 15 - R - F - M (each 1-5), so the "Lost" 111 scores highest. */
export function rfmRisk(rules: ReturnType<typeof applyRules>): Float64Array {
  const [r, f, m] = ['rfm_recency', 'rfm_frequency', 'rfm_monetary'].map((c) => rules.columns[c] as Float64Array);
  return Float64Array.from(r, (_, i) => 15 - r[i] - f[i] - m[i]);
}

function churnFeatureList(table: FeatureTable): string[] {
  return Object.keys(table.columns);
}

export async function trainPipeline(opts: TrainOptions): Promise<TrainResult> {
  const logger = opts.logger ?? silentLogger;
  const started = performance.now();
  if (opts.table) return trainFromTable(opts, logger, started);
  if ((!opts.events?.length && !opts.source) || !opts.config) throw new CohortlabError('BAD_ARGUMENT', 'train needs --events FILE... with --config/--preset, or --table FILE --label COLUMN.');
  const config = opts.config;
  const horizon = opts.horizonDays ?? 30;
  const members = memberMode(opts);
  const store = await openEventSource(opts.source ?? { engine: 'duckdb', events: opts.events ?? [] }, config, { strict: opts.strict, logger });
  // the input files' hashes for the manifest, read while the main thread waits on DuckDB (features)
  const inputHashes = hashFiles(store.engine === 'duckdb' ? store.report.files.map((f) => f.path) : []);
  inputHashes.catch(() => {});
  let open = true;
  const closeStore = async (): Promise<void> => {
    if (!open) return;
    open = false;
    await store.close();
  };
  try {
    // issue 20 part 5: what the model predicts (checked against the log before any work)
    const target = await resolveTarget(opts.target, config, store);
    if (target.kind !== 'churn') logger.info(`target: ${target.kind === 'upgrade' ? `upgrade (${target.events.map((e) => JSON.stringify(e)).join(', ')})` : `event ${targetTitle(target)}`} within ${horizon} days, among users who have not done it before the cutoff and are not churned`);
    const firstDay = isoDate(store.report.firstEventMs);
    const lastDay = isoDate(store.report.lastEventMs);
    // The test cutoff: its horizon must end by the last event's instant (labels observable).
    const testAsOf = opts.asOf ?? latestCoveredAsOf(store.report.lastEventMs, horizon, inactivityDays(config));
    const nTrain = opts.trainCutoffs ?? 2;
    let cutoffs: string[];
    let overlapNote: string | null = null;
    const backtestWarnings: ReportWarning[] = [];
    const suggest = (minHistoryDays: number) =>
      suggestCutoffs({ firstEventDay: firstDay, lastEventDay: isoDate(Date.parse(`${testAsOf}T00:00:00Z`) + horizon * DAY_MS), horizonDays: horizon, count: nTrain + 2, minHistoryDays });
    try {
      cutoffs = suggest(28);
    } catch {
      try {
        // Cutoffs a whole horizon apart keep every label out of sample; when 28 days of history before the first
        // training cutoff do not fit, a week of history is the lesser evil (short-window features still mean something).
        cutoffs = suggest(7);
        const days = Math.round((Date.parse(`${cutoffs[0]}T00:00:00Z`) - Date.parse(`${firstDay}T00:00:00Z`)) / DAY_MS) + 1;
        const msg = `the first training cutoff ${cutoffs[0]} has ${days} days of history (under 28): its 28- and 30-day features cover less than their window; cutoffs stay ${horizon} days apart so no label overlaps another.`;
        backtestWarnings.push({ code: 'SHORT_TRAINING_HISTORY', message: msg });
        logger.warn(`SHORT_TRAINING_HISTORY: ${msg}`);
      } catch {
        // Too little history even then (e.g. CDNOW's 39-week horizon): space them evenly between 28 days of
        // history and the test cutoff, and say that training labels overlap later periods (the verdict is in_sample).
        const span = (Date.parse(`${testAsOf}T00:00:00Z`) - Date.parse(`${firstDay}T00:00:00Z`)) / DAY_MS - 28;
        const step = Math.floor(span / (nTrain + 1));
        if (step < 7) throw new CohortlabError('BAD_ARGUMENT', `events span ${firstDay} .. ${lastDay}: too short for a backtest with a ${horizon}-day horizon before ${testAsOf}; give a later --as-of, a shorter --horizon-days${nTrain > 1 ? ', or fewer training cutoffs (--train-cutoffs 1)' : ''}.`);
        cutoffs = Array.from({ length: nTrain + 2 }, (_, i) => isoDate(Date.parse(`${testAsOf}T00:00:00Z`) - (nTrain + 1 - i) * step * DAY_MS));
        overlapNote = `history too short for cutoffs ${horizon} days apart: cutoffs are ${step} days apart, so training and validation labels reach into later periods (known only after the test cutoff).`;
        logger.warn(overlapNote);
      }
    }
    const plan = planBacktest(cutoffs, horizon, { allowLabelOverlap: overlapNote !== null });
    logger.info(`backtest: train ${plan.train.join(', ')} | valid ${plan.valid} | test ${plan.test} (horizon ${horizon} days); snapshot as of ${lastDay}`);

    // every backtest cutoff (labelled) and the snapshot from one pass over the events (issue 23 part 1)
    const tables = await computeFeaturesAtCutoffs(store, [...[...plan.train, plan.valid, plan.test].map((asOf) => ({ asOf, horizonDays: horizon })), { asOf: lastDay }], { logger });
    const snapshot = tables.pop()!;
    const [train, valid, test] = [tables.slice(0, -2), tables[tables.length - 2], tables[tables.length - 1]];
    // The data checks of `cohortlab profile` at the test cutoff, printed and kept in report.json warnings.
    const dataProfile = await profileEvents(store, { asOf: test.asOf, horizonDays: horizon, atCutoff: { users: test.userIds.length, alreadyChurned: test.alreadyChurned.reduce((s, v) => s + v, 0) }, logger });
    for (const w of dataProfile.warnings) logger.warn(`${w.code}: ${w.message}`);

    const rulesDir = opts.rulesDir ?? defaultRulesDir();
    const segments = await loadSegmentRules(rulesDir);
    // Reference thresholds of the population-relative rules (§2.3 top 10%, §6.3 spend quintiles), fitted once on
    // the test cutoff's users (the users the rules are evaluated on) and saved: score, /v1/predict, evaluate and
    // the SQL of score --emit-sql then judge every user against the same bar, whoever is scored with them.
    const reference = fitRuleReference(test, config, "the test cutoff's users of train");
    logger.info(describeRuleReference(reference));
    const testRules = applyRules(test, config, { segments, reference });
    const features = churnFeatureList(test);

    logger.info(`clusters: fitting on the users live at the test cutoff ${test.asOf}`);
    // With too few live users the other stages still run: the clusters are fitted on everyone, and report.json
    // warnings say so (CLUSTER_FIT_ON_ALL_USERS); labels name the churn share of clusters of churned users.
    const clusters = fitClusters(test, { k: opts.k ?? 'auto', seed: opts.seed, whenFewLive: 'fit-all' }, { rules: testRules, logger });

    const files = opts.source?.engine === 'duckdb' ? opts.source.events : opts.events;
    const besideEvents = files?.length ? join(dirname(files[0]), 'truth.csv') : undefined;
    const truthPath = opts.truth ?? (besideEvents && (await stat(besideEvents).then(() => besideEvents, () => undefined)));
    const truth = await readTruth(truthPath, test, logger, target.kind === 'churn' ? 'churn_probability' : target.kind === 'upgrade' ? 'p_upgrade' : null);
    if (truth) {
      clusters.report.truth = truthAgreement(test.userIds, clusters.assignments, clusters.model.k, truth.types, test.alreadyChurned);
      logger.info(`clusters vs the latent types of ${truthPath}: ARI ${clusters.report.truth.ariFitted.toFixed(3)} over the users clustered (not churned before ${test.asOf}), ${clusters.report.truth.ari.toFixed(3)} over all`);
    }
    const truthTest = truth?.probability ?? null;
    // Outcomes the model is fitted/calibrated on that overlap the test outcomes (short histories): in-sample.
    const inSample = labelWindowOverlaps({ cutoff: plan.test, horizonDays: horizon }, [
      ...plan.train.map((cutoff) => ({ role: 'train' as const, cutoff, horizonDays: horizon })),
      { role: 'validation' as const, cutoff: plan.valid, horizonDays: horizon },
    ]);
    // Issue 20 part 3: BG/NBD fitted on the purchases before the test cutoff, P(no purchase in the horizon) as the "bgnbd" baseline.
    const ltv = await ltvBaseline(store, test, { horizonDays: horizon, logger });
    // a propensity target: the same users and features, its own labels (prior doers left out) and baselines
    const [trainT, validT, testT] = target.kind === 'churn'
      ? [train, valid, test]
      : await labelForTarget(store, [...train, valid, test], target).then((t) => [t.slice(0, -2), t[t.length - 2], t[t.length - 1]] as const);
    // one outcome only is train's error before any more work (the retention curves below cannot be drawn without churns)
    checkBothOutcomes([setSize('validation', validT, 'events'), setSize('test', testT, 'events')], 'events', target);
    // The BG/NBD stored for score and /v1/predict: fitted on every purchase up to the snapshot.
    const ltvSnapshot = ltv.baseline ? await fitLtvAt(store, snapshot.asOf) : null;
    // Kaplan-Meier curves by segment, lifecycle and cluster (groups at the test cutoff, time to the snapshot): /v1/retention and the explorer.
    const retention = await storedRetention(store, { asOf: snapshot.asOf, landmark: plan.test, clusterLabels: async (t) => assignClusters(clusters.model, t).labels, features: [snapshot, test], logger });
    // Nothing below reads the events: DuckDB's tables and buffers (up to its memory limit) are let go before the
    // models are fitted, so the process holds one or the other, not both (issue 23: train within 2 GB).
    await closeStore();
    const baselines = target.kind === 'churn' ? { rule: testRules.columns.churn_risk_score as Float64Array, rfm: rfmRisk(testRules) } : propensityBaselines(testRules);
    // churn fits and predicts; evaluate measures the predictions on the held-out test users
    const fitted = await fitChurn({
      train: [...trainT], valid: validT, test: testT, features,
      params: { kind: opts.kind ?? 'auto', seed: opts.seed },
      target,
      allowLabelOverlap: overlapNote !== null,
      notes: overlapNote ? [overlapNote] : [],
      logger,
    });
    // the snapshot and the test cutoff scored with the fitted model while the evaluation's bootstrap runs in a worker
    const probability = probabilityColumn(target);
    const parts: ModelParts = { config, segments, churn: fitted.model, clusters: clusters.model, reference, probabilityColumn: probability };
    // A gbdt's reason codes of both tables (TreeSHAP, 190k rows on the 100k log: 3.5 s) start now in a worker of
    // their own, beside the bootstrap's worker and this thread's permutation importance: the second core was idle for
    // the last seconds of the evaluation. The same bits as in place (churn/shap-thread.ts).
    const shapThread = fitted.model.kind === 'gbdt' ? startShapThread(fitted.model.gbdt.fitted) : null;
    const shares = [snapshot, test].map((t) => {
      const x = shapThread && shapInput(fitted.model, t.columns);
      const share = x ? shapThread.explain(x) : null;
      share?.catch(() => {}); // awaited in `meanwhile`
      return share;
    });
    const shapOf = async (k: number) => {
      const share = shares[k];
      return share && shapThread ? shapThread.finish(await share) : undefined;
    };
    // set by the `meanwhile` step, which evaluateChurnFit always runs
    let scoredBoth!: [ScoreResult, ScoreResult];
    const churn = await evaluateChurnFit(fitted, testT, {
      meanwhile: async () => {
        scoredBoth = await Promise.all([scoreWithParts(parts, snapshot, { shap: await shapOf(0) }), scoreWithParts(parts, test, { shap: await shapOf(1) })]);
      },
      ruleScoreTest: baselines.rule,
      // the "bgnbd" baseline is a churn score: only beside a churn model
      otherRulesTest: { rfm: baselines.rfm, ...(ltv.baseline && target.kind === 'churn' ? { bgnbd: ltv.baseline.score } : {}) },
      truthTest,
      target,
      inSample,
      resamples: opts.resamples,
      title: target.kind === 'churn'
        ? `Churn model vs the playbook churn-risk score (test cutoff ${plan.test}, ${horizon}-day horizon)`
        : `${targetTitle(target)[0].toUpperCase()}${targetTitle(target).slice(1)} model vs the playbook §4.3 expansion-readiness score (test cutoff ${plan.test}, ${horizon}-day horizon)`,
      logger,
    }).finally(() => shapThread?.close());

    churn.report.warnings.push(...ltv.warnings);
    const [scored, previous] = scoredBoth;
    const transitions = {
      from: test.asOf,
      to: snapshot.asOf,
      segments: transitionMatrix(
        { userIds: previous.userIds, labels: previous.columns.behavioral_segment as string[] },
        { userIds: scored.userIds, labels: scored.columns.behavioral_segment as string[] },
      ),
      clusters: transitionMatrix(
        { userIds: previous.userIds, labels: previous.columns.cluster_label as string[] },
        { userIds: scored.userIds, labels: scored.columns.cluster_label as string[] },
        'cluster_label',
      ),
    };
    // playbook §9.1 on the test cutoff's users (their retention over the horizon is known), §10 warnings.
    const dashboard = segmentDashboard(test, testRules, { segments });
    // playbook §9.1 "LTV" per rule segment, lifecycle stage and cluster (issue 20 part 4), from the test cutoff's BG/NBD.
    const ltvDashboard = ltv.baseline
      ? ltvDashboardOf(ltv.baseline, {
        behavioral_segment: testRules.columns.behavioral_segment as string[],
        lifecycle_stage: testRules.columns.lifecycle_stage as string[],
        cluster_label: assignClusters(clusters.model, test).labels,
      }, horizon)
      : null;
    if (ltvDashboard) logger.info(formatLtvDashboard(ltvDashboard));
    const ltvStored = ltvSnapshot && 'model' in ltvSnapshot ? ltvArtifact(ltvSnapshot, horizon) : null;
    // The stored snapshot carries the LTV columns of `score` (empty without a model), scored with that fit.
    const ltvColumns = ltvStored && ltvSnapshot && 'model' in ltvSnapshot ? ltvScorerFor({ artifact: ltvStored, model: ltvSnapshot.model }, ltvSnapshot.summary)(scored.userIds) : null;
    const report = {
      target: { kind: target.kind, event: target.event },
      verdict: churn.report.verdict,
      evidence: churn.report.evidence,
      evaluation: churn.report,
      dashboard,
      ltvDashboard,
      ltv: ltv.baseline ? { test: ltvArtifact(ltv.baseline.fit, horizon), usersWithoutPurchase: ltv.baseline.withoutPurchase, stored: ltvStored ? { as_of: ltvStored.as_of, file: 'ltv.json' } : null } : null,
      warnings: [...dataProfile.warnings, ...backtestWarnings, ...churn.report.warnings, ...antiPatternWarnings(dashboard, segments), ...clusters.report.warnings],
      rulesReference: reference,
      clusters: clusters.report,
      transitions,
      ingest: store.report,
      backtest: plan,
    };
    const seconds = (performance.now() - started) / 1000;
    const tested = testPredictions(churn, `${plan.test}+${horizon}${target.kind === 'churn' ? '' : ` target ${target.kind}:${target.events.join(',')}`}`);
    const version = await opts.models.writeVersion(opts.name, async (dir): Promise<ManifestFields> => {
      await writeFile(join(dir, RETENTION_FILE), `${JSON.stringify(retention)}\n`);
      await writeChurn(dir, churn);
      if (ltvStored) await writeLtvArtifact(dir, ltvStored);
      await writeFile(join(dir, CLUSTERS_FILE), `${JSON.stringify(clusters.model)}\n`);
      await writeFile(join(dir, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
      await writeFile(join(dir, RULES_REFERENCE_FILE), `${JSON.stringify(reference, null, 2)}\n`);
      await mkdir(join(dir, RULES_FOLDER));
      for (const f of new Set(segments.map((x) => x.pos.file))) await copyFile(f, join(dir, RULES_FOLDER, basename(f)));
      await writeFile(join(dir, 'features.json'), `${JSON.stringify(featureDictionary(config), null, 2)}\n`);
      await writeFile(join(dir, REPORT_FILE), `${JSON.stringify(report)}\n`);
      await writeFile(join(dir, 'report.html'), await renderEvaluationHtml(churn.report));
      // The Parquet files are written side by side: while DuckDB encodes and syncs one, the next one's rows are
      // appended here (one after another, the main thread waited on each file's COPY and fsync). Every writer has
      // finished before a failure is thrown, so none is still writing when writeVersion removes the unfinished version.
      const written = await Promise.allSettled([
        writeTable(join(dir, SCORES_FILE), memberTable(withLtvColumns(scoreResultTable(scored), ltvColumns), members)),
        writeTable(join(dir, PREVIOUS_SCORES_FILE), memberTable(scoreResultTable(previous), members)),
        writeTable(join(dir, TEST_PREDICTIONS_FILE), tested.table),
        // the cluster and model features of the scored snapshot, row for row (the server's cluster detail draws their distributions)
        scored.columns.cluster ? writeTable(join(dir, SNAPSHOT_FEATURES_FILE), snapshotFeaturesTable(snapshot, scored.columns.cluster as Float64Array, [...new Set([...clusters.model.features, ...churn.model.features])])) : null,
        // the training snapshot drift is measured against (refresh, drift): model and cluster features, prediction, rule scores
        writeTable(join(dir, DRIFT_REFERENCE_FILE), driftReferenceTable(snapshot, scored, [...new Set([...churn.model.features, ...clusters.model.features])], probability, opts.seed)),
      ]);
      for (const w of written) if (w.status === 'rejected') throw w.reason;
      return {
        kind: MANIFEST_KIND,
        formatVersion: MANIFEST_FORMAT_VERSION,
        createdAt: new Date().toISOString(),
        seed: opts.seed,
        params: {
          source: 'events', asOf: plan.test, horizonDays: horizon, cutoffs: plan, snapshotAsOf: snapshot.asOf, churnKind: churn.model.kind, k: clusters.model.k, rulesDir,
          target: { kind: target.kind, event: target.event, events: target.events, probabilityColumn: probability },
        },
        memberIds: members.mode,
        ...(members.mode === 'pseudonymized' ? { saltFingerprint: saltFingerprint(members.salt) } : {}),
        features,
        codeVersion: codeVersion(),
        packageVersion: await packageVersion(),
        input: await fingerprint(inputHashes, store.report, store.location),
        backend: churn.model.backend,
        trainingSeconds: seconds,
        metrics: summaryMetrics(churn.report, clusters.model.k, snapshot.userIds.length, tested.digest),
      };
    });
    logger.info(`registered ${version.name}@${version.version} in ${version.dir} (${seconds.toFixed(1)} s)`);
    logger.info(MEMBER_NOTE[members.mode]);
    return { version, evaluation: churn.report, clusters: clusters.report, seconds, warnings: report.warnings };
  } finally {
    await closeStore();
  }
}

