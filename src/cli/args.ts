import { CohortlabError } from '../shared/errors.js';

/**
 * Flag parsing for every command. Options are declared as data; `--name value`, `--name=value`,
 * repeated flags, and flags that take several values (`--events a.csv b.csv`) are supported.
 */
export interface OptionSpec {
  name: string;
  /** 'string' takes one value, 'list' one or more (until the next flag), 'boolean' none. */
  type: 'string' | 'list' | 'boolean';
  description: string;
  required?: boolean;
  /** Shown in --help; the command applies defaults itself. */
  default?: string;
  placeholder?: string;
}

export type ParsedArgs = {
  flags: Record<string, string | string[] | boolean | undefined>;
  positionals: string[];
};

export function parseArgs(argv: string[], specs: OptionSpec[], command: string): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const flags: ParsedArgs['flags'] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = byName.get(name);
    if (!spec) {
      const known = specs.map((s) => `--${s.name}`).join(', ');
      throw new CohortlabError('BAD_ARGUMENT', `unknown option --${name} for "cohortlab ${command}"; known options: ${known || '(none)'}. See "cohortlab ${command} --help".`);
    }
    if (spec.type === 'boolean') {
      flags[name] = eq >= 0 ? arg.slice(eq + 1) !== 'false' : true;
      continue;
    }
    const values: string[] = [];
    if (eq >= 0) values.push(arg.slice(eq + 1));
    else {
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
        values.push(argv[++i]);
        if (spec.type === 'string') break;
      }
    }
    if (values.length === 0) {
      throw new CohortlabError('BAD_ARGUMENT', `option --${name} of "cohortlab ${command}" needs a value (${spec.placeholder ?? spec.type}).`);
    }
    if (spec.type === 'list') {
      const prev = flags[name];
      flags[name] = [...(Array.isArray(prev) ? prev : []), ...values];
    } else {
      if (flags[name] !== undefined) throw new CohortlabError('BAD_ARGUMENT', `option --${name} of "cohortlab ${command}" was given twice.`);
      flags[name] = values[0];
    }
  }
  for (const s of specs) {
    if (s.required && flags[s.name] === undefined) {
      throw new CohortlabError('BAD_ARGUMENT', `"cohortlab ${command}" needs --${s.name} (${s.description}). See "cohortlab ${command} --help".`);
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
    const flag = `--${s.name}${s.type === 'boolean' ? '' : ` ${s.placeholder ?? (s.type === 'list' ? 'FILE...' : 'VALUE')}`}`;
    const def = s.default !== undefined ? ` (default: ${s.default})` : '';
    const req = s.required ? ' (required)' : '';
    return `  ${flag.padEnd(28)} ${s.description}${req}${def}`;
  });
  return `cohortlab ${command}: ${summary}\n\nUsage: cohortlab ${usage}\n\nOptions:\n${rows.join('\n')}\n  ${'--help'.padEnd(28)} show this help\n${extra ? `\n${extra}\n` : ''}`;
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
