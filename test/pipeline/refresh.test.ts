import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventSource, warehouseConfig, type EventSource } from '../../src/engine/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import {
  historySizes, historyTransitions, monthlyPairs, publishRefresh, refreshModel, trainPipeline, DRIFT_REFERENCE_FILE, defaultRefreshAsOf,
} from '../../src/pipeline/index.js';
import { openModelStore, type ModelStore } from '../../src/registry/index.js';
import { signBody } from '../../src/shared/webhook.js';
import { readTable, readTableMetadata } from '../../src/shared/table-io.js';
import { writeSynthetic } from '../../src/synth/index.js';
import { clickhouseUrls, loadEventsIntoClickHouse } from '../engine/clickhouse-helper.js';

/**
 * Issue 21 parts 1-4 on a real (small, seeded) registry: refresh writes dated snapshots that replace their date,
 * count changes consistent with §9.2, measure drift against the training sample (live users), keep ids as the
 * model does, prune by retention, and publish changes to a file and a signed webhook.
 */
let dir: string;
let events: string;
let raw: ModelStore;
let none: ModelStore;
let source: EventSource;
let snapshotAsOf: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-refresh-'));
  await writeSynthetic(join(dir, 'data'), { users: 900, days: 150, seed: 21 });
  events = join(dir, 'data', 'events.parquet');
  raw = openModelStore(join(dir, 'models-raw'));
  none = openModelStore(join(dir, 'models-none'));
  const common = { events: [events], config: SYNTHETIC_PRESET, seed: 21, name: 'default', kind: 'logistic' as const, k: 4, resamples: 30 };
  await trainPipeline({ ...common, models: raw, keepUserIds: true });
  await trainPipeline({ ...common, models: none });
  snapshotAsOf = ((await raw.readManifest({ name: 'default', version: 1 })).params as { snapshotAsOf: string }).snapshotAsOf;
  source = await openEventSource({ engine: 'duckdb', events: [events] }, SYNTHETIC_PRESET);
}, 240_000);

afterAll(async () => {
  await source?.close();
});

describe('refresh', () => {
  it('writes the training sample drift is measured against: live users only, no ids', async () => {
    const t = await readTable(join(dir, 'models-raw', 'default', '1', DRIFT_REFERENCE_FILE));
    expect(t.names).not.toContain('user_id');
    expect(t.names).toContain('churn_probability');
    expect(t.names).toContain('churn_risk_score');
    const scores = await readTable(join(dir, 'models-raw', 'default', '1', 'scores.parquet'));
    const live = Array.from(scores.columns.already_churned as ArrayLike<number>).filter((v) => v === 0).length;
    expect(t.rows).toBe(live);
  });

  it('scores a date into the history; the same date again replaces it with the same rows', async () => {
    const a = await refreshModel({ models: raw, source, asOf: '2026-04-30' });
    expect(a.record.previous).toBeNull();
    expect(a.changes).toBeNull();
    expect(a.replaced).toBe(false);
    expect(a.record.member_ids).toBe('raw');
    const again = await refreshModel({ models: raw, source, asOf: '2026-04-30' });
    expect(again.replaced).toBe(true);
    expect(again.table.columns.user_id).toEqual(a.table.columns.user_id);
    expect(again.record.sizes).toEqual(a.record.sizes);
    const files = (await readdir(join(dir, 'models-raw', 'default', 'history'))).filter((f) => f.startsWith('2026-04-30'));
    expect(files.sort()).toEqual(['2026-04-30.json', again.record.file].sort());
    // the table names its model and date inside the Parquet file
    expect(await readTableMetadata(join(dir, 'models-raw', 'default', 'history', again.record.file))).toEqual({ model: 'default', version: String(again.record.model.version), as_of: '2026-04-30' });
    // sizes count every user once per column
    for (const counts of Object.values(a.record.sizes)) expect(Object.values(counts).reduce((s, v) => s + v, 0)).toBe(a.record.users);
  }, 60_000);

  it('counts changes since the previous snapshot as the §9.2 matrix does off its diagonal', async () => {
    const b = await refreshModel({ models: raw, source, asOf: '2026-05-15' });
    expect(b.record.previous).toBe('2026-04-30');
    const m = await historyTransitions(raw.history('default'), '2026-04-30', '2026-05-15', 'lifecycle_stage');
    let off = 0;
    m.from.forEach((f, i) => m.to.forEach((t, j) => (off += f === t ? 0 : m.counts[i][j])));
    expect(b.changes!.filter((c) => c.segment === 'lifecycle_stage').length).toBe(off);
    expect(b.record.changes).toBe(b.changes!.length);
    expect(off).toBeGreaterThan(0);
    expect(new Set(b.changes!.map((c) => c.as_of))).toEqual(new Set(['2026-05-15']));
  }, 60_000);

  it('measures drift on live users: the training date itself is stable, with evidence', async () => {
    const r = await refreshModel({ models: raw, source, asOf: snapshotAsOf });
    const d = r.record.drift!;
    expect(d.reference.as_of).toBe(snapshotAsOf);
    expect(d.current.users).toBe(r.record.users - r.record.already_churned);
    expect(d.prediction!.psi).toBeLessThan(1e-9);
    expect(d.summary.retrain_advised).toBe(false);
    expect(d.summary.act).toEqual([]);
    expect(d.summary.text).toMatch(/stable: no retraining advised/);
    for (const v of [...d.features, d.prediction!]) {
      // a constant feature has one bin and nothing to drift: no noise either
      if (v.bins.edges.length > 0) expect(v.noise_bound).toBeGreaterThan(0);
      else expect(v.psi).toBe(0);
      expect(v.bins.reference_shares.length).toBe(v.bins.edges.length + 1);
    }
  }, 60_000);

  it('lists sizes over time and month-over-month pairs', async () => {
    const points = await historySizes(raw.history('default'));
    expect(points.map((p) => p.as_of)).toEqual(['2026-04-30', '2026-05-15', snapshotAsOf].sort());
    expect(monthlyPairs(['2026-04-10', '2026-04-30', '2026-05-15', '2026-05-31', '2026-07-02'])).toEqual([['2026-04-30', '2026-05-31'], ['2026-05-31', '2026-07-02']]);
  });

  it('keeps the newest N snapshots when asked', async () => {
    const r = await refreshModel({ models: raw, source, asOf: '2026-05-20', keep: 3 });
    expect(r.pruned).toEqual(['2026-04-30']);
    expect(await raw.history('default').list()).toEqual(['2026-05-15', '2026-05-20', snapshotAsOf].sort());
  }, 60_000);

  it('a model without ids keeps keyed hashes that join snapshots but name nobody, and refuses to send changes', async () => {
    const a = await refreshModel({ models: none, source, asOf: '2026-05-01' });
    const b = await refreshModel({ models: none, source, asOf: '2026-05-31' });
    expect(a.record.member_ids).toBe('keyed');
    const ids = b.table.columns.user_id as string[];
    const rawIds = new Set((await readTable(join(dir, 'data', 'truth.csv'), { textColumns: ['user_id'] })).columns.user_id as string[]);
    expect(ids.every((id) => /^k_[0-9a-f]{24}$/.test(id) && !rawIds.has(id))).toBe(true);
    expect(b.record.changes).toBeGreaterThan(0);
    expect(b.changes).toBeNull();
    const key = await stat(join(dir, 'models-none', 'default', 'history', '.key'));
    expect(key.mode & 0o077).toBe(0);
    await expect(publishRefresh(b, { changesFile: join(dir, 'x.ndjson'), webhooks: [], deadLetterFile: join(dir, 'dl.ndjson') })).rejects.toThrow(/stores no user ids/);
  }, 60_000);

  it('picks the last complete day but never past the last event', () => {
    const last = source.report.lastEventMs;
    expect(defaultRefreshAsOf(source, last + 400 * 86_400_000)).toBe(new Date(last).toISOString().slice(0, 10));
    expect(defaultRefreshAsOf(source, Date.parse('2026-03-10T12:00:00Z'))).toBe('2026-03-09');
  });
});

describe('refresh from the warehouse', () => {
  it('ClickHouse (single node and 2 shards) gives the snapshot DuckDB gives', async () => {
    const urls = await clickhouseUrls();
    if (!urls) return;
    const loaded = await loadEventsIntoClickHouse(urls, 'refresh_events', events);
    await loaded.store.close();
    const duck = await refreshModel({ models: raw, source, asOf: '2026-05-28' });
    for (const url of [urls.single, urls.shards[0]]) {
      const ch = await openEventSource({ engine: 'clickhouse', url, table: 'refresh_events' }, warehouseConfig(SYNTHETIC_PRESET));
      try {
        const r = await refreshModel({ models: raw, source: ch, asOf: '2026-05-28' });
        expect(r.replaced).toBe(true);
        expect(r.record.sizes).toEqual(duck.record.sizes);
        const order = (t: typeof r.table) => new Map((t.columns.user_id as string[]).map((id, i) => [id, (t.columns.churn_probability as Float64Array)[i]]));
        const a = order(duck.table);
        const b = order(r.table);
        expect(b.size).toBe(a.size);
        for (const [id, p] of a) expect(Math.abs(b.get(id)! - p)).toBeLessThan(1e-9);
        expect(r.record.drift!.prediction!.psi).toBeCloseTo(duck.record.drift!.prediction!.psi, 9);
      } finally {
        await ch.close();
      }
    }
  }, 120_000);
});

describe('publishing changes', () => {
  it('writes NDJSON and delivers every change once to a signed webhook across a failure', async () => {
    const seen = new Map<string, string>();
    let calls = 0;
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        calls++;
        const ts = Number(req.headers['x-cohortlab-timestamp']);
        const ok = req.headers['x-cohortlab-signature'] === signBody('s3cret-for-tests', ts, body);
        if (!ok) return void res.writeHead(401).end();
        if (calls === 1) return void res.writeHead(503).end(); // a forced failure: retried
        seen.set(String(req.headers['idempotency-key']), body);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await refreshModel({ models: raw, source, asOf: '2026-05-25' });
      const file = join(dir, 'changes.ndjson');
      const report = await publishRefresh(r, {
        changesFile: file, webhooks: [{ url: `http://127.0.0.1:${port}/hook`, secret: 's3cret-for-tests', batchSize: 200 }], deadLetterFile: join(dir, 'dead.ndjson'), backoffMs: 5,
      });
      const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.length).toBe(r.changes!.length);
      expect(Object.keys(lines[0])).toEqual(['user_id', 'segment', 'from', 'to', 'as_of']);
      const received = [...seen.values()].flatMap((b) => JSON.parse(b).records);
      expect(received).toEqual(lines);
      expect(report.deliveries[0]).toMatchObject({ delivered: lines.length, deadLettered: 0, retries: 1 });
    } finally {
      server.close();
    }
  }, 60_000);
});
