import { appWide } from './plugin.js';

/** CORS is off (no Access-Control-* header, so browsers keep other origins out) unless origins are configured. */
export const corsPlugin = appWide<{ origins?: string[] }>(async (app, opts) => {
  if (!opts.origins?.length) return;
  const allowed = new Set(opts.origins);
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (!origin || !allowed.has(origin)) return;
    reply.header('Access-Control-Allow-Origin', origin).header('Vary', 'Origin').header('Access-Control-Expose-Headers', 'x-request-id');
    if (req.method === 'OPTIONS') {
      reply.header('Access-Control-Allow-Methods', 'GET, POST').header('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Request-Id').header('Access-Control-Max-Age', '600');
      return reply.code(204).send();
    }
  });
});
