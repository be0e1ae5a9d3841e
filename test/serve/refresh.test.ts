import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openEventSource, warehouseConfig } from '../../src/engine/index.js';
import { clickhouseUrls, loadEventsIntoClickHouse } from '../engine/clickhouse-helper.js';
import { refreshModel, type LoadedModel } from '../../src/pipeline/index.js';
import { openModelStore, type ModelStore } from '../../src/registry/index.js';
import type { SegmentRule } from '../../src/rules/index.js';
import { buildApp, createProvider, createRefresher, loadServing, parseCadence, startServer } from '../../src/serve/index.js';
import { collectingLogger, silentLogger } from '../../src/shared/log.js';
import { trainedFixture, type Fixture } from './helper.js';

/**
 * serve --refresh (issue 21 part 1): a server that re-scores every second from a small synthetic log while
 * clients hammer it. Each run steps the clock one day, so each snapshot has its own date and its own rows:
 * every answer must name a date and hold exactly that date's values (never a mix), and no request may fail.
 */
let fx: Fixture;
let modelsDir: string;
let trainedAsOf: string;

const addDays = (d: string, n: number) => new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/** A private copy of the trained registry (each test writes its own history). */
async function registryCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cl-refresh-'));
  await cp(fx.modelsDir, join(dir, 'models'), { recursive: true });
  return join(dir, 'models');
}

const source = (m: LoadedModel) => openEventSource({ engine: 'duckdb', events: [fx.events] }, m.config);

beforeAll(async () => {
  fx = await trainedFixture();
  modelsDir = await registryCopy();
  trainedAsOf = (await loadServing('default@1', openModelStore(modelsDir))).model.params.snapshotAsOf;
}, 240_000);

describe('parseCadence', () => {
  const rule = (refresh?: SegmentRule['refresh']) => ({ name: 'x', refresh }) as SegmentRule;
  it('reads the named cadences, every:N and the shortest refresh: of the rule files', () => {
    expect(parseCadence('daily', []).intervalMs).toBe(86_400_000);
    expect(parseCadence('every:20s', []).intervalMs).toBe(20_000);
    expect(parseCadence('every:5m', []).intervalMs).toBe(300_000);
    expect(parseCadence('rules', [rule('weekly'), rule('daily'), rule('manual')])).toEqual({ label: 'rules (daily)', intervalMs: 86_400_000 });
    expect(() => parseCadence('rules', [rule('manual'), rule()])).toThrow(/none of the model's 2 rule-file segment\(s\) sets a "refresh:" cadence/);
    expect(() => parseCadence('every:0s', [])).toThrow(/between 1s and 366 days/);
    expect(() => parseCadence('fortnightly', [])).toThrow(/"fortnightly" is not a cadence/);
  });
});

describe('the schedule', () => {
  it('a monthly cadence waits its 30 days (past the 24.8 days a Node timer holds), then runs', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') });
    try {
      const provider = await createProvider('default', openModelStore(modelsDir));
      let opened = 0;
      const refresher = createRefresher({
        provider,
        cadence: parseCadence('rules', [{ name: 'x', refresh: 'monthly' } as SegmentRule]),
        logger: silentLogger,
        runAtStart: false,
        openSource: async () => {
          opened++;
          throw new Error('no source in this test');
        },
      });
      refresher.start();
      expect(refresher.state().next_at).toBe('2026-01-31T00:00:00.000Z');
      await vi.advanceTimersByTimeAsync(29 * 86_400_000);
      expect(opened).toBe(0);
      await vi.advanceTimersByTimeAsync(86_400_000 + 1000);
      expect(opened).toBe(1);
      expect(refresher.state().next_at).toBe('2026-03-02T00:00:00.000Z');
      await refresher.stop();
    } finally {
      vi.useRealTimers();
    }
  }, 60_000);
});

describe('serve --refresh every:1s under load', () => {
  let app: FastifyInstance;
  let base: string;
  let store: ModelStore;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    const dir = await registryCopy();
    store = openModelStore(dir);
    // the clock steps one day per run, starting 12 days before the training snapshot (the log covers them)
    let run = 0;
    const clock = () => new Date(`${addDays(trainedAsOf, -12 + run++)}T06:00:00Z`);
    const started = await startServer({
      ref: 'default', modelsDir: dir, port: 0, host: '127.0.0.1', logger: silentLogger,
      refresh: { cadence: 'every:1s', source: (config) => ({ spec: { engine: 'duckdb', events: [fx.events] }, config }), clock },
    });
    app = started.app;
    base = started.url.replace(/\/$/, '');
    stop = () => started.refresher!.stop();
  }, 120_000);
  afterAll(async () => {
    await app?.close();
  });

  it('switches snapshots while clients hammer users, segments and predict: zero failures, every answer dated and whole', async () => {
    const snap = await loadServing('default@1', store);
    // users already there at the earliest date the runs score (later sign-ups are rightly unknown before)
    const early = openModelStore(await registryCopy());
    const src = await source(snap.model);
    const first = await refreshModel({ models: early, model: snap.model, source: src, asOf: addDays(trainedAsOf, -13) }).finally(() => src.close());
    const ids = (first.table.columns.user_id as string[]).filter((_, i) => i % 7 === 0).slice(0, 40);
    const features = Object.fromEntries(snap.model.featureNames.map((n, i) => [n, (i % 4) + 1]));
    const predictBody = JSON.stringify({ users: [{ user_id: 'u-x', features }] });
    const failures: string[] = [];
    const userAnswers: { id: string; as_of: string; p: number; segment: string }[] = [];
    const segmentAnswers: { as_of: string; sizes: Record<string, number>; users: number }[] = [];
    const predictions = new Set<string>();
    let running = true;
    let n = 0;
    const client = async (k: number) => {
      while (running) {
        const i = n++;
        const kind = (i + k) % 3;
        const url = kind === 0 ? `${base}/v1/users/${encodeURIComponent(ids[i % ids.length])}` : kind === 1 ? `${base}/v1/segments` : `${base}/v1/predict`;
        const r = kind === 2 ? await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: predictBody }) : await fetch(url);
        const text = await r.text();
        if (r.status !== 200) {
          failures.push(`${r.status} ${url}: ${text.slice(0, 200)}`);
          continue;
        }
        const j = JSON.parse(text);
        if (kind === 0) userAnswers.push({ id: ids[i % ids.length], as_of: j.as_of, p: j.churn_probability, segment: j.behavioral_segment });
        else if (kind === 1) segmentAnswers.push({ as_of: j.snapshot.as_of, sizes: j.snapshot.sizes.behavioral_segment, users: j.snapshot.users });
        else predictions.add(JSON.stringify(j.predictions[0].churn_probability));
      }
    };
    const clients = Array.from({ length: 4 }, (_, k) => client(k));
    // until four refreshed snapshots have been served
    const t0 = Date.now();
    let dates: string[] = [];
    while (Date.now() - t0 < 60_000) {
      dates = await store.history('default').list();
      const served = new Set(userAnswers.map((a) => a.as_of));
      if (dates.length >= 4 && dates.filter((d) => served.has(d)).length >= 3) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    running = false;
    await Promise.all(clients);
    await stop();
    expect(failures.slice(0, 3)).toEqual([]);
    dates = await store.history('default').list();
    expect(dates.length).toBeGreaterThanOrEqual(4);
    expect(dates[0]).toBe(addDays(trainedAsOf, -13));
    // every answer is dated, by the training snapshot or a stored refresh, and holds exactly that date's values
    const history = store.history('default');
    const tables = new Map<string, { p: Map<string, number>; seg: Map<string, string> }>();
    for (const d of dates) {
      const t = await history.readTable(d);
      const uid = t.columns.user_id as string[];
      tables.set(d, { p: new Map(uid.map((u, i) => [u, (t.columns.churn_probability as Float64Array)[i]])), seg: new Map(uid.map((u, i) => [u, (t.columns.behavioral_segment as string[])[i]])) });
    }
    const trainedP = new Map((snap.snapshot.columns.user_id as string[]).map((u, i) => [u, (snap.snapshot.columns.churn_probability as Float64Array)[i]]));
    let checked = 0;
    for (const a of userAnswers) {
      expect(a.as_of).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      const want = a.as_of === trainedAsOf ? trainedP.get(a.id) : tables.get(a.as_of)?.p.get(a.id);
      if (a.as_of !== trainedAsOf) expect(tables.get(a.as_of)?.seg.get(a.id), `segment of ${a.id} at ${a.as_of}`).toBe(a.segment);
      expect(a.p, `${a.id} at ${a.as_of}`).toBeCloseTo(want as number, 12);
      checked++;
    }
    for (const s of segmentAnswers) {
      if (s.as_of === trainedAsOf) continue;
      const rec = await history.read(s.as_of);
      expect(s.sizes, `sizes at ${s.as_of}`).toEqual(rec.sizes.behavioral_segment);
      expect(s.users).toBe(rec.users);
    }
    // the snapshots differ (a mix would show) and several were served while the clients ran
    const served = [...new Set(userAnswers.map((a) => a.as_of))].filter((d) => d !== trainedAsOf);
    expect(served.length).toBeGreaterThanOrEqual(3);
    const sizesOf = await Promise.all(served.map(async (d) => JSON.stringify((await history.read(d)).sizes.behavioral_segment)));
    expect(new Set(sizesOf).size).toBeGreaterThan(1);
    // predictions do not depend on the snapshot: one answer throughout
    expect(predictions.size).toBe(1);
    expect(checked).toBeGreaterThan(50);
    // health tells the served snapshot and the schedule
    const h = await (await fetch(`${base}/v1/health`)).json();
    expect(h.snapshot.source).toBe('refresh');
    expect(dates).toContain(h.snapshot.as_of);
    expect(h.refresh.cadence).toBe('every:1s');
    expect(h.refresh.last.status).toBe('ok');
    expect(h.refresh.last.as_of).toBe(dates[dates.length - 1]);
    expect(h.refresh.next_at).toBeNull(); // stopped
  }, 120_000);
});

describe('refresh runs', () => {
  it('a failed run logs one line with the reason and keeps serving; runs never overlap', async () => {
    const dir = await registryCopy();
    const store = openModelStore(dir);
    const provider = await createProvider('default', store);
    const logger = collectingLogger();
    let missing = false;
    let now = `${addDays(trainedAsOf, -3)}T12:00:00Z`;
    const refresher = createRefresher({
      provider,
      cadence: parseCadence('daily', []),
      logger,
      clock: () => new Date(now),
      openSource: (m) => openEventSource({ engine: 'duckdb', events: [missing ? join(dir, 'gone.parquet') : fx.events] }, m.config),
    });
    const app = await buildApp({ provider, refresher });
    try {
      const [first, second] = await Promise.all([refresher.runOnce(), refresher.runOnce()]);
      expect(second).toBeNull();
      expect(first?.status).toBe('ok');
      expect(first?.as_of).toBe(addDays(trainedAsOf, -4));
      expect(refresher.state().skipped).toBe(1);
      expect(logger.lines.some((l) => /skipped: the run started at .* is still going/.test(l))).toBe(true);
      expect(provider.current().refreshed?.as_of).toBe(addDays(trainedAsOf, -4));
      // a clock past the log: the as-of stays at the last event day (a static file keeps its date)
      now = `${addDays(trainedAsOf, 40)}T12:00:00Z`;
      expect((await refresher.runOnce())?.as_of).toBe(trainedAsOf);
      missing = true;
      const failed = await refresher.runOnce();
      expect(failed?.status).toBe('error');
      expect(failed?.error).toMatch(/gone\.parquet/);
      expect(logger.lines.filter((l) => /failed, still serving the snapshot of/.test(l))).toHaveLength(1);
      expect(provider.current().refreshed?.as_of).toBe(trainedAsOf);
      const h = (await app.inject('/v1/health')).json();
      expect(h.refresh.last).toMatchObject({ status: 'error', served: false });
      expect(h.snapshot).toEqual({ as_of: trainedAsOf, source: 'refresh', users: provider.current().snapshot.rows });
      const m = (await app.inject('/v1/models')).json();
      expect(m.snapshot.as_of).toBe(trainedAsOf);
      expect(m.refresh.cadence).toBe('daily');
    } finally {
      await app.close();
    }
  }, 120_000);

  it('a reload during a run wins: the snapshot is stored, not served by the reloaded state, and the next run serves', async () => {
    const dir = await registryCopy();
    const store = openModelStore(dir);
    const provider = await createProvider('default', store);
    // the run's source opens only once the reload is done: the run's basis is then no longer the loaded state
    let reloadDone = () => {};
    const gate = new Promise<void>((r) => (reloadDone = r));
    const refresher = createRefresher({ provider, cadence: parseCadence('daily', []), logger: silentLogger, clock: () => new Date(`${addDays(trainedAsOf, -6)}T12:00:00Z`), openSource: async (m) => (await gate, source(m)) });
    const running = refresher.runOnce();
    await provider.reload();
    reloadDone();
    const reloaded = provider.current();
    const run = await running;
    expect(run).toMatchObject({ status: 'ok', as_of: addDays(trainedAsOf, -7), served: false });
    expect(provider.current()).toBe(reloaded);
    expect(await store.history('default').list()).toEqual([addDays(trainedAsOf, -7)]);
    expect((await refresher.runOnce())?.served).toBe(true);
    expect(provider.current().refreshed?.as_of).toBe(addDays(trainedAsOf, -7));
  }, 120_000);

  it('writes each run\'s segment changes (--changes): the records of the newest snapshot, as many as it counted', async () => {
    const dir = await registryCopy();
    const changes = join(dir, '..', 'changes.ndjson');
    let run = 0;
    const started = await startServer({
      ref: 'default', modelsDir: dir, port: 0, host: '127.0.0.1', logger: silentLogger,
      refresh: { cadence: 'every:1s', source: (config) => ({ spec: { engine: 'duckdb', events: [fx.events] }, config }), clock: () => new Date(`${addDays(trainedAsOf, -30 + 29 * Math.min(run++, 1))}T06:00:00Z`), changesFile: changes },
    });
    try {
      const t0 = Date.now();
      while (Date.now() - t0 < 30_000 && (started.refresher!.state().last?.as_of !== addDays(trainedAsOf, -2) || started.refresher!.state().running)) await new Promise((res) => setTimeout(res, 100));
      await started.refresher!.stop();
      const rec = await openModelStore(dir).history('default').read(addDays(trainedAsOf, -2));
      expect(rec.previous).toBe(addDays(trainedAsOf, -31));
      const lines = (await readFile(changes, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(lines).toHaveLength(rec.changes as number);
      expect(new Set(lines.map((l) => l.as_of))).toEqual(new Set([rec.as_of]));
      expect(Object.keys(lines[0]).sort()).toEqual(['as_of', 'from', 'segment', 'to', 'user_id']);
    } finally {
      await started.app.close();
    }
  }, 120_000);

  it('in the worker thread too, a failed run says why and the training snapshot stays served', async () => {
    const dir = await registryCopy();
    const started = await startServer({
      ref: 'default', modelsDir: dir, port: 0, host: '127.0.0.1', logger: silentLogger,
      refresh: { cadence: 'daily', source: (config) => ({ spec: { engine: 'duckdb', events: [join(dir, 'missing.parquet')] }, config }) },
    });
    try {
      const t0 = Date.now();
      while (Date.now() - t0 < 60_000 && !started.refresher!.state().last) await new Promise((r) => setTimeout(r, 100));
      const h = await (await fetch(`${started.url}v1/health`)).json();
      expect(h.refresh.last).toMatchObject({ status: 'error', as_of: null, served: false });
      expect(h.refresh.last.error).toMatch(/missing\.parquet/);
      expect(h.snapshot).toMatchObject({ as_of: trainedAsOf, source: 'training' });
      expect((await fetch(`${started.url}v1/segments`)).status).toBe(200);
    } finally {
      await started.app.close();
    }
  }, 120_000);

  it('reads the warehouse (ClickHouse single node and 2 shards): the served snapshot is the one DuckDB gives', async () => {
    const urls = await clickhouseUrls();
    if (!urls) return;
    const loaded = await loadEventsIntoClickHouse(urls, 'serve_refresh_events', fx.events);
    await loaded.store.close();
    const asOf = addDays(trainedAsOf, -10);
    const model = (await loadServing('default', openModelStore(modelsDir))).model;
    const files = await source(model);
    const duck = await refreshModel({ models: openModelStore(await registryCopy()), model, source: files, asOf }).finally(() => files.close());
    for (const url of [urls.single, urls.shards[0]]) {
      const dir = await registryCopy();
      const started = await startServer({
        ref: 'default', modelsDir: dir, port: 0, host: '127.0.0.1', logger: silentLogger,
        refresh: { cadence: 'daily', source: (config) => ({ spec: { engine: 'clickhouse', url, table: 'serve_refresh_events' }, config: warehouseConfig(config) }), clock: () => new Date(`${addDays(asOf, 1)}T03:00:00Z`) },
      });
      try {
        const t0 = Date.now();
        while (Date.now() - t0 < 60_000 && !started.refresher!.state().last) await new Promise((r) => setTimeout(r, 100));
        expect(started.refresher!.state().last).toMatchObject({ status: 'ok', as_of: asOf, served: true });
        const seg = await (await fetch(`${started.url}v1/segments`)).json();
        expect(seg.snapshot.as_of).toBe(asOf);
        expect(seg.snapshot.sizes.behavioral_segment).toEqual(duck.record.sizes.behavioral_segment);
        const id = (duck.table.columns.user_id as string[])[5];
        const u = await (await fetch(`${started.url}v1/users/${id}`)).json();
        expect(u.churn_probability).toBeCloseTo((duck.table.columns.churn_probability as Float64Array)[5], 9);
      } finally {
        await started.app.close();
      }
    }
  }, 180_000);

  it('at startup, serves the newest snapshot scored by the loaded version after its training snapshot', async () => {
    const dir = await registryCopy();
    const store = openModelStore(dir);
    const model = (await loadServing('default', store)).model;
    const later = addDays(trainedAsOf, 5);
    for (const asOf of [addDays(trainedAsOf, -2), later]) {
      const src = await source(model);
      try {
        await refreshModel({ models: store, model, source: src, asOf });
      } finally {
        await src.close();
      }
    }
    const app = await buildApp({ provider: await createProvider('default', store) });
    try {
      const h = (await app.inject('/v1/health')).json();
      expect(h.snapshot.as_of).toBe(later);
      expect(h.snapshot.source).toBe('refresh');
      expect(h.refresh).toBeNull();
      const rec = await store.history('default').read(later);
      const seg = (await app.inject('/v1/segments')).json();
      expect(seg.snapshot.as_of).toBe(later);
      expect(seg.snapshot.sizes.behavioral_segment).toEqual(rec.sizes.behavioral_segment);
      const cl = (await app.inject('/v1/clusters')).json();
      expect(cl.snapshot.as_of).toBe(later);
      expect(Object.fromEntries(cl.snapshot.clusters.map((c: { label: string; users: number }) => [c.label, c.users]))).toEqual(rec.sizes.cluster_label);
      const members = (await app.inject('/v1/members?by=behavioral_segment&segment=' + encodeURIComponent(Object.keys(rec.sizes.behavioral_segment)[0]))).json();
      expect(members.as_of).toBe(later);
      expect(members.total).toBe(Object.values(rec.sizes.behavioral_segment)[0]);
      const csv = (await app.inject('/v1/export?cluster=0')).body.trim().split('\n');
      expect(csv[1].endsWith(`,${later}`)).toBe(true);
    } finally {
      await app.close();
    }
  }, 120_000);
});
