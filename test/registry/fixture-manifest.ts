import { MANIFEST_FORMAT_VERSION, MANIFEST_KIND, type ManifestFields } from '../../src/registry/index.js';

/**
 * Manifest fields of a small table model, for store tests that write their own files: the values are those
 * `train --table` writes (test/fixtures/bank-churn-leak.csv, seed 7, as in test/pipeline/table.test.ts), so
 * the manifest parses like a real one.
 */
export function fixtureManifestFields(over: Partial<ManifestFields> = {}): ManifestFields {
  return {
    kind: MANIFEST_KIND,
    formatVersion: MANIFEST_FORMAT_VERSION,
    createdAt: '2026-12-06T13:08:13.655Z',
    seed: 7,
    params: { source: 'table', table: 'test/fixtures/bank-churn-leak.csv', label: 'Exited', positive: null, id: 'CustomerId', drop: [], keepLeaky: false, churnKind: 'logistic' },
    memberIds: 'none',
    features: ['CreditScore', 'Age', 'Tenure', 'Balance'],
    codeVersion: null,
    packageVersion: '0.1.0',
    input: { files: [{ path: 'test/fixtures/bank-churn-leak.csv', bytes: 4647, sha256: '397fab96147c400cedb3db40a6c8d4a42cd6d683c1f6658331f24363a0a46354' }] },
    backend: 'wasm',
    trainingSeconds: 1.06,
    metrics: { aucModel: 0.944, aucModelInterval: { value: 0.944, lo: 0.8, hi: 1 }, aucRule: null, modelBeatsRule: null, verdictKind: 'insufficient_evidence', strongestBaseline: null, testUsers: 12, testChurners: 3, testSet: 'a'.repeat(64), k: null, users: 63 },
    ...over,
  };
}
