import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';
import type { CommandContext } from '../../src/cli/command.js';
import { main } from '../../src/cli/index.js';
import { collectingLogger } from '../../src/shared/log.js';

/** Runs the CLI in this process: its exit code and what it wrote to stderr (results go to `ctx.out`, else nowhere). */
export async function runCli(argv: string[], ctx: Partial<CommandContext> = {}): Promise<{ code: number; err: string }> {
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(argv, { logger: collectingLogger(), out: () => {}, ...ctx });
    return { code, err: spy.mock.calls.map((c) => String(c[0])).join('') };
  } finally {
    spy.mockRestore();
  }
}

/** The repository root (the package root of the CLI under test). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.ts')) t = Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return t;
}

/**
 * Runs the built CLI (bin/cohortlab.js -> dist/) in a child process, as a user's shell does: exit code, stdout and
 * stderr apart. dist/ is rebuilt first when a source is newer (tsc emits even past a type error elsewhere).
 */
export function spawnCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { code: number | null; stdout: string; stderr: string } {
  const built = join(ROOT, 'dist', 'cli', 'index.js');
  if (!existsSync(built) || statSync(built).mtimeMs < newestMtime(join(ROOT, 'src'))) {
    spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'ignore' });
  }
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'cohortlab.js'), ...args], { cwd: opts.cwd ?? ROOT, encoding: 'utf8', env: { ...process.env, TZ: 'UTC', ...opts.env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
