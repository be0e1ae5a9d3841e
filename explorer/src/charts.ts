import type { Result, VisualizationSpec } from 'vega-embed';
import type embedFn from 'vega-embed';
import { h } from './dom.js';
import { fitSpec, specTitle, viewConfig, type Spec } from './layout.js';

declare global {
  // vega, vega-lite and vega-embed are loaded by index.html from /vendor (node_modules, no CDN)
  const vegaEmbed: typeof embedFn;
  interface Window {
    cohortlab: Explorer;
  }
}

/** What the browser test reads: errors shown, readiness, marks drawn. */
export interface Explorer {
  errors: string[];
  ready: boolean;
  /** Renders in flight (a pick, back/forward); 0 when the page shows the state in the URL. */
  pending: number;
  /** Items drawn by the marks of a chart (either renderer). */
  marks(id: string): number;
  /** Milliseconds from navigation start to the first panel drawn. */
  firstPaintMs: number | null;
}

interface SceneNode {
  marktype?: string;
  role?: string;
  items?: SceneNode[];
}

function countMarks(node: SceneNode | undefined): number {
  if (!node || !node.items) return 0;
  let n = node.marktype && node.marktype !== 'group' && node.role === 'mark' ? node.items.length : 0;
  for (const item of node.items) n += countMarks(item);
  return n;
}

const results = new Map<string, Result>();

window.cohortlab = {
  errors: [],
  ready: false,
  pending: 0,
  firstPaintMs: null,
  marks: (id) => {
    const v = results.get(id)?.view as unknown as { scenegraph(): { root: SceneNode } } | undefined;
    return v ? countMarks(v.scenegraph().root) : 0;
  },
};

/**
 * A chart's place: a figure with the chart and its text description (the spec's `description`, else its
 * title) as the figure's caption for screen readers. What a chart picks, a table or a picker beside it
 * picks too, so the keyboard reaches everything.
 */
export function chartBox(id: string): HTMLElement {
  return h('figure', { class: 'chart', id }, h('div', { class: 'view' }), h('figcaption', { class: 'sr-only' }));
}

export interface DrawOptions {
  /** Called with the cluster id of a picked mark (datum.cluster "3: label" or a number). */
  onPick?: (cluster: number) => void;
  /** canvas for large point clouds (the PCA map), svg otherwise. */
  renderer?: 'svg' | 'canvas';
}

/** Draws a spec in a chart box at the box's current width; null says the version has no such chart. */
export async function draw(box: HTMLElement, spec: Spec | null | undefined, opts: DrawOptions = {}): Promise<void> {
  const view = box.querySelector<HTMLElement>('.view') ?? box;
  const caption = box.querySelector('figcaption');
  results.get(box.id)?.finalize();
  results.delete(box.id);
  if (!spec) {
    view.replaceChildren(h('p', { class: 'note' }, 'Not available for this model.'));
    if (caption) caption.textContent = '';
    return;
  }
  const width = Math.max(240, view.clientWidth || box.clientWidth || 600);
  const description = typeof spec.description === 'string' && spec.description ? spec.description : specTitle(spec);
  if (caption) caption.textContent = description;
  view.replaceChildren();
  const result = await vegaEmbed(view, fitSpec(spec, width) as VisualizationSpec, {
    actions: { export: true, source: false, compiled: false, editor: false },
    renderer: opts.renderer ?? 'svg',
    config: viewConfig(width) as never,
  });
  // vega-embed's export menu opens from an icon: give it a name screen readers say
  view.querySelector('details > summary')?.setAttribute('aria-label', 'Save this chart as SVG or PNG');
  results.set(box.id, result);
  if (opts.onPick) {
    const pick = opts.onPick;
    result.view.addEventListener('click', (_event, item) => {
      const d = (item as { datum?: { cluster?: unknown } } | null | undefined)?.datum;
      const k = typeof d?.cluster === 'number' ? d.cluster : typeof d?.cluster === 'string' ? parseInt(d.cluster, 10) : NaN;
      if (!Number.isNaN(k)) pick(k);
    });
  }
}
