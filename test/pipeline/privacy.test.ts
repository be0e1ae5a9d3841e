import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { trainPipeline } from '../../src/pipeline/train.js';
import { buildApp, createProvider } from '../../src/serve/index.js';
import { collectingLogger } from '../../src/shared/log.js';
import { pseudonym, saltFingerprint } from '../../src/shared/pseudonym.js';
import { readTable } from '../../src/shared/table-io.js';
import { writeSynthetic } from '../../src/synth/index.js';
import { openModelStore } from '../../src/registry/index.js';

/**
 * Source article 001 (data minimization, pseudo-anonymization): a trained version holds no user id unless
 * asked (--keep-user-ids), or keyed hashes of them (--pseudonymize). Checked by scanning every byte of the
 * saved model folder, and the Parquet snapshots decoded, for the ids of the input.
 */
const SALT = 'a-test-salt-of-sufficient-length';
let dir: string;
let ids: string[];
const folders: Record<'none' | 'raw' | 'pseudonymized', string> = { none: '', raw: '', pseudonymized: '' };
const servers: FastifyInstance[] = [];

async function filesUnder(d: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

/** Every text the folder holds: raw bytes of every file, plus the decoded text of its Parquet files. */
async function folderText(d: string): Promise<string> {
  let text = '';
  for (const f of await filesUnder(d)) {
    text += (await readFile(f)).toString('latin1');
    if (f.endsWith('.parquet')) {
      const t = await readTable(f);
      for (const n of t.names) if (Array.isArray(t.columns[n])) text += (t.columns[n] as string[]).join('\n');
    }
  }
  return text;
}

/** Rows the ingest rejects, each with an id of its own: a model must not keep them even with --keep-user-ids (no raw event). */
const REJECTED = ['zzrej-7301-q', 'zzrej-7302-q', 'zzrej-7303-q'];
const BAD_CSV = [
  'user_id,timestamp,event,session_id,plan,signup_at',
  `${REJECTED[0]},not-a-time,app_opened,s1,free,2025-06-20T10:05:18Z`,
  `${REJECTED[1]},2026-01-07T09:13:56Z,app_opened`,
  `${REJECTED[2]},2026-01-07T09:13:56Z,,s3,free,2025-06-20T10:05:18Z`,
  '',
].join('\n');
const logs = collectingLogger();

/** Trains through the CLI as a user would; returns the version folder. */
async function trainCli(name: string, flags: string[], env: NodeJS.ProcessEnv): Promise<string> {
  let printed = '';
  const argv = ['train', '--events', join(dir, 'data', 'events.parquet'), join(dir, 'bad.csv'), '--preset', 'synthetic', '--seed', '12', '--name', name, '--model', 'logistic', '--k', '3', '--resamples', '20', '--models-dir', join(dir, 'models'), ...flags];
  expect(await main(argv, { logger: logs, out: (t) => (printed += t), env, cwd: dir })).toBe(0);
  return join(dir, 'models', name, printed.trim().split('@')[1]);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-privacy-'));
  await writeSynthetic(join(dir, 'data'), { users: 400, days: 120, seed: 12 });
  await writeFile(join(dir, 'bad.csv'), BAD_CSV);
  const truth = await readTable(join(dir, 'data', 'truth.csv'));
  ids = truth.columns.user_id as string[];
  const r = await trainPipeline({
    events: [join(dir, 'data', 'events.parquet'), join(dir, 'bad.csv')], config: SYNTHETIC_PRESET, seed: 12, name: 'none', models: openModelStore(join(dir, 'models')), kind: 'logistic', k: 3, resamples: 20, logger: logs,
  });
  folders.none = r.version.dir;
  folders.raw = await trainCli('raw', ['--keep-user-ids'], {});
  folders.pseudonymized = await trainCli('pseudonymized', ['--pseudonymize'], { COHORTLAB_PSEUDONYM_SALT: SALT });
}, 240_000);
afterAll(async () => {
  for (const s of servers) await s.close();
  await rm(dir, { recursive: true, force: true });
});

describe('user ids in a saved model', () => {
  it('by default: no input user id anywhere in the folder (Parquet decoded too)', async () => {
    const text = await folderText(folders.none);
    const found = [...ids, ...REJECTED].filter((id) => text.includes(id));
    expect(found).toEqual([]);
    // the rejected rows are accounted for by file:line and what is wrong, not by their content
    const ingest = JSON.stringify(JSON.parse(await readFile(join(folders.none, 'report.json'), 'utf8')));
    for (const line of ['line 2', 'line 3', 'line 4']) expect(ingest).toContain(line);
    expect(ingest).toContain('timestamp \\"not-a-time\\"');
    const manifest = JSON.parse(await readFile(join(folders.none, 'manifest.json'), 'utf8'));
    expect(manifest.memberIds).toBe('none');
    const snap = await readTable(join(folders.none, 'scores.parquet'));
    expect(snap.names).not.toContain('user_id');
    expect(snap.rows).toBeGreaterThan(300); // the per-user scores are still there, without identities
  });

  it('--pseudonymize: keyed hashes only, the salt and the ids absent, a fingerprint of the salt recorded', async () => {
    const text = await folderText(folders.pseudonymized);
    expect([...ids, ...REJECTED].filter((id) => text.includes(id))).toEqual([]);
    expect(text).not.toContain(SALT);
    const snap = await readTable(join(folders.pseudonymized, 'scores.parquet'));
    const stored = new Set(snap.columns.user_id as string[]);
    expect(stored.size).toBe(snap.rows);
    expect(ids.filter((id) => stored.has(pseudonym(id, SALT))).length).toBe(snap.rows);
    const manifest = JSON.parse(await readFile(join(folders.pseudonymized, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ memberIds: 'pseudonymized', saltFingerprint: saltFingerprint(SALT) });
  });

  it('--keep-user-ids: the ids are there, because they were asked for', async () => {
    const text = await folderText(folders.raw);
    const snap = await readTable(join(folders.raw, 'scores.parquet'));
    expect((snap.columns.user_id as string[]).every((id) => ids.includes(id) && text.includes(id))).toBe(true);
    expect(snap.rows).toBeGreaterThan(300);
    expect(REJECTED.filter((id) => text.includes(id))).toEqual([]);
    expect(JSON.parse(await readFile(join(folders.raw, 'manifest.json'), 'utf8')).memberIds).toBe('raw');
  });

  it('the CLI says how ids were stored; --pseudonymize without a salt, or with --keep-user-ids, is exit 2 with a sentence', async () => {
    expect(logs.lines).toContain('user ids: not stored (the default): the server answers profiles and sizes, not members; train with --keep-user-ids, or --pseudonymize, to serve members');
    expect(logs.lines.filter((l) => l.startsWith('user ids: stored as keyed hashes'))).toHaveLength(1);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const argv = ['train', '--events', join(dir, 'data', 'events.parquet'), '--preset', 'synthetic', '--seed', '1', '--name', 'refused', '--models-dir', join(dir, 'models')];
      expect(await main([...argv, '--pseudonymize'], { logger: collectingLogger(), out: () => {}, env: {}, cwd: dir })).toBe(2);
      expect(await main([...argv, '--pseudonymize'], { logger: collectingLogger(), out: () => {}, env: { COHORTLAB_PSEUDONYM_SALT: 'short' }, cwd: dir })).toBe(2);
      expect(await main([...argv, '--pseudonymize', '--keep-user-ids'], { logger: collectingLogger(), out: () => {}, env: { COHORTLAB_PSEUDONYM_SALT: SALT }, cwd: dir })).toBe(2);
      const said = stderr.mock.calls.map((c) => String(c[0]));
      expect(said[0]).toBe('cohortlab train: --pseudonymize needs a secret salt of at least 16 characters in COHORTLAB_PSEUDONYM_SALT (it is never stored with the model; keep it to look users up later).\n');
      expect(said[1]).toBe(said[0]);
      expect(said[2]).toBe('cohortlab train: give --keep-user-ids or --pseudonymize, not both.\n');
    } finally {
      stderr.mockRestore();
    }
    await expect(readdir(join(dir, 'models', 'refused'))).rejects.toThrow();
  });

  it('keeping and pseudonymizing at once is refused', async () => {
    await expect(trainPipeline({ events: [join(dir, 'data', 'events.parquet')], config: SYNTHETIC_PRESET, seed: 1, name: 'x', models: openModelStore(join(dir, 'models')), keepUserIds: true, pseudonymizeSalt: SALT })).rejects.toThrow('give --keep-user-ids or --pseudonymize, not both.');
  });
});

describe('members through the server', () => {
  async function serve(name: string): Promise<string> {
    const app = await buildApp({ provider: await createProvider(name, openModelStore(join(dir, 'models'))) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    servers.push(app);
    return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  }

  it('a model without ids serves profiles and sizes, and answers member routes with 409 saying how to get them', async () => {
    const base = await serve('none');
    expect((await fetch(`${base}/v1/segments`)).status).toBe(200);
    expect((await fetch(`${base}/v1/clusters`)).status).toBe(200);
    for (const path of [`/v1/users/${ids[0]}`, '/v1/members?cluster=0', '/v1/export?cluster=0']) {
      const r = await fetch(`${base}${path}`);
      expect(r.status, path).toBe(409);
      expect(await r.json()).toEqual({ code: 'NO_MEMBER_IDS', message: expect.stringContaining('--keep-user-ids'), path: expect.any(String) });
    }
    const points = await (await fetch(`${base}/v1/points?sample=50`)).text();
    expect(ids.filter((id) => points.includes(id))).toEqual([]);
  });

  it.skipIf(!existsSync('/usr/bin/chromium'))('the explorer on a model without ids: charts drawn, the member list says why it is empty, export off', async () => {
    const base = await serve('none');
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(String(e)));
      type W = { cohortlab?: { ready?: boolean; pending: number; errors: string[]; marks(id: string): number } };
      const open = async (query: string) => {
        await page.goto(`${base}/${query}`);
        await page.waitForFunction(() => ((window as unknown as W).cohortlab?.ready === true && (window as unknown as W).cohortlab?.pending === 0) || ((window as unknown as W).cohortlab?.errors.length ?? 0) > 0, null, { timeout: 60_000 });
        expect(await page.evaluate(() => (window as unknown as W).cohortlab?.errors)).toEqual([]);
      };
      await open('');
      expect(await page.evaluate(() => (window as unknown as W).cohortlab!.marks('chart-pca'))).toBeGreaterThan(0);
      // a cluster's detail is served without ids; its member list says why it is empty
      await page.locator('#cluster-table tr.pickable').first().click();
      await page.waitForFunction(() => new URL(location.href).searchParams.get('panel') === 'detail' && (window as unknown as W).cohortlab?.pending === 0);
      expect(await page.locator('#detail-stats tbody tr').count()).toBeGreaterThan(0);
      await open('?panel=members&mcluster=0');
      expect(await page.locator('#members-summary').innerText()).toContain('was trained without storing user ids (privacy default): profiles and sizes are served, members are not. Train with --keep-user-ids');
      expect(await page.locator('#members-table tr').count()).toBe(0);
      expect(await page.locator('#export').isDisabled()).toBe(true);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('a model with ids: member routes give them, no other route does', async () => {
    const base = await serve('raw');
    for (const path of ['/v1/health', '/v1/models', '/v1/clusters', '/v1/segments', '/v1/charts', '/v1/report', '/v1/points?sample=400', '/v1/openapi.json']) {
      const r = await fetch(`${base}${path}`);
      expect(r.status, path).toBe(200);
      const text = await r.text();
      expect([...ids, ...REJECTED].filter((id) => text.includes(`"${id}"`)), path).toEqual([]);
    }
    const user = (await (await fetch(`${base}/v1/users/${ids[0]}`)).json()) as { user_id: string };
    expect(user.user_id).toBe(ids[0]);
    const csv = await (await fetch(`${base}/v1/export?cluster=0`)).text();
    expect(csv.split('\n')[1]).toMatch(/^u\d{6},/);
  });

  it('a pseudonymized model: lookup by pseudonym, or by raw id when the server holds the salt; exports carry pseudonyms', async () => {
    const base = await serve('pseudonymized');
    const snap = await readTable(join(folders.pseudonymized, 'scores.parquet'));
    const p0 = (snap.columns.user_id as string[])[0];
    const raw = ids.find((id) => pseudonym(id, SALT) === p0)!;
    expect((await fetch(`${base}/v1/users/${p0}`)).status).toBe(200);
    const before = process.env.COHORTLAB_PSEUDONYM_SALT;
    try {
      delete process.env.COHORTLAB_PSEUDONYM_SALT;
      expect((await fetch(`${base}/v1/users/${raw}`)).status).toBe(404);
      process.env.COHORTLAB_PSEUDONYM_SALT = SALT;
      const r = await fetch(`${base}/v1/users/${raw}`);
      expect(r.status).toBe(200);
      expect(((await r.json()) as { user_id: string }).user_id).toBe(p0);
    } finally {
      if (before === undefined) delete process.env.COHORTLAB_PSEUDONYM_SALT;
      else process.env.COHORTLAB_PSEUDONYM_SALT = before;
    }
    const csv = await (await fetch(`${base}/v1/export?cluster=0`)).text();
    expect(csv.split('\n')[1]).toMatch(/^p_[0-9a-f]{24},/);
    // a server given another salt says so when it loads the model
    const before2 = process.env.COHORTLAB_PSEUDONYM_SALT;
    try {
      for (const [salt, warned] of [[SALT, 0], ['another-salt-of-enough-length', 1]] as const) {
        process.env.COHORTLAB_PSEUDONYM_SALT = salt;
        const log = collectingLogger();
        await createProvider('pseudonymized', openModelStore(join(dir, 'models')), log);
        expect(log.lines.filter((l) => l.includes('COHORTLAB_PSEUDONYM_SALT is not the salt pseudonymized@1 was trained with'))).toHaveLength(warned);
      }
    } finally {
      if (before2 === undefined) delete process.env.COHORTLAB_PSEUDONYM_SALT;
      else process.env.COHORTLAB_PSEUDONYM_SALT = before2;
    }
    expect(ids.filter((id) => csv.includes(`${id},`))).toEqual([]);
  });
});
