import { appendFile, mkdir, mkdtemp, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMemoryStore, openModelStore, parseRef, productionPeriods, promote, removeVersion } from '../../src/registry/index.js';
import { fixtureManifestFields } from './fixture-manifest.js';
import { modelStoreContract } from './store-contract.js';

const fresh = () => mkdtemp(join(tmpdir(), 'cl-reg-'));

modelStoreContract('disk', async () => {
  const root = await fresh();
  const store = openModelStore(root);
  return { store, tamper: (id, file, text) => writeFile(join(root, id.name, String(id.version), file), text), reopen: () => openModelStore(root) };
});

modelStoreContract('memory', async () => {
  const store = createMemoryStore();
  return { store, reopen: () => store };
});

describe('disk store layout (models/NAME/VERSION, unchanged)', () => {
  it('writes NAME/VERSION/manifest.json with the fields in order, and NAME/production', async () => {
    const root = await fresh();
    const store = openModelStore(root);
    await store.writeVersion('m', async (dir) => {
      await writeFile(join(dir, 'model.json'), 'a');
      return fixtureManifestFields({ metrics: { ...fixtureManifestFields().metrics, verdictKind: 'better' } });
    });
    const text = await readFile(join(root, 'm', '1', 'manifest.json'), 'utf8');
    expect(Object.keys(JSON.parse(text))).toEqual(['kind', 'formatVersion', 'createdAt', 'seed', 'params', 'memberIds', 'features', 'codeVersion', 'packageVersion', 'input', 'backend', 'trainingSeconds', 'metrics', 'name', 'version', 'files']);
    expect(text.endsWith('}\n')).toBe(true);
    await store.setProduction({ name: 'm', version: 1 });
    expect(await readFile(join(root, 'm', 'production'), 'utf8')).toBe('1\n');
    expect(await readFile(join(root, 'm', '.highest'), 'utf8')).toBe('1\n');
  });

  it('never lists a half-written version, and a failed write leaves no temporary folder', async () => {
    const root = await fresh();
    const store = openModelStore(root);
    await store.writeVersion('m', async (dir) => {
      await writeFile(join(dir, 'model.json'), 'a');
      return fixtureManifestFields();
    });
    // What a killed run leaves: a temporary folder, and a numbered folder without manifest.
    await mkdir(join(root, 'm', '.tmp-999-dead'), { recursive: true });
    await mkdir(join(root, 'm', '5'), { recursive: true });
    await writeFile(join(root, 'm', '5', 'model.json'), 'half');
    expect(await store.listVersions('m')).toEqual([1]);
    await expect(
      store.writeVersion('m', async () => {
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    const left = (await readdir(join(root, 'm'))).filter((e) => e.startsWith('.tmp-'));
    expect(left).toEqual([]);
  });

  it('a manifest that is not JSON, or missing, is MODEL_CORRUPT naming the version', async () => {
    const root = await fresh();
    const store = openModelStore(root);
    await store.writeVersion('m', async (dir) => {
      await writeFile(join(dir, 'model.json'), 'a');
      return fixtureManifestFields();
    });
    await writeFile(join(root, 'm', '1', 'manifest.json'), '{"kind": ');
    await expect(store.readManifest({ name: 'm', version: 1 })).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/^model m@1: manifest\.json is not valid JSON/), path: join(root, 'm', '1', 'manifest.json') });
    await expect(store.readManifest({ name: 'm', version: 9 })).rejects.toThrow(/model m@9 has no manifest\.json; it was not written completely/);
  });
});

describe('model references', () => {
  it('rejects names that could escape the registry', () => {
    for (const bad of ['../x', 'a/b', '..', '.hidden', 'A B', '']) expect(() => parseRef(bad)).toThrow(/is not allowed/);
    expect(parseRef('churn@v3')).toEqual({ name: 'churn', version: 3 });
    expect(() => parseRef('churn@x')).toThrow(/must be a positive integer or "production", got "x"/);
  });

  it('rejects names that could escape the registry in every store call', async () => {
    for (const store of [openModelStore(await fresh()), createMemoryStore()]) {
      await expect(store.listVersions('../x')).rejects.toThrow(/model name "\.\.\/x" is not allowed/);
      await expect(store.writeVersion('a/b', async () => fixtureManifestFields())).rejects.toThrow(/is not allowed/);
    }
  });
});

describe('disk audit trail (models/NAME/audit.jsonl)', () => {
  const proven = () => fixtureManifestFields({ metrics: { ...fixtureManifestFields().metrics, verdictKind: 'better' } });
  const version = (text: string) => async (dir: string) => {
    await writeFile(join(dir, 'model.json'), text);
    return proven();
  };

  it('is one JSON object per line, appended, with the fields in a stable order', async () => {
    const root = await fresh();
    const store = openModelStore(root);
    await store.writeVersion('m', version('a'));
    await store.writeVersion('m', version('b'));
    await promote(store, 'm@2');
    await removeVersion(store, 'm@1');
    const lines = (await readFile(join(root, 'm', 'audit.jsonl'), 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => l.replace(/"at":"[^"]+"/, '"at":T'))).toEqual([
      '{"at":T,"action":"register","version":1}',
      '{"at":T,"action":"register","version":2}',
      '{"at":T,"action":"promote","version":2,"previous":null}',
      '{"at":T,"action":"remove","version":1}',
    ]);
    // nothing else in the model folder changed name: versions, production, .highest and the trail
    expect((await readdir(join(root, 'm'))).sort()).toEqual(['.highest', '2', 'audit.jsonl', 'production']);
  });

  it('a torn last line (a crash mid-append) is skipped and counted, and the next record starts on its own line', async () => {
    const root = await fresh();
    const store = openModelStore(root);
    await store.writeVersion('m', version('a'));
    await appendFile(join(root, 'm', 'audit.jsonl'), '{"at":"2026-12-06T10:00:00.000Z","action":"prom');
    const torn = await store.readAudit('m');
    expect(torn.records.map((r) => r.action)).toEqual(['register']);
    expect(torn.skipped).toEqual([{ line: 2, reason: 'cut short (no end of line: a write interrupted by a crash)' }]);
    await promote(store, 'm@1');
    const after = await store.readAudit('m');
    expect(after.records.map((r) => r.action)).toEqual(['register', 'promote']);
    // no longer the last line, it is still skipped and counted (as not JSON), not glued to the record after it
    expect(after.skipped).toEqual([{ line: 2, reason: 'not valid JSON' }]);
    expect((await readFile(join(root, 'm', 'audit.jsonl'), 'utf8')).split('\n')[1]).toBe('{"at":"2026-12-06T10:00:00.000Z","action":"prom');
  });

  it('a model promoted before the trail existed: its period starts at the production file\'s mtime, marked inferred', async () => {
    const root = await fresh();
    const store = openModelStore(root);
    await store.writeVersion('m', version('a'));
    await store.writeVersion('m', version('b'));
    // the registry of an older cohortlab: a production pointer, no trail
    await store.setProduction({ name: 'm', version: 1 });
    await writeFile(join(root, 'm', 'audit.jsonl'), '');
    const then = new Date('2026-03-04T05:06:07.000Z');
    await utimes(join(root, 'm', 'production'), then, then);
    expect(await store.productionSince('m')).toBe('2026-03-04T05:06:07.000Z');
    const before = productionPeriods('m', (await store.readAudit('m')).records, { version: 1, since: '2026-03-04T05:06:07.000Z' });
    expect(before.periods).toEqual([{ version: 1, from: '2026-03-04T05:06:07.000Z', to: null, inferred: true }]);
    expect(before.warnings.map((w) => w.code)).toEqual(['PRODUCTION_START_INFERRED']);
    // the first recorded promotion keeps that mtime, which the switch itself overwrites
    await promote(store, 'm@2');
    const [rec] = (await store.readAudit('m')).records;
    expect(rec).toMatchObject({ action: 'promote', version: 2, previous: 1, previousSince: '2026-03-04T05:06:07.000Z' });
    const after = productionPeriods('m', [rec], { version: 2, since: (await store.productionSince('m')) ?? null });
    expect(after.periods).toEqual([
      { version: 1, from: '2026-03-04T05:06:07.000Z', to: rec.at, inferred: true },
      { version: 2, from: rec.at, to: null, inferred: false },
    ]);
    // later promotions carry no previousSince: the trail knows the start
    await promote(store, 'm@1');
    expect((await store.readAudit('m')).records[1]).not.toHaveProperty('previousSince');
  });
});
