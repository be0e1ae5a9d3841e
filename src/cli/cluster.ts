import { join } from 'node:path';
import {
  checkK, clusterReportHtml, clusterSummaryText, fitClusters, kTableText, truthAgreement, DEFAULT_CLUSTER_PARAMS, type ClusterParams,
} from '../cluster/index.js';
import { readFeatureTable } from '../features/index.js';
import { resolveConfig } from '../ingest/index.js';
import { SYNTHETIC_PRESET } from '../ingest/presets.js';
import { applyRules, defaultRulesDir, loadSegmentRules, type RuleOutput } from '../rules/index.js';
import { CohortlabError } from '../shared/errors.js';
import { readTruthCsv } from '../synth/index.js';
import { readTable, writeTable } from '../shared/table-io.js';
import { bool, int, str } from './args.js';
import type { Command } from './command.js';
import { makeDir, writeFileAtomic } from '../shared/atomic.js';

function parseK(v: string | undefined): number | 'auto' {
  if (v === undefined || v === 'auto') return 'auto';
  const k = Number(v);
  checkK(k, '--k', v);
  return k;
}

function parseRange(v: string | undefined): [number, number] {
  if (v === undefined) return [DEFAULT_CLUSTER_PARAMS.kMin, DEFAULT_CLUSTER_PARAMS.kMax];
  const m = /^(\d+)\.\.(\d+)$/.exec(v);
  const a = m ? Number(m[1]) : NaN;
  const b = m ? Number(m[2]) : NaN;
  if (!m || a < 2 || b < a || b > 100) throw new CohortlabError('BAD_ARGUMENT', `--k-range must look like 3..10 (2 <= min <= max <= 100), got "${v}".`);
  return [a, b];
}

/** A `cohortlab rules` output file as a RuleOutput (numeric columns Float64Array, text columns string[]). */
async function readRulesFile(path: string): Promise<RuleOutput> {
  const t = await readTable(path);
  const ids = t.columns.user_id;
  if (!Array.isArray(ids)) throw new CohortlabError('MISSING_COLUMN', `rules file "${path}" has no user_id column; pass the output of "cohortlab rules".`, { path });
  const columns: RuleOutput['columns'] = {};
  for (const name of t.names) {
    if (name === 'user_id') continue;
    const c = t.columns[name];
    columns[name] = Array.isArray(c) ? c : Float64Array.from(c);
  }
  return { userIds: ids, columns, components: {} };
}

export const clusterCommand: Command = {
  name: 'cluster',
  summary: 'discovered segments: k-means on behavioural features, k chosen by evidence, explained in words (playbook §6.2)',
  usage: 'cluster --features FILE [--k N|auto] --seed S --out DIR [--truth truth.csv] [--rules-file F] [--features-list a,b,c] [--scaler standard|robust] [--restarts N]',
  options: [
    { name: 'features', type: 'string', description: 'features file written by "cohortlab features" (.parquet or .csv)', placeholder: 'FILE', required: true },
    { name: 'k', type: 'string', description: 'number of clusters, or auto (best silhouette with every cluster >= --min-size users)', placeholder: 'N|auto', default: 'auto' },
    { name: 'k-range', type: 'string', description: 'k values evaluated for the table (and for auto)', placeholder: 'MIN..MAX', default: '3..10' },
    { name: 'seed', type: 'string', description: 'seed of k-means++, samples and resamples', placeholder: 'S', default: String(DEFAULT_CLUSTER_PARAMS.seed) },
    { name: 'out', type: 'string', description: 'output folder: assignments.csv, report.json, report.html, model.json', placeholder: 'DIR', required: true },
    { name: 'truth', type: 'string', description: 'truth.csv of "cohortlab generate": prints the ARI against the latent types', placeholder: 'FILE' },
    { name: 'rules-file', type: 'string', description: 'output of "cohortlab rules" for these users (default: the rules are computed here)', placeholder: 'FILE' },
    { name: 'no-rules', type: 'boolean', description: 'do not compute rule scores and segments (no churn-risk column, no crosstabs)' },
    { name: 'config', type: 'string', description: 'mapping + taxonomy JSON for the rules (default: the features file\'s)', placeholder: 'FILE' },
    { name: 'preset', type: 'string', description: 'built-in config for the rules: synthetic, sparkify, cdnow', placeholder: 'NAME' },
    { name: 'features-list', type: 'string', description: 'comma-separated features to cluster on (default: the behavioural set of docs/cluster.md)', placeholder: 'a,b,c' },
    { name: 'scaler', type: 'string', description: 'standard (mean/std) or robust (median/IQR)', placeholder: 'KIND', default: 'standard' },
    { name: 'restarts', type: 'string', description: 'k-means++ restarts per k (lowest inertia wins)', placeholder: 'N', default: String(DEFAULT_CLUSTER_PARAMS.nInit) },
    { name: 'min-size', type: 'string', description: 'smallest acceptable cluster (playbook §10)', placeholder: 'N', default: String(DEFAULT_CLUSTER_PARAMS.minClusterSize) },
    { name: 'minibatch', type: 'boolean', description: 'fit the chosen k with mini-batch k-means (very large tables)' },
    { name: 'include-churned', type: 'boolean', description: 'also fit on users already churned at the cutoff (default: they are only assigned, and the command stops with exit 2 when fewer than 2 x --min-size users are live)' },
  ],
  help: [
    'Writes DIR/assignments.csv (user_id, cluster, cluster_label, pc1, pc2), DIR/report.json, DIR/report.html (self-contained:',
    'k selection, PCA map, sizes, profile heatmap, churn by cluster, crosstabs with the rule segments) and DIR/model.json (scaler +',
    'centroids + labels: assignClusters() in the server and notebooks). Prints the k table, the cluster summary and, with --truth, the ARI.',
    'Example: cohortlab cluster --features data/sample/features.parquet --seed 7 --out data/sample/clusters --truth data/sample/truth.csv',
  ].join('\n'),
  async run(args, ctx) {
    const featuresPath = str(args, 'features') as string;
    const outDir = str(args, 'out') as string;
    const scaler = str(args, 'scaler') ?? 'standard';
    if (scaler !== 'standard' && scaler !== 'robust') throw new CohortlabError('BAD_ARGUMENT', `--scaler must be standard or robust, got "${scaler}".`);
    const [kMin, kMax] = parseRange(str(args, 'k-range'));
    const list = str(args, 'features-list');
    const params: Partial<ClusterParams> = {
      k: parseK(str(args, 'k')),
      kMin,
      kMax,
      seed: int(args, 'seed', DEFAULT_CLUSTER_PARAMS.seed, 0, 2 ** 31 - 1),
      nInit: int(args, 'restarts', DEFAULT_CLUSTER_PARAMS.nInit, 1, 100),
      minClusterSize: int(args, 'min-size', DEFAULT_CLUSTER_PARAMS.minClusterSize, 1, 1e9),
      scaler,
      features: list ? list.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
      algorithm: bool(args, 'minibatch') ? 'minibatch' : 'kmeans',
      excludeAlreadyChurned: !bool(args, 'include-churned'),
    };
    const table = await readFeatureTable(featuresPath);
    const truth = str(args, 'truth') ? (await readTruthCsv(str(args, 'truth') as string)).types : undefined;

    let rules: RuleOutput | undefined;
    const rulesFile = str(args, 'rules-file');
    if (rulesFile) rules = await readRulesFile(rulesFile);
    else if (!bool(args, 'no-rules')) {
      const configPath = str(args, 'config');
      const preset = str(args, 'preset');
      if (configPath && preset) throw new CohortlabError('BAD_ARGUMENT', 'give --config or --preset, not both.');
      let config = configPath || preset ? await resolveConfig({ config: configPath, preset }) : table.config;
      if (!config) {
        ctx.logger.warn(`features file ${featuresPath} carries no config (no .meta.json); the rules use the synthetic preset. Give --config or --preset to choose.`);
        config = SYNTHETIC_PRESET;
      }
      rules = applyRules(table, config, { segments: await loadSegmentRules(defaultRulesDir()) });
    }

    const fit = fitClusters(table, params, { rules, logger: ctx.logger });
    const { report } = fit;
    if (truth) report.truth = truthAgreement(table.userIds, fit.assignments, report.k, truth, table.alreadyChurned);

    await makeDir(outDir);
    await writeTable(join(outDir, 'assignments.csv'), {
      rows: table.userIds.length,
      names: ['user_id', 'cluster', 'cluster_label', 'pc1', 'pc2'],
      columns: { user_id: table.userIds, cluster: fit.assignments, cluster_label: fit.labels, pc1: fit.pc1, pc2: fit.pc2 },
    });
    await writeFileAtomic(join(outDir, 'report.json'), `${JSON.stringify(report, null, 1)}\n`);
    await writeFileAtomic(join(outDir, 'model.json'), `${JSON.stringify(fit.model)}\n`);
    const seed = fit.model.params.seed;
    await writeFileAtomic(join(outDir, 'report.html'), await clusterReportHtml(report, { userIds: table.userIds, assignments: fit.assignments, labels: fit.labels, pc1: fit.pc1, pc2: fit.pc2 }, seed));

    ctx.out(`Choosing k (${report.kSelection.candidates.length} values, silhouette on ${report.kSelection.silhouetteSample} sampled users):`);
    ctx.out(kTableText(report));
    ctx.out('');
    ctx.out(`Clusters (k = ${report.k}; k-means ${report.fit.iterations} iterations, ${report.fit.converged ? 'converged' : 'NOT converged'}, tol ${report.fit.tol}, cap ${report.fit.maxIter}; PCA: ${report.pca.explainedVariance.map((v) => `${(100 * v).toFixed(1)}%`).join(' + ')} of variance):`);
    ctx.out(clusterSummaryText(report));
    ctx.out(`stability: ARI across seeds ${report.stability.seedAri.map((v) => v.toFixed(3)).join(', ')}; across bootstrap resamples ${report.stability.bootstrapAri.map((v) => v.toFixed(3)).join(', ')}`);
    if (report.truth) ctx.out(`ARI against the latent types: ${report.truth.ari.toFixed(3)} (${report.truth.matched} users; ${report.truth.ariFitted.toFixed(3)} over users not churned before the cutoff)`);
    ctx.logger.info(`wrote ${join(outDir, 'assignments.csv')}, report.json, report.html, model.json in ${report.fit.seconds.toFixed(1)} s`);
    return 0;
  },
};
