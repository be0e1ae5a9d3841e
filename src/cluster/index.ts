import type { FeatureTable } from '../features/index.js';
import type { RuleOutput } from '../rules/index.js';
import { CohortlabError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { createRng, DEFAULT_SEED } from '../shared/rng.js';
import { crosstab, profileClusters, type ClusterProfile, type Crosstab } from './explain.js';
import { KMeans, MiniBatchKMeans, assignNearest, fromRows, type KMeansParams, type KMeansState, type MiniBatchKMeansParams } from './kmeans.js';
import { kmeansKernel, workerThreads } from './parallel.js';
import { fitPca, projectPca, type PcaState } from './pca.js';
import { FeatureScaler, scaleColumns, selectFeatures } from './scale.js';
import { checkK, evaluateKRange, type KCandidate } from './select-k.js';
import { clusterStability, type StabilityReport } from './stability.js';
import type { DenseMatrix, ScalerKind, ScalerState } from './types.js';
import type { TruthAgreement } from './truth.js';

/**
 * fitClusters: feature table -> discovered segments, in this order:
 *
 *   1. select     default behavioural features (scale.ts) or the given list
 *   2. prepare    fit the scaler on the users alive at the cutoff: impute, log1p, standardise
 *   3. choose k   every k of the range: inertia, sampled silhouette, §10 size rule -> k (or the override)
 *   4. fit        k-means (k-means++ restarts, Hamerly-bounded Lloyd) or mini-batch k-means
 *   5. assign     every user of the table (also those churned before the cutoff) with scaler + centroids
 *   6. explain    profiles, labels in words, churn, rule churn risk, crosstabs with rule segments
 *   7. display    PCA to 2 components (fitted on a seeded sample when large)
 *   8. stability  ARI across seeds and bootstrap resamples, per-cluster Jaccard
 *
 * Pure apart from the logger. The returned `model` is plain JSON: `assignClusters(model, columns)` puts
 * new users into clusters the same way in the CLI, the server and notebooks.
 */
export interface ClusterParams {
  /** A number, or 'auto' to choose by the rule of select-k.ts. */
  k: number | 'auto';
  kMin: number;
  kMax: number;
  seed: number;
  /** k-means++ restarts per k. */
  nInit: number;
  maxIter: number;
  /** Relative tolerance (x mean feature variance), as sklearn. */
  tol: number;
  scaler: ScalerKind;
  /** Features to cluster on; default DEFAULT_CLUSTER_FEATURES present in the table. */
  features?: string[];
  algorithm: 'kmeans' | 'minibatch';
  batchSize: number;
  /** Playbook §10: no segment under 100 users. */
  minClusterSize: number;
  silhouetteSample: number;
  stabilitySeeds: number;
  stabilityBootstraps: number;
  stabilitySample: number;
  /** Fit on users not already churned at the cutoff (they would form an "inactive" cluster of their own). */
  excludeAlreadyChurned: boolean;
  /**
   * When fewer than MIN_LIVE_CLUSTERS x minClusterSize users are live at the cutoff (not already churned):
   * 'error' stops with TOO_FEW_LIVE_USERS (the `cluster` command), 'fit-all' fits on every user of the table
   * and says so in a CLUSTER_FIT_ON_ALL_USERS warning (`train`, whose other stages still run).
   */
  whenFewLive: 'error' | 'fit-all';
  pcaSample: number;
}

export const DEFAULT_CLUSTER_PARAMS: ClusterParams = {
  k: 'auto',
  kMin: 3,
  kMax: 10,
  seed: DEFAULT_SEED,
  nInit: 4,
  maxIter: 300,
  tol: 1e-4,
  scaler: 'standard',
  algorithm: 'kmeans',
  batchSize: 1024,
  minClusterSize: 100,
  silhouetteSample: 2000,
  stabilitySeeds: 3,
  stabilityBootstraps: 5,
  stabilitySample: 20000,
  excludeAlreadyChurned: true,
  whenFewLive: 'error',
  pcaSample: 100_000,
};

export interface ClusterModel {
  kind: 'cohortlab-clusters';
  version: 1;
  params: ClusterParams;
  features: string[];
  scaler: { kind: ScalerKind; state: ScalerState };
  kmeans: { kind: 'kmeans' | 'minibatch-kmeans'; params: KMeansParams | MiniBatchKMeansParams; state: KMeansState };
  /** Number of clusters (= centroids). */
  k: number;
  /** Plain-language label per cluster (index = cluster id). */
  clusterLabels: string[];
  /** Users and share per cluster on the training table. */
  sizes: number[];
  pca: PcaState;
  asOf: string;
}

/** A warning of the cluster step: a stable UPPER_SNAKE code (docs/errors.md, "Warnings") and one sentence. */
export interface ClusterWarning {
  code: 'CLUSTER_FIT_ON_ALL_USERS' | 'CLUSTER_IMPUTED' | 'CLUSTER_SMALL' | 'CLUSTER_UNSTABLE' | 'CLUSTER_NOT_CONVERGED';
  message: string;
}

/** Clusters are fitted on the live users when at least this many minimum-size clusters' worth of them remain (2 x §10's 100). */
export const MIN_LIVE_CLUSTERS = 2;

export interface ClusterReport {
  /** The cutoff of the table the clusters were fitted and profiled on: every count of this report is as of this date. */
  asOf: string;
  users: number;
  fittedUsers: number;
  /** Users of the table already churned at the cutoff (assigned after the fit unless `fittedOn` is 'all'). */
  alreadyChurnedUsers: number;
  /** 'live': fitted on the users not already churned at the cutoff; 'all': on every user (--include-churned, or too few live users). */
  fittedOn: 'live' | 'all';
  features: string[];
  skippedFeatures: string[];
  scaler: ScalerKind;
  log1pFeatures: string[];
  /** NaN raw values replaced by the training median, per feature. */
  imputed: Record<string, number>;
  kSelection: { candidates: KCandidate[]; chosen: number; reason: string; override: number | null; silhouetteSample: number };
  k: number;
  fit: { algorithm: ClusterParams['algorithm']; inertia: number; iterations: number; converged: boolean; tol: number; tolAbs: number; maxIter: number; restarts: number; restartInertias: number[]; seconds: number };
  profiles: ClusterProfile[];
  crosstabs: Crosstab[];
  pca: { explainedVariance: number[]; loadings: Record<string, number[]>; fittedRows: number };
  stability: StabilityReport;
  warnings: ClusterWarning[];
  truth?: TruthAgreement;
}

/** What fitClusters returns (`cohortlab train` keeps `model` in the registry and `report` in report.json). */
export type ClusterFit = FitClustersResult;

export interface FitClustersResult {
  model: ClusterModel;
  /** Cluster of every user of the table, in `table.userIds` order. */
  assignments: Int32Array;
  /** Label of every user's cluster, in `table.userIds` order. */
  labels: string[];
  pc1: Float64Array;
  pc2: Float64Array;
  report: ClusterReport;
}

function checkClusterParams(p: ClusterParams): void {
  checkK(p.k, 'k');
  if (p.scaler !== 'standard' && p.scaler !== 'robust') throw new CohortlabError('BAD_ARGUMENT', `scaler must be "standard" or "robust", got "${String(p.scaler)}".`);
  if (p.whenFewLive !== 'error' && p.whenFewLive !== 'fit-all') throw new CohortlabError('BAD_ARGUMENT', `whenFewLive must be "error" or "fit-all", got "${String(p.whenFewLive)}".`);
  if (p.algorithm !== 'kmeans' && p.algorithm !== 'minibatch') throw new CohortlabError('BAD_ARGUMENT', `algorithm must be "kmeans" or "minibatch", got "${String(p.algorithm)}".`);
}

export function fitClusters(table: FeatureTable, params: Partial<ClusterParams> = {}, opts: { rules?: RuleOutput; logger?: Logger } = {}): FitClustersResult {
  const p: ClusterParams = { ...DEFAULT_CLUSTER_PARAMS, ...params };
  checkClusterParams(p);
  const log = opts.logger ?? silentLogger;
  const warnings: ClusterWarning[] = [];
  const warn = (code: ClusterWarning['code'], message: string) => {
    warnings.push({ code, message });
    log.warn(message);
  };
  const n = table.userIds.length;
  if (n === 0) throw new CohortlabError('EMPTY_INPUT', 'the feature table has no users to cluster.');

  // 1-2. features and scaler, fitted on the users still there at the cutoff
  const selected = selectFeatures(Object.keys(table.columns), p.features);
  const skipped = [...selected.skipped];
  if (skipped.length) log.info(`cluster: default features not in this table, skipped: ${skipped.join(', ')}`);
  let fitRows: Uint32Array | undefined;
  let alreadyChurnedUsers = 0;
  for (let i = 0; i < n; i++) alreadyChurnedUsers += table.alreadyChurned[i] ? 1 : 0;
  if (p.excludeAlreadyChurned && alreadyChurnedUsers > 0) {
    const live = n - alreadyChurnedUsers;
    const minimum = MIN_LIVE_CLUSTERS * p.minClusterSize;
    if (live >= minimum) {
      const keep: number[] = [];
      for (let i = 0; i < n; i++) if (!table.alreadyChurned[i]) keep.push(i);
      fitRows = Uint32Array.from(keep);
    } else {
      const why = `only ${live} of ${n} users are live at the cutoff${table.asOf ? ` ${table.asOf}` : ''} (${alreadyChurnedUsers} already churned); clustering fits on live users and needs at least ${minimum} (${MIN_LIVE_CLUSTERS} clusters of the playbook §10 minimum of ${p.minClusterSize})`;
      if (p.whenFewLive === 'error') throw new CohortlabError('TOO_FEW_LIVE_USERS', `${why}: use an earlier --as-of, a smaller --min-size, or --include-churned to fit on everyone.`);
      warn('CLUSTER_FIT_ON_ALL_USERS', `${why}, so the clusters are fitted on all ${n} users, churned ones included; expect clusters of churned users (labelled "mostly churned").`);
    }
  }
  const fitColumns: Record<string, Float64Array> = {};
  for (const f of selected.features) fitColumns[f] = fitRows ? Float64Array.from(fitRows, (i) => table.columns[f][i]) : table.columns[f];
  let features = selected.features;
  if (!p.features) {
    // a default that cannot separate anyone here (constant, or all missing) is dropped with a note
    const unusable = features.filter((f) => isConstantOrMissing(fitColumns[f]));
    if (unusable.length) {
      log.info(`cluster: default features constant or missing in this table, skipped: ${unusable.join(', ')}`);
      skipped.push(...unusable);
      features = features.filter((f) => !unusable.includes(f));
      if (features.length < 2) throw new CohortlabError('BAD_FEATURE', `fewer than 2 usable default features in this table (constant or missing: ${unusable.join(', ')}); choose features with --features-list a,b,c.`);
    }
  }
  const scaler = new FeatureScaler({ kind: p.scaler, features }).fit(fitColumns);
  const x = scaler.transform(fitColumns);
  const scalerState = scaler.state as ScalerState;
  log.info(`cluster: ${x.rows.toLocaleString('en-US')} users${fitRows ? ` (not churned before the cutoff; ${n - x.rows} more are assigned afterwards)` : ''} x ${features.length} features, ${p.scaler} scaling, log1p on ${scalerState.log1p.filter((v) => v).length}`);
  log.info(`cluster: k-means kernel ${kmeansKernel()}`);
  for (const [f, c] of Object.entries(x.imputed)) warn('CLUSTER_IMPUTED', `feature "${f}": ${c} missing values replaced by the training median ${scalerState.impute[features.indexOf(f)]}.`);

  // 3. choose k
  const started = performance.now();
  const sel = evaluateKRange(x, {
    kMin: p.kMin,
    kMax: p.kMax,
    nInit: p.nInit,
    maxIter: p.maxIter,
    tol: p.tol,
    seed: p.seed,
    minClusterSize: p.minClusterSize,
    silhouetteSample: p.silhouetteSample,
    onProgress: (done, total) => log.progress('cluster: k range', done, total),
    workers: workerThreads,
  });
  const k = p.k === 'auto' ? sel.chosen : p.k;
  if (p.k !== 'auto') log.info(`cluster: k = ${k} (override; the rule would pick ${sel.chosen})`);
  else log.info(`cluster: ${sel.reason}`);

  // 4. fit
  let kmeansJson: ClusterModel['kmeans'];
  let trainLabels: Int32Array;
  let restarts = p.nInit;
  if (p.algorithm === 'minibatch') {
    const mb = new MiniBatchKMeans({ k, batchSize: p.batchSize, seed: p.seed, nInit: p.nInit }).fit(x);
    kmeansJson = mb.toJSON();
    trainLabels = mb.labels as Int32Array;
  } else {
    const m = sel.models.get(k) ?? new KMeans({ k, nInit: p.nInit, maxIter: p.maxIter, tol: p.tol, seed: p.seed }).fit(x, { workers: workerThreads });
    kmeansJson = m.toJSON();
    trainLabels = m.labels as Int32Array;
    restarts = m.params.nInit;
  }

  // 5. assign every user of the table
  const all: DenseMatrix = fitRows ? scaleColumns(scalerState, table.columns) : x;
  const assignments = new Int32Array(n);
  assignNearest(all, fromRows(kmeansJson.state.centroids), k, assignments);
  if (!fitRows) assignments.set(trainLabels);

  // 6. explain
  const risk = opts.rules ? ruleColumnFor(opts.rules, table.userIds, 'churn_risk_score') : undefined;
  const profiles = profileClusters({
    labels: assignments,
    k,
    columns: table.columns,
    clustered: features,
    churnLabel: table.label,
    alreadyChurned: table.alreadyChurned,
    churnRisk: risk instanceof Float64Array ? risk : undefined,
  });
  for (const pr of profiles) {
    if (pr.size < p.minClusterSize) warn('CLUSTER_SMALL', `cluster ${pr.cluster} ("${pr.label}") has ${pr.size} users, under the playbook §10 minimum of ${p.minClusterSize}; choose a smaller k.`);
  }
  const crosstabs: Crosstab[] = [];
  if (opts.rules) {
    for (const name of ruleSegmentColumns(opts.rules)) {
      const col = ruleColumnFor(opts.rules, table.userIds, name);
      if (col) crosstabs.push(crosstab(name, assignments, k, col));
    }
  }

  // 7. PCA for display
  const pcaState = fitPca(x, 2, createRng(p.seed ^ 0x7ca), p.pcaSample);
  const [pc1, pc2] = projectPca(pcaState, all);

  // 8. stability
  log.info('cluster: stability (seeds and bootstrap resamples)');
  const stability = clusterStability(x, trainLabels, {
    k,
    workers: workerThreads,
    seed: p.seed,
    nInit: Math.min(p.nInit, 2),
    maxIter: p.maxIter,
    tol: p.tol,
    seeds: p.stabilitySeeds,
    bootstraps: p.stabilityBootstraps,
    sampleSize: p.stabilitySample,
  });
  for (const c of stability.unstable) {
    warn('CLUSTER_UNSTABLE', `cluster ${c} ("${profiles[c].label}") is unstable: mean best-match Jaccard ${stability.clusterJaccard[c].toFixed(2)} over ${p.stabilityBootstraps} bootstrap refits (< ${stability.threshold}); treat it as a pattern, not a segment.`);
  }

  const kst = kmeansJson.state;
  const model: ClusterModel = {
    kind: 'cohortlab-clusters',
    version: 1,
    params: p,
    features,
    scaler: { kind: p.scaler, state: scalerState },
    kmeans: kmeansJson,
    k,
    clusterLabels: profiles.map((pr) => pr.label),
    sizes: profiles.map((pr) => pr.size),
    pca: pcaState,
    asOf: table.asOf,
  };
  const loadings: Record<string, number[]> = {};
  features.forEach((f, j) => (loadings[f] = pcaState.components.map((c) => c[j])));
  const report: ClusterReport = {
    asOf: table.asOf,
    users: n,
    fittedUsers: x.rows,
    alreadyChurnedUsers,
    fittedOn: fitRows || alreadyChurnedUsers === 0 ? 'live' : 'all',
    features,
    skippedFeatures: skipped,
    scaler: p.scaler,
    log1pFeatures: features.filter((_, j) => scalerState.log1p[j] === 1),
    imputed: x.imputed,
    kSelection: { candidates: sel.candidates, chosen: sel.chosen, reason: sel.reason, override: p.k === 'auto' ? null : p.k, silhouetteSample: sel.silhouetteSample },
    k,
    fit: {
      algorithm: p.algorithm,
      inertia: kst.inertia,
      iterations: kst.iterations,
      converged: kst.converged,
      tol: p.tol,
      tolAbs: kst.tolAbs,
      maxIter: p.maxIter,
      restarts,
      restartInertias: kst.restartInertias,
      seconds: (performance.now() - started) / 1000,
    },
    profiles,
    crosstabs,
    pca: { explainedVariance: pcaState.explainedVariance, loadings, fittedRows: pcaState.fittedRows },
    stability,
    warnings,
  };
  if (!kst.converged) warn('CLUSTER_NOT_CONVERGED', `k-means stopped at the iteration cap (${p.maxIter}) before converging (tol ${p.tol}); raise maxIter.`);
  return { model, assignments, labels: Array.from(assignments, (c) => profiles[c].label), pc1, pc2, report };
}

function isConstantOrMissing(col: Float64Array): boolean {
  let first = NaN;
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    if (Number.isNaN(v)) continue;
    if (Number.isNaN(first)) first = v;
    else if (v !== first) return false;
  }
  return true;
}

/** Rule columns to crosstab: every text column with at most 30 values (segments, stages, tiers) and every 0/1 segment_* column. */
export function ruleSegmentColumns(rules: RuleOutput): string[] {
  const out: string[] = [];
  for (const [name, col] of Object.entries(rules.columns)) {
    if (Array.isArray(col)) {
      if (new Set(col).size <= 30) out.push(name);
    } else if (name.startsWith('segment_')) out.push(name);
  }
  return out;
}

/** A rule column in the order of `userIds` (rules may list users in another order). */
export function ruleColumnFor(rules: RuleOutput, userIds: string[], name: string): Float64Array | string[] | undefined {
  const col = rules.columns[name];
  if (!col) return undefined;
  const same = rules.userIds.length === userIds.length && rules.userIds.every((u, i) => u === userIds[i]);
  if (same) return col;
  const at = new Map(rules.userIds.map((u, i) => [u, i]));
  const idx = userIds.map((u) => {
    const i = at.get(u);
    if (i === undefined) throw new CohortlabError('MISSING_COLUMN', `the rule output has no row for user "${u}"; compute the rules from the same features file.`);
    return i;
  });
  return Array.isArray(col) ? idx.map((i) => col[i]) : Float64Array.from(idx, (i) => col[i]);
}

export { KMeans, MiniBatchKMeans, kmeansPlusPlus, lloyd, assignNearest } from './kmeans.js';
export type { KMeansParams, MiniBatchKMeansParams, KMeansState } from './kmeans.js';
export { FeatureScaler, DEFAULT_CLUSTER_FEATURES, selectFeatures, scaleColumns } from './scale.js';
export { adjustedRandIndex, silhouetteScore } from './metrics.js';
export { clusterSql, type ClusterSql } from './sql.js';
export { assignClusters, checkModel, type AssignResult } from './assign.js';
export { truthAgreement, type TruthAgreement } from './truth.js';
export { checkK, K_MAX } from './select-k.js';
export { sampleIndices, takeLabels } from './sample.js';
export { kmeansKernel, startWorkers, threadCount, workerThreads } from './parallel.js';
export { fitPca, projectPca, type PcaState } from './pca.js';
export { evaluateKRange, pickK, type KCandidate, type KSelection } from './select-k.js';
export { clusterStability, type StabilityReport } from './stability.js';
export { profileClusters, crosstab, featureWord, FEATURE_WORDS, type ClusterProfile, type Crosstab } from './explain.js';
export type { DenseMatrix, ScalerKind, ScalerState } from './types.js';
export {
  describeCluster, wilsonInterval, distributionOf, featureScale, topFeatures, mixOf, reasonSharesOf, churnIntervalOf, DETAIL_TOP_FEATURES, DETAIL_TOP_REASONS, SKEW_RATIO,
  type ClusterDetail, type Distribution, type FeatureDistribution, type MixRow, type ReasonShare, type ChurnInterval, type DetailInput,
} from './detail.js';
export { clusterDistributionsSpec, clusterMixSpec, clusterReasonsSpec, shortNumber } from './detail-charts.js';
export { kTableText, clusterSummaryText, clusterCharts, clusterReportHtml, type ReportPoints } from './report.js';
