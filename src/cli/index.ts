import { formatHelp, parseArgs } from './args.js';
import type { CommandContext } from './command.js';
import { COMMANDS } from './commands.js';
import { reportError } from './report-error.js';
import { stderrLogger } from '../shared/log.js';

/**
 * Entry point of `cohortlab`. Exit codes (../shared/CONTRACT.md): 0 success, 2 bad input or usage
 * (one sentence on stderr, no stack trace), 1 internal error (stack only with COHORTLAB_DEBUG=1).
 */
export function topHelp(): string {
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n');
  return `cohortlab: behavioral features, playbook rule segments, discovered clusters and a churn model from product events.\n\nUsage: cohortlab <command> [options]\n\nCommands:\n${rows}\n\nRun "cohortlab <command> --help" for a command's options. Exit codes: 0 ok, 2 bad input or usage, 1 internal error.\n`;
}

export async function main(argv: string[], ctx: Partial<CommandContext> = {}): Promise<number> {
  const context: CommandContext = {
    logger: ctx.logger ?? stderrLogger(),
    out: ctx.out ?? ((t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`)),
    cwd: ctx.cwd ?? process.cwd(),
    env: ctx.env ?? process.env,
  };
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    context.out(topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    context.out('cohortlab 0.1.0');
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`cohortlab: unknown command "${name}"; commands: ${COMMANDS.map((c) => c.name).join(', ')}. Run "cohortlab --help".\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    context.out(formatHelp(command.name, command.summary, command.usage, command.options, command.help));
    return 0;
  }
  try {
    const args = parseArgs(rest, command.options, command.name);
    return await command.run(args, context);
  } catch (e) {
    return reportError(command.name, e, context.env, (text) => process.stderr.write(text));
  }
}
