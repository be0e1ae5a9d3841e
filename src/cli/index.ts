import { readFileSync } from 'node:fs';
import { formatHelp, parseArgs, QUIET_OPTION } from './args.js';
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
  return `cohortlab: behavioral features, playbook rule segments, discovered clusters and a churn model from product events.\n\nUsage: cohortlab <command> [options]\n\nCommands:\n${rows}\n\nRun "cohortlab <command> --help" for a command's options; every command takes -q/--quiet, and -- ends its options.\n"cohortlab -V" (--version) prints the version. Exit codes: 0 ok, 2 bad input or usage, 1 internal error.\n`;
}

/** The version of package.json (two folders up from src/cli and from dist/cli alike). */
export function cliVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[], ctx: Partial<CommandContext> = {}): Promise<number> {
  const context: CommandContext = {
    logger: ctx.logger ?? stderrLogger(),
    out: ctx.out ?? ((t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`)),
    cwd: ctx.cwd ?? process.cwd(),
    env: ctx.env ?? process.env,
    argv,
  };
  const [name, ...rest] = argv;
  // bare `cohortlab` prints the usage on stdout and exits 0, like `--help` (git, npm and docker do the same)
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    context.out(topHelp());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    context.out(`cohortlab ${cliVersion()}`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    const what = name.startsWith('-') ? `unknown option ${name} before the command (the top level takes -h/--help and -V/--version)` : `unknown command "${name}"`;
    process.stderr.write(`cohortlab: ${what}; commands: ${COMMANDS.map((c) => c.name).join(', ')}. Run "cohortlab --help".\n`);
    return 2;
  }
  const options = [...command.options, QUIET_OPTION];
  const beforeEnd = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (beforeEnd.includes('--help') || beforeEnd.includes('-h')) {
    context.out(formatHelp(command.name, command.summary, command.usage, options, command.help));
    return 0;
  }
  try {
    const args = parseArgs(rest, options, command.name, { usage: command.usage, positionals: command.positionals });
    // --quiet: progress and informational lines go nowhere; warnings and errors are still printed
    const logger = args.flags.quiet === true ? { ...context.logger, info: () => {}, progress: () => {} } : context.logger;
    return await command.run(args, { ...context, logger });
  } catch (e) {
    return reportError(command.name, e, context.env, (text) => process.stderr.write(text));
  }
}
