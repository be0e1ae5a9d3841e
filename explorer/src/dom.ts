/**
 * DOM building without innerHTML: every piece of data becomes a text node, so a user id or a segment
 * name can never be read as markup.
 */
export type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined | ((event: Event) => void);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, AttrValue> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

export function options(select: HTMLSelectElement, values: readonly (string | [value: string, label: string])[], selected?: string | null): void {
  select.replaceChildren(...values.map((v) => {
    const [value, label] = typeof v === 'string' ? [v, v] : v;
    return h('option', { value, selected: value === selected }, label);
  }));
}

export type Cell = string | number | null | undefined | Node;

export interface TableOptions {
  caption?: string;
  /** Rows that pick something (a cluster, a segment): focusable, Enter or click calls it. */
  onPick?: (row: number) => void;
  /** Header cells: a button per sortable column, its aria-sort said. */
  sort?: { column: string | null; order: 'asc' | 'desc'; sortable: readonly string[]; onSort: (column: string) => void };
  /** The first header row spanning columns: [label, span]. */
  groups?: [label: string, span: number][];
  id?: string;
}

/** Text that reads as a number, a share or an interval ("0.936 [0.929, 0.943]", "12.5%"): right-aligned, kept on one line. */
const NUMERIC = /^[-+\d.,%\s[\]]+$/;

/** A table in its own scrolling box (it never widens the page). Numbers right-aligned, text left. */
export function table(header: readonly string[], rows: readonly (readonly Cell[])[], opts: TableOptions = {}): HTMLDivElement {
  const thead = h('thead');
  if (opts.groups) thead.append(h('tr', {}, ...opts.groups.map(([label, span]) => h('th', { scope: label ? 'colgroup' : null, colspan: span, class: 'date' }, label))));
  thead.append(h('tr', {}, ...header.map((name) => {
    const s = opts.sort;
    if (!s || !s.sortable.includes(name)) return h('th', { scope: 'col' }, name);
    const active = s.column === name;
    return h('th', { scope: 'col', 'aria-sort': active ? (s.order === 'asc' ? 'ascending' : 'descending') : 'none' },
      h('button', { type: 'button', class: 'sort', 'data-column': name, onclick: () => s.onSort(name) }, name, active ? (s.order === 'asc' ? ' ▲' : ' ▼') : ''));
  })));
  const tbody = h('tbody', {}, ...rows.map((r, i) => {
    const tr = h('tr', {}, ...r.map((c, j) => h('td', { class: j === 0 || (typeof c === 'string' && !NUMERIC.test(c)) ? 'text' : null }, c === null || c === undefined ? '-' : c)));
    if (opts.onPick) {
      const pick = opts.onPick;
      tr.className = 'pickable';
      tr.tabIndex = 0;
      tr.addEventListener('click', () => pick(i));
      tr.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          pick(i);
        }
      });
    }
    return tr;
  }));
  const t = h('table', { id: opts.id }, opts.caption ? h('caption', {}, opts.caption) : null, thead, tbody);
  // a box that may scroll: reachable from the keyboard (arrow keys scroll it), named by the caption
  return h('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': opts.caption ?? header.join(', ') }, t);
}

export const pct = (x: number | null | undefined, digits = 1): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(digits)}%`);
export const num = (x: number | null | undefined, digits = 1): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));
export const count = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : x.toLocaleString('en-US'));
export const interval = (m: { value: number; lo: number; hi: number } | undefined, digits = 3): string => (m ? `${m.value.toFixed(digits)} [${m.lo.toFixed(digits)}, ${m.hi.toFixed(digits)}]` : '-');
