import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatManifest, parseManifest, parseManifestText } from '../../src/registry/index.js';
import { fixtureManifestFields } from './fixture-manifest.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const fixture = async (f: string) => JSON.parse(await readFile(join(FIXTURES, f), 'utf8')) as Record<string, unknown>;
const WHERE = 'model m@1: manifest.json';

describe('parseManifest', () => {
  it('reads a version written before the verdict fields, keeping every field and the key order of the file', async () => {
    const json = await fixture('manifest-v1-before-verdicts.json');
    const m = parseManifest(json, WHERE);
    expect(m).toEqual(json);
    expect(JSON.stringify(m)).toBe(JSON.stringify(json));
    expect(m.params).toMatchObject({ source: 'events', asOf: '2026-04-30', snapshotAsOf: '2026-05-30', horizonDays: 30, k: 4 });
    expect(m.metrics.verdictKind).toBeUndefined();
    expect(m.metrics.testUsers).toBe(335);
    expect(Object.keys(m.files)).toContain('rules/at-risk.segment');
  });

  it('reads a table version', async () => {
    const json = await fixture('manifest-v1-table.json');
    const m = parseManifest(json, WHERE);
    expect(m).toEqual(json);
    expect(m.params).toEqual({ source: 'table', table: '/work/wt-table/test/fixtures/bank-churn-leak.csv', label: 'Exited', positive: null, id: 'CustomerId', drop: [], keepLeaky: false, churnKind: 'logistic' });
  });

  it('keeps fields it does not read as written (a later writer of this format may add some)', async () => {
    const json = await fixture('manifest-v1-before-verdicts.json');
    const withMore = { ...json, params: { ...(json.params as object), window: { kind: 'sliding', days: 7 } }, notes: ['x'] };
    const m = parseManifest(withMore, WHERE);
    expect(JSON.stringify(m)).toBe(JSON.stringify(withMore));
    expect((m.params as unknown as { window: unknown }).window).toEqual({ kind: 'sliding', days: 7 });
  });

  it('reads the propensity target of a train --target version, and names a malformed one', async () => {
    const json = await fixture('manifest-v1-before-verdicts.json');
    const target = { kind: 'upgrade', event: 'upgraded_plan', events: ['upgraded_plan'], probabilityColumn: 'upgrade_probability' };
    const m = parseManifest({ ...json, params: { ...(json.params as object), target } }, WHERE);
    expect(m.params.source === 'events' ? m.params.target : null).toEqual(target);
    expect(() => parseManifest({ ...json, params: { ...(json.params as object), target: { ...target, kind: 'downgrade' } } }, WHERE)).toThrow(/params\.target\.kind/);
  });

  it('round-trips what the store writes', () => {
    const m = { ...fixtureManifestFields(), name: 'm', version: 1, files: { 'a.json': { bytes: 2, sha256: 'f'.repeat(64) } } };
    expect(parseManifestText(formatManifest(m), WHERE)).toEqual(m);
  });

  it('refuses another format as MODEL_INCOMPATIBLE before reading any field', async () => {
    const json = { ...(await fixture('manifest-v1-table.json')), formatVersion: 2, seed: 'x' };
    expect(() => parseManifest(json, WHERE)).toThrow(expect.objectContaining({ code: 'MODEL_INCOMPATIBLE', message: `${WHERE} has kind "cohortlab-model" format 2; this cohortlab reads cohortlab-model format 1. Re-train it.` }));
    expect(() => parseManifest({ kind: 'other' }, WHERE)).toThrow(/has kind "other" format undefined/);
  });

  it('names the field that is missing or of the wrong type (MODEL_CORRUPT)', async () => {
    const base = await fixture('manifest-v1-before-verdicts.json');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...base, createdAt: 7 }, /field "createdAt" is 7 where a string is expected/],
      [{ ...base, params: { ...(base.params as object), cutoffs: { train: ['2026-01-30', 3] } } }, /field "params\.cutoffs\.train" is \["2026-01-30",3\] where a list of strings is expected/],
      [{ ...base, params: { ...(base.params as object), source: 'sql' } }, /field "params\.source" is "sql" where one of "events", "table" is expected/],
      [{ ...base, metrics: { ...(base.metrics as object), k: '4' } }, /field "metrics\.k" is "4" where a finite number is expected/],
      [{ ...base, memberIds: 'all' }, /field "memberIds" is "all" where one of "none", "raw", "pseudonymized" is expected/],
      [{ ...base, files: { 'a.json': { bytes: 1 } } }, /field "files\.a\.json\.sha256" is missing where a string is expected/],
      [{ ...base, input: { files: [{ path: 'e.csv', bytes: 1, sha256: null }] } }, /field "input\.files\[0\]\.sha256" is null where a string is expected/],
      [{ ...base, version: 0 }, /field "version" is 0 where a positive whole number is expected/],
    ];
    for (const [json, re] of cases) {
      expect(() => parseManifest(json, WHERE, 'models/m/1/manifest.json')).toThrow(expect.objectContaining({ code: 'MODEL_CORRUPT', path: 'models/m/1/manifest.json' }));
      expect(() => parseManifest(json, WHERE)).toThrow(re);
    }
    expect(() => parseManifest([], WHERE)).toThrow(`${WHERE} is [] where a JSON object is expected; the version was not written by this cohortlab or was edited by hand: remove it with "cohortlab models rm" and re-train.`);
    expect(() => parseManifestText('{', WHERE)).toThrow(/^model m@1: manifest\.json is not valid JSON/);
  });
});
