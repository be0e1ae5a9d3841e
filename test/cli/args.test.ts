import { describe, expect, it } from 'vitest';
import { nearestOption, parseArgs, QUIET_OPTION, type OptionSpec } from '../../src/cli/args.js';
import { COMMANDS } from '../../src/cli/commands.js';
import { featuresCommand } from '../../src/cli/features.js';
import { modelsCommand } from '../../src/cli/models.js';
import { isCohortlabError } from '../../src/shared/errors.js';
import { runCli } from './run.js';

/** The option parser on its own: what is an option, what is a value, what is stray, and the sentence each error prints. */
const SPECS: OptionSpec[] = [
  { name: 'events', type: 'list', description: 'event files' },
  { name: 'as-of', type: 'string', description: 'cutoff' },
  { name: 'threads', type: 'string', description: 'threads' },
  { name: 'strict', type: 'boolean', description: 'fail on bad rows' },
  { name: 'dictionary', type: 'boolean', description: 'print the dictionary' },
  QUIET_OPTION,
];
const USAGE = 'demo --events FILE... [--strict]';

/** The BAD_ARGUMENT message of a parse that must fail (and fails the test when it parses). */
function failure(argv: string[], specs = SPECS, positionals?: { max: number; what: string }): string {
  try {
    parseArgs(argv, specs, 'demo', { usage: USAGE, positionals });
  } catch (e) {
    expect(isCohortlabError(e) && e.code).toBe('BAD_ARGUMENT');
    return (e as Error).message;
  }
  throw new Error(`parseArgs accepted ${JSON.stringify(argv)}`);
}

describe('parseArgs', () => {
  it('reads lists until the next option, one value for a string, --name=value, and a short alias', () => {
    const a = parseArgs(['--events', 'a.csv', 'b.csv', '-q', '--as-of=2026-01-31', '--threads', '-1'], SPECS, 'demo');
    expect(a).toEqual({ flags: { events: ['a.csv', 'b.csv'], quiet: true, 'as-of': '2026-01-31', threads: '-1' }, positionals: [] });
  });

  it('names an unknown long option, suggests the near miss, and quotes the usage', () => {
    expect(failure(['--events', 'a.csv', '--stirct'])).toBe(
      'unknown option --stirct for "cohortlab demo"; did you mean --strict? Usage: cohortlab demo --events FILE... [--strict]. See "cohortlab demo --help".',
    );
    expect(failure(['--dict'])).toMatch(/unknown option --dict .*did you mean --dictionary\?/);
    // nothing near: the known options are listed instead
    expect(failure(['--zzzzzzzz'])).toMatch(/unknown option --zzzzzzzz .*known options: --events, --as-of, --threads, --strict, --dictionary, --quiet\./);
  });

  it('names an unknown short option (it was taken for a positional before)', () => {
    expect(failure(['-x'])).toMatch(/^unknown option -x for "cohortlab demo"; its one-letter options are -q and -h/);
    expect(failure(['-qx'])).toMatch(/^unknown option -qx /);
  });

  it('refuses stray positional arguments by name, the first one after the accepted ones', () => {
    expect(failure(['stray', '--dictionary'])).toMatch(/^"cohortlab demo" takes no positional arguments, got the stray argument "stray" \(/);
    expect(failure(['--events', 'a.csv', '--strict', 'b.csv', 'c.csv'])).toMatch(/got the stray arguments "b\.csv", "c\.csv"/);
    const spec = { max: 2, what: 'a subcommand and one name' };
    expect(parseArgs(['show', 'x', '-q'], SPECS, 'demo', { positionals: spec }).positionals).toEqual(['show', 'x']);
    expect(failure(['show', 'x', 'y'], SPECS, spec)).toMatch(/^"cohortlab demo" takes a subcommand and one name, got the stray argument "y"/);
  });

  it('-- ends the options: what follows is positional even when it looks like an option', () => {
    const spec = { max: 3, what: 'files' };
    expect(parseArgs(['--strict', '--', '--strict', '-q', '--'], SPECS, 'demo', { positionals: spec })).toEqual({ flags: { strict: true }, positionals: ['--strict', '-q', '--'] });
    // a list stops at -- too
    expect(parseArgs(['--events', 'a.csv', '--', '-b.csv'], SPECS, 'demo', { positionals: spec })).toEqual({ flags: { events: ['a.csv'] }, positionals: ['-b.csv'] });
    expect(failure(['--', '--dictionary'])).toMatch(/got the stray argument "--dictionary"/);
  });

  it('reads a boolean given a value: true/false, yes/no, on/off, 1/0 (any case); anything else is exit 2', () => {
    const value = (v: string) => parseArgs([`--strict=${v}`], SPECS, 'demo').flags.strict;
    expect(['true', 'YES', 'on', '1'].map(value)).toEqual([true, true, true, true]);
    expect(['false', 'no', 'No', 'off', '0'].map(value)).toEqual([false, false, false, false, false]);
    expect(failure(['--strict=maybe'])).toMatch(/^option --strict of "cohortlab demo" is a switch: give it alone, or =true\/false \(yes\/no, on\/off, 1\/0\), not "maybe"\./);
    expect(failure(['--strict='])).toMatch(/not ""/);
  });

  it('still refuses a missing value, a repeated single value and a missing required option', () => {
    expect(failure(['--as-of'])).toMatch(/^option --as-of of "cohortlab demo" needs a value/);
    expect(failure(['--as-of', '-q'])).toMatch(/needs a value \(string\); a value starting with "-" is written --as-of=-q\./);
    expect(parseArgs(['--as-of=-q'], SPECS, 'demo').flags['as-of']).toBe('-q');
    expect(failure(['--as-of', 'a', '--as-of', 'b'])).toMatch(/was given twice/);
    expect(failure([], [...SPECS, { name: 'seed', type: 'string', description: 'the seed', required: true }])).toMatch(/^"cohortlab demo" needs --seed \(the seed\)\. Usage:/);
  });

  it('nearestOption: a typo within a third of the name, or a unique prefix of 3+ letters; nothing for a far or ambiguous name', () => {
    expect(nearestOption('as-off', SPECS)).toBe('as-of');
    expect(nearestOption('dic', SPECS)).toBe('dictionary');
    expect(nearestOption('model', SPECS)).toBeUndefined();
    expect(nearestOption('ev', SPECS)).toBeUndefined();
  });
});

describe('the commands declare what they take', () => {
  it('features takes no positional arguments: "features stray --dictionary" is a usage error naming "stray"', () => {
    expect(() => parseArgs(['stray', '--dictionary'], featuresCommand.options, 'features', { usage: featuresCommand.usage, positionals: featuresCommand.positionals })).toThrow(
      /"cohortlab features" takes no positional arguments, got the stray argument "stray".*Usage: cohortlab features /,
    );
  });

  it('a switch set to no is not given: train --keep-leaky=no with events is not refused as a table option', async () => {
    const missing = ['train', '--events', 'no-such-log.csv', '--preset', 'cdnow', '--seed', '7'];
    const yes = await runCli([...missing, '--keep-leaky=yes']);
    expect(yes).toEqual({ code: 2, err: expect.stringMatching(/^cohortlab train: --keep-leaky apply to a per-user table/) });
    const no = await runCli([...missing, '--keep-leaky=no']);
    expect(no.code).toBe(2);
    expect(no.err).toMatch(/no-such-log\.csv/);
    expect(no.err).not.toMatch(/per-user table/);
  });

  it('models takes a subcommand and at most two references; no other command takes positionals', () => {
    expect(modelsCommand.positionals?.max).toBe(3);
    expect(COMMANDS.filter((c) => c.positionals).map((c) => c.name)).toEqual(['models']);
  });

  it('no command declares --quiet or -q itself (index.ts adds it to every one), and option names are unique per command', () => {
    for (const c of COMMANDS) {
      const names = [...c.options, QUIET_OPTION].map((o) => o.name);
      expect(new Set(names).size, `${c.name}: ${names.join(', ')}`).toBe(names.length);
      expect(c.options.some((o) => o.short === 'q' || o.short === 'h' || o.short === 'V'), c.name).toBe(false);
    }
  });
});
