import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serveCommand } from '../../src/cli/serve.js';
import { ROOT, spawnCli } from './run.js';

/**
 * What the Dockerfile promises, checked without Docker (not installed on the build machines): Debian slim Node 20 in
 * both stages, a build stage with dev dependencies and a run stage with `npm ci --omit=dev`, a non-root user, /models
 * a volume, the port exposed = serve's default = the one CMD and HEALTHCHECK use; then the image's ENTRYPOINT + CMD are
 * run as they are (host and port swapped for a free loopback port, /models for a temp registry) and the HEALTHCHECK
 * command itself is run against that server: 0 while it is up, 1 once it is stopped.
 */
interface Instruction {
  op: string;
  args: string;
}

function parseDockerfile(text: string): Instruction[] {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const m = /^(\S+)\s+(.*)$/.exec(l);
      if (!m) throw new Error(`Dockerfile line without arguments: ${l}`);
      return { op: m[1].toUpperCase(), args: m[2] };
    });
}

const DOCKERFILE = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const stages: Instruction[][] = [];
for (const i of DOCKERFILE) {
  if (i.op === 'FROM') stages.push([]);
  stages.at(-1)?.push(i);
}
const runtime = stages.at(-1) ?? [];
const one = (op: string): string => {
  const found = runtime.filter((i) => i.op === op);
  expect(found, `the run stage has one ${op}`).toHaveLength(1);
  return found[0].args;
};
const execForm = (args: string): string[] => JSON.parse(args) as string[];
const flagValue = (argv: string[], flag: string): string | undefined => argv[argv.indexOf(flag) + 1];

const healthcheck = one('HEALTHCHECK');
const healthArgv = execForm(healthcheck.slice(healthcheck.indexOf('CMD ') + 4));
const healthUrl = new URL(/fetch\('([^']+)'/.exec(healthArgv.join(' '))?.[1] ?? 'http://invalid/');
const entrypoint = execForm(one('ENTRYPOINT'));
const cmd = execForm(one('CMD'));
const env = Object.fromEntries(runtime.filter((i) => i.op === 'ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])));

describe('Dockerfile: the promises, read statically', () => {
  it('two stages on the Debian slim Node 20 image: build with dev dependencies, run with npm ci --omit=dev', () => {
    expect(stages.length).toBe(2);
    expect(DOCKERFILE.filter((i) => i.op === 'FROM').map((i) => i.args.split(/\s+/)[0])).toEqual(['node:20-bookworm-slim', 'node:20-bookworm-slim']);
    const buildRuns = stages[0].filter((i) => i.op === 'RUN').map((i) => i.args).join(' && ');
    expect(buildRuns).toMatch(/npm ci\b(?!.*--omit=dev).*&& npm run build/);
    const runRuns = runtime.filter((i) => i.op === 'RUN').map((i) => i.args).join(' && ');
    expect(runRuns).toMatch(/npm ci --omit=dev\b/);
    expect(runtime.filter((i) => i.op === 'COPY').map((i) => i.args)).toContain('--from=build /src/dist ./dist');
  });

  it('every file it copies exists, and .dockerignore keeps none of them out', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const sources = DOCKERFILE.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from')).flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src', 'bin', 'explorer', 'rules']));
    for (const s of sources) {
      expect(existsSync(join(ROOT, s)), s).toBe(true);
      expect(ignored, `${s} is copied but .dockerignore excludes it`).not.toContain(s);
    }
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', 'models', '.git']));
  });

  it('runs as a non-root user', () => {
    const users = runtime.filter((i) => i.op === 'USER').map((i) => i.args.split(':')[0]);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0']).not.toContain(users.at(-1));
    // the entrypoint comes after the USER switch, so serve never runs as root
    expect(runtime.findIndex((i) => i.op === 'USER')).toBeLessThan(runtime.findIndex((i) => i.op === 'ENTRYPOINT'));
  });

  it('/models is a volume and the registry the commands use', () => {
    expect(execForm(one('VOLUME'))).toEqual(['/models']);
    expect(env.COHORTLAB_MODELS_DIR).toBe('/models');
  });

  it('EXPOSE = serve --port default = the port of CMD = the port HEALTHCHECK asks; CMD listens on 0.0.0.0', () => {
    const portDefault = serveCommand.options.find((o) => o.name === 'port')?.default;
    expect(one('EXPOSE')).toBe(portDefault);
    expect(entrypoint).toEqual(['node', '/app/bin/cohortlab.js']);
    expect(cmd[0]).toBe('serve');
    expect(flagValue(cmd, '--port')).toBe(portDefault);
    expect(flagValue(cmd, '--host')).toBe('0.0.0.0');
    expect(healthUrl.port).toBe(portDefault);
  });

  it('HEALTHCHECK runs node (no curl in slim images) on /v1/health', () => {
    expect(healthArgv[0]).toBe('node');
    expect(healthcheck).not.toMatch(/curl|wget/);
    expect(healthUrl.pathname).toBe('/v1/health');
  });
});

describe('Dockerfile: the CMD and the HEALTHCHECK, run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cohortlab-docker-'));
  const models = join(dir, 'models');
  let server: ChildProcess | undefined;
  afterAll(() => {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every file of the registry with its size and mtime: serving must leave it as it was (so a read-only mount works). */
  const snapshot = () =>
    readdirSync(models, { recursive: true, withFileTypes: true })
      .map((e) => join(e.parentPath, e.name))
      .sort()
      .map((p) => `${p} ${statSync(p).size} ${statSync(p).mtimeMs}`);

  it('the image CMD serves a registry; the health check passes while it is up and fails once it is stopped', async () => {
    const trained = spawnCli(['train', '--events', join(ROOT, 'test', 'fixtures', 'cdnow-200.txt'), '--preset', 'cdnow', '--horizon-days', '90', '--seed', '7', '--resamples', '50', '-q'], { env: { COHORTLAB_MODELS_DIR: models } });
    expect(trained.stdout, trained.stderr).toBe('default@1\n');
    const before = snapshot();

    // ENTRYPOINT + CMD as written; only the interface, the port (0 = a free one) and the registry folder differ
    const argv = cmd.map((a, i) => (cmd[i - 1] === '--host' ? '127.0.0.1' : cmd[i - 1] === '--port' ? '0' : a));
    expect(entrypoint[1]).toBe('/app/bin/cohortlab.js');
    server = spawn(process.execPath, [join(ROOT, 'bin', 'cohortlab.js'), ...argv], { cwd: dir, env: { ...process.env, ...env, COHORTLAB_MODELS_DIR: models, COHORTLAB_API_KEY: 'secret-key-for-the-test' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const port = await new Promise<number>((resolve, reject) => {
      server?.stderr?.on('data', (d: Buffer) => {
        stderr += String(d);
        const m = /cohortlab explorer: http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      server?.on('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });

    const res = await fetch(`http://127.0.0.1:${port}${healthUrl.pathname}`);
    expect(res.status).toBe(200);
    // health also names the served snapshot and the refresh schedule (none: the image's CMD has no --refresh)
    expect(await res.json()).toMatchObject({ status: 'ok', model: { name: 'default', version: 1 }, snapshot: { source: 'training' }, refresh: null });

    // the HEALTHCHECK command, pointed at this server's port; it needs no API key
    const check = () => spawnSync(healthArgv[0] === 'node' ? process.execPath : healthArgv[0], healthArgv.slice(1).map((a) => a.replace(healthUrl.host, `127.0.0.1:${port}`)), { encoding: 'utf8', timeout: 20_000 });
    expect(check().status).toBe(0);
    expect(snapshot()).toEqual(before);

    const exited = new Promise((resolve) => server?.on('exit', resolve));
    server.kill('SIGTERM');
    await exited;
    expect(check().status).toBe(1);
  }, 240_000);
});
