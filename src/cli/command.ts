import type { Logger } from '../shared/log.js';
import type { OptionSpec, ParsedArgs, PositionalSpec } from './args.js';

/** What a command gets besides its flags: where to write results and human messages. */
export interface CommandContext {
  logger: Logger;
  /** Results (tables, versions, JSON) go here; messages and progress go to the logger (stderr). */
  out: (text: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The command line as given (command name first): what `serve --workers` starts its workers with. */
  argv?: string[];
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec[];
  /** The positional arguments it takes (only `models`); without it any stray word is exit 2. */
  positionals?: PositionalSpec;
  /** Extra help text (examples, output columns). */
  help?: string;
  /** Returns the exit code (0 on success). Throw CohortlabError for bad input (exit 2). */
  run(args: ParsedArgs, ctx: CommandContext): Promise<number>;
}
