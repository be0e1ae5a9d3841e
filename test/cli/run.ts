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
