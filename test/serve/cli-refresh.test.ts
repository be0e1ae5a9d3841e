import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, spawnCli } from '../cli/run.js';
import { trainedFixture, type Fixture } from './helper.js';

/**
 * `cohortlab serve --refresh` as a user starts it: the flags that tell the event source are refused without
 * --refresh (not ignored), a bad cadence or a missing source stops the start (exit 2), and the built CLI serves
 * the refreshed snapshot and tells it in /v1/health.
 */
let fx: Fixture;
let modelsDir: string;
let child: ChildProcess | null = null;

beforeAll(async () => {
  fx = await trainedFixture();
  modelsDir = join(await mkdtemp(join(tmpdir(), 'cl-cli-refresh-')), 'models');
  await cp(fx.modelsDir, modelsDir, { recursive: true });
}, 240_000);

afterAll(() => {
  child?.kill('SIGTERM');
});

describe('serve --refresh flags', () => {
  it('refuses source flags without --refresh, a bad cadence, and --refresh without a source', async () => {
    const lone = await runCli(['serve', '--models-dir', modelsDir, '--events', fx.events]);
    expect(lone.code).toBe(2);
    expect(lone.err).toMatch(/--events tells where serve --refresh reads events; add --refresh CADENCE/);
    const bad = await runCli(['serve', '--models-dir', modelsDir, '--port', '0', '--refresh', 'fortnightly', '--events', fx.events]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--refresh "fortnightly" is not a cadence: use hourly, daily, weekly, rules/);
    const none = await runCli(['serve', '--models-dir', modelsDir, '--port', '0', '--refresh', 'daily']);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/--refresh needs an event source: --events FILE/);
  });
});

describe('the built CLI', () => {
  it('serve --refresh every:1s serves the refreshed snapshot and tells it in /v1/health', async () => {
    expect(spawnCli(['--version']).code).toBe(0); // rebuilds dist/ when a source is newer
    child = spawn(process.execPath, [join(ROOT, 'bin', 'cohortlab.js'), 'serve', '--models-dir', modelsDir, '--port', '0', '--refresh', 'every:1s', '--events', fx.events], { env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const url = await new Promise<string>((resolve, reject) => {
      child!.stderr!.on('data', (d) => {
        err += String(d);
        const m = /cohortlab explorer: (http:\/\/\S+\/)/.exec(err);
        if (m) resolve(m[1]);
      });
      child!.on('exit', (c) => reject(new Error(`serve exited with ${c}: ${err}`)));
    });
    expect(err).toMatch(/refreshing every:1s \(every 1 s; first run now\)/);
    let h: { snapshot: { as_of: string; source: string }; refresh: { last: { status: string; as_of: string } | null } } | null = null;
    const t0 = Date.now();
    while (Date.now() - t0 < 60_000) {
      h = await (await fetch(`${url}v1/health`)).json();
      if (h?.refresh.last?.status === 'ok' && h.snapshot.source === 'refresh') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    // a static file keeps its date: the as-of is the log's last event day, the training snapshot's date here
    const trained = (await (await fetch(`${url}v1/models`)).json()).loaded.params.snapshotAsOf;
    expect(h?.snapshot).toMatchObject({ as_of: trained, source: 'refresh' });
    expect(h?.refresh.last).toMatchObject({ status: 'ok', as_of: trained });
    expect(err).toMatch(new RegExp(`refresh default@1 as of ${trained}: [\\d,]+ users, .*; now served`));
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    child = null;
  }, 120_000);
});
