import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterReport } from '../../src/cluster/index.js';
import { openEventSource } from '../../src/engine/index.js';
import { refreshModel } from '../../src/pipeline/index.js';
import { openModelStore } from '../../src/registry/index.js';
import { buildApp, createProvider, loadPropensity, loadServing } from '../../src/serve/index.js';
import { trainedFixture, trainedUpgradeFixture } from './helper.js';

/**
 * Issue 22 parts 3-4: every chart the routes serve has a title and a top-level text description (vega puts it in
 * the SVG's aria-label), and each "cluster vs rule column" chart names its crosstab and ARI in `usermeta`. The
 * fixture gets two refresh snapshots (a month apart) so /v1/history, /v1/transitions and /v1/drift have charts.
 */
let app: FastifyInstance;
let report: ClusterReport;

const addDays = (d: string, n: number) => new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  const fx = await trainedFixture();
  const dir = join(await mkdtemp(join(tmpdir(), 'cl-charts-')), 'models');
  await cp(fx.modelsDir, dir, { recursive: true });
  const store = openModelStore(dir);
  const model = (await loadServing('default', store)).model;
  for (const d of [addDays(model.params.snapshotAsOf, -31), model.params.snapshotAsOf]) {
    const source = await openEventSource({ engine: 'duckdb', events: [fx.events] }, model.config);
    try {
      await refreshModel({ models: store, model, source, asOf: d });
    } finally {
      await source.close();
    }
  }
  report = (model.report as { clusters: ClusterReport }).clusters;
  const up = await trainedUpgradeFixture();
  app = await buildApp({ provider: await createProvider('default', store), propensity: await loadPropensity('upgrade', openModelStore(up.modelsDir)) });
}, 300_000);

afterAll(async () => {
  await app?.close();
});

/** Every vega-lite spec inside an answer: objects with a mark, layer, concat or facet at their top, with where they sit. */
function specsIn(value: unknown, path = ''): { path: string; spec: Record<string, unknown> }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => specsIn(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const o = value as Record<string, unknown>;
  if (['mark', 'layer', 'vconcat', 'hconcat', 'concat', 'facet'].some((k) => k in o)) return [{ path, spec: o }];
  return Object.entries(o).flatMap(([k, v]) => specsIn(v, `${path}.${k}`));
}

describe('served charts', () => {
  it('every spec of /v1/charts, /v1/history, /v1/transitions, /v1/drift, /v1/propensity and /v1/clusters/:cluster has a title and a description', async () => {
    const urls = ['/v1/charts', '/v1/history', '/v1/history?column=lifecycle_stage', '/v1/transitions', '/v1/transitions?by=cluster_label', '/v1/drift', '/v1/propensity', '/v1/clusters/0', '/v1/clusters/1?compare=3'];
    const seen: string[] = [];
    for (const url of urls) {
      const r = await app.inject(url);
      expect(r.statusCode, url).toBe(200);
      const specs = specsIn(r.json());
      expect(specs.length, url).toBeGreaterThan(0);
      for (const { path, spec } of specs) {
        const where = `${url} ${path}`;
        seen.push(where);
        const title = typeof spec.title === 'string' ? spec.title : (spec.title as { text?: string } | undefined)?.text;
        expect(title, where).toMatch(/\w/);
        expect(typeof spec.description, where).toBe('string');
        // a sentence, not a label: it says what the chart shows with at least one of its numbers
        expect(spec.description as string, where).toMatch(/^\S.{30,}\.$/s);
        expect(spec.description as string, where).toMatch(/\d/);
      }
    }
    // the panels that must be there on this fixture
    for (const part of ['.clusters.pca[0]', '.clusters.cross[0]', '.clusters.heat[0]', '.evaluation.roc', '.evaluation.importance', '.retention.segment', '/v1/history .chart', '/v1/transitions .matrices[0].chart', '/v1/drift .chart', '/v1/propensity .charts.roc', '/v1/clusters/0 .charts.distributions', '/v1/clusters/1?compare=3 .charts.reasons']) {
      expect(seen.some((s) => s.includes(part)), part).toBe(true);
    }
  }, 120_000);

  it('each cluster-vs-rule chart names its crosstab column and ARI, in the order of fit.crosstabs', async () => {
    const charts = (await app.inject('/v1/charts')).json();
    const clusters = (await app.inject('/v1/clusters')).json();
    const cross = charts.clusters.cross as { title: string; usermeta: { column: string; ari: number } }[];
    expect(cross.length).toBe(report.crosstabs.length);
    expect(cross.length).toBeGreaterThan(3);
    expect(cross.map((c) => c.usermeta)).toEqual(clusters.fit.crosstabs.map((t: { column: string; ari: number }) => ({ column: t.column, ari: t.ari })));
    for (const c of cross) expect(c.title).toContain(`(ARI with the clusters ${c.usermeta.ari.toFixed(2)})`);
  });
});
