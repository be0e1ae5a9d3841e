import { resolveModelsDir } from '../registry/index.js';
import { startServer } from '../serve/index.js';
import { CohortlabError } from '../shared/errors.js';
import { bool, int, list, str, MODEL_REF_OPTION, MODELS_DIR_OPTION } from './args.js';
import type { Command } from './command.js';

/** Origins from the flag (or the comma-separated variable), each an exact scheme://host[:port]. */
export function corsOrigins(flag: string[], env: string | undefined): string[] {
  const given = (flag.length ? flag : (env ?? '').split(',')).flatMap((o) => o.split(',')).map((o) => o.trim()).filter(Boolean);
  for (const o of given) {
    if (o === '*' || !/^https?:\/\/[^/\s]+$/.test(o)) throw new CohortlabError('BAD_ARGUMENT', `--cors-origin "${o}" must be an exact origin such as https://dash.example.com (no paths, no wildcards).`);
  }
  return given;
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'the prediction API for services and the explorer for analysts',
  usage: 'serve --model REF [--propensity-model REF] [--port P] [--host H] [--models-dir DIR]',
  options: [
    MODEL_REF_OPTION,
    { name: 'propensity-model', type: 'string', description: 'also show this upgrade (or event) model of the registry: GET /v1/propensity and the explorer\'s "Upgrade model" panel (a churn model is refused; /v1/models/reload leaves it)', placeholder: 'REF' },
    { name: 'port', type: 'string', description: 'TCP port (0 = any free port)', default: '8080', placeholder: 'P' },
    { name: 'host', type: 'string', description: 'interface to listen on', default: '127.0.0.1', placeholder: 'H' },
    MODELS_DIR_OPTION,
    { name: 'cors-origin', type: 'list', description: 'browser origins allowed to call the API (CORS is off without it)', default: '$COHORTLAB_CORS_ORIGIN (comma-separated), else none', placeholder: 'ORIGIN...' },
    { name: 'log-requests', type: 'boolean', description: 'log one JSON line per request on stdout (route pattern, status, ms, request id; never user ids or feature values); errors are logged always' },
  ],
  help: 'Set COHORTLAB_API_KEY=<secret> to require "Authorization: Bearer <secret>" on every /v1 route but /v1/health.\nRoutes: GET / (explorer), GET /v1/health, POST /v1/predict, GET /v1/users/:id, GET /v1/models, POST /v1/models/reload, GET /v1/clusters, GET /v1/segments, GET /v1/members, GET /v1/export, GET /v1/propensity (with --propensity-model), GET /v1/openapi.json, GET /metrics (Prometheus text, no key).\nLogs: JSON lines on stdout (level, time, request_id, route, status, ms); every answer echoes x-request-id.',
  async run(args, ctx) {
    const { app, url } = await startServer({
      ref: str(args, 'model') ?? 'default',
      modelsDir: resolveModelsDir(ctx.cwd, ctx.env, str(args, 'models-dir')),
      port: int(args, 'port', 8080, 0, 65535),
      host: str(args, 'host') ?? '127.0.0.1',
      apiKey: ctx.env.COHORTLAB_API_KEY || undefined,
      logger: ctx.logger,
      logRequests: bool(args, 'log-requests'),
      corsOrigins: corsOrigins(list(args, 'cors-origin'), ctx.env.COHORTLAB_CORS_ORIGIN),
      propensityRef: str(args, 'propensity-model'),
    });
    ctx.logger.info(`cohortlab explorer: ${url}  (API: ${url}v1/openapi.json${ctx.env.COHORTLAB_API_KEY ? '; API key required' : ''}); Ctrl-C to stop`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        void app.close().then(() => resolve());
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
