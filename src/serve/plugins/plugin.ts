import type { FastifyPluginAsync } from 'fastify';

/**
 * A plugin whose hooks, handlers and decorations apply to the whole app, not only inside its own
 * encapsulation context (what fastify-plugin does: the `skip-override` symbol fastify reads).
 */
export function appWide<O extends Record<string, unknown>>(plugin: FastifyPluginAsync<O>): FastifyPluginAsync<O> {
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}
