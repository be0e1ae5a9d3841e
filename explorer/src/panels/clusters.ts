import { chartBox, draw } from '../charts.js';
import { clusterSpecs, profilesOf, type Ctx, type PanelView } from '../context.js';
import { count, fill, h, num, pct, table } from '../dom.js';

/** Clusters: the discovered clusters on the PCA map, their sizes and churn, why this k, the profiles heat map. */
export function clustersPanel(ctx: Ctx): PanelView {
  return {
    id: 'clusters',
    label: 'Clusters',
    build(section) {
      fill(section,
        h('h2', {}, 'Discovered clusters'),
        h('p', { class: 'note' }, 'k-means on behavioral features. Pick a cluster on a chart or in the table to see its detail.'),
        h('p', { class: 'note', id: 'clusters-date' }),
        h('div', { class: 'grid' }, chartBox('chart-pca'), h('div', {}, chartBox('chart-sizes'), chartBox('chart-churn'))),
        h('div', { id: 'cluster-table' }),
        h('h3', {}, 'What sets each cluster apart'),
        chartBox('chart-heat'),
        h('h3', {}, 'Why this k'),
        h('p', { class: 'note', id: 'k-reason' }),
        h('div', { class: 'grid' }, chartBox('chart-k-inertia'), chartBox('chart-k-silhouette')),
        h('div', { id: 'truth-block', hidden: true }, h('h3', {}, 'Against the ground truth (synthetic product)'), chartBox('chart-truth')),
      );
    },
    async render() {
      const c = ctx.clusters;
      if (!c) {
        fill(document.getElementById('clusters-date')!, 'This model version has no clusters.');
        for (const id of ['chart-pca', 'chart-sizes', 'chart-churn', 'chart-heat']) await draw(document.getElementById(id)!, null);
        return;
      }
      const pick = (k: number) => ctx.go({ panel: 'detail', cluster: k });
      const spec = (name: string, i = 0) => clusterSpecs(ctx, name)[i];
      const fit = c.fit;
      const h2 = fit.horizon_days ? `${fit.horizon_days} d` : 'the horizon';
      fill(document.getElementById('clusters-date')!, `Fitted on ${count(fit.fitted_users)} users ${fit.fitted_on === 'live' ? 'live' : '(all, churned ones included)'} at ${fit.as_of}; profiles, sizes and churn are of the ${count(fit.users)} users of ${fit.as_of} (${count(fit.already_churned)} already churned then); "users now" counts the scored snapshot of ${c.snapshot.as_of}, which the map shows.`);
      const profiles = profilesOf(c);
      const t = table(
        ['cluster', 'label', 'users now', 'users', 'share', 'already churned', `churn within ${h2}`, 'mean rule churn risk', 'sets it apart (z)'],
        profiles.map((p) => [p.cluster, p.label, c.snapshot.clusters[p.cluster]?.users ?? null, p.size, pct(p.share), pct(p.alreadyChurnedRate), pct(p.churnRate), num(p.meanChurnRisk), p.top.map((x) => `${x.feature} ${x.z >= 0 ? '+' : ''}${x.z.toFixed(2)}`).join('; ')]),
        { onPick: (i) => pick(profiles[i].cluster), caption: 'Clusters (pick a row for its detail)', groups: [['', 2], [`snapshot ${c.snapshot.as_of}`, 1], [`test cutoff ${fit.as_of} (fitted ${fit.fitted_on === 'live' ? 'on live users' : 'on all users'})`, 6]] },
      );
      fill(document.getElementById('cluster-table')!, t);
      for (const [i, tr] of [...t.querySelectorAll('tbody tr')].entries()) tr.setAttribute('data-pick', String(profiles[i].cluster));
      fill(document.getElementById('k-reason')!, fit.kSelection && typeof (fit.kSelection as { reason?: unknown }).reason === 'string' ? (fit.kSelection as { reason: string }).reason : '');
      await draw(document.getElementById('chart-pca')!, spec('pca'), { onPick: pick, renderer: 'canvas' });
      await draw(document.getElementById('chart-sizes')!, spec('sizes'), { onPick: pick });
      await draw(document.getElementById('chart-churn')!, spec('churn'), { onPick: pick });
      await draw(document.getElementById('chart-heat')!, spec('heat'), { onPick: pick });
      await draw(document.getElementById('chart-k-inertia')!, spec('k', 0));
      await draw(document.getElementById('chart-k-silhouette')!, spec('k', 1));
      if (clusterSpecs(ctx, 'truth').length) {
        document.getElementById('truth-block')!.hidden = false;
        await draw(document.getElementById('chart-truth')!, spec('truth'), { onPick: pick });
      }
    },
  };
}
