import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openModelStore, parseAuditText } from '../../src/registry/index.js';
import { fixtureManifestFields } from '../registry/fixture-manifest.js';
import { collectingLogger } from '../../src/shared/log.js';
import { runCli } from './run.js';

/**
 * `cohortlab models show NAME`: which version was in production over which dates, and the audit trail
 * (issue 21 part 5). The versions are small table-model folders written through the store (what `train
 * --table` leaves, test/registry/fixture-manifest.ts); promote and rm go through the CLI.
 */
let dir: string;
let models: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-cli-models-'));
  models = join(dir, 'models');
  const store = openModelStore(models);
  for (const text of ['a', 'b', 'c']) {
    await store.writeVersion('churn', async (d) => {
      await writeFile(join(d, 'model.json'), text);
      return fixtureManifestFields({ metrics: { ...fixtureManifestFields().metrics, verdictKind: 'better' } });
    });
  }
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Exit code, stdout, stderr and the logger's lines (warnings as "warning: CODE: message"). */
async function cli(argv: string[]): Promise<{ code: number; out: string; err: string; logged: string[] }> {
  const lines: string[] = [];
  const logger = collectingLogger();
  const r = await runCli([...argv, '--models-dir', models], { out: (s: string) => lines.push(s), cwd: dir, logger });
  return { code: r.code, out: lines.join('\n'), err: r.err, logged: logger.lines };
}

const when = (iso: string) => iso.replace('T', ' ').slice(0, 19);

describe('models show NAME: production history and audit trail', () => {
  it('promote 1, promote 2, rm 1: the periods and every record, in text and --json', async () => {
    expect((await cli(['models', 'promote', 'churn@1'])).out).toBe('churn@1 is now production');
    expect((await cli(['models', 'promote', 'churn@2'])).out).toBe('churn@2 is now production (was churn@1)');
    expect((await cli(['models', 'rm', 'churn@1'])).out).toBe('removed churn@1');
    const trail = parseAuditText(await readFile(join(models, 'churn', 'audit.jsonl'), 'utf8'));
    expect(trail.skipped).toEqual([]);
    const t = trail.records.map((r) => r.at);
    expect(trail.records.map((r) => r.action)).toEqual(['register', 'register', 'register', 'promote', 'promote', 'remove']);

    const shown = await cli(['models', 'show', 'churn@3']);
    expect(shown.code, shown.err).toBe(0);
    expect([shown.err, shown.logged]).toEqual(['', []]);
    const text = shown.out.slice(shown.out.indexOf('\nproduction history'));
    expect(text).toBe([
      '',
      'production history of "churn" (UTC):',
      'version  from                 to                   start',
      '-------  -------------------  -------------------  --------',
      `churn@1  ${when(t[3])}  ${when(t[4])}  recorded`,
      `churn@2  ${when(t[4])}  now                  recorded`,
      '',
      `audit trail (${models}/churn/audit.jsonl):`,
      'when (UTC)           action    version  previous production',
      '-------------------  --------  -------  -------------------',
      `${when(t[0])}  register  churn@1  -`,
      `${when(t[1])}  register  churn@2  -`,
      `${when(t[2])}  register  churn@3  -`,
      `${when(t[3])}  promote   churn@1  none`,
      `${when(t[4])}  promote   churn@2  churn@1`,
      `${when(t[5])}  remove    churn@1  -`,
    ].join('\n'));

    const j = await cli(['models', 'show', 'churn', '--json']);
    const doc = JSON.parse(j.out);
    expect({ name: doc.name, version: doc.version, production: doc.production }).toEqual({ name: 'churn', version: 2, production: true });
    expect(doc.production_history).toEqual([
      { version: 1, from: t[3], to: t[4], inferred: false },
      { version: 2, from: t[4], to: null, inferred: false },
    ]);
    expect(doc.audit_trail).toEqual(trail.records);
    expect(doc.warnings).toEqual([]);
  });

  it('a registry promoted before the trail: an inferred period from the production file\'s mtime, said on stderr and in --json warnings', async () => {
    // what an older cohortlab leaves: a production pointer and no trail
    await openModelStore(models).setProduction({ name: 'churn', version: 1 });
    await rm(join(models, 'churn', 'audit.jsonl'));
    const then = new Date('2026-06-01T08:00:00.000Z');
    await utimes(join(models, 'churn', 'production'), then, then);
    const shown = await cli(['models', 'show', 'churn']);
    expect(shown.out).toContain([
      'version  from                 to   start',
      '-------  -------------------  ---  --------------------------------------------------------',
      'churn@1  2026-06-01 08:00:00  now  inferred: not in the audit trail (production file mtime)',
    ].join('\n'));
    expect(shown.out).toContain(`audit trail (${models}/churn/audit.jsonl): empty (this release records every register, promote and remove).`);
    expect(shown.logged).toEqual(["warning: PRODUCTION_START_INFERRED: the promotion of churn@1 is not in the audit trail (made before the trail existed, or its record was lost): its production period starts at the production file's last change (2026-06-01T08:00:00.000Z), an inferred date."]);
    const doc = JSON.parse((await cli(['models', 'show', 'churn', '--json'])).out);
    expect(doc.production_history).toEqual([{ version: 1, from: '2026-06-01T08:00:00.000Z', to: null, inferred: true }]);
    expect(doc.warnings.map((w: { code: string }) => w.code)).toEqual(['PRODUCTION_START_INFERRED']);

    // a torn line is counted in the warnings, and the next promotion keeps the old period's inferred start
    await writeFile(join(models, 'churn', 'audit.jsonl'), '{"at":"2026-06-02T00:00:00.000Z","act');
    expect((await cli(['models', 'promote', 'churn@2'])).code).toBe(0);
    const after = JSON.parse((await cli(['models', 'show', 'churn', '--json'])).out);
    expect(after.production_history).toEqual([
      { version: 1, from: '2026-06-01T08:00:00.000Z', to: after.audit_trail[0].at, inferred: true },
      { version: 2, from: after.audit_trail[0].at, to: null, inferred: false },
    ]);
    expect(after.warnings.map((w: { code: string; message: string }) => [w.code, w.message.slice(0, 80)])).toEqual([
      ['AUDIT_LINES_SKIPPED', `the audit trail of "churn" (${models}/churn/audit.jsonl) has 1 unreadable line, s`.slice(0, 80)],
      ['PRODUCTION_START_INFERRED', 'the promotion of churn@1 is not in the audit trail (made before the trail existe'],
    ]);
  });

  it('a name never promoted says so', async () => {
    const shown = await cli(['models', 'show', 'churn']);
    expect(shown.out).toContain('\nproduction history of "churn": no version has been promoted.\n');
    expect(JSON.parse((await cli(['models', 'show', 'churn', '--json'])).out).production_history).toEqual([]);
  });
});
