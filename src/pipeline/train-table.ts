import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readChurnTable, fitChurn } from '../churn/index.js';
import { evaluateChurnFit, renderEvaluationHtml } from '../evaluate/index.js';
import { MANIFEST_FORMAT_VERSION, MANIFEST_KIND, REPORT_FILE, TEST_PREDICTIONS_FILE, type ManifestFields } from '../registry/index.js';
import { CohortlabError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { writeTable } from '../shared/table-io.js';
import type { TrainOptions, TrainResult } from './train.js';
import { codeVersion, fingerprint, memberMode, packageVersion, summaryMetrics, testPredictions, writeChurn } from './version-files.js';

/** `train --table FILE --label COLUMN`: a per-user table skips the event stages: stratified split, churn, evaluate, register. */
export async function trainFromTable(opts: TrainOptions, logger: Logger, started: number): Promise<TrainResult> {
  if (!opts.label) throw new CohortlabError('BAD_ARGUMENT', 'train --table FILE needs --label COLUMN (the churn column, e.g. Churn).');
  const tablePath = opts.table as string;
  const labelColumn = opts.label;
  if (memberMode(opts).mode !== 'none') logger.warn('a --table model keeps no per-user snapshot, so it stores no user id either way (--keep-user-ids / --pseudonymize have nothing to apply to).');
  const split = await readChurnTable(opts.table as string, {
    label: opts.label, idColumn: opts.idColumn, positive: opts.positive, drop: opts.drop, keepLeaky: opts.keepLeaky, seed: opts.seed, logger,
  });
  const fitted = await fitChurn({
    train: [split.train], valid: split.valid, test: split.test, features: split.features,
    params: { kind: opts.kind ?? 'auto', seed: opts.seed },
    source: 'table', encoding: split.encoding, notes: split.notes,
    logger,
  });
  const churn = await evaluateChurnFit(fitted, split.test, { resamples: opts.resamples, title: `Churn model on ${opts.table} (stratified held-out 20%)`, logger });
  const seconds = (performance.now() - started) / 1000;
  const r = split.report;
  const table = { columns: r.columns, duplicates: r.duplicates, idColumn: split.encoding.idColumn };
  // The table checks' warnings join the evaluation's, so report.json `warnings` and `train --json` carry both (codes in docs/errors.md, "Warnings").
  churn.report.warnings.unshift(...split.warnings);
  const warnings = churn.report.warnings;
  const tested = testPredictions(churn, `table ${opts.label}`);
  const version = await opts.models.writeVersion(opts.name, async (dir): Promise<ManifestFields> => {
    await writeChurn(dir, churn);
    const tableReport = {
      path: opts.table, label: opts.label, positive: split.encoding.positive ?? null, id: split.encoding.idColumn, drop: opts.drop ?? [], keepLeaky: Boolean(opts.keepLeaky),
      columns: r.columns, duplicates: r.duplicates, labelCounts: r.labelCounts, notes: split.notes,
    };
    await writeFile(join(dir, REPORT_FILE), `${JSON.stringify({ verdict: churn.report.verdict, evidence: churn.report.evidence, warnings, evaluation: churn.report, clusters: null, table: tableReport })}\n`);
    await writeTable(join(dir, TEST_PREDICTIONS_FILE), tested.table);
    await writeFile(join(dir, 'report.html'), await renderEvaluationHtml(churn.report));
    return {
      kind: MANIFEST_KIND,
      formatVersion: MANIFEST_FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      seed: opts.seed,
      params: { source: 'table', table: tablePath, label: labelColumn, positive: split.encoding.positive ?? null, id: split.encoding.idColumn, drop: opts.drop ?? [], keepLeaky: Boolean(opts.keepLeaky), churnKind: churn.model.kind },
      memberIds: 'none',
      features: split.features,
      codeVersion: codeVersion(),
      packageVersion: await packageVersion(),
      input: await fingerprint([tablePath]),
      backend: churn.model.backend,
      trainingSeconds: seconds,
      metrics: summaryMetrics(churn.report, null, split.train.userIds.length + split.valid.userIds.length + split.test.userIds.length, tested.digest),
    };
  });
  logger.info(`registered ${version.name}@${version.version} in ${version.dir} (${seconds.toFixed(1)} s)`);
  return { version, evaluation: churn.report, clusters: null, seconds, table, warnings };
}
