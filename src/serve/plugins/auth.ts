import { createHash, timingSafeEqual } from 'node:crypto';
import { errorMessage } from '../../shared/errors.js';
import { sendError } from './errors.js';
import { appWide } from './plugin.js';

/** When `apiKey` is set, every /v1 route but health needs `Authorization: Bearer <apiKey>` (CONTRACT.md). */
export const authPlugin = appWide<{ apiKey?: string }>(async (app, opts) => {
  const key = opts.apiKey;
  if (!key) return;
  const expected = createHash('sha256').update(key).digest();
  app.addHook('onRequest', async (req, reply) => {
    // By the matched route, not the raw URL (so no spelling of a path reaches a route without the check);
    // unmatched /v1 paths need the key too, so a 404 says nothing to a caller without it.
    const route = req.routeOptions.url ?? req.url;
    if (!route.startsWith('/v1') || route === '/v1/health') return;
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    // Equal-length digests compared in constant time: neither the key nor its length leaks through timing.
    if (!timingSafeEqual(createHash('sha256').update(given).digest(), expected)) {
      req.log.warn({ code: 'UNAUTHORIZED', route: req.routeOptions.url ?? '(no route)', status: 401 }, 'request refused');
      return sendError(reply, 401, 'UNAUTHORIZED', errorMessage('UNAUTHORIZED'), 'header:authorization');
    }
  });
});
