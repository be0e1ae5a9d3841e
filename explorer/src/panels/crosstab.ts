import { chartBox, draw } from '../charts.js';
import { clusterSpecs, crosstabsOf, type Ctx, type PanelView } from '../context.js';
import { byId, fill, h, options } from '../dom.js';

/** Clusters vs rules: one heat map, a picker for the rule column with the adjusted Rand index of each. */
export function crosstabPanel(ctx: Ctx): PanelView {
  return {
    id: 'crosstab',
    label: 'Clusters vs rules',
    build(section) {
      const tabs = ctx.clusters ? crosstabsOf(ctx.clusters) : [];
      const pick: HTMLSelectElement = h('select', { id: 'cross-column', onchange: () => ctx.go({ cross: pick.value }) });
      options(pick, tabs.map((t) => [t.column, `${t.column} (ARI ${t.ari.toFixed(2)})`]));
      fill(section,
        h('h2', {}, 'Clusters vs rule segments'),
        h('form', { class: 'pick', onsubmit: (e: Event) => e.preventDefault() }, h('label', { for: 'cross-column' }, 'Rule column'), pick),
        h('p', { class: 'note', id: 'cross-note' }),
        chartBox('chart-cross'),
      );
    },
    async render(s) {
      const tabs = ctx.clusters ? crosstabsOf(ctx.clusters) : [];
      if (!tabs.length) {
        fill(byId('cross-note'), 'This model version has no clusters to set against the rule segments.');
        return;
      }
      const i = Math.max(0, tabs.findIndex((t) => t.column === s.cross));
      const t = tabs[i];
      byId<HTMLSelectElement>('cross-column').value = t.column;
      const users = t.counts.reduce((a, row) => a + row.reduce((b, x) => b + x, 0), 0);
      fill(byId('cross-note'), `Users of the test cutoff ${ctx.clusters?.fit.as_of ?? '-'} (${users.toLocaleString('en-US')}) by cluster and ${t.column}. Adjusted Rand index ${t.ari.toFixed(3)}: 1 = the clusters are the rule segments, 0 = no more agreement than chance. Pick a cell's cluster for its detail.`);
      await draw(byId('chart-cross'), clusterSpecs(ctx, 'cross')[i], { onPick: (k) => ctx.go({ panel: 'detail', cluster: k }) });
    },
  };
}
