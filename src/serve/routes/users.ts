import type { FastifyPluginAsync } from 'fastify';
import { pseudonym, SALT_ENV } from '../../shared/pseudonym.js';
import { CohortlabError } from '../../shared/errors.js';
import type { ModelProvider } from '../provider.js';
import { errorResponses, membersQuerySchema, membersResponseSchema, userResponseSchema } from '../schemas.js';
import { modelDates, requireMembers, rowObject, selectMembersCached, type MemberQuery } from '../snapshot.js';

/** GET /v1/users/:id and GET /v1/members: rows of the scored snapshot (they need stored ids). */
export const userRoutes: FastifyPluginAsync<{ provider: ModelProvider }> = async (app, { provider }) => {
  app.get('/v1/users/:id', {
    schema: { summary: "a user's row of the scored snapshot, with the snapshot's as_of date", params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } }, response: { 200: userResponseSchema, ...errorResponses(404, 409) } },
  }, async (req) => {
    const l = provider.current();
    const { id } = req.params as { id: string };
    requireMembers(l, 'params:id');
    // A pseudonymized model: the caller may send the pseudonym, or the raw id when the server holds the salt.
    const salt = process.env[SALT_ENV];
    const row = l.rowOf.get(id) ?? (l.memberIds === 'pseudonymized' && salt ? l.rowOf.get(pseudonym(id, salt)) : undefined);
    const asOf = modelDates(l).snapshot;
    if (row === undefined) throw new CohortlabError('UNKNOWN_USER', `user "${id}" is not in the scored snapshot of ${l.model.name}@${l.model.version} (as of ${String(asOf)}); score new users with POST /v1/predict`, { path: 'params:id' });
    return { ...rowObject(l, row), as_of: asOf };
  });

  app.get('/v1/members', {
    schema: { summary: 'members of the scored snapshot, filtered by cluster AND segment AND a user id substring (each optional), sorted by any column, paged, with its as_of date', querystring: membersQuerySchema, response: { 200: membersResponseSchema, ...errorResponses(404, 409) } },
  }, async (req) => {
    const l = provider.current();
    requireMembers(l, 'querystring');
    const q = req.query as MemberQuery & { page: number; page_size: number };
    const s = selectMembersCached(l, q);
    const start = (q.page - 1) * q.page_size;
    const page = Array.from(s.rows.subarray(Math.min(start, s.rows.length), Math.min(start + q.page_size, s.rows.length)), (r) => rowObject(l, r));
    return {
      as_of: modelDates(l).snapshot,
      total: s.rows.length,
      page: q.page,
      page_size: q.page_size,
      pages: Math.max(1, Math.ceil(s.rows.length / q.page_size)),
      rows: page,
      filter: s.filter,
      sort: s.sort,
      order: s.order,
      sortable: s.sortable,
    };
  });
};
