import type { RetentionResponse } from '../../../src/serve/response-types.js';
import { json } from '../api.js';
import { chartBox, draw } from '../charts.js';
import type { Ctx, PanelView } from '../context.js';
import { byId, fill, h, options, table } from '../dom.js';
import type { Spec } from '../layout.js';

interface Group { group: string; users: number; churned: number; censored: number; median_days: number | null; median_lower: number | null; median_upper: number | null }
interface LogRank { chi_square: number; df: number; p_value: number; groups: string[] }

/** Retention (docs/retention.md): the version's stored Kaplan-Meier curves, one grouping at a time. */
export function retentionPanel(ctx: Ctx): PanelView {
  return {
    id: 'retention',
    label: 'Retention',
    build(section) {
      const pick: HTMLSelectElement = h('select', { id: 'retention-by', onchange: () => ctx.go({ retention: pick.value }) });
      options(pick, ctx.report.retention_views);
      fill(section,
        h('h2', {}, 'Retention'),
        h('form', { class: 'pick', onsubmit: (e: Event) => e.preventDefault(), hidden: !ctx.report.retention_views.length }, h('label', { for: 'retention-by' }, 'Group by'), pick),
        h('p', { class: 'note', id: 'retention-date' }),
        chartBox('chart-retention'),
        h('div', { id: 'retention-table' }),
        h('p', { class: 'note', id: 'retention-logrank' }),
        h('ul', { id: 'retention-warnings' }),
      );
    },
    async render(s) {
      const views = ctx.report.retention_views;
      if (!views.length) {
        fill(byId('retention-date'), 'This model version stores no retention curves (versions trained before they were stored); cohortlab retention computes them from the events.');
        return;
      }
      const by = s.retention && views.includes(s.retention) ? s.retention : views.includes('segment') ? 'segment' : views[0];
      byId<HTMLSelectElement>('retention-by').value = by;
      const r = await json<RetentionResponse>(`/v1/retention?by=${encodeURIComponent(by)}`);
      fill(byId('retention-date'), r.landmark
        ? `Users live at the test cutoff ${r.landmark}, grouped then; time to churn from it, censored at the snapshot ${r.as_of}. Bands: 95% (Greenwood, log-log).`
        : `Groups as of ${r.as_of}, time from each user's first day, censored at ${r.as_of}. Bands: 95% (Greenwood, log-log).`);
      await draw(byId('chart-retention'), (ctx.charts.retention as Record<string, Spec>)[by]);
      const groups = r.groups as unknown as Group[];
      const ci = (g: Group) => (g.median_lower === null ? '-' : `${g.median_lower} .. ${g.median_upper === null ? 'not reached' : g.median_upper}`);
      fill(byId('retention-table'), table(
        ['group', 'users', 'churned', 'censored', 'median days', 'median 95% CI'],
        groups.map((g) => [g.group, g.users, g.churned, g.censored, g.median_days === null ? 'not reached' : g.median_days, ci(g)]),
        { caption: `Kaplan-Meier by ${by}` },
      ));
      const lr = r.log_rank as unknown as LogRank | null;
      fill(byId('retention-logrank'), lr ? `Log-rank test across the ${lr.groups.length} groups: chi-square ${lr.chi_square.toFixed(2)} on ${lr.df} df, p ${lr.p_value < 1e-300 ? '< 1e-300' : `= ${lr.p_value.toPrecision(3)}`}.` : 'One group: no log-rank test.');
      fill(byId('retention-warnings'), ...(r.warnings ?? []).map((w) => h('li', { class: 'warn' }, `${w.code}: ${w.message}`)));
    },
  };
}
