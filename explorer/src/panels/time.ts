import type { HistoryResponse, TransitionsResponse } from '../../../src/serve/response-types.js';
import { json } from '../api.js';
import { chartBox, draw } from '../charts.js';
import type { Ctx, PanelView } from '../context.js';
import { byId, count, fill, h, options } from '../dom.js';
import type { Spec } from '../layout.js';
import type { ViewState } from '../state.js';

/** The columns a transition matrix is drawn for, first in the pickers. */
export function trackable(columns: readonly string[]): string[] {
  return columns.filter((c) => c === 'behavioral_segment' || c === 'lifecycle_stage' || c === 'cluster_label' || c.startsWith('segment_'));
}

/**
 * Over time (issue 21): the history of refresh snapshots. Sizes per snapshot date as stacked areas, the
 * §9.2 matrix of a chosen pair of dates (month over month by default), and the version's own matrices
 * between the test cutoff and the scored snapshot. An empty history says how to fill it.
 */
export function timePanel(ctx: Ctx): PanelView {
  /** The version's own matrices (test cutoff -> snapshot) never change: drawn at the first render. */
  let ownDrawn = false;
  /** Bumped by every render: an answer to an older pick still in flight is dropped. */
  let generation = 0;
  async function drawHistory(h0: HistoryResponse, s: ViewState, gen: number): Promise<void> {
    const dates = h0.points.map((p) => p.as_of).filter((d): d is string => d !== null);
    const last = h0.points[h0.points.length - 1];
    fill(byId('history-note'), `${dates.length} snapshot(s) of ${h0.model.name}, ${dates[0]} .. ${dates[dates.length - 1]} (the server answers from ${h0.served_as_of}); the newest counts ${count(last.users)} users, ${last.changes === null || last.changes === undefined ? 'the first snapshot' : `${count(last.changes)} changes since the one before`}.`);
    const tr = trackable(h0.columns);
    const columns = [...tr, ...h0.columns.filter((c) => !tr.includes(c))];
    byId('history-pick').hidden = false;
    options(byId<HTMLSelectElement>('history-column'), columns, h0.column);
    await draw(byId('chart-history'), h0.chart as Spec | null);
    const tby = s.tby && tr.includes(s.tby) ? s.tby : 'behavioral_segment';
    options(byId<HTMLSelectElement>('history-trans-by'), tr, tby);
    options(byId<HTMLSelectElement>('history-trans-from'), dates.slice(0, -1));
    options(byId<HTMLSelectElement>('history-trans-to'), dates.slice(1), dates[dates.length - 1]);
    const note = byId('history-trans-note');
    const chart = byId('chart-history-trans');
    if (dates.length < 2) {
      fill(note, `One snapshot (${dates[0]}): a transition needs two; refresh a later date.`);
      return;
    }
    byId('history-trans-pick').hidden = false;
    if (s.from && s.to) {
      byId<HTMLSelectElement>('history-trans-from').value = s.from;
      byId<HTMLSelectElement>('history-trans-to').value = s.to;
      if (s.from >= s.to) {
        fill(note, `The first date (${s.from}) must be before the second (${s.to}).`);
        await draw(chart, null);
        return;
      }
    }
    // month over month by default (the server picks the latest monthly pair, else the last two snapshots)
    const q = s.from && s.to ? `from=${s.from}&to=${s.to}&by=${encodeURIComponent(tby)}` : `by=${encodeURIComponent(tby)}`;
    let r: TransitionsResponse;
    try {
      r = await json<TransitionsResponse>(`/v1/transitions?${q}`);
    } catch (e) {
      if (gen !== generation) return;
      fill(note, e instanceof Error ? e.message : String(e));
      await draw(chart, null);
      return;
    }
    if (gen !== generation) return;
    const m = r.matrices[0];
    byId<HTMLSelectElement>('history-trans-from').value = m.from_as_of;
    byId<HTMLSelectElement>('history-trans-to').value = m.to_as_of;
    fill(note, `${count(m.matched)} users in both snapshots, ${count(m.onlyInTo)} new, ${count(m.onlyInFrom)} gone; each cell: users (row share).`);
    await draw(chart, m.chart as Spec);
  }

  return {
    id: 'time',
    label: 'Over time',
    build(section) {
      const s = () => ctx.state();
      const col: HTMLSelectElement = h('select', { id: 'history-column', onchange: () => ctx.go({ hcol: col.value }) });
      const by: HTMLSelectElement = h('select', { id: 'history-trans-by', onchange: () => ctx.go({ tby: by.value }) });
      const from: HTMLSelectElement = h('select', { id: 'history-trans-from', onchange: () => ctx.go({ from: from.value, to: s().to ?? byId<HTMLSelectElement>('history-trans-to').value }) });
      const to: HTMLSelectElement = h('select', { id: 'history-trans-to', onchange: () => ctx.go({ to: to.value, from: s().from ?? byId<HTMLSelectElement>('history-trans-from').value }) });
      fill(section,
        h('h2', {}, 'Over time (refresh snapshots)'),
        h('p', { class: 'note', id: 'history-note' }),
        h('form', { id: 'history-pick', class: 'pick', hidden: true, onsubmit: (e: Event) => e.preventDefault() }, h('label', { for: 'history-column' }, 'Sizes of'), col),
        chartBox('chart-history'),
        h('h3', {}, 'Transitions between two snapshots (playbook 9.2)'),
        h('form', { id: 'history-trans-pick', class: 'pick', hidden: true, onsubmit: (e: Event) => e.preventDefault() },
          h('label', { for: 'history-trans-by' }, 'By'), by, h('label', { for: 'history-trans-from' }, 'from'), from, h('label', { for: 'history-trans-to' }, 'to'), to),
        h('p', { class: 'note', id: 'history-trans-note' }),
        chartBox('chart-history-trans'),
        h('h3', {}, 'Between the test cutoff and the scored snapshot of this version'),
        h('div', { class: 'grid' }, chartBox('chart-trans-seg'), chartBox('chart-trans-cl')),
      );
    },
    async render(s) {
      const gen = ++generation;
      if (!ownDrawn) {
        ownDrawn = true;
        const t = (ctx.charts.transitions ?? {}) as Record<string, Spec>;
        await draw(byId('chart-trans-seg'), t.segments);
        await draw(byId('chart-trans-cl'), t.clusters);
      }
      const column = s.hcol ?? 'behavioral_segment';
      const h0 = await json<HistoryResponse>(`/v1/history?column=${encodeURIComponent(column)}`);
      if (gen !== generation) return;
      if (!h0.points.length) {
        fill(byId('history-note'), `No refresh snapshot yet: ${h0.note ?? ''}`);
        return;
      }
      await drawHistory(h0, s, gen);
    },
  };
}
