import { resolveModelsDir } from '../registry/index.js';
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { runPrimary, startServer } from '../serve/index.js';
import { CohortlabError } from '../shared/errors.js';
import { resolveConfig, type EventConfig } from '../ingest/index.js';
import { SALT_ENV } from '../shared/pseudonym.js';
import { bool, int, list, str, MODEL_REF_OPTION, MODELS_DIR_OPTION, type ParsedArgs } from './args.js';
import type { Command, CommandContext } from './command.js';
import { ENGINE_OPTIONS, eventSourceSpec } from './engine.js';

/** Options that only mean something with --refresh (given without it, they are refused rather than ignored). */
const REFRESH_ONLY = ['events', 'config', 'preset', 'table', 'keep', 'changes', 'dead-letter', 'engine', 'clickhouse-url', 'clickhouse-user'];

/**
 * --refresh CADENCE: the event source of each run, like `score` reads it (--events files with the model's config
 * or --config/--preset, or the ClickHouse engine of the config / --engine clickhouse).
 */
async function refreshOptions(args: ParsedArgs, ctx: CommandContext) {
  const cadence = str(args, 'refresh');
  if (cadence === undefined) {
    const given = REFRESH_ONLY.filter((o) => args.flags[o] !== undefined);
    if (given.length) throw new CohortlabError('BAD_ARGUMENT', `--${given[0]} tells where serve --refresh reads events; add --refresh CADENCE (hourly, daily, weekly, rules, every:N(s|m|h)) or drop it.`);
    return undefined;
  }
  const events = list(args, 'events');
  const chosen = str(args, 'config') || str(args, 'preset') ? await resolveConfig({ config: str(args, 'config'), preset: str(args, 'preset') }) : null;
  const table = str(args, 'table');
  return {
    cadence,
    keep: args.flags.keep === undefined ? undefined : int(args, 'keep', 1, 1, 1_000_000),
    salt: ctx.env[SALT_ENV] || undefined,
    changesFile: str(args, 'changes'),
    deadLetterFile: str(args, 'dead-letter'),
    env: ctx.env,
    source: (modelConfig: EventConfig) => {
      const config = chosen ?? modelConfig;
      const spec = eventSourceSpec(args, ctx.env, config, events, table);
      if (!spec) throw new CohortlabError('BAD_ARGUMENT', '--refresh needs an event source: --events FILE... (with the model\'s config, or --config F / --preset NAME), or --engine clickhouse --table NAME (or the config\'s ClickHouse engine).');
      return { spec, config };
    },
  };
}

/** Origins from the flag (or the comma-separated variable), each an exact scheme://host[:port]. */
export function corsOrigins(flag: string[], env: string | undefined): string[] {
  const given = (flag.length ? flag : (env ?? '').split(',')).flatMap((o) => o.split(',')).map((o) => o.trim()).filter(Boolean);
  for (const o of given) {
    if (o === '*' || !/^https?:\/\/[^/\s]+$/.test(o)) throw new CohortlabError('BAD_ARGUMENT', `--cors-origin "${o}" must be an exact origin such as https://dash.example.com (no paths, no wildcards).`);
  }
  return given;
}

/** --workers N or auto (one per core). */
function workerCount(args: ParsedArgs): number {
  if (str(args, 'workers') === 'auto') return availableParallelism();
  return int(args, 'workers', 1, 1, 256);
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'the prediction API for services and the explorer for analysts',
  usage: 'serve --model REF [--propensity-model REF] [--port P] [--host H] [--models-dir DIR] [--refresh CADENCE (--events FILE... [--config F | --preset NAME] | --engine clickhouse --table NAME) [--keep N] [--changes FILE]]',
  options: [
    MODEL_REF_OPTION,
    { name: 'propensity-model', type: 'string', description: 'also show this upgrade (or event) model of the registry: GET /v1/propensity and the explorer\'s "Upgrade model" panel (a churn model is refused; /v1/models/reload leaves it)', placeholder: 'REF' },
    { name: 'port', type: 'string', description: 'TCP port (0 = any free port)', default: '8080', placeholder: 'P' },
    { name: 'workers', type: 'string', description: 'server processes sharing the port (auto = one per core): predictions use every core; a reload reaches every worker and /metrics sums them; not with --refresh', default: '1', placeholder: 'N|auto' },
    { name: 'host', type: 'string', description: 'interface to listen on', default: '127.0.0.1', placeholder: 'H' },
    MODELS_DIR_OPTION,
    { name: 'cors-origin', type: 'list', description: 'browser origins allowed to call the API (CORS is off without it)', default: '$COHORTLAB_CORS_ORIGIN (comma-separated), else none', placeholder: 'ORIGIN...' },
    { name: 'log-requests', type: 'boolean', description: 'log one JSON line per request on stdout (route pattern, status, ms, request id; never user ids or feature values); errors are logged always' },
    { name: 'refresh', type: 'string', description: 're-score the population on a schedule (at start, then every interval), store the snapshot in the model\'s history and serve it: hourly, daily, weekly, rules (the shortest playbook §6.1 refresh: of the rule files) or every:N(s|m|h); the as-of is the last complete UTC day, never past the last event', placeholder: 'CADENCE' },
    { name: 'events', type: 'list', description: 'with --refresh: the event files each run reads (read again every run)', placeholder: 'FILE...' },
    { name: 'config', type: 'string', description: 'with --refresh: mapping + taxonomy JSON', default: "the model's own", placeholder: 'FILE' },
    { name: 'preset', type: 'string', description: 'with --refresh: built-in mapping', placeholder: 'NAME' },
    { name: 'table', type: 'string', description: 'with --refresh --engine clickhouse: the events table (or NAME=TABLE[,NAME=TABLE] for a config source SELECT)', placeholder: 'NAME' },
    { name: 'keep', type: 'string', description: 'with --refresh: keep the newest N snapshots of the history', default: "the config's refresh.keep, else all", placeholder: 'N' },
    { name: 'changes', type: 'string', description: 'with --refresh: write each run\'s segment changes here (NDJSON: user_id, segment, from, to, as_of; replaced by every run); the config\'s refresh.webhooks receive them too', placeholder: 'FILE' },
    { name: 'dead-letter', type: 'string', description: 'with --refresh: where webhook batches that still fail after the retries are appended', default: 'models/NAME/history/dead-letter.ndjson', placeholder: 'FILE' },
    ...ENGINE_OPTIONS,
  ],
  help: 'Set COHORTLAB_API_KEY=<secret> to require "Authorization: Bearer <secret>" on every /v1 route but /v1/health.\nRoutes: GET / (explorer), GET /v1/health, POST /v1/predict, POST /v1/predict/columns, GET /v1/users/:id, GET /v1/models, POST /v1/models/reload, GET /v1/clusters, GET /v1/segments, GET /v1/members, GET /v1/export, GET /v1/propensity (with --propensity-model), GET /v1/history, GET /v1/transitions, GET /v1/drift, GET /v1/openapi.json, GET /metrics (Prometheus text, no key).\nRefresh: with --refresh, /v1/users/:id, members, exports and the sizes of /v1/clusters and /v1/segments answer from the newest snapshot (its date in each answer); a failed run logs one line and the previous snapshot stays; /v1/health and /v1/models tell the last and next run. Set COHORTLAB_PSEUDONYM_SALT for a --pseudonymize model.\nLogs: JSON lines on stdout (level, time, request_id, route, status, ms); every answer echoes x-request-id.',
  async run(args, ctx) {
    const refresh = await refreshOptions(args, ctx);
    const workers = workerCount(args);
    if (workers > 1 && refresh) throw new CohortlabError('BAD_ARGUMENT', `--refresh keeps its schedule and the snapshot it serves in one process: use it with --workers 1, or run "cohortlab refresh" on a schedule and POST /v1/models/reload (which reaches all ${workers} workers).`);
    const banner = (url: string, note = '') => `cohortlab explorer: ${url}  (API: ${url}v1/openapi.json${ctx.env.COHORTLAB_API_KEY ? '; API key required' : ''}${note}); Ctrl-C to stop`;
    // the primary of serve --workers N only starts, watches and stops the N servers (src/serve/workers.ts)
    if (workers > 1 && cluster.isPrimary) return runPrimary({ workers, logger: ctx.logger, announce: (url) => ctx.logger.info(banner(url, `; ${workers} worker processes`)) });
    const { app, url, refresher, link } = await startServer({
      ref: str(args, 'model') ?? 'default',
      modelsDir: resolveModelsDir(ctx.cwd, ctx.env, str(args, 'models-dir')),
      port: int(args, 'port', 8080, 0, 65535),
      host: str(args, 'host') ?? '127.0.0.1',
      apiKey: ctx.env.COHORTLAB_API_KEY || undefined,
      logger: ctx.logger,
      logRequests: bool(args, 'log-requests'),
      corsOrigins: corsOrigins(list(args, 'cors-origin'), ctx.env.COHORTLAB_CORS_ORIGIN),
      propensityRef: str(args, 'propensity-model'),
      refresh,
    });
    if (refresher) ctx.logger.info(`refreshing ${refresher.state().cadence} (every ${refresher.state().interval_seconds} s; first run now)`);
    if (!link) ctx.logger.info(banner(url));
    await new Promise<void>((resolve) => {
      const stop = () => {
        void app.close().then(() => {
          link?.close();
          resolve();
        });
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
