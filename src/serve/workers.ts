import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../shared/log.js';
import type { MetricsData } from './plugins/metrics.js';

/**
 * serve --workers N: N processes answer on one port (node:cluster hands each new connection to the next worker),
 * so predictions use every core. Each worker loads the model and answers every route by itself; what must agree
 * across them goes through the primary process:
 *   - POST /v1/models/reload in one worker makes every other worker reload too (each loads the registry itself);
 *   - GET /metrics sums the counters and histograms of every worker (a scrape sees the whole server).
 * --refresh keeps its schedule and served snapshot in one process, so it runs with one worker (cli/serve.ts).
 */

/** Messages between the primary and its workers (process.send). */
type Message =
  | { t: 'listening'; url: string }
  | { t: 'reload' }
  | { t: 'metrics?'; req: number }
  | { t: 'metrics'; req: number; data: MetricsData }
  | { t: 'metrics!'; req: number; all: MetricsData[] };

/** A worker's side: what the app calls to reach the other workers. */
export interface WorkerLink {
  /** 1..N */
  readonly id: number;
  readonly workers: number;
  /** This worker reloaded: the others should too. */
  reloadOthers(): void;
  /** What to do when another worker reloaded. */
  onReload(reload: () => Promise<unknown>): void;
  /** How this worker's own metrics are read when another one gathers them. */
  onMetrics(own: () => MetricsData): void;
  /** Every worker's metrics (this one's included), for one GET /metrics. */
  metricsOfAll(): Promise<MetricsData[]>;
  /** Tells the primary this worker listens (the primary prints the URL once every worker does). */
  listening(url: string): void;
  /** After the server closed: lets go of the primary (the channel would keep the process alive). */
  close(): void;
}

export const WORKER_ENV = 'COHORTLAB_SERVE_WORKER';
export const WORKERS_ENV = 'COHORTLAB_SERVE_WORKERS';

/** The link of a serve worker, or null in a plain (single-process) server. */
export function workerLink(env: NodeJS.ProcessEnv = process.env): WorkerLink | null {
  if (!cluster.isWorker || !env[WORKER_ENV]) return null;
  const send = (m: Message) => process.send?.(m);
  let reload: () => Promise<unknown> = async () => {};
  let own: () => MetricsData = () => ({ series: [], predictions: 0 });
  let next = 0;
  const waiting = new Map<number, (all: MetricsData[]) => void>();
  process.on('message', (m: Message) => {
    if (m.t === 'reload') void reload().catch(() => {}); // a failed reload keeps the loaded version (and logs it)
    else if (m.t === 'metrics?') send({ t: 'metrics', req: m.req, data: own() });
    else if (m.t === 'metrics!') {
      waiting.get(m.req)?.(m.all);
      waiting.delete(m.req);
    }
  });
  return {
    id: Number(env[WORKER_ENV]),
    workers: Number(env[WORKERS_ENV]),
    reloadOthers: () => send({ t: 'reload' }),
    onReload: (f) => (reload = f),
    onMetrics: (f) => (own = f),
    metricsOfAll: () =>
      new Promise((resolve) => {
        const req = ++next;
        waiting.set(req, resolve);
        send({ t: 'metrics?', req });
      }),
    listening: (url) => send({ t: 'listening', url }),
    close: () => process.disconnect?.(),
  };
}

/** How long the primary waits for a worker's metrics before answering with the others'. */
const METRICS_WAIT_MS = 2000;

/**
 * The primary: forks `workers` copies of this same command (each a full server on the shared port), relays
 * reloads and metrics, replaces a worker that dies while serving, and stops them all on SIGINT/SIGTERM. Resolves
 * with the exit code: 0 after a stop, 1 when a worker could not start (its own error is on stderr). `announce` gets
 * the URL once every worker listens.
 */
export function runPrimary(opts: { workers: number; logger: Logger; announce: (url: string) => void }): Promise<number> {
  const { workers, logger } = opts;
  return new Promise((resolve) => {
    const ids = new Map<Worker, number>();
    const started = new Set<number>();
    let stopping = false;
    let url = '';
    let announced = false;
    /** One GET /metrics being gathered: the asking worker, its request number, the answers so far, who is left. */
    const gathering = new Map<number, { from: Worker; reqOf: number; all: MetricsData[]; left: Set<Worker>; timer: NodeJS.Timeout }>();
    let nextReq = 0;

    const finish = (req: number) => {
      const g = gathering.get(req);
      if (!g) return;
      clearTimeout(g.timer);
      gathering.delete(req);
      if (g.from.isConnected()) g.from.send({ t: 'metrics!', req: g.reqOf, all: g.all } satisfies Message);
    };

    const stopAll = (code: number) => {
      if (stopping) return;
      stopping = true;
      const alive = [...ids.keys()].filter((w) => !w.isDead());
      if (!alive.length) resolve(code);
      let left = alive.length;
      for (const w of alive) {
        w.once('exit', () => --left === 0 && resolve(code));
        w.process.kill('SIGTERM');
      }
    };

    const fork = (id: number) => {
      const w = cluster.fork({ [WORKER_ENV]: String(id), [WORKERS_ENV]: String(workers) });
      ids.set(w, id);
      w.on('message', (m: Message) => {
        if (m.t === 'listening') {
          url = m.url;
          if (started.has(id)) return;
          started.add(id);
          if (started.size === workers && !announced) {
            announced = true;
            opts.announce(url);
          }
        } else if (m.t === 'reload') {
          for (const other of ids.keys()) if (other !== w && other.isConnected()) other.send({ t: 'reload' } satisfies Message);
        } else if (m.t === 'metrics?') {
          const req = ++nextReq;
          const askers = [...ids.keys()].filter((x) => x.isConnected());
          gathering.set(req, { from: w, reqOf: m.req, all: [], left: new Set(askers), timer: setTimeout(() => finish(req), METRICS_WAIT_MS) });
          for (const x of askers) x.send({ t: 'metrics?', req } satisfies Message);
        } else if (m.t === 'metrics') {
          const g = gathering.get(m.req);
          if (!g) return;
          g.all.push(m.data);
          g.left.delete(w);
          if (!g.left.size) finish(m.req);
        }
      });
      w.on('exit', (code, signal) => {
        ids.delete(w);
        for (const [req, g] of gathering) {
          g.left.delete(w);
          if (!g.left.size) finish(req);
        }
        if (stopping) return;
        if (!started.has(id)) {
          // a worker that cannot start (a bad model, a port in use) will not start on a second try either
          logger.warn(`serve worker ${id} exited before listening (${signal ?? `code ${code}`}); stopping the others`);
          stopAll(1);
          return;
        }
        logger.warn(`serve worker ${id} died (${signal ?? `code ${code}`}); starting a new one`);
        started.delete(id);
        fork(id);
      });
    };

    for (let i = 1; i <= workers; i++) fork(i);
    const stop = () => stopAll(0);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
