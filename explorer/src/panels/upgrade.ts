import type { PropensityResponse } from '../../../src/serve/response-types.js';
import { json } from '../api.js';
import { chartBox, draw } from '../charts.js';
import type { Ctx, PanelView } from '../context.js';
import { byId, count, fill, h, interval, table } from '../dom.js';
import type { Spec } from '../layout.js';

const SCORERS: [string, string][] = [['model', 'model'], ['rule', '§4.3 expansion readiness'], ['recency', 'recency (recent = likely)'], ['rfm', 'RFM value (§6.3)'], ['majority', 'majority']];

/** The upgrade model of serve --propensity-model (GET /v1/propensity; docs/propensity.md). */
export function upgradePanel(ctx: Ctx): PanelView {
  return {
    id: 'upgrade',
    label: 'Upgrade model',
    build(section) {
      fill(section,
        h('h2', {}, 'Upgrade model vs the playbook §4.3 expansion-readiness score'),
        h('p', { class: 'note', id: 'upgrade-date' }),
        h('p', {}, h('span', { id: 'upgrade-kind', class: 'badge' }), ' ', h('span', { id: 'upgrade-verdict' })),
        h('p', { class: 'note', id: 'upgrade-evidence' }),
        h('div', { id: 'upgrade-table' }),
        h('div', { class: 'grid' }, chartBox('chart-upgrade-roc')),
      );
    },
    async render() {
      const p = await json<PropensityResponse>('/v1/propensity');
      const what = p.target.kind === 'upgrade' ? `upgrade (${p.target.event})` : `event ${p.target.event}`;
      fill(byId('upgrade-date'), `Model ${p.model.name}@${p.model.version}: ${what} within ${p.horizon_days ?? '-'} days of the test cutoff ${p.as_of ?? '-'}, among users who had not done it and were not churned.`);
      const badge = byId('upgrade-kind');
      badge.textContent = p.verdict.kind.replace('_', ' ');
      badge.className = `badge ${p.verdict.kind === 'better' ? 'ok' : 'warn'}`;
      fill(byId('upgrade-verdict'), p.verdict.text);
      const e = p.evidence;
      fill(byId('upgrade-evidence'), e ? `${count(e.test_users)} test users: ${count(e.test_churners)} did it, ${count(e.test_stayers)} did not; a verdict needs at least ${e.minimum} of each.` : '');
      const rows: string[][] = SCORERS.filter(([k]) => p.metrics[k]).map(([k, label]) => [label, interval(p.metrics[k])]);
      for (const [k, m] of Object.entries(p.metrics)) if (!SCORERS.some(([s]) => s === k)) rows.push([k, interval(m)]);
      if (p.ceiling !== null) rows.push(['truth (the ceiling)', p.ceiling.toFixed(3)]);
      fill(byId('upgrade-table'), table(['scorer', 'ROC-AUC [95% CI]'], rows, { caption: 'Every scorer on the same test users' }));
      await draw(byId('chart-upgrade-roc'), p.charts.roc as Spec);
    },
  };
}
