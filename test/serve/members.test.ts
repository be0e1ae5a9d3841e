import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModelStore } from '../../src/registry/index.js';
import { buildApp, createProvider, type Loaded } from '../../src/serve/index.js';
import { selectMembersCached, sortRows } from '../../src/serve/snapshot.js';
import { trainedFixture } from './helper.js';

/**
 * GET /v1/members and GET /v1/export (issue 22 part 1): cluster AND segment AND q, sort by any column, the same
 * rows in the export as over all member pages. Expected rows are computed here from the snapshot's columns with
 * plain array methods (filter, then a sort of row objects), not with the server's selection.
 */
let app: FastifyInstance;
let l: Loaded;

beforeAll(async () => {
  const fx = await trainedFixture();
  const provider = await createProvider('default', openModelStore(fx.modelsDir));
  l = provider.current();
  app = await buildApp({ provider });
}, 180_000);

afterAll(async () => {
  await app?.close();
});

const get = async (url: string) => {
  const r = await app.inject(url);
  return { status: r.statusCode, json: r.headers['content-type']?.toString().includes('json') ? r.json() : null, body: r.body, headers: r.headers };
};

/** Every page of /v1/members for a query, concatenated. */
async function allPages(query: string, pageSize = 37): Promise<string[]> {
  const first = (await get(`/v1/members?${query}&page_size=${pageSize}&page=1`)).json;
  const ids: string[] = first.rows.map((r: { user_id: string }) => r.user_id);
  for (let p = 2; p <= first.pages; p++) ids.push(...(await get(`/v1/members?${query}&page_size=${pageSize}&page=${p}`)).json.rows.map((r: { user_id: string }) => r.user_id));
  return ids;
}

const col = (name: string) => l.snapshot.columns[name] as ArrayLike<unknown>;
const ids = () => col('user_id') as string[];

/** The expected member ids: filter with predicates, then a stable sort of row objects with NaN/null last. */
function expected(pred: (i: number) => boolean, sort?: string, order: 'asc' | 'desc' = 'desc'): string[] {
  const rows = Array.from({ length: l.snapshot.rows }, (_, i) => i).filter(pred);
  if (sort) {
    const c = col(sort);
    const missing = (v: unknown) => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
    const objs = rows.map((i) => ({ i, v: c[i] }));
    objs.sort((a, b) => {
      if (missing(a.v) || missing(b.v)) return missing(a.v) === missing(b.v) ? a.i - b.i : missing(a.v) ? 1 : -1;
      const cmp = (a.v as number | string) < (b.v as number | string) ? -1 : (a.v as number | string) > (b.v as number | string) ? 1 : 0;
      return (order === 'asc' ? cmp : -cmp) || a.i - b.i;
    });
    return objs.map((o) => ids()[o.i]);
  }
  return rows.map((i) => ids()[i]);
}

describe('GET /v1/members: filters combine, sort, search', () => {
  it('without a filter lists every user of the snapshot in snapshot order, and says what it applied', async () => {
    const r = await get('/v1/members?page_size=5');
    expect(r.status).toBe(200);
    expect(r.json.total).toBe(l.snapshot.rows);
    expect(r.json.rows.map((x: { user_id: string }) => x.user_id)).toEqual(ids().slice(0, 5));
    expect(r.json).toMatchObject({ filter: { cluster: null, by: null, segment: null, q: null }, sort: null, order: 'desc' });
    expect(r.json.sortable).toEqual(l.snapshot.names.filter((n) => n !== 'reasons'));
    expect(r.json.sortable).toEqual(expect.arrayContaining(['churn_probability', 'churn_risk_score', 'user_id', 'behavioral_segment']));
  });

  it('cluster AND segment AND q: exactly the users meeting all three, in every page', async () => {
    const cl = col('cluster') as Float64Array;
    const seg = col('behavioral_segment') as string[];
    // the largest cluster and its most common segment, so the combination is not empty
    const counts = new Map<string, number>();
    for (let i = 0; i < cl.length; i++) counts.set(`${cl[i]}|${seg[i]}`, (counts.get(`${cl[i]}|${seg[i]}`) ?? 0) + 1);
    const [best] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    const [k, s] = [Number(best.split('|')[0]), best.split('|')[1]];
    const both = expected((i) => cl[i] === k && seg[i] === s);
    expect(both.length).toBeGreaterThan(10);
    expect(both.length).toBeLessThan(expected((i) => cl[i] === k).length);
    const q = `cluster=${k}&segment=${encodeURIComponent(s)}`;
    const r = await get(`/v1/members?${q}&page_size=10`);
    expect(r.json).toMatchObject({ total: both.length, pages: Math.ceil(both.length / 10), filter: { cluster: k, by: 'behavioral_segment', segment: s, q: null } });
    expect(await allPages(q)).toEqual(both);
    // a case-insensitive substring of the id: take a piece of one member's id, upper-cased
    const piece = both[3].slice(-2).toUpperCase();
    const withQ = expected((i) => cl[i] === k && seg[i] === s && ids()[i].toLowerCase().includes(piece.toLowerCase()));
    expect(withQ.length).toBeGreaterThan(0);
    expect(withQ.length).toBeLessThan(both.length);
    expect(await allPages(`${q}&q=${encodeURIComponent(piece)}`)).toEqual(withQ);
  });

  it('sorts numeric columns numerically and text columns by string, both orders, ties in snapshot order', async () => {
    const cl = col('cluster') as Float64Array;
    for (const [sort, order] of [['churn_probability', 'desc'], ['churn_probability', 'asc'], ['churn_risk_score', 'desc'], ['lifecycle_stage', 'asc'], ['user_id', 'desc']] as const) {
      const want = expected((i) => cl[i] === 1, sort, order);
      const got = await allPages(`cluster=1&sort=${sort}&order=${order}`, 200);
      expect(got, `${sort} ${order}`).toEqual(want);
    }
    // churn_risk_score has many ties: the first page keeps snapshot order within a score
    const page = (await get('/v1/members?sort=churn_risk_score&order=asc&page_size=200')).json.rows as { user_id: string; churn_risk_score: number }[];
    const rowOf = (id: string) => l.rowOf.get(id)!;
    for (let i = 1; i < page.length; i++) {
      if (page[i].churn_risk_score === page[i - 1].churn_risk_score) expect(rowOf(page[i].user_id)).toBeGreaterThan(rowOf(page[i - 1].user_id));
      else expect(page[i].churn_risk_score).toBeGreaterThan(page[i - 1].churn_risk_score);
    }
    expect((await get('/v1/members?sort=churn_probability')).json).toMatchObject({ sort: 'churn_probability', order: 'desc' });
  });

  it('a combination that matches nobody is an empty page, not an error', async () => {
    const r = await get('/v1/members?cluster=0&q=no-such-user-id-anywhere');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ total: 0, pages: 1, rows: [], filter: { cluster: 0, q: 'no-such-user-id-anywhere' } });
    const cl = col('cluster') as Float64Array;
    const seg = col('behavioral_segment') as string[];
    // a segment value that exists, in a cluster that holds none of it (when there is such a pair)
    const values = [...new Set(seg)];
    const empty = values.flatMap((v) => [0, 1, 2, 3].map((k) => [k, v] as const)).find(([k, v]) => !seg.some((s, i) => s === v && cl[i] === k));
    if (empty) expect((await get(`/v1/members?cluster=${empty[0]}&segment=${encodeURIComponent(empty[1])}`)).json).toMatchObject({ total: 0, pages: 1, rows: [] });
  });

  it('refuses a cluster that does not exist, an unknown by or sort column and a segment value nobody has', async () => {
    const k = (await get('/v1/members?cluster=99')).json;
    expect(k).toMatchObject({ code: 'UNKNOWN_CLUSTER', path: 'querystring:cluster' });
    const by = await get('/v1/members?by=nope&segment=x');
    expect(by.status).toBe(400);
    expect(by.json).toMatchObject({ code: 'UNKNOWN_COLUMN', path: 'querystring:by' });
    const seg = await get('/v1/members?cluster=0&segment=Nobody');
    expect(seg.status).toBe(404);
    expect(seg.json.message).toMatch(/no users in behavioral_segment = "Nobody"; values: /);
    for (const s of ['nope', 'reasons']) {
      const sort = await get(`/v1/members?sort=${s}`);
      expect(sort.status).toBe(400);
      expect(sort.json).toMatchObject({ code: 'UNKNOWN_COLUMN', path: 'querystring:sort' });
      expect(sort.json.message).toMatch(new RegExp(`^sort=${s} is not a column of the snapshot; sort by one of user_id, churn_probability, .*cluster`));
    }
    expect((await get('/v1/members?order=up')).status).toBe(400);
  });
});

describe('GET /v1/export: exactly the members the list shows', () => {
  it('streams the member pages of a combined filter + q + sort, in the same order, named after the filter', async () => {
    // the most common (cluster, lifecycle stage) pair of the snapshot
    const cl = col('cluster') as Float64Array;
    const seg = col('lifecycle_stage') as string[];
    const counts = new Map<string, number>();
    for (let i = 0; i < cl.length; i++) counts.set(`${cl[i]}|${seg[i]}`, (counts.get(`${cl[i]}|${seg[i]}`) ?? 0) + 1);
    const [k, value] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0].split('|');
    const piece = '2';
    const q = `cluster=${k}&by=lifecycle_stage&segment=${encodeURIComponent(value)}&q=${piece}&sort=churn_probability&order=asc`;
    const pages = await allPages(q, 13);
    expect(pages.length).toBeGreaterThan(13);
    const r = await get(`/v1/export?${q}`);
    expect(r.status).toBe(200);
    const lines = r.body.trim().split('\n');
    const header = lines[0].split(',');
    expect(lines.slice(1).map((x) => x.split(',')[header.indexOf('user_id')])).toEqual(pages);
    const slug = value.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
    expect(r.headers['content-disposition']).toBe(`attachment; filename="default-1-cluster-${k}_lifecycle-stage-${slug}_q-2_by-churn-probability-asc-${l.model.params.snapshotAsOf}.csv"`);
    const all = await get('/v1/export');
    expect(all.body.trim().split('\n')).toHaveLength(l.snapshot.rows + 1);
    expect(all.headers['content-disposition']).toMatch(/filename="default-1-all-\d{4}-\d{2}-\d{2}\.csv"/);
  });
});

describe('sortRows', () => {
  it('puts NaN last in both orders and keeps ties in row order', () => {
    const v = Float64Array.from([3, NaN, 1, 3, NaN, 2]);
    const rows = (order: 'asc' | 'desc') => {
      const r = Uint32Array.from([0, 1, 2, 3, 4, 5]);
      sortRows(r, v, order);
      return [...r];
    };
    expect(rows('asc')).toEqual([2, 5, 0, 3, 1, 4]);
    expect(rows('desc')).toEqual([0, 3, 5, 2, 1, 4]);
    const t = Uint32Array.from([0, 1, 2, 3]);
    sortRows(t, ['b', null, 'a', 'b'], 'desc');
    expect([...t]).toEqual([0, 3, 2, 1]);
  });
});

describe('selectMembersCached', () => {
  it('answers a repeated query (the next page, the export of the list) from the kept selection, at most 4 kept', () => {
    const a = selectMembersCached(l, { sort: 'churn_probability', order: 'asc' });
    expect(selectMembersCached(l, { sort: 'churn_probability', order: 'asc' })).toBe(a);
    expect(selectMembersCached(l, { sort: 'churn_probability', order: 'desc' })).not.toBe(a);
    for (const sort of ['user_id', 'cluster', 'churn_risk_score', 'lifecycle_stage']) selectMembersCached(l, { sort });
    const again = selectMembersCached(l, { sort: 'churn_probability', order: 'asc' });
    expect(again).not.toBe(a);
    expect([...again.rows]).toEqual([...a.rows]);
  });
});
