import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listVersions, productionVersion, promote, readManifest, removeVersion, resolveVersion, verifyFiles, writeVersion } from '../../src/registry/store.js';
import { parseRef } from '../../src/registry/names.js';

const fresh = () => mkdtemp(join(tmpdir(), 'cl-reg-'));
const put = (text: string) => async (dir: string) => {
  await writeFile(join(dir, 'model.json'), text);
  return { kind: 'test', seed: 1 };
};

describe('registry store', () => {
  it('hands out monotonic versions, also after the latest is removed', async () => {
    const root = await fresh();
    expect((await writeVersion(root, 'churn', put('a'))).version).toBe(1);
    expect((await writeVersion(root, 'churn', put('b'))).version).toBe(2);
    await removeVersion(root, 'churn@2');
    expect(await listVersions(root, 'churn')).toEqual([1]);
    expect((await writeVersion(root, 'churn', put('c'))).version).toBe(3);
    const m = await readManifest(join(root, 'churn', '3'), 'churn@3');
    expect(m).toMatchObject({ name: 'churn', version: 3, kind: 'test', seed: 1 });
    expect((m.files as Record<string, { bytes: number }>)['model.json'].bytes).toBe(1);
  });

  it('resolves NAME to production when promoted, else the latest; promote switches the pointer', async () => {
    const root = await fresh();
    await writeVersion(root, 'default', put('a'));
    await writeVersion(root, 'default', put('b'));
    expect((await resolveVersion(root, 'default')).version).toBe(2);
    await expect(resolveVersion(root, 'default@production')).rejects.toThrow(/has no production version; promote one with "cohortlab models promote default@2"/);
    expect(await promote(root, 'default@1')).toEqual({ name: 'default', version: 1, previous: undefined });
    expect((await resolveVersion(root, 'default')).version).toBe(1);
    expect((await resolveVersion(root, 'default@production')).version).toBe(1);
    expect(await productionVersion(root, 'default')).toBe(1);
    await expect(removeVersion(root, 'default@1')).rejects.toThrow(/default@1 is the production version; promote another version first/);
    await expect(resolveVersion(root, 'default@7')).rejects.toThrow(/model default@7 does not exist .*versions of "default": 1, 2/);
    await expect(resolveVersion(root, 'other')).rejects.toThrow(/no model "other"/);
  });

  it('never lists a half-written version, and a failed write leaves nothing behind', async () => {
    const root = await fresh();
    await writeVersion(root, 'm', put('a'));
    // What a killed run leaves: a temporary folder, and a numbered folder without manifest.
    await mkdir(join(root, 'm', '.tmp-999-dead'), { recursive: true });
    await mkdir(join(root, 'm', '5'), { recursive: true });
    await writeFile(join(root, 'm', '5', 'model.json'), 'half');
    expect(await listVersions(root, 'm')).toEqual([1]);
    await expect(
      writeVersion(root, 'm', async () => {
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    const left = (await readdir(join(root, 'm'))).filter((e) => e.startsWith('.tmp-'));
    expect(left).toEqual([]);
  });

  it('detects a file changed after training and names it', async () => {
    const root = await fresh();
    const v = await writeVersion(root, 'm', put('abc'));
    const m = await readManifest(v.dir, 'm@1');
    await verifyFiles(v.dir, m, 'm@1');
    await writeFile(join(v.dir, 'model.json'), 'abd');
    await expect(verifyFiles(v.dir, m, 'm@1')).rejects.toThrow(/model m@1: file model\.json does not match its sha256/);
  });

  it('rejects names that could escape the registry', () => {
    for (const bad of ['../x', 'a/b', '..', '.hidden', 'A B', '']) expect(() => parseRef(bad)).toThrow(/is not allowed/);
    expect(parseRef('churn@v3')).toEqual({ name: 'churn', version: 3 });
    expect(() => parseRef('churn@x')).toThrow(/must be a positive integer or "production", got "x"/);
  });
});
