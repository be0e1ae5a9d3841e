import { loadChurnModel, type ChurnModel, type SerializedChurnModel } from '../churn/index.js';
import type { FeatureTable } from '../features/index.js';
import { readEventsModel, readTableModel, CHURN_MODEL_FILE, type EventsModelData, type ModelStore, type TableModelData } from '../registry/index.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { scoreWithParts, type ModelParts, type ScoreOptions } from './score.js';
import type { ScoreResult } from './types.js';

/**
 * A registry version made ready to score: the registry reads what was saved (registry/index.ts), this
 * attaches scoring to it (the churn model is rebuilt from its serialized form, the parts are handed to
 * scoreWithParts). The CLI `score`, `evaluate`, the server and notebooks load models through here.
 */
export interface LoadedModel extends Omit<EventsModelData, 'churn'> {
  parts: ModelParts;
  /** The features the churn model and the clustering read, in order. */
  featureNames: string[];
  /** Scores users of a feature table (rules, churn probability, cluster, reasons). */
  score(table: FeatureTable, opts?: ScoreOptions): Promise<ScoreResult>;
}

/** What `train --table` saved, with its churn model rebuilt. */
export interface LoadedTableModel extends Omit<TableModelData, 'churn'> {
  churn: ChurnModel;
}

function buildChurn(s: SerializedChurnModel, where: string, logger: Logger): Promise<ChurnModel> {
  return loadChurnModel(s, { logger, path: `${where}/${CHURN_MODEL_FILE}` });
}

export async function loadScoringModel(store: ModelStore, ref: string | undefined, opts: { logger?: Logger; verify?: boolean } = {}): Promise<LoadedModel> {
  const data = await readEventsModel(store, ref, { verify: opts.verify });
  const { churn: serialized, ...rest } = data;
  const churn = await buildChurn(serialized, data.dir, opts.logger ?? silentLogger);
  // a `train --target` version serves `<target>_probability` (pipeline/target.ts); churn otherwise
  const target = data.params.target;
  const parts: ModelParts = { config: data.config, segments: data.segments, churn, clusters: data.clusters, reference: data.reference, probabilityColumn: target?.probabilityColumn ?? 'churn_probability' };
  const featureNames = [...new Set([...churn.features, ...(data.clusters ? data.clusters.features : [])])];
  return { ...rest, parts, featureNames, score: (table, o) => scoreWithParts(parts, table, { label: data.label, ...o }) };
}

export async function loadTableScoringModel(store: ModelStore, ref: string | undefined, opts: { logger?: Logger } = {}): Promise<LoadedTableModel> {
  const data = await readTableModel(store, ref);
  return { ...data, churn: await buildChurn(data.churn, data.dir, opts.logger ?? silentLogger) };
}
