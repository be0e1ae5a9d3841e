import { describe, expect, it } from 'vitest';
import { capLabelLimits, fitSpec, labelCap, specTitle, viewConfig, wrapTitle } from '../../explorer/src/layout.js';

describe('fitting specs to their panel', () => {
  it('wraps a long title at spaces into lines no longer than the limit', () => {
    const t = 'Churn rate within the horizon by cluster (as of 2026-05-31, 18,232 users)';
    const lines = wrapTitle(t, 30);
    expect(lines.join(' ')).toBe(t);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(30);
    expect(wrapTitle('short', 30)).toEqual(['short']);
    expect(wrapTitle('averyveryverylongsingleword next', 10)).toEqual(['averyveryverylongsingleword', 'next']);
  });

  it('gives a single or layered view the container width and keeps its title whole on lines', () => {
    const spec = { title: 'Users per cluster (as of 2026-05-31)', width: 420, mark: 'bar', encoding: {} };
    const out = fitSpec(spec, 300);
    expect(out.width).toBe('container');
    expect(out.autosize).toEqual({ type: 'fit', contains: 'padding', resize: true });
    expect(specTitle(out)).toBe(spec.title);
    const text = (out.title as { text: string | string[] }).text;
    expect(Array.isArray(text) ? text.join(' ') : text).toBe(spec.title);
    // the input is not changed
    expect(spec.width).toBe(420);
    expect(fitSpec({ layer: [], width: { step: 30 } }, 800).width).toBe('container');
  });

  it('splits the width between the cells of a concatenated view, leaving room for labels', () => {
    const out = fitSpec({ hconcat: [{ mark: 'bar', width: 500 }, { mark: 'bar', width: 500 }] }, 800);
    const widths = (out.hconcat as { width: number }[]).map((c) => c.width);
    expect(widths).toEqual([210, 210]);
    expect(widths.reduce((a, b) => a + b, 0)).toBeLessThan(800);
    const v = fitSpec({ vconcat: [{ mark: 'bar' }, { hconcat: [{ mark: 'bar' }] }] }, 700);
    expect((v.vconcat as { width?: number }[])[0].width).toBe(510);
    expect(((v.vconcat as { hconcat: { width: number }[] }[])[1].hconcat)[0].width).toBe(320);
    const f = fitSpec({ facet: { row: { field: 'feature' } }, spec: { mark: 'bar' } }, 600);
    expect((f.spec as { width: number }).width).toBe(410);
  });

  it('caps the label limits a spec sets at a third of the width (180 px at most), leaving its data alone', () => {
    const spec = { data: { values: [{ labelLimit: 999 }] }, encoding: { y: { axis: { labelLimit: 400 } }, color: { legend: { labelLimit: 50 } } } };
    const out = capLabelLimits(spec, labelCap(450)) as typeof spec;
    expect(out.encoding.y.axis.labelLimit).toBe(150);
    expect(labelCap(2000)).toBe(180);
    expect(out.encoding.color.legend.labelLimit).toBe(50);
    expect(out.data).toBe(spec.data);
    expect(labelCap(150)).toBe(80);
    expect((fitSpec(spec, 300) as typeof spec).encoding.y.axis.labelLimit).toBe(100);
    // a legend below the plot: its columns share the width, beyond the axes' 180 px
    const legend = { encoding: { color: { legend: { orient: 'bottom', columns: 2, labelLimit: 400 } } } };
    expect((capLabelLimits(legend, 180, 700) as typeof legend).encoding.color.legend.labelLimit).toBe(310);
    expect((capLabelLimits(legend, 180, 300) as typeof legend).encoding.color.legend.labelLimit).toBe(110);
  });

  it('chooses label limits, angles and legend placement by the width', () => {
    const narrow = viewConfig(400) as { axis: { labelLimit: number }; axisXDiscrete: { labelAngle?: number }; legend: { orient?: string } };
    const wide = viewConfig(1000) as typeof narrow;
    expect(narrow.axis.labelLimit).toBeLessThan(wide.axis.labelLimit);
    expect(narrow.axisXDiscrete.labelAngle).toBe(-45);
    expect(wide.axisXDiscrete.labelAngle).toBeUndefined();
    expect(narrow.legend.orient).toBe('bottom');
    expect(wide.legend.orient).toBeUndefined();
  });
});
