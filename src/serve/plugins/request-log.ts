import { randomUUID } from 'node:crypto';
import { LogController, type FastifyServerOptions, type RawRequestDefaultExpression } from 'fastify';
import { appWide } from './plugin.js';

/**
 * fastify's pino logger, as JSON lines: level name, ISO time, request id, and for requests the method,
 * route pattern (never the URL: it holds user ids), status and duration. Bodies, URLs and error messages
 * of refused requests are never logged; internal errors always are (level error, with the stack), with or
 * without per-request lines.
 */
export interface LogOptions {
  /** Where the JSON lines go (default: stdout). */
  stream?: { write(line: string): void };
  /** One info line per request (serve --log-requests); without it only refusals (warn) and errors are logged. */
  requests?: boolean;
}

/** A caller's `x-request-id` is kept when it is a plain token (no spaces or control characters to forge log lines). */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function requestId(req: RawRequestDefaultExpression): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** The fastify constructor options of the logger. */
export function loggerOptions(opts: LogOptions): Pick<FastifyServerOptions, 'logger' | 'logController' | 'genReqId' | 'requestIdHeader'> {
  return {
    logger: {
      level: opts.requests ? 'info' : 'warn',
      base: null,
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: { level: (label: string) => ({ level: label }) },
      ...(opts.stream ? { stream: opts.stream } : {}),
    },
    // fastify's own request lines carry the URL (with user ids); ours carry the route pattern.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    requestIdHeader: false,
    genReqId: requestId,
  };
}

export const requestLogPlugin = appWide(async (app) => {
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.info({ method: req.method, route: req.routeOptions.url ?? '(no route)', status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  });
});
