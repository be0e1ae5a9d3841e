import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSegmentRules, parseRuleReference, type RuleReference, type SegmentRule } from '../rules/index.js';
import { validateConfig, type EventConfig } from '../ingest/index.js';
import { modelNeedsWeights, type ChurnModelJson, type SerializedChurnModel } from '../churn/index.js';
import type { ClusterModel } from '../cluster/index.js';
import { readTable, type ColumnTable } from '../shared/table-io.js';
import { CohortlabError } from '../shared/errors.js';
import type { EventsModelParams, Manifest, TableModelParams } from './manifest.js';
import { versionLabel, resolveVersion, verifyFiles, type ModelStore, type VersionId, type WrittenVersion } from './store.js';

export { DEFAULT_MODEL_NAME, validateName, type ModelRef, parseRef, formatRef } from './names.js';
export {
  MANIFEST_FILE, MANIFEST_KIND, MANIFEST_FORMAT_VERSION, parseManifest, parseManifestText, formatManifest,
  type Manifest, type ManifestFields, type ManifestFile, type ManifestCutoffs, type ManifestInterval, type ManifestMetrics, type ManifestInput,
  type ModelParams, type EventsModelParams, type TableModelParams,
} from './manifest.js';
export {
  type ModelStore, type VersionId, type WrittenVersion, type VersionWriter, resolveModelsDir, sha256File, sha256Bytes, stagedFiles, versionLabel,
  resolveVersion, verifyFiles, promote, removeVersion, readProductionHistory, type NameProductionHistory,
} from './store.js';
export {
  AUDIT_FILE, parseAuditText, parseAuditRecord, formatAuditLine, productionPeriods, skippedAuditWarnings,
  type AuditAction, type AuditRecord, type RegisterRecord, type PromoteRecord, type RemoveRecord, type AuditTrail, type SkippedAuditLine,
  type ProductionPeriod, type ProductionHistory, type CurrentProduction,
} from './audit.js';
export { openModelStore } from './disk-store.js';
export {
  HISTORY_FOLDER, SNAPSHOT_FORMAT, type SnapshotRecord, type SnapshotMemberIds, type HistoryStore, pruneHistory, previousSnapshot,
} from './history.js';
export { createMemoryStore } from './memory-store.js';
export {
  type MetricComparison, compareMetrics, type TestPredictions, type PairedComparison, pairedComparison,
  type ClusterMovement, clusterMovement,
} from './compare.js';

/**
 * registry: read a version's data. Every file is checked against the manifest's sha256 before use, so a
 * corrupt or hand-edited version fails with a sentence naming the file. The registry returns what was
 * saved (manifest, config, rule files and reference thresholds, the serialized churn model, cluster
 * state, report); it builds no scorer: the pipeline (pipeline/load.ts) attaches scoring to this data.
 */

/** The reference thresholds of the population-relative rules, fitted at train (rules/reference.ts). */
export const RULES_REFERENCE_FILE = 'rules-reference.json';
export const CHURN_MODEL_FILE = 'churn-model.json';
export const CHURN_WEIGHTS_FILE = 'churn-weights.bin';
export const CLUSTERS_FILE = 'clusters.json';
export const CONFIG_FILE = 'config.json';
export const REPORT_FILE = 'report.json';
export const RULES_FOLDER = 'rules';
/** The scored snapshot (at `params.snapshotAsOf`) and the one at the test cutoff, both without ids unless trained with them. */
export const SCORES_FILE = 'scores.parquet';
export const PREVIOUS_SCORES_FILE = 'scores-previous.parquet';
/** The test users' labels and model probabilities in user-id order, without ids (models compare pairs two versions on them). */
export const TEST_PREDICTIONS_FILE = 'test-predictions.parquet';

/** A resolved version and its checked manifest. */
export interface ModelVersion extends WrittenVersion {
  /** NAME@VERSION, for messages. */
  label: string;
  manifest: Manifest;
}

/** What `train` saved for the full pipeline (source 'events'). */
export interface EventsModelData extends ModelVersion {
  params: EventsModelParams;
  config: EventConfig;
  segments: SegmentRule[];
  churn: SerializedChurnModel;
  clusters: ClusterModel | null;
  reference: RuleReference;
  /** report.json (model vs rule evaluation, clusters, dashboard) as written at training time. */
  report: Record<string, unknown>;
}

/** What `train --table` saved: the churn model alone, with the encoding of the table's raw columns. */
export interface TableModelData extends ModelVersion {
  params: TableModelParams;
  churn: SerializedChurnModel;
}

/** Resolves `ref` and reads its manifest; `verify` (default true) checks every file against its sha256. */
export async function openVersion(store: ModelStore, ref: string | undefined, opts: { verify?: boolean } = {}): Promise<ModelVersion> {
  const v = await resolveVersion(store, ref);
  const manifest = await store.readManifest(v);
  if (opts.verify !== false) await verifyFiles(store, v, manifest);
  return { ...v, label: versionLabel(v), manifest };
}

async function readBytes(store: ModelStore, v: VersionId, file: string): Promise<Uint8Array> {
  const bytes = await store.readArtifact(v, file);
  if (!bytes) throw new CohortlabError('MODEL_CORRUPT', `model ${versionLabel(v)}: ${file} cannot be read (it is missing).`);
  return bytes;
}

async function readJson<T>(store: ModelStore, v: VersionId, file: string): Promise<T> {
  const bytes = await readBytes(store, v, file);
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  } catch (e) {
    throw new CohortlabError('MODEL_CORRUPT', `model ${versionLabel(v)}: ${file} cannot be read (${(e as Error).message}).`, { cause: e });
  }
}

/** A table file of the version (Parquet), or null when the version has none. */
export async function readVersionTable(store: ModelStore, v: VersionId, file: string): Promise<ColumnTable | null> {
  // existence by stat, not artifactDigest: hashing a snapshot of millions of users again would double the load time
  return store.withLocalFiles(v, [file], async (dir) => ((await stat(join(dir, file)).then(() => true, () => false)) ? readTable(join(dir, file)) : null));
}

async function readChurn(store: ModelStore, v: VersionId): Promise<SerializedChurnModel> {
  const json = await readJson<ChurnModelJson>(store, v, CHURN_MODEL_FILE);
  if (!modelNeedsWeights(json)) return { json, weights: null };
  const weights = await store.readArtifact(v, CHURN_WEIGHTS_FILE);
  if (!weights) throw new CohortlabError('MODEL_CORRUPT', `model ${versionLabel(v)}: ${CHURN_WEIGHTS_FILE} cannot be read (it is missing); an ${json.kind} model keeps its network weights there: re-train it.`);
  return { json, weights: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer };
}

/** The source a version was trained on: 'events' (the full pipeline) or 'table' (a per-user table). */
export async function modelSource(store: ModelStore, ref: string | undefined): Promise<'events' | 'table'> {
  return (await openVersion(store, ref, { verify: false })).manifest.params.source;
}

export async function readTableModel(store: ModelStore, ref: string | undefined): Promise<TableModelData> {
  const v = await openVersion(store, ref);
  const params = v.manifest.params;
  if (params.source !== 'table') throw new CohortlabError('MODEL_INCOMPATIBLE', `model ${v.label} was trained on events, not on a per-user table; score it with --events or a features file.`);
  return { ...v, params, churn: await readChurn(store, v) };
}

/** The version's rule reference thresholds; a version trained before they were saved is refused (its rules would depend on the batch). */
async function readReference(store: ModelStore, v: ModelVersion): Promise<RuleReference> {
  const bytes = await store.readArtifact(v, RULES_REFERENCE_FILE);
  if (!bytes) {
    throw new CohortlabError('MODEL_INCOMPATIBLE', `model ${v.label} has no ${RULES_REFERENCE_FILE} (it was trained by an older cohortlab, whose §2.3 top-10% and §6.3 quintile thresholds moved with each scored batch); re-train it.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new CohortlabError('MODEL_CORRUPT', `model ${v.label}: ${RULES_REFERENCE_FILE} is not JSON (${(e as Error).message}).`, { cause: e });
  }
  return parseRuleReference(json, `model ${v.label} ${RULES_REFERENCE_FILE}`);
}

function eventsParams(v: ModelVersion, why: string): EventsModelParams {
  const params = v.manifest.params;
  if (params.source !== 'events') throw new CohortlabError('MODEL_INCOMPATIBLE', `model ${v.label} was trained on a per-user table${why}`);
  return params;
}

/**
 * Only a version's rule reference thresholds and config (for `rules --reference MODEL`): no churn model is
 * read, and only the reference and config files are checked against their sha256 in the manifest.
 */
export async function loadRuleReference(store: ModelStore, ref: string | undefined): Promise<{ name: string; version: number; reference: RuleReference; config: EventConfig }> {
  const v = await openVersion(store, ref, { verify: false });
  eventsParams(v, '; it has no rule reference thresholds.');
  await verifyFiles(store, v, v.manifest, [RULES_REFERENCE_FILE, CONFIG_FILE]);
  const config = validateConfig(await readJson(store, v, CONFIG_FILE), `of model ${v.label}`);
  return { name: v.name, version: v.version, reference: await readReference(store, v), config };
}

/** Everything an events version saved, checked against the manifest (unless `verify: false`). */
export async function readEventsModel(store: ModelStore, ref: string | undefined, opts: { verify?: boolean } = {}): Promise<EventsModelData> {
  const v = await openVersion(store, ref, opts);
  const params = eventsParams(v, ` (${JSON.stringify(v.manifest.params)}); it has no rules or clusters: score it with "cohortlab score --table FILE".`);
  const churn = await readChurn(store, v);
  const config = validateConfig(await readJson(store, v, CONFIG_FILE), `of model ${v.label}`);
  const clusters = await readJson<ClusterModel | null>(store, v, CLUSTERS_FILE);
  const segments = await store.withLocalFiles(v, [RULES_FOLDER], (dir) => loadSegmentRules(join(dir, RULES_FOLDER)));
  const report = await readJson<Record<string, unknown>>(store, v, REPORT_FILE);
  const reference = await readReference(store, v);
  return { ...v, params, config, segments, churn, clusters, reference, report };
}

/** One version as `models compare` reads it: its evaluation metrics, verdict, test predictions and scored snapshot. */
export interface CompareInputs {
  label: string;
  report: Record<string, unknown>;
  /** `scorer metric` -> interval, for the model and the rule score. */
  metrics: Record<string, { value: number; lo: number; hi: number } | null>;
  testPredictions: { testSet: string | null; churned: Float64Array; probability: Float64Array } | null;
  /** The scored snapshot (read on demand: it can hold millions of users). */
  scores(): Promise<ColumnTable | null>;
}

export async function compareInputs(store: ModelStore, ref: string): Promise<CompareInputs> {
  const v = await resolveVersion(store, ref);
  const report = await readJson<Record<string, unknown>>(store, v, REPORT_FILE);
  const ev = report.evaluation as { metrics: Record<string, Record<string, { value: number; lo: number; hi: number } | null>> } | undefined;
  const metrics: CompareInputs['metrics'] = {};
  for (const [scorer, ms] of Object.entries(ev?.metrics ?? {})) {
    if (scorer !== 'model' && scorer !== 'rule') continue;
    for (const [k, m] of Object.entries(ms)) metrics[`${scorer} ${k}`] = m;
  }
  const t = await readVersionTable(store, v, TEST_PREDICTIONS_FILE).catch(() => null);
  const testPredictions = t
    ? { testSet: (await store.readManifest(v)).metrics.testSet || null, churned: t.columns.churned as Float64Array, probability: t.columns.churn_probability as Float64Array }
    : null;
  const scores = () => readVersionTable(store, v, SCORES_FILE).catch(() => null);
  return { label: versionLabel(v), report, metrics, testPredictions, scores };
}
