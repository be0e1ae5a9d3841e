import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Ajv } from 'ajv';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { clusterCharts } from '../cluster/report.js';
import type { ClusterReport } from '../cluster/index.js';
import { gainChartSpec, importanceChartSpec, liftChartSpec, prChartSpec, reliabilityChartSpec, rocChartSpec, type EvaluationReport } from '../evaluate/index.js';
import { antiPatternWarnings, type Dashboard, type TransitionMatrix } from '../rules/index.js';
import { CohortlabError, isCohortlabError, type ErrorCode } from '../shared/errors.js';
import type { ChartSpec } from '../shared/charts.js';
import { openApiDocument, type RouteDoc } from './openapi.js';
import { pseudonym, SALT_ENV } from '../shared/pseudonym.js';
import { predictUsers, type PredictUser } from './predict.js';
import type { Loaded, ModelProvider } from './provider.js';
import {
  anyObject, BODY_LIMIT_BYTES, clustersResponseSchema, errorSchema, MAX_USERS_PER_REQUEST, membersQuerySchema, modelRefSchema, predictBodySchema, predictResponseSchema, segmentsResponseSchema,
  membersResponseSchema, pointsResponseSchema, selectionQuerySchema, userResponseSchema, retentionQuerySchema, retentionResponseSchema,
} from './schemas.js';
import { RETENTION_FILE, survivalChartOf, type StoredRetention } from '../retention/index.js';

/**
 * serve: one fastify app with the /v1 prediction API for services and the explorer for analysts.
 * The app is built here and only listened to in server.ts, so tests drive it over a real port or
 * with inject. Logs carry the route pattern, status and time, never user ids or feature values.
 */
export interface AppOptions {
  provider: ModelProvider;
  /** When set, every /v1 route but health needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Origins allowed to call the API from a browser (CORS); none by default. */
  corsOrigins?: string[];
  /** Log one line per request (method, route pattern, status, ms) through this function. */
  log?: (line: string) => void;
}

const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

/** The folder of an installed package (works whether it is hoisted or not). */
function packageDir(name: string): string {
  const main = require.resolve(name);
  const marker = `${join('node_modules', name)}`;
  return main.slice(0, main.lastIndexOf(marker) + marker.length);
}

const STATIC: Record<string, () => { file: string; type: string }> = {
  '/': () => ({ file: join(PACKAGE_ROOT, 'explorer', 'index.html'), type: 'text/html; charset=utf-8' }),
  '/explorer/app.js': () => ({ file: join(PACKAGE_ROOT, 'explorer', 'app.js'), type: 'text/javascript; charset=utf-8' }),
  '/explorer/style.css': () => ({ file: join(PACKAGE_ROOT, 'explorer', 'style.css'), type: 'text/css; charset=utf-8' }),
  '/vendor/vega.min.js': () => ({ file: join(packageDir('vega'), 'build', 'vega.min.js'), type: 'text/javascript; charset=utf-8' }),
  '/vendor/vega-lite.min.js': () => ({ file: join(packageDir('vega-lite'), 'build', 'vega-lite.min.js'), type: 'text/javascript; charset=utf-8' }),
  '/vendor/vega-embed.min.js': () => ({ file: join(packageDir('vega-embed'), 'build', 'vega-embed.min.js'), type: 'text/javascript; charset=utf-8' }),
};

const STATUS_OF: Partial<Record<ErrorCode, number>> = { UNKNOWN_USER: 404, MODEL_NOT_FOUND: 404, MODEL_INCOMPATIBLE: 422, MODEL_CORRUPT: 500 };

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly path?: string) {
    super(message);
  }
}

function ajvPath(e: { instancePath?: string; keyword?: string; params?: Record<string, unknown> }): string {
  const base = e.instancePath ?? '';
  if (e.keyword === 'required' && typeof e.params?.missingProperty === 'string') return `${base}/${e.params.missingProperty}`;
  if (e.keyword === 'additionalProperties' && typeof e.params?.additionalProperty === 'string') return `${base}/${e.params.additionalProperty}`;
  return base || '/';
}

function validationMessage(err: FastifyError): { message: string; path: string } {
  type AjvError = { instancePath?: string; keyword?: string; message?: string; params?: Record<string, unknown> };
  const all = (err.validation ?? []) as AjvError[];
  // A oneOf failure comes after the errors of its branches; it is the one that explains the problem.
  const v = all.find((e) => e.keyword === 'oneOf') ?? all[0];
  const where = err.validationContext ?? 'body';
  if (!v) return { message: err.message, path: where };
  const path = ajvPath(v);
  const isFeature = /\/features(\/|$)/.test(path);
  let message: string;
  if (v.keyword === 'required') message = isFeature ? `missing feature "${v.params?.missingProperty}" at ${where}${v.instancePath}` : `${where}${path} is required`;
  else if (v.keyword === 'additionalProperties') message = isFeature ? `unknown feature "${v.params?.additionalProperty}" at ${where}${v.instancePath}; GET /v1/models lists the model's features` : `${where}${path} is not allowed here`;
  else if (v.keyword === 'maxItems' && path === '/users') message = `too many users: at most ${MAX_USERS_PER_REQUEST} per request; split the batch`;
  else if (v.keyword === 'oneOf') message = `${where}${path} must have either "features" or "events", not both or neither`;
  else message = `${where}${path} ${v.message ?? 'is invalid'}`;
  return { message, path: `${where === 'body' ? '' : `${where}:`}${path}` };
}

/** Member lists and lookups need ids the model stored (train --keep-user-ids or --pseudonymize). */
function requireMembers(l: Loaded, path: string): void {
  if (l.memberIds === 'none') {
    throw new HttpError(409, 'NO_MEMBER_IDS', `${l.model.name}@${l.model.version} was trained without storing user ids (privacy default): profiles and sizes are served, members are not. Train with --keep-user-ids, or --pseudonymize to store keyed hashes`, path);
  }
}

/** Every error answer is { code, message, path }; `path` says where in the request (a JSON path, a header, the URL) or "request" for the whole. */
function sendError(reply: FastifyReply, status: number, code: string, message: string, path = 'request') {
  return reply.status(status).type('application/json').send({ code, message, path });
}

/**
 * The two dates every answer is counted at (issue 17 part 5): the scored snapshot (members, users, segment
 * sizes) and the test cutoff (cluster profiles, the §9.1 dashboard, the evaluation), with the label horizon.
 */
export interface ModelDates {
  snapshot: string | null;
  testCutoff: string | null;
  horizonDays: number | null;
}

export function modelDates(l: Loaded): ModelDates {
  const p = (l.model.manifest.params ?? {}) as { snapshotAsOf?: string; asOf?: string; horizonDays?: number };
  const clusters = (l.model.report as { clusters?: { asOf?: string } } | undefined)?.clusters;
  return { snapshot: p.snapshotAsOf ?? null, testCutoff: p.asOf ?? clusters?.asOf ?? null, horizonDays: p.horizonDays ?? null };
}

/** Users of the snapshot already churned at its date, or null when the snapshot has no already_churned column. */
function snapshotAlreadyChurned(l: Loaded, rows?: number[]): number | null {
  const c = l.snapshot.columns.already_churned as ArrayLike<unknown> | undefined;
  if (!c) return null;
  // 1/0 as numbers, or true/false or "1"/"0" from a text column: the flag is set when it reads as 1.
  const set = (v: unknown) => (v === 1 || v === true || v === '1' || v === 'true' ? 1 : 0);
  let n = 0;
  if (rows) for (const r of rows) n += set(c[r]);
  else for (let i = 0; i < c.length; i++) n += set(c[i]);
  return n;
}

function rowObject(l: Loaded, row: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of l.snapshot.names) {
    const c = l.snapshot.columns[name];
    const v = c[row];
    if (name === 'reasons') out[name] = JSON.parse(String(v || '[]'));
    else if (typeof v === 'number') out[name] = Number.isFinite(v) ? v : null;
    else out[name] = v;
  }
  return out;
}

function selectRows(l: Loaded, q: { cluster?: number; segment?: string; by?: string }): number[] {
  if ((q.cluster === undefined) === (q.segment === undefined)) throw new HttpError(400, 'BAD_QUERY', 'give exactly one of cluster=K or segment=NAME', 'querystring');
  const n = l.snapshot.rows;
  const rows: number[] = [];
  if (q.cluster !== undefined) {
    const c = l.snapshot.columns.cluster as Float64Array | undefined;
    if (!c) throw new HttpError(404, 'NO_CLUSTERS', 'this model has no clusters', 'querystring:cluster');
    const k = Number((l.model.manifest.metrics as { k?: number } | undefined)?.k ?? 0);
    if (q.cluster >= k) throw new HttpError(404, 'UNKNOWN_CLUSTER', `cluster ${q.cluster} does not exist; clusters are 0..${k - 1}`, 'querystring:cluster');
    for (let i = 0; i < n; i++) if (c[i] === q.cluster) rows.push(i);
    return rows;
  }
  const by = q.by ?? 'behavioral_segment';
  const col = l.snapshot.columns[by];
  if (!col || !Array.isArray(col)) {
    const text = l.snapshot.names.filter((x) => Array.isArray(l.snapshot.columns[x]) && x !== 'user_id' && x !== 'reasons');
    throw new HttpError(400, 'UNKNOWN_COLUMN', `by=${by} is not a segment column; use one of ${text.join(', ')}`, 'querystring:by');
  }
  for (let i = 0; i < n; i++) if (col[i] === q.segment) rows.push(i);
  if (rows.length === 0) {
    const values = [...new Set(col)].sort();
    throw new HttpError(404, 'UNKNOWN_SEGMENT', `no users in ${by} = "${q.segment}"; values: ${values.join(', ')}`, 'querystring:segment');
  }
  return rows;
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function transitionSpec(title: string, m: TransitionMatrix): ChartSpec {
  const values = m.from.flatMap((f, i) => m.to.map((t, j) => ({ from: f, to: t, share: m.shares[i][j], users: m.counts[i][j], pct: `${(100 * m.shares[i][j]).toFixed(0)}%` })));
  return {
    title,
    data: { values },
    width: { step: 58 },
    height: { step: 26 },
    encoding: { x: { field: 'to', type: 'nominal', sort: null, axis: { labelAngle: -30, labelLimit: 160 } }, y: { field: 'from', type: 'nominal', sort: null, axis: { labelLimit: 220 } } },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'share', type: 'quantitative', scale: { scheme: 'blues', domain: [0, 1] }, title: 'row share' }, tooltip: [{ field: 'users', type: 'quantitative' }] } },
      { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'pct' } } },
    ],
  } as ChartSpec;
}

const chartCache = new WeakMap<Loaded, Record<string, unknown>>();

/** Every chart of the explorer, built on the server from the same spec builders as the HTML reports. */
// The curves the version stored when it was written (src/retention/stored.ts, docs/retention.md): read once per loaded version.
const retentionCache = new WeakMap<Loaded, Promise<StoredRetention | null>>();
function storedRetentionOf(l: Loaded): Promise<StoredRetention | null> {
  let hit = retentionCache.get(l);
  if (!hit) {
    hit = readFile(join(l.model.dir, RETENTION_FILE), 'utf8').then((t) => JSON.parse(t) as StoredRetention, (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : Promise.reject(e)));
    retentionCache.set(l, hit);
  }
  return hit;
}

/** One survival chart per stored view, titled with its dates (the explorer's Retention panel). */
async function retentionCharts(l: Loaded): Promise<Record<string, ChartSpec>> {
  const stored = await storedRetentionOf(l);
  const out: Record<string, ChartSpec> = {};
  if (!stored) return out;
  for (const [by, v] of Object.entries(stored.views)) {
    if (v) out[by] = survivalChartOf(v.curves, `Survival by ${by}${stored.landmark ? `, groups at ${stored.landmark}, time from it` : ''} (as of ${stored.as_of})`);
  }
  return out;
}

function charts(l: Loaded): Record<string, unknown> {
  const hit = chartCache.get(l);
  if (hit) return hit;
  const report = l.model.report as { evaluation?: EvaluationReport; clusters?: ClusterReport; transitions?: { from: string; to: string; segments: TransitionMatrix; clusters: TransitionMatrix } };
  const out: Record<string, unknown> = {};
  if (report.clusters) {
    const s = l.snapshot.columns;
    const c = clusterCharts(
      report.clusters,
      { userIds: s.user_id as string[], assignments: Int32Array.from(s.cluster as Float64Array), labels: s.cluster_label as string[], pc1: s.pc1 as Float64Array, pc2: s.pc2 as Float64Array },
      Number(l.model.manifest.seed ?? 0),
      { pointsAsOf: modelDates(l).snapshot ?? undefined },
    );
    out.clusters = c;
  }
  const ev = report.evaluation;
  if (ev) {
    const base = ev.testChurnRate;
    const e: Record<string, ChartSpec> = { roc: rocChartSpec(ev.curves), pr: prChartSpec(ev.curves, base), lift: liftChartSpec(ev.curves, base), gain: gainChartSpec(ev.curves) };
    if (ev.calibration) e.reliability = reliabilityChartSpec(ev.calibration.before.reliability, ev.calibration.after.reliability);
    if (ev.importance) e.importance = importanceChartSpec(ev.importance.importances);
    out.evaluation = e;
  }
  if (report.transitions) {
    const t = report.transitions;
    out.transitions = {
      segments: transitionSpec(`Behavioral segments ${t.from} -> ${t.to} (playbook 9.2, row shares)`, t.segments),
      clusters: transitionSpec(`Clusters ${t.from} -> ${t.to} (row shares)`, t.clusters),
    };
  }
  chartCache.set(l, out);
  return out;
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT_BYTES });
  // Bodies: no coercion ("12" stays a string and is rejected), nothing removed silently (a misspelled
  // feature is an error). Query strings and path parameters are text by nature: numbers are coerced.
  const bodyAjv = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, allowUnionTypes: true, allErrors: false });
  const queryAjv = new Ajv({ coerceTypes: true, removeAdditional: false, useDefaults: true, allowUnionTypes: true, allErrors: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : queryAjv).compile(schema));
  const provider = opts.provider;
  const routes: RouteDoc[] = [];
  app.addHook('onRoute', (r) => {
    if (r.schema && r.url.startsWith('/v1')) {
      for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url, schema: r.schema as RouteDoc['schema'], summary: (r.schema as { summary?: string }).summary, produces: (r.config as { produces?: string } | undefined)?.produces });
    }
  });
  // CORS is off (no Access-Control-* header, so browsers keep other origins out) unless origins are configured.
  if (opts.corsOrigins?.length) {
    const allowed = new Set(opts.corsOrigins);
    app.addHook('onRequest', async (req, reply) => {
      const origin = req.headers.origin;
      if (!origin || !allowed.has(origin)) return;
      reply.header('Access-Control-Allow-Origin', origin).header('Vary', 'Origin');
      if (req.method === 'OPTIONS') {
        reply.header('Access-Control-Allow-Methods', 'GET, POST').header('Access-Control-Allow-Headers', 'Authorization, Content-Type').header('Access-Control-Max-Age', '600');
        return reply.code(204).send();
      }
    });
  }
  app.addHook('onRequest', async (req, reply) => {
    (req as FastifyRequest & { startedAt?: number }).startedAt = performance.now();
    // By the matched route, not the raw URL (so no spelling of a path reaches a route without the check);
    // unmatched /v1 paths need the key too, so a 404 says nothing to a caller without it.
    const route = req.routeOptions.url ?? req.url;
    if (!opts.apiKey || !route.startsWith('/v1') || route === '/v1/health') return;
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    // Equal-length digests compared in constant time: neither the key nor its length leaks through timing.
    if (!timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(opts.apiKey).digest())) {
      return sendError(reply, 401, 'UNAUTHORIZED', 'this server requires "Authorization: Bearer <key>" (COHORTLAB_API_KEY)', 'header:authorization');
    }
  });
  if (opts.log) {
    const log = opts.log;
    app.addHook('onResponse', async (req, reply) => {
      const ms = performance.now() - ((req as FastifyRequest & { startedAt?: number }).startedAt ?? performance.now());
      log(`${req.method} ${req.routeOptions.url ?? '(no route)'} ${reply.statusCode} ${ms.toFixed(1)} ms`);
    });
  }
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof HttpError) return sendError(reply, err.status, err.code, err.message, err.path);
    if (err.validation) {
      const { message, path } = validationMessage(err);
      return sendError(reply, 400, 'INVALID_REQUEST', message, path);
    }
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err instanceof SyntaxError && err.statusCode === 400)) return sendError(reply, 400, 'MALFORMED_JSON', `the body is not valid JSON: ${err.message}`, 'body');
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return sendError(reply, 400, 'MALFORMED_JSON', 'the body is empty; send a JSON object', 'body');
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, 413, 'BODY_TOO_LARGE', `the body is larger than ${BODY_LIMIT_BYTES / 1024 / 1024} MB; send at most ${MAX_USERS_PER_REQUEST} users per request`, 'body');
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendError(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json', 'header:content-type');
    if (isCohortlabError(err)) return sendError(reply, STATUS_OF[err.code] ?? 400, err.code, err.message, err.path);
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return sendError(reply, err.statusCode, err.code ?? 'BAD_REQUEST', err.message);
    // Internal: details to the server log only (they may quote SQL or paths), a generic sentence to the client.
    opts.log?.(`internal error on ${req.method} ${req.routeOptions.url}: ${err.stack ?? err.message}`);
    return sendError(reply, 500, 'INTERNAL', 'internal error; the server log has the details');
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}; GET /v1/openapi.json lists the routes`, 'url'));

  const errors = { 400: errorSchema, 401: errorSchema, 404: errorSchema };
  const modelInfo = (l: Loaded) => ({ name: l.model.name, version: l.model.version });

  app.get('/v1/health', { schema: { summary: 'liveness and the loaded model', response: { 200: { type: 'object', required: ['status', 'model'], properties: { status: { type: 'string', enum: ['ok'] }, model: modelRefSchema } } } } }, async () => ({
    status: 'ok',
    model: modelInfo(provider.current()),
  }));

  app.post('/v1/predict', {
    schema: { summary: `churn probability, rule scores, segment and cluster for up to ${MAX_USERS_PER_REQUEST} users given as features or raw events`, body: predictBodySchema(provider.current().model.featureNames), response: { 200: predictResponseSchema, ...errors, 413: errorSchema, 422: errorSchema } },
  }, async (req) => {
    const l = provider.current();
    const body = req.body as { users: PredictUser[]; as_of?: string; top_reasons: number };
    return { model: modelInfo(l), predictions: await predictUsers(l, body.users, body.as_of, body.top_reasons) };
  });

  app.get('/v1/users/:id', {
    schema: { summary: "a user's row of the scored snapshot, with the snapshot's as_of date", params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } }, response: { 200: userResponseSchema, ...errors } },
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

  app.get('/v1/models', {
    schema: { summary: 'the loaded and the promoted version, and the features the model needs', response: { 200: anyObject, ...errors } },
  }, async () => {
    const l = provider.current();
    return {
      loaded: { ...modelInfo(l), createdAt: l.model.manifest.createdAt, loadedAt: l.loadedAt, metrics: l.model.manifest.metrics, params: l.model.manifest.params },
      production: (await provider.production()) ?? null,
      reference: provider.ref,
      features: l.model.featureNames,
    };
  });

  app.post('/v1/models/reload', {
    schema: { summary: 'load the reference again (e.g. a newly promoted version) and switch atomically', response: { 200: anyObject, ...errors } },
  }, async (req) => {
    // No body or {}: the reference is the one the server started with. A "ref" sent here is refused, not ignored
    // (nor followed: a ref from a request never reaches the registry).
    const b = req.body as unknown;
    if (b !== undefined && b !== null && !(typeof b === 'object' && !Array.isArray(b) && Object.keys(b).length === 0)) {
      const key = typeof b === 'object' && !Array.isArray(b) ? Object.keys(b)[0] : undefined;
      throw new HttpError(400, 'INVALID_REQUEST', `${key ? `body/${key} is not allowed here` : 'the body must be empty or {}'}: reload loads again the reference the server was started with (serve --model); to serve another version, promote it first (cohortlab models promote NAME@VERSION)`, key ? `/${key}` : 'body');
    }
    return provider.reload();
  });

  app.get('/v1/clusters', { schema: { summary: 'clusters in two dated blocks: profiles of the users they were fitted on (fit.as_of) and sizes in the scored snapshot (snapshot.as_of)', response: { 200: clustersResponseSchema, ...errors } } }, async () => {
    const l = provider.current();
    const r = l.model.report as { clusters?: ClusterReport };
    if (!r.clusters) throw new HttpError(404, 'NO_CLUSTERS', 'this model has no clusters');
    const { profiles, k, features, kSelection, stability, warnings, pca, crosstabs } = r.clusters;
    const dates = modelDates(l);
    // Two blocks, each counted on one table: never a fit-time profile beside a snapshot count without its date.
    const col = l.snapshot.columns.cluster as Float64Array;
    const prob = l.snapshot.columns.churn_probability;
    const members: number[][] = Array.from({ length: k }, () => []);
    for (let i = 0; i < col.length; i++) members[col[i]].push(i);
    const n = l.snapshot.rows;
    const clusters = members.map((rows, c) => {
      let sum = 0;
      if (prob && !Array.isArray(prob)) for (const i of rows) sum += prob[i];
      return {
        cluster: c,
        label: profiles[c].label,
        users: rows.length,
        share: n > 0 ? rows.length / n : 0,
        already_churned: snapshotAlreadyChurned(l, rows),
        mean_churn_probability: prob && !Array.isArray(prob) && rows.length ? sum / rows.length : null,
      };
    });
    return {
      model: modelInfo(l),
      k,
      features,
      labels: profiles.map((p) => p.label),
      fit: {
        as_of: r.clusters.asOf,
        horizon_days: dates.horizonDays,
        users: r.clusters.users,
        fitted_users: r.clusters.fittedUsers,
        // Reports written before these fields: the profiles carry the share of already-churned members.
        already_churned: r.clusters.alreadyChurnedUsers ?? Math.round(profiles.reduce((a, p) => a + p.alreadyChurnedRate * p.size, 0)),
        fitted_on: r.clusters.fittedOn ?? (r.clusters.fittedUsers < r.clusters.users ? 'live' : 'all'),
        profiles,
        kSelection,
        stability,
        pca: { explainedVariance: pca.explainedVariance },
        crosstabs,
        warnings,
      },
      snapshot: { as_of: dates.snapshot, users: n, already_churned: snapshotAlreadyChurned(l), clusters },
    };
  });

  app.get('/v1/segments', { schema: { summary: 'rule segment sizes of the scored snapshot (snapshot.as_of) and the 9.1 dashboard with the section 10 warnings of the test cutoff (dashboard.as_of)', response: { 200: segmentsResponseSchema, ...errors } } }, async () => {
    const l = provider.current();
    const dates = modelDates(l);
    const sizes: Record<string, Record<string, number>> = {};
    for (const col of ['behavioral_segment', 'lifecycle_stage', 'rfm_segment', 'churn_risk_tier', 'engagement_tier', 'intent_segment', 'plan_segment', 'sales_tier']) {
      const c = l.snapshot.columns[col];
      if (!Array.isArray(c)) continue;
      const m: Record<string, number> = {};
      for (const v of c) m[v] = (m[v] ?? 0) + 1;
      sizes[col] = m;
    }
    const d = (l.model.report as { dashboard?: Dashboard }).dashboard;
    return {
      model: modelInfo(l),
      snapshot: { as_of: dates.snapshot, users: l.snapshot.rows, already_churned: snapshotAlreadyChurned(l), sizes },
      // §10 warnings from the stored dashboard itself, so they are counted on the same users as its rows.
      dashboard: d ? { as_of: dates.testCutoff, horizon_days: d.retentionHorizonDays ?? dates.horizonDays, ...d, warnings: antiPatternWarnings(d, l.model.parts.segments) } : null,
      // §9.1 "LTV" per segment, lifecycle stage and cluster at the test cutoff (docs/ltv.md); null without a purchase log.
      ltv: (l.model.report as { ltvDashboard?: unknown }).ltvDashboard ?? null,
    };
  });

  app.get('/v1/members', {
    schema: { summary: 'members of a cluster or segment in the scored snapshot, paged, with its as_of date', querystring: membersQuerySchema, response: { 200: membersResponseSchema, ...errors } },
  }, async (req) => {
    const l = provider.current();
    requireMembers(l, 'querystring');
    const q = req.query as { cluster?: number; segment?: string; by?: string; page: number; page_size: number };
    const rows = selectRows(l, q);
    const start = (q.page - 1) * q.page_size;
    return { as_of: modelDates(l).snapshot, total: rows.length, page: q.page, page_size: q.page_size, pages: Math.max(1, Math.ceil(rows.length / q.page_size)), rows: rows.slice(start, start + q.page_size).map((r) => rowObject(l, r)) };
  });

  app.get('/v1/export', {
    schema: { summary: 'all members of a cluster or segment and their scores, as CSV', querystring: selectionQuerySchema, response: { 200: { type: 'string' }, ...errors } },
    config: { produces: 'text/csv' },
  }, async (req, reply) => {
    const l = provider.current();
    requireMembers(l, 'querystring');
    const q = req.query as { cluster?: number; segment?: string; by?: string };
    const rows = selectRows(l, q);
    const names = l.snapshot.names;
    const cols = names.map((n) => l.snapshot.columns[n]);
    // The snapshot's date on every row: a file saved today still says which day its scores belong to.
    const asOf = csvCell(modelDates(l).snapshot);
    const lines = [[...names, 'as_of'].join(',')];
    for (const r of rows) lines.push(`${cols.map((c) => csvCell(c[r])).join(',')},${asOf}`);
    const what = q.cluster !== undefined ? `cluster-${q.cluster}` : `${q.by ?? 'behavioral_segment'}-${String(q.segment).replace(/[^A-Za-z0-9]+/g, '-')}`;
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${l.model.name}-${l.model.version}-${what}${modelDates(l).snapshot ? `-${modelDates(l).snapshot}` : ''}.csv"`)
      .send(`${lines.join('\n')}\n`);
  });

  app.get('/v1/points', {
    schema: { summary: 'a seeded sample of the scored snapshot on the PCA map, with its as_of date', querystring: { type: 'object', additionalProperties: false, properties: { sample: { type: 'integer', minimum: 1, maximum: 20000, default: 5000 } } }, response: { 200: pointsResponseSchema, ...errors } },
  }, async (req) => {
    const l = provider.current();
    const { sample } = req.query as { sample: number };
    const n = l.snapshot.rows;
    const step = Math.max(1, n / sample);
    const s = l.snapshot.columns;
    const pts = [];
    for (let x = 0; x < n && pts.length < sample; x += step) {
      const i = Math.floor(x);
      pts.push({ pc1: (s.pc1 as Float64Array)[i], pc2: (s.pc2 as Float64Array)[i], cluster: (s.cluster as Float64Array)[i], cluster_label: (s.cluster_label as string[])[i] });
    }
    return { as_of: modelDates(l).snapshot, users: n, points: pts };
  });

  app.get('/v1/retention', {
    schema: { summary: 'Kaplan-Meier retention curves with 95% bands, median lifetimes and the log-rank test, by segment, lifecycle stage or cluster, as the version stored them', querystring: retentionQuerySchema, response: { 200: retentionResponseSchema, ...errors } },
  }, async (req) => {
    const l = provider.current();
    const { by } = req.query as { by: 'all' | 'segment' | 'lifecycle' | 'cluster' };
    const stored = await storedRetentionOf(l);
    if (!stored) throw new HttpError(404, 'RETENTION_NOT_STORED', `${l.model.name}@${l.model.version} holds no ${RETENTION_FILE}: it was trained before retention curves were stored; train a new version (or compute curves from the events with cohortlab retention)`, 'request');
    const v = stored.views[by];
    if (!v) throw new HttpError(404, 'RETENTION_NOT_STORED', `${l.model.name}@${l.model.version} stored no retention curves by ${by}; stored: ${Object.keys(stored.views).join(', ')}`, 'querystring:by');
    return { model: modelInfo(l), ...v, as_of: stored.as_of, landmark: stored.landmark, by };
  });

  app.get('/v1/charts', { schema: { summary: 'the vega-lite specs of the explorer', response: { 200: anyObject, ...errors } } }, async () => {
    const l = provider.current();
    return { ...charts(l), retention: await retentionCharts(l) };
  });

  app.get('/v1/report', { schema: { summary: 'the evaluation (model vs rule), backtest and ingest summary of the loaded version', response: { 200: anyObject, ...errors } } }, async () => {
    const l = provider.current();
    const r = l.model.report as { evaluation?: EvaluationReport; backtest?: unknown; ingest?: unknown; warnings?: unknown[] };
    const ev = r.evaluation;
    const dates = modelDates(l);
    return {
      model: modelInfo(l),
      // The evaluation is counted on the users of the test cutoff, labelled over the horizon after it.
      evaluation: ev ? { as_of: dates.testCutoff, horizon_days: dates.horizonDays, title: ev.title, testUsers: ev.testUsers, testChurnRate: ev.testChurnRate, metrics: ev.metrics, differences: ev.differences, verdict: ev.verdict, evidence: ev.evidence ?? null, warnings: ev.warnings ?? [], ceiling: ev.ceiling, highRisk: ev.highRisk, candidates: ev.candidates ?? [] } : null,
      backtest: r.backtest ?? null,
      snapshot_as_of: dates.snapshot,
      // the groupings GET /v1/retention can answer for this version (none: it stores no retention.json)
      retention_views: Object.keys((await storedRetentionOf(l))?.views ?? {}),
      warnings: r.warnings ?? [],
    };
  });

  app.get('/v1/openapi.json', { schema: { summary: 'this document', response: { 200: anyObject } } }, async () =>
    openApiDocument(routes, { title: 'cohortlab API', version: '1', description: 'Churn probability, playbook rule scores and segments, and discovered clusters for users; the explorer is served at /.' }),
  );

  app.get('/favicon.ico', async (_req, reply) => reply.status(204).send());
  for (const [url, where] of Object.entries(STATIC)) {
    app.get(url, async (_req, reply) => {
      const { file, type } = where();
      return reply.type(type).header('cache-control', 'no-cache').send(await readFile(file));
    });
  }
  await app.ready();
  return app;
}
