import type { Ctx, PanelView } from '../context.js';
import { byId, count, fill, h, num, pct, table } from '../dom.js';

interface DashboardRow { segment: string; users: number; share: number; retention: number | null; paidConversion: number | null; avgRevenue: number | null; action: string }
interface LtvTable { by: string; rows: { group: string; users: number; customers: number; expectedPurchasesSum: number; expectedPurchasesMean: number; clvSum: number | null; clvMean: number | null }[] }

/** Segments: the playbook §9.1 dashboard of the rule segments, §9.1 LTV, the §10 warnings. */
export function segmentsPanel(ctx: Ctx): PanelView {
  return {
    id: 'segments',
    label: 'Segments',
    build(section) {
      fill(section,
        h('h2', {}, 'Rule segments (playbook 9.1 dashboard)'),
        h('p', { class: 'note', id: 'dashboard-date' }),
        h('div', { id: 'dashboard-table' }),
        h('ul', { id: 'warnings' }),
        h('h3', {}, 'Lifetime value (playbook 9.1 "LTV", BG/NBD + Gamma-Gamma)'),
        h('p', { class: 'note', id: 'ltv-note' }),
        h('div', { id: 'ltv-tables' }),
      );
    },
    async render() {
      const d = ctx.segments.dashboard;
      const snap = ctx.segments.snapshot;
      if (d) {
        const rows = d.rows as unknown as DashboardRow[];
        fill(byId('dashboard-date'), `Users of the test cutoff ${d.as_of} (${count(d.users)}), retention over the ${d.horizon_days ?? '-'} days after it; pick a segment to list its members in the scored snapshot of ${snap.as_of}.`);
        const retention = (d as { retentionHorizonDays?: number }).retentionHorizonDays;
        fill(byId('dashboard-table'), table(
          ['segment', 'users', 'share', `retention${retention ? ` (${retention} d)` : ''}`, 'paid conversion', 'avg revenue', 'action'],
          rows.map((r) => [r.segment, r.users, pct(r.share), pct(r.retention), pct(r.paidConversion), num(r.avgRevenue, 2), r.action]),
          { onPick: (i) => ctx.go({ panel: 'members', mcluster: null, by: 'behavioral_segment', segment: rows[i].segment, q: '', page: 1 }), caption: 'Behavioral segments (pick a row for its members)' },
        ));
        fill(byId('warnings'), ...(d.warnings as { message?: string }[]).map((w) => h('li', { class: 'warn' }, w.message ?? String(w))));
      } else fill(byId('dashboard-date'), 'This model version has no 9.1 dashboard.');
      const ltv = ctx.segments.ltv;
      if (ltv) {
        fill(byId('ltv-note'), `Users of the test cutoff ${ltv.asOf}: expected purchases over the ${ltv.horizonDays} days after it` + (ltv.note ? ` (${ltv.note}).` : `, CLV over ${ltv.clvMonths} months (monthly discount ${ltv.monthlyDiscount}).`));
        const value = !ltv.note;
        fill(byId('ltv-tables'), ...(ltv.tables as unknown as LtvTable[]).map((t) => table(
          [t.by, 'users', 'customers', 'exp. purchases sum', 'mean', ...(value ? ['CLV sum', 'CLV mean'] : [])],
          t.rows.map((r) => [r.group, r.users, r.customers, num(r.expectedPurchasesSum, 1), num(r.expectedPurchasesMean, 3), ...(value ? [num(r.clvSum, 2), num(r.clvMean, 2)] : [])]),
          { caption: `LTV by ${t.by}` },
        )));
      } else fill(byId('ltv-note'), 'No LTV model in this version: its log has no purchases (docs/ltv.md, "Which events are purchases").');
    },
  };
}
