import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMemoryStore, openModelStore, parseRef } from '../../src/registry/index.js';
import { fixtureManifestFields } from './fixture-manifest.js';
import { modelStoreContract } from './store-contract.js';

const fresh = () => mkdtemp(join(tmpdir(), 'cl-reg-'));

modelStoreContract('disk', async () => {
  const root = await fresh();
  const store = openModelStore(root);
  return { store, tamper: (id, file, text) => writeFile(join(root, id.name, String(id.version), file), text) };
});

modelStoreContract('memory', async () => ({ store: createMemoryStore() }));

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
