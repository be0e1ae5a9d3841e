import type { ClusterDetailResponse } from '../../../src/serve/response-types.js';
import { chartBox, draw } from '../charts.js';
import { json } from '../api.js';
import { clusterName, profilesOf, type Ctx, type PanelView } from '../context.js';
import { byId, count, fill, h, num, options, pct, table } from '../dom.js';
import type { Spec } from '../layout.js';

type Detail = ClusterDetailResponse['cluster'];
type Quantiles = Detail['features'][number]['cluster'];

/** Cluster detail: what sets one cluster apart, its rule-segment and lifecycle mix, churn with its interval, reasons, compared with another. */
export function detailPanel(ctx: Ctx): PanelView {
  return {
    id: 'detail',
    label: 'Cluster detail',
    build(section) {
      const profiles = ctx.clusters ? profilesOf(ctx.clusters) : [];
      const pick: HTMLSelectElement = h('select', { id: 'detail-cluster', onchange: () => ctx.go({ cluster: Number(pick.value), compare: ctx.state().compare === Number(pick.value) ? null : ctx.state().compare }) });
      const compare: HTMLSelectElement = h('select', { id: 'detail-compare', onchange: () => ctx.go({ compare: compare.value === '' ? null : Number(compare.value) }) });
      options(pick, profiles.map((p) => [String(p.cluster), clusterName(p)]));
      options(compare, [['', 'no other cluster'], ...profiles.map((p): [string, string] => [String(p.cluster), clusterName(p)])]);
      fill(section,
        h('h2', {}, 'Cluster detail'),
        h('form', { class: 'pick', onsubmit: (e: Event) => e.preventDefault() },
          h('label', { for: 'detail-cluster' }, 'Cluster'), pick,
          h('label', { for: 'detail-compare' }, 'compare with'), compare,
          h('button', { type: 'button', id: 'detail-members', onclick: () => ctx.go({ panel: 'members', mcluster: ctx.state().cluster, segment: null, q: '', page: 1 }) }, 'List its members')),
        h('p', { class: 'note', id: 'detail-note' }),
        h('div', { id: 'detail-stats' }),
        h('h3', {}, 'Features that set it apart (snapshot, against all users)'),
        chartBox('chart-detail-dist'),
        h('div', { id: 'detail-features' }),
        h('h3', {}, 'Rule segments and lifecycle stages'),
        chartBox('chart-detail-mix'),
        h('h3', {}, 'Top reason codes of its members'),
        chartBox('chart-detail-reasons'),
      );
    },
    async render(s) {
      if (!ctx.clusters) {
        fill(byId('detail-note'), 'This model version has no clusters.');
        return;
      }
      const k = s.cluster ?? 0;
      byId<HTMLSelectElement>('detail-cluster').value = String(k);
      byId<HTMLSelectElement>('detail-compare').value = s.compare === null || s.compare === k ? '' : String(s.compare);
      const q = s.compare !== null && s.compare !== k ? `?compare=${s.compare}` : '';
      const r = await json<ClusterDetailResponse>(`/v1/clusters/${k}${q}`);
      const both = r.compare ? [r.cluster, r.compare] : [r.cluster];
      const same = r.cluster.features.length > 0 && r.features_as_of === r.as_of;
      const features = !r.cluster.features.length
        ? '; this version stored no feature values, so no distributions (train it again to have them)'
        : same ? '' : `; features: the training snapshot of ${r.features_as_of}`;
      fill(byId('detail-note'), `Sizes, mixes${same ? ', reasons and features' : ' and reasons'}: the scored snapshot of ${r.as_of} (${count(r.population.users)} users)${features}. Churn: users of the test cutoff ${r.test_cutoff ?? '-'} churned within ${r.horizon_days ?? '-'} days, with a 95% Wilson interval.`);
      const churn = (d: Detail) => (d.churn ? `${pct(d.churn.rate)} [${pct(d.churn.lo)}, ${pct(d.churn.hi)}] of ${count(d.churn.users)}` : '-');
      fill(byId('detail-stats'), table(
        ['', ...both.map((d) => clusterName(d))],
        [
          ['users now', ...both.map((d) => count(d.users))],
          ['share of users', ...both.map((d) => pct(d.share))],
          [`churn within ${r.horizon_days ?? '-'} d (95% CI)`, ...both.map(churn)],
          ['mean churn probability now', ...both.map((d) => pct(d.mean_churn_probability))],
        ],
        { caption: 'The cluster at a glance' },
      ));
      const rows = r.cluster.features.map((f, i) => {
        const c = r.compare?.features[i];
        const iqr = (x: Quantiles) => `${num(x.median, 2)} (${num(x.q1, 2)} .. ${num(x.q3, 2)})`;
        return [f.feature, num(f.z, 2), iqr(f.cluster), ...(c ? [iqr(c.cluster)] : []), iqr(f.population)];
      });
      fill(byId('detail-features'), table(['feature', 'z', `cluster ${r.cluster.cluster}: median (q1 .. q3)`, ...(r.compare ? [`cluster ${r.compare.cluster}`] : []), 'all users'], rows, { caption: 'Medians and quartiles' }));
      await draw(byId('chart-detail-dist'), r.charts.distributions);
      await draw(byId('chart-detail-mix'), r.charts.mix);
      await draw(byId('chart-detail-reasons'), r.charts.reasons);
    },
  };
}
