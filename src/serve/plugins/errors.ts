import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { CohortlabError, errorMessage, isCohortlabError, isInternalCode, type ErrorCode } from '../../shared/errors.js';
import { BODY_LIMIT_BYTES, MAX_USERS_PER_REQUEST } from '../schemas.js';
import { appWide } from './plugin.js';

/**
 * Every error answer is `{ code, message, path }` with the status of its code in the catalogue
 * (src/shared/errors.ts). `path` says where in the request (a JSON path, a header, the URL) or "request".
 * A 4xx message says what to fix. A 5xx answer is the code's fixed sentence with the request id; the
 * message, its cause and its detail (SQL, file paths) go to the log under that id, never to the client.
 */
export function sendError(reply: FastifyReply, status: number, code: ErrorCode, message: string, path = 'request') {
  return reply.status(status).type('application/json').send({ code, message, path });
}

type AjvError = { instancePath?: string; keyword?: string; message?: string; params?: Record<string, unknown> };

function ajvPath(e: AjvError): string {
  const base = e.instancePath ?? '';
  if (e.keyword === 'required' && typeof e.params?.missingProperty === 'string') return `${base}/${e.params.missingProperty}`;
  if (e.keyword === 'additionalProperties' && typeof e.params?.additionalProperty === 'string') return `${base}/${e.params.additionalProperty}`;
  return base || '/';
}

function validationMessage(err: FastifyError): { message: string; path: string } {
  const all = (err.validation ?? []) as AjvError[];
  // A oneOf failure comes after the errors of its branches; it is the one that explains the problem.
  const v = all.find((e) => e.keyword === 'oneOf') ?? all[0];
  const where = err.validationContext ?? 'body';
  if (!v) return { message: err.message, path: where };
  const path = ajvPath(v);
  // the features of a user (POST /v1/predict) or the feature columns (POST /v1/predict/columns)
  const isFeature = /\/features(\/|$)/.test(path) || /^\/columns(\/[^/]*)?$/.test(path);
  let message: string;
  if (v.keyword === 'required') message = isFeature ? `missing feature "${v.params?.missingProperty}" at ${where}${v.instancePath}` : `${where}${path} is required`;
  else if (v.keyword === 'additionalProperties') message = isFeature ? `unknown feature "${v.params?.additionalProperty}" at ${where}${v.instancePath}; GET /v1/models lists the model's features` : `${where}${path} is not allowed here`;
  else if (v.keyword === 'maxItems' && (path === '/users' || path.startsWith('/columns/') || path === '/user_id')) message = `too many users: at most ${MAX_USERS_PER_REQUEST} per request; split the batch`;
  else if (v.keyword === 'oneOf') message = `${where}${path} must have either "features" or "events", not both or neither`;
  else message = `${where}${path} ${v.message ?? 'is invalid'}`;
  return { message, path: `${where === 'body' ? '' : `${where}:`}${path}` };
}

/** fastify's own request errors (schema, body parsing, limits) as coded errors; anything else is INTERNAL. */
function coded(err: FastifyError): { error: CohortlabError; status: number } {
  if (isCohortlabError(err)) return { error: err, status: err.status };
  const c = (code: ErrorCode, message: string, path?: string, status?: number) => {
    const error = new CohortlabError(code, message, { path, cause: err });
    return { error, status: status ?? error.status };
  };
  if (err.validation) {
    const { message, path } = validationMessage(err);
    return c('INVALID_REQUEST', message, path);
  }
  if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err instanceof SyntaxError && err.statusCode === 400)) return c('MALFORMED_JSON', errorMessage('MALFORMED_JSON', { detail: `: ${err.message}` }), 'body');
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return c('MALFORMED_JSON', 'the body is empty; send a JSON object', 'body');
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return c('BODY_TOO_LARGE', errorMessage('BODY_TOO_LARGE', { mb: BODY_LIMIT_BYTES / 1024 / 1024, users: MAX_USERS_PER_REQUEST }), 'body');
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return c('UNSUPPORTED_MEDIA_TYPE', errorMessage('UNSUPPORTED_MEDIA_TYPE'), 'header:content-type');
  // Other request errors fastify raises itself (a bad content-length, an aborted body): their status, one code.
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return c('INVALID_REQUEST', err.message, 'request', err.statusCode);
  return c('INTERNAL', err.message);
}

function route(req: FastifyRequest): string {
  return req.routeOptions.url ?? '(no route)';
}

export const errorsPlugin = appWide(async (app) => {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const { error, status } = coded(err);
    if (isInternalCode(error.code)) {
      // Always logged, whatever --log-requests says: the client is told to look here by request id.
      req.log.error({ code: error.code, route: route(req), status, err: isCohortlabError(err) ? err : error.cause, detail: error.detail }, 'request failed');
      return sendError(reply, status, error.code, errorMessage(error.code, { requestId: req.id }));
    }
    // 4xx: the code and route only; the message can quote the ids and values of the request.
    req.log.warn({ code: error.code, route: route(req), status }, 'request refused');
    return sendError(reply, status, error.code, error.message, error.path);
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'NOT_FOUND', errorMessage('NOT_FOUND', { method: req.method, url: req.url.split('?')[0] }), 'url'));
});
