import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, spawnCli } from './run.js';

/**
 * The CLI's edges as a shell sees them: the built CLI (bin/cohortlab.js -> dist/) in a child process, stdout and stderr
 * apart. Real data: test/fixtures/cdnow-200.txt (CDNOW customers 1-200, every purchase).
 */
const CDNOW = join(ROOT, 'test', 'fixtures', 'cdnow-200.txt');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const dir = mkdtempSync(join(tmpdir(), 'cohortlab-cli-edges-'));
const models = join(dir, 'models');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** stdout parsed as one JSON document (the test fails, quoting stdout, when anything else is printed there). */
function json(stdout: string): any {
  try {
    return JSON.parse(stdout);
  } catch (e) {
    throw new Error(`stdout is not one JSON document (${(e as Error).message}): ${stdout.slice(0, 300)}`);
  }
}

describe('top level', () => {
  it('bare cohortlab prints the usage on stdout and exits 0, like --help', () => {
    const bare = spawnCli([]);
    expect([bare.code, bare.stderr]).toEqual([0, '']);
    expect(bare.stdout).toMatch(/^cohortlab: .*\n\nUsage: cohortlab <command> \[options\]\n/);
    expect(bare.stdout).toBe(spawnCli(['--help']).stdout);
  });

  it('-V and --version print the version of package.json', () => {
    for (const flag of ['-V', '--version']) expect(spawnCli([flag])).toEqual({ code: 0, stdout: `cohortlab ${VERSION}\n`, stderr: '' });
  });

  it('an unknown option before the command is exit 2 naming it', () => {
    const r = spawnCli(['--verbose']);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toMatch(/^cohortlab: unknown option --verbose before the command/);
  });
});

describe('usage errors: exit 2, one sentence naming the argument, nothing on stdout', () => {
  const usageError = (args: string[], pattern: RegExp) => {
    const r = spawnCli(args);
    expect({ code: r.code, stdout: r.stdout }, r.stderr).toEqual({ code: 2, stdout: '' });
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
  };

  it('features stray --dictionary: the stray word, and the usage', () => {
    usageError(['features', 'stray', '--dictionary'], /^cohortlab features: .*the stray argument "stray" .*Usage: cohortlab features \(--events FILE\.\.\./);
  });

  it('-- ends the options: an option after it is a stray argument', () => {
    usageError(['features', '--', '--dictionary'], /the stray argument "--dictionary"/);
  });

  it('an unknown short flag, and a misspelt long one with its near miss', () => {
    usageError(['profile', '-x', '--events', CDNOW, '--preset', 'cdnow'], /unknown option -x for "cohortlab profile"/);
    usageError(['profile', '--evnts', CDNOW, '--preset', 'cdnow'], /unknown option --evnts for "cohortlab profile"; did you mean --events\?/);
  });

  it('--strict=no means false, --strict=maybe is refused', () => {
    const no = spawnCli(['features', '--dictionary', '--strict=no']);
    expect(no.code, no.stderr).toBe(0);
    expect(no.stdout).toMatch(/^\| `days_since_last_activity` \|/m);
    usageError(['features', '--dictionary', '--strict=maybe'], /--strict .* not "maybe"/);
  });

  it('models list takes one name at most; models show exactly one reference', () => {
    usageError(['models', 'list', 'a', 'b', '--models-dir', models], /"cohortlab models list" takes at most one model name, got 2: "a", "b"\./);
    usageError(['models', 'show', 'a', 'b', 'c', '--models-dir', models], /takes a subcommand .* got the stray argument "c"/);
  });
});

describe('--json prints one JSON document on stdout, progress stays on stderr; --quiet keeps only warnings', () => {
  const base = ['--events', CDNOW, '--preset', 'cdnow', '--horizon-days', '90'];
  it('train, models list|show|compare, evaluate, profile', () => {
    const t1 = spawnCli(['train', ...base, '--seed', '7', '--resamples', '50', '--models-dir', models, '--json']);
    expect(t1.code, t1.stderr).toBe(0);
    const trained = json(t1.stdout);
    expect(trained.version).toBe('default@1');
    // 75 test users of CDNOW 1-200 at 1998-03-30: under the evidence minimum, said so in the warnings
    expect(trained.evidence).toEqual({ test_users: 75, test_churners: 45, test_stayers: 30, minimum: 50 });
    expect(trained.warnings.map((w: { code: string }) => w.code)).toEqual(expect.arrayContaining(['TIMESTAMPS_BEFORE_2000', 'INSUFFICIENT_EVIDENCE', 'CLUSTER_FIT_ON_ALL_USERS']));
    // the same warnings as report.json: data checks, evaluation, playbook §10 and clusters
    expect(trained.warnings).toEqual(JSON.parse(readFileSync(join(trained.dir, 'report.json'), 'utf8')).warnings);
    expect(t1.stderr).toMatch(/^ingest: 1 file\(s\), 763 rows read/m);

    // --quiet: the version alone on stdout; on stderr the warnings, no progress and no informational line
    const t2 = spawnCli(['train', ...base, '--seed', '8', '--resamples', '50', '--models-dir', models, '--quiet']);
    expect({ code: t2.code, stdout: t2.stdout }, t2.stderr).toEqual({ code: 0, stdout: 'default@2\n' });
    const lines = t2.stderr.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => !l.startsWith('warning: ')), t2.stderr).toEqual([]);
    expect(t2.stderr).toMatch(/^warning: INSUFFICIENT_EVIDENCE: /m);

    // a version whose manifest was cut short: listed with unknown fields, and said so in the warnings
    mkdirSync(join(models, 'default', '3'));
    writeFileSync(join(models, 'default', '3', 'manifest.json'), '{"kind": ');
    const list = spawnCli(['models', 'list', '--models-dir', models, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const listed = json(list.stdout);
    expect(listed.models.map((m: { ref: string; verdict: string }) => [m.ref, m.verdict])).toEqual([
      ['default@1', 'insufficient_evidence'],
      ['default@2', 'insufficient_evidence'],
      ['default@3', null],
    ]);
    expect(listed.warnings).toEqual([{ code: 'MODEL_MANIFEST_UNREADABLE', message: expect.stringMatching(/^model default@3: manifest\.json is not valid JSON/) }]);
    rmSync(join(models, 'default', '3'), { recursive: true });

    const show = spawnCli(['models', 'show', 'default@1', '--models-dir', models, '--json']);
    expect(show.code, show.stderr).toBe(0);
    const shown = json(show.stdout);
    expect(shown).toMatchObject({ name: 'default', version: 1, production: false });
    expect(shown.warnings).toEqual(trained.warnings);

    const compare = spawnCli(['models', 'compare', 'default@1', 'default@2', '--models-dir', models, '--json']);
    expect(compare.code, compare.stderr).toBe(0);
    const cmp = json(compare.stdout);
    expect([cmp.a, cmp.b]).toEqual(['default@1', 'default@2']);
    expect(cmp.metrics.length).toBeGreaterThan(0);
    // both versions were tested on the same 75 users: a paired test, short of the evidence minimum
    expect(cmp.paired.kind).toBe('insufficient_evidence');
    expect(cmp.warnings).toEqual([{ code: 'INSUFFICIENT_EVIDENCE', message: cmp.paired.text }]);

    const ev = spawnCli(['evaluate', '--model', 'default@1', ...base, '--as-of', '1998-03-30', '--out', join(dir, 'eval'), '--models-dir', models, '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const report = json(ev.stdout);
    expect(report.evidence).toEqual(trained.evidence);
    expect(report.verdict.kind).toBe('insufficient_evidence');
    expect(ev.stderr).toMatch(/^ingest: /m);

    const profile = spawnCli(['profile', '--events', CDNOW, '--preset', 'cdnow', '--json']);
    expect(profile.code, profile.stderr).toBe(0);
    const p = json(profile.stdout);
    expect(p.warnings.map((w: { code: string }) => w.code)).toContain('TIMESTAMPS_BEFORE_2000');
    expect(profile.stderr).toMatch(/^ingest: /m);
    // --quiet with --json: the same document, nothing on stderr but warnings
    const quiet = spawnCli(['profile', '--events', CDNOW, '--preset', 'cdnow', '--json', '-q']);
    const q = json(quiet.stdout);
    expect({ ...q, timestamps: { ...q.timestamps, now: null } }).toEqual({ ...p, timestamps: { ...p.timestamps, now: null } });
    expect(quiet.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('warning: '))).toEqual([]);
  }, 240_000);
});
