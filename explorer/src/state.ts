/**
 * The view as a URL: the panel, what is picked in it, and the member filter. Parsing is tolerant (a
 * hand-edited link with a bad value falls back to the default for that key, never to an error page)
 * and writing is canonical (defaults left out, keys in one order), so a link reproduces the view and
 * back/forward walk through the analyst's picks.
 */
export const PANELS = ['clusters', 'detail', 'crosstab', 'segments', 'retention', 'time', 'drift', 'model', 'upgrade', 'members'] as const;
export type Panel = (typeof PANELS)[number];

export interface ViewState {
  panel: Panel;
  /** Cluster detail: the cluster shown and the one compared with it. */
  cluster: number | null;
  compare: number | null;
  /** Clusters vs rules: the rule column of the heat map. */
  cross: string | null;
  /** Retention: the grouping of the curves. */
  retention: string | null;
  /** Over time: the column drawn, the transition matrix's column and pair of dates. */
  hcol: string | null;
  tby: string | null;
  from: string | null;
  to: string | null;
  /** Drift: the refresh shown. */
  drift: string | null;
  /** Members: cluster and segment filter (combined), id search, sort and page. */
  mcluster: number | null;
  by: string;
  segment: string | null;
  q: string;
  sort: string | null;
  order: 'asc' | 'desc';
  page: number;
}

export const DEFAULT_STATE: Readonly<ViewState> = {
  panel: 'clusters',
  cluster: null,
  compare: null,
  cross: null,
  retention: null,
  hcol: null,
  tby: null,
  from: null,
  to: null,
  drift: null,
  mcluster: null,
  by: 'behavioral_segment',
  segment: null,
  q: '',
  sort: null,
  order: 'desc',
  page: 1,
};

const KEYS = Object.keys(DEFAULT_STATE) as (keyof ViewState)[];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function nonNegativeInt(s: string | null): number | null {
  return s !== null && /^\d{1,9}$/.test(s) ? Number(s) : null;
}

export function parseState(search: string): ViewState {
  const p = new URLSearchParams(search);
  const text = (k: string) => {
    const v = p.get(k);
    return v === null || v === '' ? null : v;
  };
  const date = (k: string) => {
    const v = text(k);
    return v !== null && DATE.test(v) ? v : null;
  };
  const panel = text('panel');
  const page = nonNegativeInt(text('page'));
  return {
    panel: (PANELS as readonly string[]).includes(panel ?? '') ? (panel as Panel) : DEFAULT_STATE.panel,
    cluster: nonNegativeInt(text('cluster')),
    compare: nonNegativeInt(text('compare')),
    cross: text('cross'),
    retention: text('retention'),
    hcol: text('hcol'),
    tby: text('tby'),
    from: date('from'),
    to: date('to'),
    drift: date('drift'),
    mcluster: nonNegativeInt(text('mcluster')),
    by: text('by') ?? DEFAULT_STATE.by,
    segment: text('segment'),
    q: p.get('q') ?? '',
    sort: text('sort'),
    order: text('order') === 'asc' ? 'asc' : 'desc',
    page: page !== null && page >= 1 ? page : 1,
  };
}

/** The query string of a state: only what differs from the default, in a fixed key order ('' for the default view). */
export function stateQuery(s: ViewState): string {
  const p = new URLSearchParams();
  for (const k of KEYS) {
    const v = s[k];
    if (v === DEFAULT_STATE[k] || v === null) continue;
    p.set(k, String(v));
  }
  const q = p.toString();
  return q ? `?${q}` : '';
}

/** The /v1/members and /v1/export query of the member filter (page only for members). */
export function membersQuery(s: ViewState, withPage: boolean, pageSize = 50): string {
  const p = new URLSearchParams();
  if (s.mcluster !== null) p.set('cluster', String(s.mcluster));
  if (s.segment !== null) {
    p.set('segment', s.segment);
    p.set('by', s.by);
  }
  if (s.q) p.set('q', s.q);
  if (s.sort) {
    p.set('sort', s.sort);
    p.set('order', s.order);
  }
  if (withPage) {
    p.set('page', String(s.page));
    p.set('page_size', String(pageSize));
  }
  return p.toString();
}

/** The keys a panel reads: it redraws only when one of them changed. */
export const PANEL_KEYS: Record<Panel, readonly (keyof ViewState)[]> = {
  clusters: [],
  detail: ['cluster', 'compare'],
  crosstab: ['cross'],
  segments: [],
  retention: ['retention'],
  time: ['hcol', 'tby', 'from', 'to'],
  drift: ['drift'],
  model: [],
  upgrade: [],
  members: ['mcluster', 'by', 'segment', 'q', 'sort', 'order', 'page'],
};

export function panelKey(s: ViewState, panel: Panel): string {
  return PANEL_KEYS[panel].map((k) => `${k}=${String(s[k])}`).join('&');
}
