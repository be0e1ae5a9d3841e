import type { FastifyPluginAsync } from 'fastify';
import { historySizes, historyTransitions, monthlyPairs } from '../../pipeline/index.js';
import type { HistoryStore, SnapshotRecord } from '../../registry/index.js';
import { CohortlabError } from '../../shared/errors.js';
import { driftChartSpec } from '../../evaluate/index.js';
import { sizesOverTimeSpec, transitionCountsSpec } from '../charts.js';
import type { Loaded, ModelProvider } from '../provider.js';
import { driftQuerySchema, driftResponseSchema, errorResponses, historyQuerySchema, historyResponseSchema, transitionsQuerySchema, transitionsResponseSchema } from '../schemas.js';
import { modelDates, modelInfo } from '../snapshot.js';

/**
 * GET /v1/history, GET /v1/transitions and GET /v1/drift (issue 21 parts 2-3): the model's history of refresh
 * snapshots, read through src/pipeline/history.ts. The history is kept per model name (every version's
 * refreshes), so these answer for the loaded model's name. Ids never leave: sizes, matrices and drift only.
 */

/** How to fill an empty history, for the answers and the explorer. */
export function emptyHistoryNote(l: Loaded): string {
  return `the history of ${l.model.name} is empty: run "cohortlab refresh --model ${l.model.name} --events FILE... --as-of DATE" (or --engine clickhouse ...), or start the server with --refresh daily (serve --refresh CADENCE --events FILE...).`;
}

function emptyHistory(l: Loaded, history: HistoryStore): CohortlabError {
  return new CohortlabError('SNAPSHOT_NOT_FOUND', `${emptyHistoryNote(l)} (${history.location})`, { path: 'querystring' });
}

export const historyRoutes: FastifyPluginAsync<{ provider: ModelProvider }> = async (app, { provider }) => {
  app.get('/v1/history', {
    schema: { summary: "sizes of every rule segment, lifecycle stage and cluster over the model's refresh snapshots, with a stacked-area chart of one column", querystring: historyQuerySchema, response: { 200: historyResponseSchema, ...errorResponses() } },
  }, async (req) => {
    const l = provider.current();
    const { column } = req.query as { column: string };
    const points = await historySizes(l.store.history(l.model.name));
    const columns = [...new Set(points.flatMap((p) => Object.keys(p.sizes)))];
    if (points.length && !columns.includes(column)) throw new CohortlabError('UNKNOWN_COLUMN', `column=${column} has no sizes in the history of ${l.model.name}; columns: ${columns.join(', ')}`, { path: 'querystring:column' });
    return { model: modelInfo(l), served_as_of: modelDates(l).snapshot, points, columns, column, chart: sizesOverTimeSpec(points, column), note: points.length ? null : emptyHistoryNote(l) };
  });

  app.get('/v1/transitions', {
    schema: { summary: 'the playbook 9.2 transition matrix (counts, row shares, "(new)" and "(gone)") between two snapshots of the history, or month over month', querystring: transitionsQuerySchema, response: { 200: transitionsResponseSchema, ...errorResponses(404) } },
  }, async (req) => {
    const l = provider.current();
    const q = req.query as { from?: string; to?: string; by: string; monthly: boolean };
    const history = l.store.history(l.model.name);
    const dates = await history.list();
    if ((q.from === undefined) !== (q.to === undefined)) throw new CohortlabError('BAD_QUERY', 'give both from=DATE and to=DATE (or neither: the latest month-over-month pair)', { path: `querystring:${q.from === undefined ? 'from' : 'to'}` });
    if (q.from !== undefined && q.monthly) throw new CohortlabError('BAD_QUERY', 'give either from= and to= or monthly=true, not both', { path: 'querystring:monthly' });
    if (q.from !== undefined && q.to !== undefined && q.from >= q.to) throw new CohortlabError('BAD_QUERY', `from=${q.from} must be before to=${q.to}`, { path: 'querystring:from' });
    if (!dates.length) throw emptyHistory(l, history);
    let pairs: [string, string][];
    if (q.from !== undefined && q.to !== undefined) {
      for (const [d, where] of [[q.from, 'from'], [q.to, 'to']] as const) {
        if (!dates.includes(d)) throw new CohortlabError('SNAPSHOT_NOT_FOUND', `${where}=${d} is not a snapshot date of ${l.model.name}; the history holds ${dates.join(', ')}`, { path: `querystring:${where}` });
      }
      pairs = [[q.from, q.to]];
    } else {
      const monthly = monthlyPairs(dates);
      if (q.monthly) pairs = monthly;
      else if (monthly.length) pairs = [monthly[monthly.length - 1]];
      else pairs = dates.length >= 2 ? [[dates[dates.length - 2], dates[dates.length - 1]]] : [];
      if (!pairs.length && !q.monthly) throw new CohortlabError('SNAPSHOT_NOT_FOUND', `a transition needs two snapshots; the history of ${l.model.name} holds one (${dates[0]}): refresh a later date first`, { path: 'querystring' });
    }
    const matrices = [];
    for (const [a, b] of pairs) {
      const m = await historyTransitions(history, a, b, q.by);
      matrices.push({ ...m, chart: transitionCountsSpec(m) });
    }
    return { model: modelInfo(l), by: q.by, dates, matrices };
  });

  app.get('/v1/drift', {
    schema: { summary: "the drift report of the newest refresh (or of as_of): PSI per feature with its noise bound, KS, the prediction and rule-score distributions against the version's training snapshot, and the verdict", querystring: driftQuerySchema, response: { 200: driftResponseSchema, ...errorResponses(404, 422) } },
  }, async (req) => {
    const l = provider.current();
    const { as_of } = req.query as { as_of?: string };
    const history = l.store.history(l.model.name);
    const dates = await history.list();
    if (!dates.length) throw emptyHistory(l, history);
    let record: SnapshotRecord;
    try {
      record = await history.read(as_of ?? dates[dates.length - 1]);
    } catch (e) {
      if (e instanceof CohortlabError && e.code === 'SNAPSHOT_NOT_FOUND') throw new CohortlabError(e.code, e.message, { path: 'querystring:as_of', cause: e });
      throw e;
    }
    if (!record.drift) {
      throw new CohortlabError('MODEL_INCOMPATIBLE', `the snapshot of ${record.as_of} has no drift report: ${record.model.name}@${record.model.version}, which scored it, stores no training sample (drift-reference.parquet; versions trained before drift was measured). Retrain, then refresh`, { path: 'querystring:as_of' });
    }
    return { model: modelInfo(l), as_of: record.as_of, scored_by: record.model, dates, report: record.drift, chart: driftChartSpec(record.drift) };
  });
};
