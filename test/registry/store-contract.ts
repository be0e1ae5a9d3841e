import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  compareInputs, productionPeriods, promote, readVersionTable, removeVersion, resolveVersion, verifyFiles, type ManifestFields, type ModelStore, type VersionId,
} from '../../src/registry/index.js';
import { writeTable } from '../../src/shared/table-io.js';
import { fixtureManifestFields } from './fixture-manifest.js';

/**
 * One contract for every ModelStore (disk and memory): what the registry's functions rely on. `tamper`, when a
 * store can be changed behind its back (disk), replaces a file of a version to check that verification sees it.
 */
export interface StoreUnderTest {
  store: ModelStore;
  tamper?: (id: VersionId, file: string, text: string) => Promise<void>;
  /** Another handle on the same registry (disk: a new store on the folder), or the same store when it lives in memory. */
  reopen?: () => ModelStore;
}

const put = (text: string, over: Partial<ManifestFields> = {}) => async (dir: string) => {
  await writeFile(join(dir, 'model.json'), text);
  return fixtureManifestFields(over);
};

export function modelStoreContract(kind: string, make: () => Promise<StoreUnderTest>): void {
  describe(`ModelStore contract: ${kind}`, () => {
    it('hands out monotonic versions, also after the latest is removed; the manifest reads back as written', async () => {
      const { store } = await make();
      expect((await store.writeVersion('churn', put('a'))).version).toBe(1);
      expect((await store.writeVersion('churn', put('b'))).version).toBe(2);
      expect(await removeVersion(store, 'churn@2')).toEqual({ name: 'churn', version: 2 });
      expect(await store.listVersions('churn')).toEqual([1]);
      const w = await store.writeVersion('churn', put('c'));
      expect(w).toEqual({ name: 'churn', version: 3, dir: store.versionLocation({ name: 'churn', version: 3 }) });
      const m = await store.readManifest(w);
      expect(m).toEqual({
        ...fixtureManifestFields(),
        name: 'churn',
        version: 3,
        // sha256 of the one byte "c"
        files: { 'model.json': { bytes: 1, sha256: '2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6' } },
      });
      expect(await store.listNames()).toEqual(['churn']);
    });

    it('resolves NAME to production when promoted, else the latest; promote switches the alias', async () => {
      const { store } = await make();
      const proven = { metrics: { ...fixtureManifestFields().metrics, verdictKind: 'better' } };
      await store.writeVersion('default', put('a', proven));
      await store.writeVersion('default', put('b', proven));
      expect((await resolveVersion(store, 'default')).version).toBe(2);
      await expect(resolveVersion(store, 'default@production')).rejects.toThrow(/has no production version; promote one with "cohortlab models promote default@2"/);
      expect(await promote(store, 'default@1')).toEqual({ name: 'default', version: 1, previous: undefined });
      expect((await resolveVersion(store, 'default')).version).toBe(1);
      expect((await resolveVersion(store, 'default@production')).version).toBe(1);
      expect(await store.productionVersion('default')).toBe(1);
      expect(await promote(store, 'default@2')).toEqual({ name: 'default', version: 2, previous: 1 });
      await expect(removeVersion(store, 'default@2')).rejects.toThrow(/default@2 is the production version; promote another version first/);
      await expect(resolveVersion(store, 'default@7')).rejects.toThrow(new RegExp(`model default@7 does not exist in ${store.location}; versions of "default": 1, 2`));
      await expect(resolveVersion(store, 'other')).rejects.toThrow(/no model "other"/);
      await expect(promote(store, 'default')).rejects.toThrow(/promote needs an explicit version/);
    });

    it('promoting a version without evidence needs force', async () => {
      const { store } = await make();
      await store.writeVersion('m', put('a')); // the fixture's verdict is insufficient_evidence
      await expect(promote(store, 'm@1')).rejects.toThrow(/m@1 has the verdict insufficient_evidence .*pass --force/);
      expect(await store.productionVersion('m')).toBeUndefined();
      expect((await promote(store, 'm@1', { force: true })).version).toBe(1);
    });

    it('a failed write leaves no version and takes no number', async () => {
      const { store } = await make();
      await store.writeVersion('m', put('a'));
      await expect(
        store.writeVersion('m', async () => {
          throw new Error('disk full');
        }),
      ).rejects.toThrow('disk full');
      expect(await store.listVersions('m')).toEqual([1]);
      expect((await store.writeVersion('m', put('b'))).version).toBe(2);
    });

    it('gives artefacts back byte for byte, absent ones as null, and local copies for DuckDB and rule folders', async () => {
      const { store } = await make();
      const v = await store.writeVersion('m', async (dir) => {
        await writeFile(join(dir, 'weights.bin'), Buffer.from([0, 1, 2, 255]));
        await mkdir(join(dir, 'rules'));
        await writeFile(join(dir, 'rules', 'a.rules.json'), '{"a":1}');
        await writeTable(join(dir, 'scores.parquet'), { rows: 2, names: ['user_id', 'p'], columns: { user_id: ['u1', 'u2'], p: Float64Array.from([0.25, 0.75]) } });
        return fixtureManifestFields();
      });
      expect(Array.from((await store.readArtifact(v, 'weights.bin')) ?? [])).toEqual([0, 1, 2, 255]);
      expect(await store.readArtifact(v, 'nope.bin')).toBeNull();
      expect(await store.artifactDigest(v, 'nope.bin')).toBeNull();
      expect(Object.keys((await store.readManifest(v)).files).sort()).toEqual(['rules/a.rules.json', 'scores.parquet', 'weights.bin']);
      const seen = await store.withLocalFiles(v, ['rules'], async (dir) => [await readdir(join(dir, 'rules')), await readFile(join(dir, 'rules', 'a.rules.json'), 'utf8')]);
      expect(seen).toEqual([['a.rules.json'], '{"a":1}']);
      const t = await readVersionTable(store, v, 'scores.parquet');
      expect(t?.columns.user_id).toEqual(['u1', 'u2']);
      expect(Array.from(t?.columns.p as Float64Array)).toEqual([0.25, 0.75]);
      expect(await readVersionTable(store, v, 'absent.parquet')).toBeNull();
      await verifyFiles(store, v, await store.readManifest(v));
    });

    it('a manifest field of the wrong type is MODEL_CORRUPT naming the version and the field', async () => {
      const { store } = await make();
      const v = await store.writeVersion('m', put('a', { seed: 'seven' as unknown as number }));
      await expect(store.readManifest(v)).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/^model m@1: manifest\.json field "seed" is "seven" where a finite number is expected/), path: `${store.versionLocation(v)}/manifest.json` });
      const w = await store.writeVersion('m', put('b', { metrics: { ...fixtureManifestFields().metrics, testUsers: undefined as unknown as number } }));
      await expect(store.readManifest(w)).rejects.toThrow(/^model m@2: manifest\.json field "metrics\.testUsers" is missing where a finite number is expected/);
    });

    it('compareInputs reads what models compare needs: metrics, verdict, test predictions and the snapshot on demand', async () => {
      const { store } = await make();
      const write = (auc: number, p: number[], testSet: string) =>
        store.writeVersion('m', async (dir) => {
          const report = { verdict: { kind: 'better' }, evaluation: { metrics: { model: { rocAuc: { value: auc, lo: auc - 0.1, hi: auc + 0.1 } }, rule: { rocAuc: null }, baseline: { rocAuc: { value: 0.5, lo: 0.4, hi: 0.6 } } } } };
          await writeFile(join(dir, 'report.json'), JSON.stringify(report));
          await writeTable(join(dir, 'test-predictions.parquet'), { rows: p.length, names: ['churned', 'churn_probability'], columns: { churned: Float64Array.from(p, (_, i) => i % 2), churn_probability: Float64Array.from(p) } });
          return fixtureManifestFields({ metrics: { ...fixtureManifestFields().metrics, testSet } });
        });
      await write(0.7, [0.1, 0.9, 0.2, 0.8], 'same');
      await write(0.8, [0.3, 0.6], '');
      const [a, b] = [await compareInputs(store, 'm@1'), await compareInputs(store, 'm@2')];
      expect(a.label).toBe('m@1');
      // only the model's and the rule's metrics, keyed "scorer metric"
      expect(a.metrics).toEqual({ 'model rocAuc': { value: 0.7, lo: 0.7 - 0.1, hi: 0.7 + 0.1 }, 'rule rocAuc': null });
      expect(a.report.verdict).toEqual({ kind: 'better' });
      expect(a.testPredictions?.testSet).toBe('same');
      expect(Array.from(a.testPredictions?.probability ?? [])).toEqual([0.1, 0.9, 0.2, 0.8]);
      expect(Array.from(a.testPredictions?.churned ?? [])).toEqual([0, 1, 0, 1]);
      expect(b.testPredictions?.testSet).toBeNull(); // an empty digest is no digest
      expect(await a.scores()).toBeNull(); // no scores.parquet in this version
    });

    it('detects a file changed after training and names it', async () => {
      const { store, tamper } = await make();
      const v = await store.writeVersion('m', put('abc'));
      const m = await store.readManifest(v);
      await verifyFiles(store, v, m);
      if (!tamper) return; // the memory store cannot be changed behind its back
      await tamper(v, 'model.json', 'abd');
      await expect(verifyFiles(store, v, m)).rejects.toThrow(/model m@1: file model\.json does not match its sha256/);
      await expect(verifyFiles(store, v, m, ['other.json'])).resolves.toBeUndefined();
    });

    // --- audit trail (issue 21 part 5) ---
    it('records register, promote (with the previous version) and remove in order, with ISO UTC times, and reads them back', async () => {
      const { store, reopen } = await make();
      const proven = { metrics: { ...fixtureManifestFields().metrics, verdictKind: 'better' } };
      const t0 = new Date().toISOString();
      await store.writeVersion('m', put('a', proven));
      await store.writeVersion('m', put('b', proven));
      await store.writeVersion('other', put('x', proven));
      expect(await store.productionSince('m')).toBeUndefined();
      await promote(store, 'm@1');
      const since1 = await store.productionSince('m');
      await promote(store, 'm@2');
      await removeVersion(store, 'm@1');
      const t1 = new Date().toISOString();
      for (const s of [store, reopen?.() ?? store]) {
        const trail = await s.readAudit('m');
        expect(trail.skipped).toEqual([]);
        expect(trail.records.map(({ at: _, ...r }) => r)).toEqual([
          { action: 'register', version: 1 },
          { action: 'register', version: 2 },
          { action: 'promote', version: 1, previous: null },
          { action: 'promote', version: 2, previous: 1 },
          { action: 'remove', version: 1 },
        ]);
        const times = trail.records.map((r) => r.at);
        for (const t of times) expect(t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect([...times].sort()).toEqual(times);
        expect(times[0] >= t0 && times[4] <= t1).toBe(true);
        // the pointer was written just before its record
        expect(since1 !== undefined && since1 >= times[1] && since1 <= times[2]).toBe(true);
        expect((await s.readAudit('other')).records.map((r) => [r.action, r.version])).toEqual([['register', 1]]);
        const current = { version: (await s.productionVersion('m'))!, since: (await s.productionSince('m')) ?? null };
        expect(productionPeriods('m', trail.records, current)).toEqual({
          periods: [
            { version: 1, from: times[2], to: times[3], inferred: false },
            { version: 2, from: times[3], to: null, inferred: false },
          ],
          warnings: [],
        });
      }
      expect((await store.readAudit('never-trained')).records).toEqual([]);
    });

    it('a failed write, a refused promote and a refused remove record nothing', async () => {
      const { store } = await make();
      await store.writeVersion('m', put('a'));
      await expect(store.writeVersion('m', async () => {
        throw new Error('disk full');
      })).rejects.toThrow('disk full');
      await expect(promote(store, 'm@1')).rejects.toThrow(/needs|--force/);
      await promote(store, 'm@1', { force: true });
      await expect(removeVersion(store, 'm@1')).rejects.toThrow(/is the production version/);
      await expect(promote(store, 'm@9', { force: true })).rejects.toThrow(/does not exist/);
      expect((await store.readAudit('m')).records.map((r) => r.action)).toEqual(['register', 'promote']);
    });

    it('the trail outlives the versions it names, and appendAudit keeps a record as given', async () => {
      const { store, reopen } = await make();
      const proven = { metrics: { ...fixtureManifestFields().metrics, verdictKind: 'better' } };
      await store.writeVersion('m', put('a', proven));
      await store.writeVersion('m', put('b', proven));
      await promote(store, 'm@2');
      await removeVersion(store, 'm@1');
      const rec = { at: '2026-01-02T03:04:05.678Z', action: 'promote' as const, version: 2, previous: 7, previousSince: '2025-12-31T00:00:00.000Z' };
      await store.appendAudit('m', rec);
      rec.version = 99; // a caller changing its object afterwards changes nothing stored
      const trail = await (reopen?.() ?? store).readAudit('m');
      expect(trail.records.map((r) => r.version)).toEqual([1, 2, 2, 1, 2]);
      expect(trail.records[4]).toEqual({ at: '2026-01-02T03:04:05.678Z', action: 'promote', version: 2, previous: 7, previousSince: '2025-12-31T00:00:00.000Z' });
      await expect(store.appendAudit('../x', rec)).rejects.toThrow(/is not allowed/);
      await expect(store.readAudit('a/b')).rejects.toThrow(/is not allowed/);
    });
  });
}
