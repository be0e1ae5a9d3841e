import { CohortlabError } from '../shared/errors.js';
import { closestName } from '../shared/names.js';

/**
 * Flag parsing for every command. Options are declared as data; `--name value`, `--name=value`,
 * repeated flags, and flags that take several values (`--events a.csv b.csv`) are supported.
 */
export interface OptionSpec {
  name: string;
  /** 'string' takes one value, 'list' one or more (until the next flag), 'boolean' none (or =true/false/yes/no/1/0). */
  type: 'string' | 'list' | 'boolean';
  description: string;
  required?: boolean;
  /** Shown in --help; the command applies defaults itself. */
  default?: string;
  placeholder?: string;
  /** A one-letter alias (`-q` for `--quiet`). */
  short?: string;
}

/** What a command accepts besides its options; a command without it takes none, so a stray word is exit 2. */
export interface PositionalSpec {
  /** The most positional arguments accepted. */
  max: number;
  /** How the usage names them, for the error message ("a subcommand and up to two model references"). */
  what: string;
}

export type ParsedArgs = {
  flags: Record<string, string | string[] | boolean | undefined>;
  positionals: string[];
};

export interface ParseContext {
  /** The command's usage line, quoted by every usage error. */
  usage?: string;
  positionals?: PositionalSpec;
}

/** `--quiet` / `-q`, accepted by every command (src/cli/index.ts adds it): progress and informational lines are not printed. */
export const QUIET_OPTION: OptionSpec = { name: 'quiet', short: 'q', type: 'boolean', description: 'print no progress or informational lines on stderr (warnings and errors still are; results still go to stdout)' };

/** The values a boolean flag accepts after `=`, case-insensitively. */
const BOOLEAN_WORDS: Record<string, boolean> = { true: true, yes: true, on: true, '1': true, false: false, no: false, off: false, '0': false };

/** An argument that is an option rather than a value: `--name`, `-x` (but not `-` alone or a negative number like `-5`). */
function looksLikeOption(arg: string): boolean {
  return arg.startsWith('--') || /^-[A-Za-z]/.test(arg);
}

/** The known option nearest a misspelt one (within a third of its length, at least 2 edits, or a unique prefix), or undefined. */
export function nearestOption(name: string, specs: OptionSpec[]): string | undefined {
  const names = specs.map((s) => s.name);
  // a unique prefix of at least 3 letters (--dict for --dictionary) is a near miss too
  const prefixed = name.length >= 3 ? names.filter((n) => n.startsWith(name)) : [];
  return prefixed.length === 1 ? prefixed[0] : closestName(name, names);
}

/**
 * Parses a command's arguments. Exit-2 errors (CohortlabError BAD_ARGUMENT) for an unknown option (with the nearest known
 * one), a stray positional argument, a boolean given a value other than true/false/yes/no/on/off/1/0, a missing value or
 * a missing required option; each names the argument and quotes the command's usage. `--` ends the options: every
 * argument after it is positional.
 */
export function parseArgs(argv: string[], specs: OptionSpec[], command: string, context: ParseContext = {}): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short as string, s]));
  const flags: ParsedArgs['flags'] = {};
  const positionals: string[] = [];
  const hint = `${context.usage ? ` Usage: cohortlab ${context.usage}.` : ''} See "cohortlab ${command} --help".`;
  const fail = (sentence: string): never => {
    throw new CohortlabError('BAD_ARGUMENT', `${sentence}${hint}`);
  };
  let optionsEnded = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (optionsEnded || !looksLikeOption(arg)) {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      optionsEnded = true;
      continue;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      if (eq >= 0) inline = arg.slice(eq + 1);
      spec = byName.get(name);
      if (!spec) {
        const near = nearestOption(name, specs);
        const known = specs.map((s) => `--${s.name}`).join(', ');
        fail(`unknown option --${name} for "cohortlab ${command}"; ${near ? `did you mean --${near}?` : `known options: ${known || '(none)'}.`}`);
      }
    } else {
      // one-letter aliases: `-q`, or `-qV`-style bundles are not supported (a short option stands alone)
      spec = arg.length === 2 ? byShort.get(arg[1]) : undefined;
      if (!spec) {
        const shorts = [...byShort.keys()].map((k) => `-${k}`);
        fail(`unknown option ${arg} for "cohortlab ${command}"; ${shorts.length ? `its one-letter options are ${shorts.join(', ')} and -h` : 'its only one-letter option is -h'} (long options start with --).`);
      }
    }
    const s = spec as OptionSpec;
    const name = s.name;
    if (s.type === 'boolean') {
      if (inline === undefined) flags[name] = true;
      else {
        const v = BOOLEAN_WORDS[inline.toLowerCase()];
        if (v === undefined) fail(`option --${name} of "cohortlab ${command}" is a switch: give it alone, or =true/false (yes/no, on/off, 1/0), not "${inline}".`);
        flags[name] = v;
      }
      continue;
    }
    const values: string[] = [];
    if (inline !== undefined) values.push(inline);
    else {
      while (i + 1 < argv.length && !looksLikeOption(argv[i + 1])) {
        values.push(argv[++i]);
        if (s.type === 'string') break;
      }
    }
    if (values.length === 0) {
      const next = argv[i + 1];
      fail(`option --${name} of "cohortlab ${command}" needs a value (${s.placeholder ?? s.type})${next !== undefined && next !== '--' ? `; a value starting with "-" is written --${name}=${next}` : ''}.`);
    }
    if (s.type === 'list') {
      const prev = flags[name];
      flags[name] = [...(Array.isArray(prev) ? prev : []), ...values];
    } else {
      if (flags[name] !== undefined) fail(`option --${name} of "cohortlab ${command}" was given twice.`);
      flags[name] = values[0];
    }
  }
  const max = context.positionals?.max ?? 0;
  if (positionals.length > max) {
    const stray = positionals.slice(max).map((p) => `"${p}"`).join(', ');
    fail(`"cohortlab ${command}" ${max === 0 ? 'takes no positional arguments' : `takes ${context.positionals?.what}`}, got the stray argument${positionals.length - max > 1 ? 's' : ''} ${stray} (options start with --; quote a glob so the shell does not expand it).`);
  }
  for (const s of specs) {
    if (s.required && flags[s.name] === undefined) {
      fail(`"cohortlab ${command}" needs --${s.name} (${s.description}).`);
    }
  }
  return { flags, positionals };
}

export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function list(args: ParsedArgs, name: string): string[] {
  const v = args.flags[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function bool(args: ParsedArgs, name: string): boolean {
  return args.flags[name] === true;
}

/** An integer flag, checked against [min, max]; the message quotes the value and the range. */
export function int(args: ParsedArgs, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const v = str(args, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CohortlabError('BAD_ARGUMENT', `--${name} must be an integer between ${min} and ${max}, got "${v}".`);
  }
  return n;
}

/** A YYYY-MM-DD flag. */
export function date(args: ParsedArgs, name: string): string | undefined {
  const v = str(args, name);
  if (v === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) {
    throw new CohortlabError('BAD_ARGUMENT', `--${name} must be a date YYYY-MM-DD, got "${v}".`);
  }
  return v;
}

export function formatHelp(command: string, summary: string, usage: string, specs: OptionSpec[], extra = ''): string {
  const rows = specs.map((s) => {
    const flag = `${s.short ? `-${s.short}, ` : ''}--${s.name}${s.type === 'boolean' ? '' : ` ${s.placeholder ?? (s.type === 'list' ? 'FILE...' : 'VALUE')}`}`;
    const def = s.default !== undefined ? ` (default: ${s.default})` : '';
    const req = s.required ? ' (required)' : '';
    return `  ${flag.padEnd(28)} ${s.description}${req}${def}`;
  });
  return `cohortlab ${command}: ${summary}\n\nUsage: cohortlab ${usage}\n\nOptions:\n${rows.join('\n')}\n  ${'-h, --help'.padEnd(28)} show this help\n  ${'--'.padEnd(28)} end of options: every later argument is positional\n${extra ? `\n${extra}\n` : ''}`;
}

/** Options several commands share, declared once. */
export const MODEL_REF_OPTION: OptionSpec = { name: 'model', type: 'string', description: 'NAME, NAME@VERSION or NAME@production', default: 'default', placeholder: 'REF' };
export const MODELS_DIR_OPTION: OptionSpec = { name: 'models-dir', type: 'string', description: 'registry folder', default: '$COHORTLAB_MODELS_DIR or ./models', placeholder: 'DIR' };
export const STRICT_OPTION: OptionSpec = { name: 'strict', type: 'boolean', description: 'fail on any rejected event row instead of skipping and counting it' };
/** The embedded DuckDB's memory limit, spill folder and threads, for the commands that read event files. */
export const DUCKDB_LIMIT_OPTIONS: OptionSpec[] = [
  { name: 'memory-limit', type: 'string', description: 'DuckDB memory limit (e.g. 2GB); past it DuckDB spills to --temp-dir instead of failing', default: "$COHORTLAB_DUCKDB_MEMORY_LIMIT, else the config's engine.memory_limit, else DuckDB's 80% of RAM", placeholder: 'SIZE' },
  { name: 'temp-dir', type: 'string', description: 'DuckDB spill folder (each run spills into its own subfolder, removed at the end)', default: "$COHORTLAB_DUCKDB_TEMP_DIR, else the config's engine.temp_dir, else the system temp folder", placeholder: 'DIR' },
  { name: 'threads', type: 'string', description: 'DuckDB worker threads; each needs its own buffers, so a small --memory-limit on many cores may need fewer', default: "$COHORTLAB_DUCKDB_THREADS, else the config's engine.threads, else one per core", placeholder: 'N' },
];
