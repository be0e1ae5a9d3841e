import type { MembersResponse } from '../../../src/serve/response-types.js';
import { api, apiKey, json } from '../api.js';
import { clusterName, profilesOf, type Ctx, type PanelView } from '../context.js';
import { byId, count, fill, h, options, table } from '../dom.js';
import { membersQuery, type ViewState } from '../state.js';

const PAGE_SIZE = 50;
/** Columns listed for every member; the sort column is added when it is not one of them. */
const SHOWN = ['user_id', 'churn_probability', 'upgrade_probability', 'churn_risk_score', 'churn_risk_tier', 'engagement_score', 'behavioral_segment', 'lifecycle_stage', 'cluster', 'cluster_label'];

/** What the filter says, in words (the summary line and the export's description). */
export function filterWords(s: ViewState, clusterLabel: (k: number) => string): string {
  const parts: string[] = [];
  if (s.mcluster !== null) parts.push(`cluster ${clusterLabel(s.mcluster)}`);
  if (s.segment !== null) parts.push(`${s.by} = ${s.segment}`);
  if (s.q) parts.push(`id contains "${s.q}"`);
  return parts.length ? parts.join(' and ') : 'all users';
}

/**
 * Members: the scored snapshot's users filtered by cluster and segment together, searched by id, sorted
 * by any score, paged; "Export these" downloads exactly the current filter and order (GET /v1/export,
 * streamed by the server).
 */
export function membersPanel(ctx: Ctx): PanelView {
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  const labelOf = (k: number) => {
    const p = ctx.clusters ? profilesOf(ctx.clusters)[k] : undefined;
    return p ? clusterName(p) : String(k);
  };
  return {
    id: 'members',
    label: 'Members',
    build(section) {
      const s = () => ctx.state();
      const cluster: HTMLSelectElement = h('select', { id: 'pick-cluster', onchange: () => ctx.go({ mcluster: cluster.value === '' ? null : Number(cluster.value), page: 1 }) });
      options(cluster, [['', 'any cluster'], ...(ctx.clusters ? profilesOf(ctx.clusters).map((p): [string, string] => [String(p.cluster), clusterName(p)]) : [])]);
      const by: HTMLSelectElement = h('select', { id: 'pick-by', onchange: () => ctx.go({ by: by.value, segment: null, page: 1 }) });
      options(by, Object.keys(ctx.segments.snapshot.sizes));
      const segment: HTMLSelectElement = h('select', { id: 'pick-segment', onchange: () => ctx.go({ segment: segment.value === '' ? null : segment.value, page: 1 }) });
      const search = h('input', { id: 'pick-q', type: 'search', autocomplete: 'off', placeholder: 'part of a user id' });
      search.addEventListener('input', () => {
        clearTimeout(searchTimer);
        // typing replaces the history entry instead of adding one per key
        searchTimer = setTimeout(() => ctx.go({ q: search.value.trim(), page: 1 }, { replace: s().q !== '' && search.value.trim() !== '' }), 300);
      });
      const sort: HTMLSelectElement = h('select', { id: 'pick-sort', onchange: () => ctx.go({ sort: sort.value === '' ? null : sort.value, page: 1 }) });
      const order: HTMLSelectElement = h('select', { id: 'pick-order', onchange: () => ctx.go({ order: order.value === 'asc' ? 'asc' : 'desc', page: 1 }) });
      options(order, [['desc', 'highest first'], ['asc', 'lowest first']]);
      fill(section,
        h('h2', {}, 'Members'),
        h('form', { class: 'pick filters', onsubmit: (e: Event) => e.preventDefault() },
          h('span', {}, h('label', { for: 'pick-cluster' }, 'Cluster'), cluster),
          h('span', {}, h('label', { for: 'pick-by' }, 'and segment of'), by, h('label', { for: 'pick-segment', class: 'sr-only' }, 'segment value'), segment),
          h('span', {}, h('label', { for: 'pick-q' }, 'User id'), search),
          h('span', {}, h('label', { for: 'pick-sort' }, 'Sort by'), sort, h('label', { for: 'pick-order', class: 'sr-only' }, 'order'), order)),
        h('p', { class: 'note', id: 'members-summary', 'aria-live': 'polite' }),
        h('div', { id: 'members-table' }),
        h('p', { class: 'pager' },
          h('button', { id: 'prev', type: 'button', onclick: () => ctx.go({ page: Math.max(1, s().page - 1) }) }, 'Previous'), ' ',
          h('span', { id: 'page' }), ' ',
          h('button', { id: 'next', type: 'button', onclick: () => ctx.go({ page: s().page + 1 }) }, 'Next'), ' ',
          h('button', { id: 'export', type: 'button', onclick: () => exportThese(s()).catch((e) => ctx.error(e)) }, 'Export these as CSV')),
      );
    },
    async render(s) {
      byId<HTMLSelectElement>('pick-cluster').value = s.mcluster === null ? '' : String(s.mcluster);
      const by = byId<HTMLSelectElement>('pick-by');
      by.value = s.by;
      const values = Object.keys(ctx.segments.snapshot.sizes[s.by] ?? {}).sort();
      options(byId<HTMLSelectElement>('pick-segment'), [['', `any ${s.by}`], ...values.map((v): [string, string] => [v, v])], s.segment ?? '');
      const search = byId<HTMLInputElement>('pick-q');
      if (document.activeElement !== search) search.value = s.q;
      byId<HTMLSelectElement>('pick-order').value = s.order;
      let r: MembersResponse;
      try {
        r = await json<MembersResponse>(`/v1/members?${membersQuery(s, true, PAGE_SIZE)}`);
      } catch (e) {
        // e.g. a model trained without user ids (the privacy default): said where the members would be
        fill(byId('members-summary'), e instanceof Error ? e.message : String(e));
        fill(byId('members-table'));
        fill(byId('page'));
        for (const b of ['prev', 'next', 'export']) byId<HTMLButtonElement>(b).disabled = true;
        return;
      }
      const sortable = r.sortable;
      options(byId<HTMLSelectElement>('pick-sort'), [['', 'snapshot order'], ...sortable.map((c): [string, string] => [c, c])], s.sort ?? '');
      fill(byId('members-summary'), `${count(r.total)} ${r.total === 1 ? 'user' : 'users'}: ${filterWords(s, labelOf)}${r.as_of ? ` (scored snapshot as of ${r.as_of})` : ''}${s.sort ? `, sorted by ${s.sort} ${s.order === 'asc' ? 'lowest' : 'highest'} first` : ''}.`);
      const present = r.rows.length ? SHOWN.filter((c) => c in r.rows[0]) : SHOWN.filter((c) => c !== 'upgrade_probability');
      const cols = s.sort && !present.includes(s.sort) ? [...present, s.sort] : present;
      const cell = (c: string, v: unknown) => (typeof v === 'number' && c !== 'cluster' ? Number(v.toFixed(3)) : v === null || v === undefined ? null : String(v));
      fill(byId('members-table'), table(cols, r.rows.map((row) => cols.map((c) => cell(c, row[c]))), {
        caption: 'Members (sort by a column header)',
        sort: { column: s.sort, order: s.order, sortable, onSort: (c) => ctx.go({ sort: c, order: s.sort === c && s.order === 'desc' ? 'asc' : 'desc', page: 1 }) },
      }));
      fill(byId('page'), `page ${r.page} of ${r.pages}`);
      byId<HTMLButtonElement>('prev').disabled = r.page <= 1;
      byId<HTMLButtonElement>('next').disabled = r.page >= r.pages;
      byId<HTMLButtonElement>('export').disabled = r.total === 0;
    },
  };

  /** The server's CSV of exactly this filter and order: a plain link (streamed to disk), or fetched with the API key. */
  async function exportThese(s: ViewState): Promise<void> {
    const url = `/v1/export?${membersQuery(s, false)}`;
    const a = h('a', { download: '' });
    if (apiKey()) {
      const res = await api(url);
      a.href = URL.createObjectURL(await res.blob());
      a.download = (res.headers.get('content-disposition') ?? '').match(/filename="([^"]+)"/)?.[1] ?? 'members.csv';
    } else a.href = url;
    document.body.append(a);
    a.click();
    a.remove();
  }
}
