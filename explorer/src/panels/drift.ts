import type { DriftResponse, HistoryResponse } from '../../../src/serve/response-types.js';
import { json } from '../api.js';
import { chartBox, draw } from '../charts.js';
import type { Ctx, PanelView } from '../context.js';
import { byId, fill, h, num, options, table } from '../dom.js';
import type { Spec } from '../layout.js';

interface DriftVariable { name: string; kind: string; psi: number | null; noise_bound: number | null; ks: { statistic: number } | null; status: string; not_advice?: string; reference_n: number; current_n: number }
interface DriftReport {
  current: { as_of: string; users: number };
  reference: { as_of: string; sample: number };
  thresholds: { bins: number; watch: number; act: number; noise_quantile: number; min_sample: number };
  summary: { text: string; retrain_advised: boolean; watch: string[] };
  prediction: DriftVariable | null;
  features: DriftVariable[];
  rule_scores: DriftVariable[];
}

/** Drift: a refresh's drift report against the version's training snapshot (src/evaluate/drift-report.ts). */
export function driftPanel(ctx: Ctx): PanelView {
  let dates: string[] | null = null;
  let generation = 0;
  return {
    id: 'drift',
    label: 'Drift',
    build(section) {
      const pick: HTMLSelectElement = h('select', { id: 'drift-date', onchange: () => ctx.go({ drift: pick.value }) });
      fill(section,
        h('h2', {}, 'Drift against the training snapshot'),
        h('p', { class: 'note', id: 'drift-note' }),
        h('form', { id: 'drift-pick', class: 'pick', hidden: true, onsubmit: (e: Event) => e.preventDefault() }, h('label', { for: 'drift-date' }, 'Refresh of'), pick),
        h('p', {}, h('span', { id: 'drift-kind', class: 'badge', hidden: true }), ' ', h('span', { id: 'drift-verdict' })),
        chartBox('chart-drift'),
        h('div', { id: 'drift-table' }),
      );
    },
    async render(s) {
      const gen = ++generation;
      if (dates === null) {
        const hist = await json<HistoryResponse>('/v1/history');
        if (!hist.points.length) {
          fill(byId('drift-note'), `No drift to show: ${hist.note ?? ''}`);
          return;
        }
        dates = hist.points.map((p) => p.as_of).filter((d): d is string => d !== null);
        byId('drift-pick').hidden = false;
        options(byId<HTMLSelectElement>('drift-date'), [...dates].reverse());
      }
      const known = dates;
      const asOf = s.drift && known.includes(s.drift) ? s.drift : known[known.length - 1];
      byId<HTMLSelectElement>('drift-date').value = asOf;
      let r: DriftResponse;
      try {
        r = await json<DriftResponse>(`/v1/drift?as_of=${encodeURIComponent(asOf)}`);
      } catch (e) {
        if (gen !== generation) return;
        // a snapshot scored by a version without a training sample has no report: said in the panel
        fill(byId('drift-note'), e instanceof Error ? e.message : String(e));
        byId('drift-kind').hidden = true;
        fill(byId('drift-verdict'));
        await draw(byId('chart-drift'), null);
        fill(byId('drift-table'));
        return;
      }
      if (gen !== generation) return;
      const d = r.report as unknown as DriftReport;
      fill(byId('drift-note'), `Refresh of ${d.current.as_of} (${d.current.users.toLocaleString('en-US')} users, scored by ${r.scored_by.name}@${r.scored_by.version}) against its training snapshot ${d.reference.as_of} (sample of ${d.reference.sample.toLocaleString('en-US')}). PSI over ${d.thresholds.bins} bins fixed at training: watch from ${d.thresholds.watch}, act from ${d.thresholds.act}, and only above the noise bound (the ${d.thresholds.noise_quantile} quantile of PSI between two samples of these sizes); fewer than ${d.thresholds.min_sample} users on a side: no verdict. The chart draws the 25 largest shifts; the table lists every variable.`);
      const kind = d.summary.retrain_advised ? 'retrain' : d.summary.watch.length ? 'watch' : 'stable';
      const badge = byId('drift-kind');
      badge.hidden = false;
      badge.textContent = kind;
      badge.className = `badge ${kind === 'stable' ? 'ok' : 'warn'}`;
      fill(byId('drift-verdict'), d.summary.text);
      await draw(byId('chart-drift'), r.chart as Spec);
      const vars = [...(d.prediction ? [d.prediction] : []), ...d.features, ...d.rule_scores];
      // a cumulative or calendar feature moves with the date itself: its shift is shown but advises nothing
      fill(byId('drift-table'), table(
        ['variable', 'kind', 'PSI', 'noise bound', 'KS', 'status', 'users (training / now)'],
        vars.map((v) => [v.name, v.kind.replace('_', ' '), num(v.psi, 4), num(v.noise_bound, 4), v.ks ? num(v.ks.statistic, 3) : '-', `${v.status.replace('_', ' ')}${v.not_advice ? ` (${v.not_advice}: not advice)` : ''}`, `${v.reference_n} / ${v.current_n}`]),
        { caption: 'Every variable' },
      ));
    },
  };
}
