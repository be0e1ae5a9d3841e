/**
 * Fitting the server's vega-lite specs to the width of their panel (pure; tested in
 * test/explorer/layout.test.ts). Single and layered views take the container's width (autosize fit);
 * concatenated and faceted views get numeric widths for their cells; long titles wrap onto lines
 * instead of being cut; axis and legend labels get limits and angles chosen by the width.
 */
export type Spec = Record<string, unknown>;

/** Width of a title character at vega's default bold 13 px title font, in pixels, with a margin (measured 6.4-7.4). */
const TITLE_CHAR_PX = 8;
/** Room a concatenated view keeps for its axis labels, titles and legend beside the plotting area. */
const CONCAT_RESERVE_PX = 190;

/** Splits a title into lines of at most `maxChars` characters at spaces (a single longer word stays whole). */
export function wrapTitle(text: string, maxChars: number): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > maxChars) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

function titleText(title: unknown): string | null {
  if (typeof title === 'string') return title;
  if (Array.isArray(title)) return title.join(' ');
  if (title && typeof title === 'object') return titleText((title as { text?: unknown }).text);
  return null;
}

/** The title's text as one string, whatever form the spec gives it in. */
export function specTitle(spec: Spec): string {
  return titleText(spec.title) ?? '';
}

function wrapped(title: unknown, width: number): unknown {
  const text = titleText(title);
  if (text === null) return title;
  const lines = wrapTitle(text, Math.max(20, Math.floor((width - 30) / TITLE_CHAR_PX)));
  const base = title && typeof title === 'object' && !Array.isArray(title) ? (title as Record<string, unknown>) : {};
  return { ...base, text: lines.length === 1 ? lines[0] : lines, anchor: 'start' };
}

const COMPOSITE = ['hconcat', 'vconcat', 'concat', 'facet', 'repeat'] as const;

function isComposite(spec: Spec): boolean {
  return COMPOSITE.some((k) => k in spec) || (spec.encoding !== undefined && typeof spec.encoding === 'object' && ('row' in (spec.encoding as object) || 'column' in (spec.encoding as object) || 'facet' in (spec.encoding as object)));
}

/** Numeric widths for the cells of a composite view so that together they fit `width`. */
function fitComposite(spec: Spec, width: number): Spec {
  const out: Spec = { ...spec };
  const cell = (s: unknown, w: number): unknown => {
    if (!s || typeof s !== 'object') return s;
    const sub = s as Spec;
    if (isComposite(sub)) return fitComposite(sub, w);
    return { ...sub, width: Math.max(60, Math.floor(w)) };
  };
  if (Array.isArray(spec.hconcat)) {
    const n = spec.hconcat.length;
    out.hconcat = spec.hconcat.map((s) => cell(s, (width - CONCAT_RESERVE_PX * n) / n));
  }
  if (Array.isArray(spec.vconcat)) out.vconcat = spec.vconcat.map((s) => cell(s, width - CONCAT_RESERVE_PX));
  if (Array.isArray(spec.concat)) {
    const cols = typeof spec.columns === 'number' ? spec.columns : 1;
    out.concat = spec.concat.map((s) => cell(s, (width - CONCAT_RESERVE_PX * cols) / cols));
  }
  if (spec.spec && typeof spec.spec === 'object') {
    const enc = (spec.encoding ?? {}) as Record<string, unknown>;
    const facet = (spec.facet ?? enc.facet ?? {}) as Record<string, unknown>;
    const cols = 'column' in facet || 'column' in enc ? (typeof spec.columns === 'number' ? spec.columns : 2) : 1;
    out.spec = cell(spec.spec, (width - CONCAT_RESERVE_PX * cols) / cols);
  } else if (isComposite(spec) && !Array.isArray(spec.hconcat) && !Array.isArray(spec.vconcat) && !Array.isArray(spec.concat)) {
    out.width = Math.max(60, Math.floor(width - CONCAT_RESERVE_PX));
  }
  return out;
}

/**
 * Every `labelLimit` the spec sets at most `cap` pixels on axes (a builder's 400 px for long cluster labels would
 * leave no room for the plot in a narrow panel; vega ends a cut label with an ellipsis and shows the whole label in
 * the tooltip), and on legends at most their share of the width (`legendCap` over the legend's columns). Data is
 * not walked.
 */
export function capLabelLimits(value: unknown, cap: number, legendCap = cap): unknown {
  if (Array.isArray(value)) return value.map((v) => capLabelLimits(v, cap, legendCap));
  if (!value || typeof value !== 'object') return value;
  const out: Spec = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'data' || k === 'datasets') out[k] = v;
    else if (k === 'labelLimit' && typeof v === 'number') out[k] = Math.min(v, cap);
    else if (k === 'legend' && v && typeof v === 'object') {
      const columns = typeof (v as Spec).columns === 'number' ? ((v as Spec).columns as number) : 1;
      // a column holds the symbol and some space besides its label
      const share = Math.max(60, Math.floor(legendCap / columns) - 40);
      out[k] = capLabelLimits(v, share, share);
    } else out[k] = capLabelLimits(v, cap, legendCap);
  }
  return out;
}

/**
 * The longest label a chart `width` pixels wide keeps whole: a third of it, never under 80 px, and never over
 * 180 px, vega's default: vega places an axis title as if its labels were at most that wide, so a longer limit
 * puts the title on top of the labels (measured on the profile heat map: 200 px overlaps, 180 px does not).
 */
export const labelCap = (width: number): number => Math.min(180, Math.max(80, Math.floor(width / 3)));

/** The spec drawn in a container `width` pixels wide. */
export function fitSpec(spec: Spec, width: number): Spec {
  const capped = capLabelLimits(spec, labelCap(width), width - 120) as Spec;
  const out: Spec = isComposite(capped) ? fitComposite(capped, width) : { ...capped, width: 'container', autosize: { type: 'fit', contains: 'padding', resize: true } };
  if ('title' in spec) out.title = wrapped(spec.title, width);
  // vega's bounds of rotated axis labels fall ~5 px short on the left, where the first label (and a title
  // anchored at the start of the bounds) would be cut by the box: more room there than the default 5 px
  out.padding = { left: 14, top: 5, right: 8, bottom: 5 };
  return out;
}

/** vega config for a container `width` pixels wide: label limits, angles and overlap rules that keep labels apart. */
export function viewConfig(width: number): Spec {
  const narrow = width < 560;
  return {
    // band axes keep every label (vega-lite's default): hiding every other feature name loses information
    axis: { labelLimit: Math.min(labelCap(width), 170), titleLimit: Math.max(120, width - 80) },
    // only x: the names of a y band axis read across already
    axisXDiscrete: narrow ? { labelAngle: -45, labelAlign: 'right' } : {},
    axisQuantitative: { labelOverlap: 'greedy', tickCount: narrow ? 4 : 8 },
    legend: { labelLimit: Math.min(labelCap(width), 260), titleLimit: Math.min(labelCap(width), 260), ...(narrow ? { orient: 'bottom', direction: 'horizontal', columns: 2 } : {}) },
  };
}
