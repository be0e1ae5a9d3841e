import { escapeHtml, htmlTable, renderHtmlReport, type ChartSpec, type ReportSection } from '../shared/charts.js';
import { createRng } from '../shared/rng.js';
import type { ClusterReport } from './index.js';
import { sampleIndices } from './sample.js';

/**
 * Text tables for the terminal and the self-contained HTML page of `cohortlab cluster` (vega-lite specs
 * rendered to inline SVG by shared/charts.ts): k selection, PCA map, sizes, profile heatmap, churn by
 * cluster, crosstabs with rule segments, stability, truth. Pure: report in, strings out.
 */

const pct = (v: number | null): string => (v === null || Number.isNaN(v) ? '-' : `${(100 * v).toFixed(1)}%`);
const num = (v: number | null, digits = 1): string => (v === null || Number.isNaN(v) ? '-' : v.toFixed(digits));

function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (r: string[]) => r.map((c, j) => (j === r.length - 1 ? c : c.padStart(widths[j]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export function kTableText(r: ClusterReport): string {
  const rows = r.kSelection.candidates.map((c) => [
    String(c.k),
    c.inertia.toFixed(1),
    c.silhouette.toFixed(3),
    String(c.minSize),
    c.admissible ? 'yes' : 'no',
    c.k === r.k ? (r.kSelection.override !== null ? '<- chosen (--k)' : '<- chosen') : c.k === r.kSelection.chosen ? '<- rule' : '',
  ]);
  return `${textTable(['k', 'inertia', 'silhouette', 'smallest', '>=min size', ''], rows)}\n${r.kSelection.reason}`;
}

export function clusterSummaryText(r: ClusterReport): string {
  const rows = r.profiles.map((p) => [
    String(p.cluster),
    String(p.size),
    pct(p.share),
    pct(p.alreadyChurnedRate),
    pct(p.churnRate),
    num(p.meanChurnRisk),
    num(r.stability.clusterJaccard[p.cluster], 2),
    p.label,
  ]);
  return `as of ${r.asOf || '(no date: the features file has no .meta.json)'}\n${textTable(['cluster', 'users', 'share', 'already churned', 'churn in horizon', 'rule risk', 'stability', 'label'], rows)}`;
}

export interface ReportPoints {
  userIds: string[];
  assignments: Int32Array;
  labels: string[];
  pc1: Float64Array;
  pc2: Float64Array;
}

const name = (r: ClusterReport, c: number): string => `${c}: ${r.profiles[c].label}`;

/** ` (as of D)`, or nothing for a report without a date (older models). */
const dated = (asOf: string | undefined): string => (asOf ? ` (as of ${asOf})` : '');

/**
 * Every chart says which as-of date its numbers belong to: the profiles, sizes and churn are those of the
 * table the clusters were fitted on (`r.asOf`); the PCA map draws `pts`, which may be another snapshot
 * (the server draws the scored snapshot): `pointsAsOf` dates it (default `r.asOf`).
 */
export function clusterCharts(r: ClusterReport, pts: ReportPoints, seed: number, opts: { pointsAsOf?: string; mapPoints?: number } = {}): Record<string, ChartSpec[]> {
  const at = dated(r.asOf);
  const kData = r.kSelection.candidates.map((c) => ({ k: c.k, inertia: c.inertia, silhouette: c.silhouette, admissible: c.admissible ? 'yes' : 'no' }));
  const kCharts: ChartSpec[] = [
    { width: 300, height: 180, title: 'Inertia by k (elbow)', description: `k-means inertia (within-cluster sum of squares) for k = ${kData.map((c) => c.k).join(', ') || 'none'}; k = ${r.k} was chosen.`, data: { values: kData }, mark: { type: 'line', point: true }, encoding: { x: { field: 'k', type: 'ordinal' }, y: { field: 'inertia', type: 'quantitative', scale: { zero: false } } } },
    { width: 300, height: 180, title: `Silhouette by k (${r.kSelection.silhouetteSample} sampled users)`, description: `Mean silhouette of ${r.kSelection.silhouetteSample} sampled users by k: ${kData.map((c) => `k ${c.k} ${c.silhouette.toFixed(3)}`).join(', ') || 'none'}; k = ${r.k} was chosen.`, data: { values: kData }, mark: { type: 'line', point: true }, encoding: { x: { field: 'k', type: 'ordinal' }, y: { field: 'silhouette', type: 'quantitative', scale: { zero: false } }, color: { value: '#4c78a8' } } },
  ];
  // PCA map: at most `mapPoints` users drawn with the seed (3000 by default, so an SVG report stays small;
  // the explorer draws 20,000 on a canvas)
  const idx = sampleIndices(pts.assignments.length, opts.mapPoints ?? 3000, createRng(seed ^ 0x9a));
  const map = Array.from(idx, (i) => ({ pc1: pts.pc1[i], pc2: pts.pc2[i], cluster: name(r, pts.assignments[i]) }));
  const ev = r.pca.explainedVariance.map((v) => `${(100 * v).toFixed(1)}%`);
  const pcaChart: ChartSpec = {
    width: 560,
    height: 380,
    title: `PCA of the scaled features (${map.length} of ${pts.assignments.length} users${opts.pointsAsOf ?? r.asOf ? `, as of ${opts.pointsAsOf ?? r.asOf}` : ''})`,
    description: `${map.length} users on the first two principal components of the scaled features (${ev[0]} and ${ev[1] ?? '-'} of the variance), colored by their cluster among ${r.k}.`,
    data: { values: map },
    mark: { type: 'circle', size: 14, opacity: 0.6 },
    encoding: {
      x: { field: 'pc1', type: 'quantitative', title: `PC1 (${ev[0]} of variance)` },
      y: { field: 'pc2', type: 'quantitative', title: `PC2 (${ev[1] ?? '-'} of variance)` },
      color: { field: 'cluster', type: 'nominal', legend: { orient: 'bottom', columns: 2, labelLimit: 400 } },
    },
  };
  const sizes = r.profiles.map((p) => ({ cluster: name(r, p.cluster), users: p.size, share: p.share }));
  const sizeChart: ChartSpec = { width: 420, height: { step: 22 }, title: `Users per cluster${at}`, description: `Users in each of the ${r.k} clusters${at}: ${r.profiles.map((p) => `cluster ${p.cluster} ${p.size.toLocaleString('en-US')} (${pct(p.share)})`).join(', ')}.`, data: { values: sizes }, mark: 'bar', encoding: { y: { field: 'cluster', type: 'nominal', sort: null, axis: { labelLimit: 400 } }, x: { field: 'users', type: 'quantitative' } } };
  const heat = r.profiles.flatMap((p) => r.features.map((f) => ({ cluster: name(r, p.cluster), feature: f, z: Math.max(-2.5, Math.min(2.5, p.z[f])), zText: p.z[f].toFixed(1) })));
  const heatChart: ChartSpec = {
    title: `Profile: difference from the average user, in standard deviations (clipped at +-2.5)${at}`,
    description: `Heat map of each cluster's mean of ${r.features.length} features against the average user in standard deviations (red above, blue below)${at}; strongest: ${r.profiles.map((p) => (p.top[0] ? `cluster ${p.cluster} ${p.top[0].feature} ${p.top[0].z >= 0 ? '+' : ''}${p.top[0].z.toFixed(1)}` : `cluster ${p.cluster} none`)).join(', ')}.`,
    data: { values: heat },
    width: { step: 34 },
    height: { step: 24 },
    layer: [
      { mark: 'rect', encoding: { x: { field: 'feature', type: 'nominal', sort: null, axis: { labelAngle: -40 } }, y: { field: 'cluster', type: 'nominal', sort: null, axis: { labelLimit: 400 } }, color: { field: 'z', type: 'quantitative', scale: { scheme: 'redblue', domain: [2.5, -2.5] } } } },
      { mark: { type: 'text', fontSize: 9 }, encoding: { x: { field: 'feature', type: 'nominal', sort: null }, y: { field: 'cluster', type: 'nominal', sort: null }, text: { field: 'zText' } } },
    ],
  };
  const churnCharts: ChartSpec[] = [];
  if (r.profiles.some((p) => p.churnRate !== null)) {
    churnCharts.push({ width: 420, height: { step: 22 }, title: `Churn rate within the horizon (label)${at}`, description: `Share of each cluster's users who churned within the label horizon${at}: ${r.profiles.map((p) => `cluster ${p.cluster} ${pct(p.churnRate)}`).join(', ')}.`, data: { values: r.profiles.map((p) => ({ cluster: name(r, p.cluster), churn: p.churnRate })) }, mark: 'bar', encoding: { y: { field: 'cluster', type: 'nominal', sort: null, axis: { labelLimit: 400 } }, x: { field: 'churn', type: 'quantitative', axis: { format: '%' } }, color: { value: '#e45756' } } });
  }
  if (r.profiles.some((p) => p.meanChurnRisk !== null)) {
    churnCharts.push({ width: 420, height: { step: 22 }, title: `Mean rule churn-risk score (playbook §4.4)${at}`, description: `Mean playbook §4.4 churn-risk score (0-100) of each cluster's users${at}: ${r.profiles.map((p) => `cluster ${p.cluster} ${num(p.meanChurnRisk)}`).join(', ')}.`, data: { values: r.profiles.map((p) => ({ cluster: name(r, p.cluster), risk: p.meanChurnRisk })) }, mark: 'bar', encoding: { y: { field: 'cluster', type: 'nominal', sort: null, axis: { labelLimit: 400 } }, x: { field: 'risk', type: 'quantitative' }, color: { value: '#f58518' } } });
  }
  const crossCharts: ChartSpec[] = r.crosstabs.map((t) => {
    const values = t.counts.flatMap((row, c) => {
      const total = row.reduce((a, b) => a + b, 0);
      return row.map((v, j) => ({ cluster: name(r, c), value: t.values[j], share: total > 0 ? v / total : 0, users: v }));
    });
    return {
      title: `${t.column}: share of each cluster (ARI with the clusters ${t.ari.toFixed(2)})${at}`,
      description: `Share of each cluster's users in each value of the rule column ${t.column} (${t.values.length} values)${at}; adjusted Rand index between the clusters and ${t.column}: ${t.ari.toFixed(2)} (1 = the same partition, 0 = unrelated).`,
      // the crosstab this chart draws, for a picker "rule column (ARI x.xx)" (same order as fit.crosstabs of GET /v1/clusters)
      usermeta: { column: t.column, ari: t.ari },
      data: { values },
      width: { step: 30 },
      height: { step: 22 },
      mark: 'rect',
      encoding: {
        x: { field: 'value', type: 'nominal', sort: null, axis: { labelAngle: -40, labelLimit: 200 } },
        y: { field: 'cluster', type: 'nominal', sort: null, axis: { labelLimit: 400 } },
        color: { field: 'share', type: 'quantitative', scale: { scheme: 'blues', domain: [0, 1] } },
        tooltip: [{ field: 'users', type: 'quantitative' }],
      },
    } as ChartSpec;
  });
  const truthCharts: ChartSpec[] = [];
  if (r.truth) {
    const t = r.truth;
    const values = t.types.flatMap((type, a) => {
      const total = t.counts[a].reduce((x, y) => x + y, 0);
      return t.counts[a].map((v, c) => ({ latent_type: type, cluster: name(r, c), share: total > 0 ? v / total : 0 }));
    });
    truthCharts.push({ title: `Latent types across clusters (ARI ${t.ari.toFixed(3)})${at}`, description: `Share of each synthetic latent type's users in each cluster${at}; adjusted Rand index with the clusters ${t.ari.toFixed(3)} over ${t.matched} users.`, data: { values }, width: { step: 30 }, height: { step: 22 }, mark: 'rect', encoding: { x: { field: 'cluster', type: 'nominal', sort: null, axis: { labelAngle: -40, labelLimit: 200 } }, y: { field: 'latent_type', type: 'nominal' }, color: { field: 'share', type: 'quantitative', scale: { scheme: 'greens', domain: [0, 1] } } } } as ChartSpec);
  }
  return { k: kCharts, pca: [pcaChart], sizes: [sizeChart], heat: [heatChart], churn: churnCharts, cross: crossCharts, truth: truthCharts };
}

export async function clusterReportHtml(r: ClusterReport, pts: ReportPoints, seed: number): Promise<string> {
  const charts = clusterCharts(r, pts, seed);
  const warn = r.warnings.length ? `<ul>${r.warnings.map((w) => `<li class="warn">${escapeHtml(w.message)} <code>${escapeHtml(w.code)}</code></li>`).join('')}</ul>` : '<p class="note">No warnings.</p>';
  const sections: ReportSection[] = [
    {
      title: 'Summary',
      html: `<p>Every figure of this page is as of the cutoff ${escapeHtml(r.asOf || '(no date)')}. ${r.users.toLocaleString('en-US')} users (k-means fitted on ${r.fittedOn === 'all' ? `all of them, ${(r.alreadyChurnedUsers ?? 0).toLocaleString('en-US')} already churned included` : `the ${r.fittedUsers.toLocaleString('en-US')} not churned before the cutoff`}), ${r.features.length} features, ${escapeHtml(r.scaler)} scaling; <b>k = ${r.k}</b>. ${escapeHtml(r.kSelection.reason)}</p>
<p>k-means: ${r.fit.restarts} k-means++ restarts, ${r.fit.iterations} iterations, ${r.fit.converged ? 'converged' : '<span class="warn">not converged</span>'} (tol ${r.fit.tol} x mean feature variance = ${r.fit.tolAbs.toPrecision(3)}, cap ${r.fit.maxIter}), inertia ${r.fit.inertia.toFixed(1)}.</p>${warn}`
        + htmlTable(
          ['cluster', 'label', 'users', 'share', 'already churned', 'churn', 'rule churn risk', 'stability (Jaccard)', 'top features (z)'],
          r.profiles.map((p) => [p.cluster, p.label, p.size, pct(p.share), pct(p.alreadyChurnedRate), pct(p.churnRate), num(p.meanChurnRisk), num(r.stability.clusterJaccard[p.cluster], 2), p.top.map((e) => `${e.feature} ${e.z >= 0 ? '+' : ''}${e.z.toFixed(2)}`).join('; ')]),
        ),
    },
    {
      title: 'Choosing k',
      html: htmlTable(['k', 'inertia', 'silhouette', 'smallest cluster', `>= ${r.kSelection.candidates.length ? 'min' : ''} size (§10)`], r.kSelection.candidates.map((c) => [c.k === r.k ? `${c.k} (chosen)` : c.k, c.inertia.toFixed(1), c.silhouette.toFixed(3), c.minSize, c.admissible ? 'yes' : 'no'])),
      charts: charts.k,
    },
    { title: 'PCA map', html: `<p class="note">For display only; k-means uses all ${r.features.length} features. PC1 and PC2 explain ${r.pca.explainedVariance.map((v) => `${(100 * v).toFixed(1)}%`).join(' and ')} of the variance.</p>`, charts: charts.pca },
    { title: 'Cluster sizes', charts: charts.sizes },
    { title: 'Profiles', html: '<p class="note">Red: above the average user; blue: below. Heavy-tailed counts compared on the log1p scale.</p>', charts: charts.heat },
    { title: 'Churn by cluster', html: charts.churn.length ? '' : '<p class="note">The features file has no churn label and no rule output was given.</p>', charts: charts.churn },
    {
      title: 'Clusters against the rule segments',
      html: r.crosstabs.length
        ? htmlTable(['rule column', 'ARI with clusters', 'segments each cluster spans (>= 10% of its users)'], r.crosstabs.map((t) => [t.column, t.ari.toFixed(3), t.spans.map((s, c) => `${c}: ${s.join(' / ')}`).join('; ')]))
        : '<p class="note">No rule output (run with the rules available, or --rules-file).</p>',
      charts: charts.cross,
    },
    {
      title: 'Stability',
      html: `<p>ARI with refits from other seeds: ${r.stability.seedAri.map((v) => v.toFixed(3)).join(', ') || '-'}; with bootstrap refits: ${r.stability.bootstrapAri.map((v) => v.toFixed(3)).join(', ') || '-'}. A cluster whose mean best-match Jaccard is under ${r.stability.threshold} is flagged unstable.</p>`,
    },
    {
      title: 'Features and preparation',
      html: htmlTable(['feature', 'log1p', 'imputed values'], r.features.map((f) => [f, r.log1pFeatures.includes(f) ? 'yes' : 'no', r.imputed[f] ?? 0])),
    },
  ];
  if (r.truth) sections.push({ title: 'Ground truth', html: `<p>ARI against the latent types: ${r.truth.ari.toFixed(3)} over ${r.truth.matched} users (${r.truth.ariFitted.toFixed(3)} over users not churned before the cutoff).</p>`, charts: charts.truth });
  return renderHtmlReport(`cohortlab clusters (k = ${r.k})`, sections, 'cohortlab cluster');
}
