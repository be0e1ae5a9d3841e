import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { csvCell, csvTextCell } from '../../shared/csv.js';
import type { Loaded, ModelProvider } from '../provider.js';
import { errorResponses, selectionQuerySchema } from '../schemas.js';
import { modelDates, requireMembers, selectRows } from '../snapshot.js';

/** Rows per chunk of the CSV stream: a few hundred kB, so memory stays flat however large the segment. */
const ROWS_PER_CHUNK = 2000;

/**
 * The CSV of some rows of the snapshot, as a stream of chunks (not one string in memory). Text cells are
 * neutralized against formula injection (src/shared/csv.ts): the file is meant for spreadsheets.
 */
export function exportCsv(l: Loaded, rows: number[]): Readable {
  const names = l.snapshot.names;
  const cols = names.map((n) => l.snapshot.columns[n]);
  // The snapshot's date on every row: a file saved today still says which day its scores belong to.
  const asOf = csvCell(modelDates(l).snapshot);
  function* chunks(): Generator<string> {
    yield `${[...names, 'as_of'].map(csvTextCell).join(',')}\n`;
    for (let start = 0; start < rows.length; start += ROWS_PER_CHUNK) {
      let out = '';
      for (const r of rows.slice(start, start + ROWS_PER_CHUNK)) out += `${cols.map((c) => csvCell(c[r])).join(',')},${asOf}\n`;
      yield out;
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** GET /v1/export: all members of a cluster or segment and their scores, as CSV. */
export const exportRoutes: FastifyPluginAsync<{ provider: ModelProvider }> = async (app, { provider }) => {
  app.get('/v1/export', {
    schema: { summary: 'all members of a cluster or segment and their scores, as CSV (streamed; text cells starting with = + - @ tab or CR get a leading apostrophe)', querystring: selectionQuerySchema, response: { 200: { type: 'string', description: 'CSV with a header row' }, ...errorResponses(404, 409) } },
    config: { produces: 'text/csv' },
  }, async (req, reply) => {
    const l = provider.current();
    requireMembers(l, 'querystring');
    const q = req.query as { cluster?: number; segment?: string; by?: string };
    const rows = selectRows(l, q);
    const what = q.cluster !== undefined ? `cluster-${q.cluster}` : `${q.by ?? 'behavioral_segment'}-${String(q.segment).replace(/[^A-Za-z0-9]+/g, '-')}`;
    const day = modelDates(l).snapshot;
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${l.model.name}-${l.model.version}-${what}${day ? `-${day}` : ''}.csv"`)
      .send(exportCsv(l, rows));
  });
};
