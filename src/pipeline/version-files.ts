import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IngestReport } from '../ingest/index.js';
import { serializeModel } from '../churn/index.js';
import type { EvaluationReport, TrainChurnResult } from '../evaluate/index.js';
import { CHURN_MODEL_FILE, CHURN_WEIGHTS_FILE, sha256File, type ManifestInput, type ManifestMetrics } from '../registry/index.js';
import { CohortlabError } from '../shared/errors.js';
import { pseudonym } from '../shared/pseudonym.js';
import type { ColumnTable, WritableTable } from '../shared/table-io.js';

/**
 * What `train` (events and tables) writes into a registry version besides the models themselves: the code and
 * package versions, the input fingerprint, the member-id mode of the stored snapshot, the manifest's summary
 * metrics, the test predictions `models compare` pairs on, and the churn model files.
 */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function codeVersion(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Size and SHA-256 of each input file, in order (train starts it after ingest: the hashing overlaps DuckDB's work). */
export async function hashFiles(files: string[]): Promise<ManifestInput['files']> {
  const out = [];
  for (const f of files) out.push({ path: f, bytes: (await stat(f)).size, sha256: await sha256File(f) });
  return out;
}

export async function fingerprint(files: string[] | Promise<ManifestInput['files']>, report?: IngestReport, location?: string): Promise<ManifestInput> {
  // undefined fields are left out of manifest.json (JSON.stringify), as a table model has no ingest report
  return {
    files: await (Array.isArray(files) ? hashFiles(files) : files),
    location,
    rows: report ? { read: report.rowsRead, used: report.rowsUsed, rejected: report.rejected } : undefined,
    users: report?.users,
    timeSpan: report ? { first: new Date(report.firstEventMs).toISOString(), last: new Date(report.lastEventMs).toISOString() } : undefined,
  };
}

export const MEMBER_NOTE: Record<Members['mode'], string> = {
  none: 'user ids: not stored (the default): the server answers profiles and sizes, not members; train with --keep-user-ids, or --pseudonymize, to serve members',
  raw: 'user ids: stored as given (--keep-user-ids), for /v1/users/:id, member lists and exports',
  pseudonymized: 'user ids: stored as keyed hashes (--pseudonymize); keep the salt to look users up by their raw id',
};

export type Members = { mode: 'none' } | { mode: 'raw' } | { mode: 'pseudonymized'; salt: string };

export function memberMode(opts: { keepUserIds?: boolean; pseudonymizeSalt?: string }): Members {
  if (opts.keepUserIds && opts.pseudonymizeSalt) throw new CohortlabError('BAD_ARGUMENT', 'give --keep-user-ids or --pseudonymize, not both.');
  if (opts.pseudonymizeSalt) return { mode: 'pseudonymized', salt: opts.pseudonymizeSalt };
  return opts.keepUserIds ? { mode: 'raw' } : { mode: 'none' };
}

/**
 * The scored snapshot as stored in the model folder (source article 001: data minimization). Without a
 * choice no user id is stored, so the folder holds aggregates and per-user scores without identities.
 */
export function memberTable(t: WritableTable, m: Members): WritableTable {
  if (m.mode === 'raw') return t;
  if (m.mode === 'pseudonymized') return { ...t, columns: { ...t.columns, user_id: (t.columns.user_id as string[]).map((id) => pseudonym(id, m.salt)) } };
  const { user_id: _dropped, ...rest } = t.columns;
  return { rows: t.rows, names: t.names.filter((n) => n !== 'user_id'), columns: rest };
}

export function summaryMetrics(r: EvaluationReport, k: number | null, users: number, testSet: string): ManifestMetrics {
  return {
    aucModel: r.metrics.model?.rocAuc?.value ?? null,
    aucModelInterval: r.metrics.model?.rocAuc ?? null,
    aucRule: r.metrics.rule?.rocAuc?.value ?? null,
    modelBeatsRule: r.verdict.model_beats_rule,
    verdictKind: r.verdict.kind,
    strongestBaseline: r.verdict.strongest_baseline,
    testUsers: r.testUsers,
    testChurners: r.testChurners,
    /** sha256 of the sorted test user ids and the test cutoff: versions with the same one were tested on the same users (models compare pairs them). */
    testSet,
    k,
    users,
  };
}

/**
 * The test users' labels and probabilities in user-id order (no ids), and the sha256 of those sorted ids and `what`
 * (the test cutoff or the table's label): versions with equal digests were tested on the same users.
 */
export function testPredictions(churn: TrainChurnResult, what: string): { table: ColumnTable; digest: string } {
  const ids = churn.test.userIds;
  const order = Array.from(ids, (_, i) => i).sort((a, b) => (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0));
  const h = createHash('sha256');
  h.update(`${what}\n`);
  for (const i of order) h.update(`${ids[i]}\n`);
  return {
    table: {
      rows: order.length,
      names: ['churned', 'churn_probability'],
      columns: { churned: Float64Array.from(order, (i) => churn.test.label[i]), churn_probability: Float64Array.from(order, (i) => churn.test.probability[i]) },
    },
    digest: h.digest('hex'),
  };
}

export async function writeChurn(dir: string, churn: TrainChurnResult): Promise<void> {
  const s = await serializeModel(churn.model);
  await writeFile(join(dir, CHURN_MODEL_FILE), `${JSON.stringify(s.json)}\n`);
  // only the MLP has a weights file; logistic and gbdt are JSON only (churn-model.json)
  if (s.weights) await writeFile(join(dir, CHURN_WEIGHTS_FILE), Buffer.from(s.weights));
}

