import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { csvCell, csvTextCell } from '../../shared/csv.js';
import type { Loaded, ModelProvider } from '../provider.js';
import { errorResponses, selectionQuerySchema } from '../schemas.js';
import { modelDates, requireMembers, selectMembersCached, type MemberQuery, type MemberSelection } from '../snapshot.js';

/** Rows per chunk of the CSV stream: a few hundred kB, so memory stays flat however large the segment. */
const ROWS_PER_CHUNK = 2000;

/**
 * The CSV of some rows of the snapshot, as a stream of chunks (not one string in memory). Text cells are
 * neutralized against formula injection (src/shared/csv.ts): the file is meant for spreadsheets.
 */
export function exportCsv(l: Loaded, rows: ArrayLike<number>): Readable {
  const names = l.snapshot.names;
  const cols = names.map((n) => l.snapshot.columns[n]);
  // The snapshot's date on every row: a file saved today still says which day its scores belong to.
  const asOf = csvCell(modelDates(l).snapshot);
  function* chunks(): Generator<string> {
    yield `${[...names, 'as_of'].map(csvTextCell).join(',')}\n`;
    for (let start = 0; start < rows.length; start += ROWS_PER_CHUNK) {
      let out = '';
      const end = Math.min(rows.length, start + ROWS_PER_CHUNK);
      for (let i = start; i < end; i++) out += `${cols.map((c) => csvCell(c[rows[i]])).join(',')},${asOf}\n`;
      yield out;
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** The file name part that says which members a file holds: the filters and the sort, in letters, digits and dashes. */
export function selectionName(s: MemberSelection): string {
  const safe = (v: string) => v.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'x';
  const parts: string[] = [];
  if (s.filter.cluster !== null) parts.push(`cluster-${s.filter.cluster}`);
  if (s.filter.segment !== null && s.filter.by !== null) parts.push(`${safe(s.filter.by)}-${safe(s.filter.segment)}`);
  if (s.filter.q !== null) parts.push(`q-${safe(s.filter.q)}`);
  if (s.sort !== null) parts.push(`by-${safe(s.sort)}-${s.order}`);
  return parts.length ? parts.join('_') : 'all';
}

/** GET /v1/export: exactly the members GET /v1/members lists for the same query (all pages, same order), as CSV. */
export const exportRoutes: FastifyPluginAsync<{ provider: ModelProvider }> = async (app, { provider }) => {
  app.get('/v1/export', {
    schema: { summary: 'the members GET /v1/members lists for the same query, over all pages and in the same order, with their scores, as CSV (streamed; text cells starting with = + - @ tab or CR get a leading apostrophe)', querystring: selectionQuerySchema, response: { 200: { type: 'string', description: 'CSV with a header row' }, ...errorResponses(404, 409) } },
    config: { produces: 'text/csv' },
  }, async (req, reply) => {
    const l = provider.current();
    requireMembers(l, 'querystring');
    const s = selectMembersCached(l, req.query as MemberQuery);
    const day = modelDates(l).snapshot;
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${l.model.name}-${l.model.version}-${selectionName(s)}${day ? `-${day}` : ''}.csv"`)
      .send(exportCsv(l, s.rows));
  });
};
