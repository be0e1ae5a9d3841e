import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSegmentRules, parseRuleReference, type RuleReference } from '../rules/index.js';
import type { EventConfig } from '../ingest/index.js';
import { loadChurnModel, modelNeedsWeights, type ChurnModel, type ChurnModelJson } from '../churn/index.js';
import { validateConfig } from '../ingest/index.js';
import type { FeatureTable } from '../features/index.js';
import { CohortlabError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { scoreWithParts, type ModelParts, type ScoreOptions } from '../pipeline/score.js';
import type { LoadedModel, ScoreResult } from '../pipeline/types.js';
import { formatRef } from './names.js';
import { readManifest, resolveVersion, verifyFiles } from './store.js';

export { DEFAULT_MODEL_NAME, validateName, type ModelRef, parseRef, formatRef } from './names.js';
export {
  resolveModelsDir, sha256File, listVersions, listNames, productionVersion, resolveVersion, type WrittenVersion,
  writeVersion, readManifest, verifyFiles, promote, removeVersion,
} from './store.js';
export {
  type MetricComparison, compareMetrics, type TestPredictions, type PairedComparison, pairedComparison,
  type ClusterMovement, clusterMovement,
} from './compare.js';

/**
 * registry: load a version for scoring. Every file is checked against the manifest's sha256
 * before use, so a corrupt or hand-edited version fails with a sentence naming the file.
 */
export const SUPPORTED_FORMAT_VERSION = 1;

/** The reference thresholds of the population-relative rules, fitted at train (rules/reference.ts). */
export const RULES_REFERENCE_FILE = 'rules-reference.json';

export interface LoadedRegistryModel extends LoadedModel {
  parts: ModelParts;
  score(table: FeatureTable, opts?: ScoreOptions): Promise<ScoreResult>;
}

async function readJson<T>(dir: string, file: string, label: string): Promise<T> {
  try {
    return JSON.parse(await readFile(join(dir, file), 'utf8')) as T;
  } catch (e) {
    throw new CohortlabError('MODEL_CORRUPT', `model ${label}: ${file} cannot be read (${(e as Error).message}).`, { cause: e });
  }
}

async function openVersion(ref: string | undefined, opts: { modelsDir: string; verify?: boolean }) {
  const v = await resolveVersion(opts.modelsDir, ref);
  const label = formatRef(v.name, v.version);
  const manifest = await readManifest(v.dir, label);
  if (manifest.kind !== 'cohortlab-model' || manifest.formatVersion !== SUPPORTED_FORMAT_VERSION) {
    throw new CohortlabError('MODEL_INCOMPATIBLE', `model ${label} has kind ${JSON.stringify(manifest.kind)} format ${JSON.stringify(manifest.formatVersion)}; this cohortlab reads cohortlab-model format ${SUPPORTED_FORMAT_VERSION}. Re-train it.`);
  }
  if (opts.verify !== false) await verifyFiles(v.dir, manifest, label);
  return { ...v, label, manifest, source: (manifest.params as { source: string }).source };
}

async function readChurn(dir: string, label: string, logger: Logger): Promise<ChurnModel> {
  const json = await readJson<ChurnModelJson>(dir, 'churn-model.json', label);
  if (!modelNeedsWeights(json)) return loadChurnModel({ json, weights: null }, { logger, path: join(dir, 'churn-model.json') });
  let weights: Buffer;
  try {
    weights = await readFile(join(dir, 'churn-weights.bin'));
  } catch (e) {
    throw new CohortlabError('MODEL_CORRUPT', `model ${label}: churn-weights.bin cannot be read (${(e as Error).message}); an ${json.kind} model keeps its network weights there: re-train it.`, { cause: e });
  }
  return loadChurnModel({ json, weights: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) }, { logger, path: join(dir, 'churn-model.json') });
}

/** What `train --table` saved: the churn model alone, with the encoding of the table's raw columns. */
export interface LoadedTableModel {
  name: string;
  version: number;
  dir: string;
  manifest: Record<string, unknown>;
  churn: ChurnModel;
}

/** The source a version was trained on: 'events' (the full pipeline) or 'table' (a per-user table). */
export async function modelSource(ref: string | undefined, opts: { modelsDir: string }): Promise<string> {
  return (await openVersion(ref, { ...opts, verify: false })).source;
}

export async function loadTableModel(ref: string | undefined, opts: { modelsDir: string; logger?: Logger }): Promise<LoadedTableModel> {
  const v = await openVersion(ref, opts);
  if (v.source !== 'table') throw new CohortlabError('MODEL_INCOMPATIBLE', `model ${v.label} was trained on events, not on a per-user table; score it with --events or a features file.`);
  return { name: v.name, version: v.version, dir: v.dir, manifest: v.manifest, churn: await readChurn(v.dir, v.label, opts.logger ?? silentLogger) };
}

/** The version's rule reference thresholds; a version trained before they were saved is refused (its rules would depend on the batch). */
async function readReference(dir: string, label: string) {
  let text: string;
  try {
    text = await readFile(join(dir, RULES_REFERENCE_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CohortlabError('MODEL_INCOMPATIBLE', `model ${label} has no ${RULES_REFERENCE_FILE} (it was trained by an older cohortlab, whose §2.3 top-10% and §6.3 quintile thresholds moved with each scored batch); re-train it.`);
    }
    throw new CohortlabError('MODEL_CORRUPT', `model ${label}: ${RULES_REFERENCE_FILE} cannot be read (${(e as Error).message}).`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CohortlabError('MODEL_CORRUPT', `model ${label}: ${RULES_REFERENCE_FILE} is not JSON (${(e as Error).message}).`, { cause: e });
  }
  return parseRuleReference(json, `model ${label} ${RULES_REFERENCE_FILE}`);
}

/**
 * Only a version's rule reference thresholds and config (for `rules --reference MODEL`): no churn model is
 * loaded, and only the reference file is checked against its sha256 in the manifest.
 */
export async function loadRuleReference(ref: string | undefined, opts: { modelsDir: string }): Promise<{ name: string; version: number; reference: RuleReference; config: EventConfig }> {
  const v = await openVersion(ref, { ...opts, verify: false });
  if (v.source !== 'events') throw new CohortlabError('MODEL_INCOMPATIBLE', `model ${v.label} was trained on a per-user table; it has no rule reference thresholds.`);
  const files = (v.manifest.files ?? {}) as Record<string, unknown>;
  await verifyFiles(v.dir, { files: Object.fromEntries(Object.entries(files).filter(([rel]) => rel === RULES_REFERENCE_FILE || rel === 'config.json')) }, v.label);
  const config = validateConfig(await readJson(v.dir, 'config.json', v.label), `of model ${v.label}`);
  return { name: v.name, version: v.version, reference: await readReference(v.dir, v.label), config };
}

export async function loadModel(ref: string | undefined, opts: { modelsDir: string; logger?: Logger; verify?: boolean }): Promise<LoadedRegistryModel> {
  const v = await openVersion(ref, opts);
  const { label, manifest } = v;
  if (v.source !== 'events') {
    throw new CohortlabError('MODEL_INCOMPATIBLE', `model ${label} was trained on a per-user table (${JSON.stringify(manifest.params)}); it has no rules or clusters: score it with "cohortlab score --table FILE".`);
  }
  const churn = await readChurn(v.dir, label, opts.logger ?? silentLogger);
  const config = validateConfig(await readJson(v.dir, 'config.json', label), `of model ${label}`);
  const clusters = await readJson<ModelParts['clusters']>(v.dir, 'clusters.json', label);
  const segments = await loadSegmentRules(join(v.dir, 'rules'));
  const report = await readJson<Record<string, unknown>>(v.dir, 'report.json', label);
  const reference = await readReference(v.dir, label);
  // a `train --target` version serves `<target>_probability` (pipeline/target.ts); churn otherwise
  const target = (manifest.params as { target?: { probabilityColumn?: string } } | undefined)?.target;
  const parts: ModelParts = { config, segments, churn, clusters, reference, probabilityColumn: target?.probabilityColumn ?? 'churn_probability' };
  const featureNames = [...new Set([...churn.features, ...(clusters ? clusters.features : [])])];
  return {
    name: v.name,
    version: v.version,
    dir: v.dir,
    manifest,
    config,
    featureNames,
    report,
    parts,
    score: (table, o) => scoreWithParts(parts, table, { label, ...o }),
  };
}
