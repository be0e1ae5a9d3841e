import type { EventSource } from '../engine/index.js';
import { defaultRefreshAsOf, refreshModel, type LoadedModel, type RefreshResult } from '../pipeline/index.js';
import type { Refresh, SegmentRule } from '../rules/index.js';
import { CohortlabError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { servingSnapshot, type Loaded, type ModelProvider } from './provider.js';
import { modelDates } from './snapshot.js';
import type { SnapshotRecord } from '../registry/index.js';
import type { ColumnTable } from '../shared/table-io.js';

/**
 * `serve --refresh CADENCE` (issue 21 part 1): on a schedule, score the current population from the configured
 * event source (`refreshModel`, the same as `cohortlab refresh`), store it in the model's history, and serve it.
 * Each run, in order:
 *   1. open the event source (files through DuckDB, or the warehouse), pick the as-of (defaultRefreshAsOf): the
 *      last complete UTC day before now, never past the source's last event day (a static file keeps its date);
 *   2. refresh with the provider's current LoadedModel (the snapshot is written to the history atomically);
 *   3. build the whole serving state of the new snapshot, then swap one reference (provider.swap): a request
 *      holds the `Loaded` it started with, so none fails or sees a mix;
 *   4. hand the result to `publish` (the changes NDJSON and webhooks), when the server has destinations.
 * A run never overlaps the previous one (the tick is skipped and logged); a failed run logs one line with the
 * reason and the previous snapshot keeps being served.
 */

const SECOND_MS = 1000;
const HOUR_MS = 3600 * SECOND_MS;
const DAY_MS = 24 * HOUR_MS;

/** The playbook's `refresh:` cadences (§6.1) as intervals; `manual` schedules nothing. */
const RULE_CADENCE_MS: Record<Exclude<Refresh, 'manual'>, number> = { hourly: HOUR_MS, daily: DAY_MS, weekly: 7 * DAY_MS, monthly: 30 * DAY_MS };

export interface Cadence {
  /** As given (`daily`, `every:20s`), or `rules (daily)` for the rule files' cadence. */
  label: string;
  intervalMs: number;
}

/**
 * `hourly|daily|weekly`, `rules` (the shortest §6.1 `refresh:` of the model's rule files) or `every:Ns|Nm|Nh`
 * (tests and operations). `flag` names the option in messages.
 */
export function parseCadence(text: string, segments: readonly SegmentRule[], flag = '--refresh'): Cadence {
  const t = text.trim();
  if (t === 'hourly' || t === 'daily' || t === 'weekly') return { label: t, intervalMs: RULE_CADENCE_MS[t] };
  if (t === 'rules') {
    const given = segments.map((s) => s.refresh).filter((r): r is Exclude<Refresh, 'manual'> => r !== undefined && r !== 'manual');
    if (!given.length) {
      throw new CohortlabError('BAD_ARGUMENT', `${flag} rules: none of the model's ${segments.length} rule-file segment(s) sets a "refresh:" cadence other than manual (playbook §6.1); give hourly, daily, weekly or every:N(s|m|h).`);
    }
    const shortest = given.reduce((a, b) => (RULE_CADENCE_MS[a] <= RULE_CADENCE_MS[b] ? a : b));
    return { label: `rules (${shortest})`, intervalMs: RULE_CADENCE_MS[shortest] };
  }
  const m = /^every:(\d+)(s|m|h)$/.exec(t);
  if (m) {
    const n = Number(m[1]);
    const ms = n * { s: SECOND_MS, m: 60 * SECOND_MS, h: HOUR_MS }[m[2] as 's' | 'm' | 'h'];
    if (n < 1 || ms > 366 * DAY_MS) throw new CohortlabError('BAD_ARGUMENT', `${flag} ${t}: the interval must be between 1s and 366 days.`);
    return { label: t, intervalMs: ms };
  }
  throw new CohortlabError('BAD_ARGUMENT', `${flag} "${text}" is not a cadence: use hourly, daily, weekly, rules (the rule files' refresh:) or every:N(s|m|h), e.g. every:30m.`);
}

/** One scheduled run as /v1/health and /v1/models tell it. */
export interface RefreshRun {
  started_at: string;
  finished_at: string;
  /** The as-of scored (null when the run failed before choosing it). */
  as_of: string | null;
  status: 'ok' | 'error';
  /** One sentence (client-safe: a CohortlabError's message, else a generic line; the log has the detail). */
  error: string | null;
  seconds: number;
  users: number | null;
  /** Whether the new snapshot is the one served (false when the loaded version changed during the run). */
  served: boolean;
}

export interface RefreshState {
  cadence: string;
  interval_seconds: number;
  running: boolean;
  last: RefreshRun | null;
  /** When the next run is due (ISO 8601), null once stopped. */
  next_at: string | null;
  /** Ticks skipped because the previous run was still going. */
  skipped: number;
}

export interface RefresherOptions {
  provider: ModelProvider;
  cadence: Cadence;
  /** How a run is done (the server: a worker thread, refresh-job.ts); default: inProcessRunner over openSource. */
  runner?: RefreshRunner;
  /** Opens the event source anew for each run (closed after it): a file rewritten between runs is read again. */
  openSource?: (model: LoadedModel) => Promise<EventSource>;
  logger: Logger;
  /** The pseudonymization salt of a `--pseudonymize` model (COHORTLAB_PSEUDONYM_SALT). */
  salt?: string;
  /** Keep the newest N snapshots of the history. */
  keep?: number;
  /** Columns whose changes are records (default: refreshModel's). */
  track?: string[];
  /** Called after every run with the schedule's state, that run included (serve --workers: the other workers follow it). */
  onRun?: (state: RefreshState) => void;
  /** What "now" is (tests step it a day per run; the server uses the wall clock). */
  clock?: () => Date;
  /** Sends the run's changes where teams act (changes file, webhooks); absent when the server has no destinations. */
  publish?: (result: RefreshResult) => Promise<void>;
  /** Run once at start (default true), then every interval. */
  runAtStart?: boolean;
}

export interface Refresher {
  start(): void;
  /** Stops the schedule and waits for a run in progress. */
  stop(): Promise<void>;
  /** One run now (skipped, resolving to null, when one is going). */
  runOnce(): Promise<RefreshRun | null>;
  state(): RefreshState;
}

/** A client-safe sentence for a failed run: our errors say what and where; anything else stays in the log. */
function reasonOf(e: unknown): string {
  return e instanceof CohortlabError ? e.message : errorMessage('INTERNAL');
}

/** A run that failed, with the as-of it had chosen (null: it failed before choosing one). */
export class RefreshRunFailure extends Error {
  constructor(
    readonly asOf: string | null,
    readonly failure: unknown,
  ) {
    super(failure instanceof Error ? failure.message : String(failure));
    this.name = 'RefreshRunFailure';
  }
}

/**
 * One run's work: choose the as-of, score, store the snapshot in the history, call `stored` with it (the
 * refresher builds the serving state and swaps it in), then send the changes. Resolves with the sending's error
 * (null: sent, or nothing to send); throws a RefreshRunFailure when no snapshot was stored. In this thread
 * (inProcessRunner) or in a worker thread (refresh-job.ts, what the server uses).
 */
export type RefreshRunner = (basis: Loaded, nowMs: number, stored: (record: SnapshotRecord, table: ColumnTable) => void) => Promise<{ publishError: unknown }>;

/** The run in this thread, from an event source the caller opens (tests and notebooks). */
export function inProcessRunner(opts: Pick<RefresherOptions, 'openSource' | 'logger' | 'salt' | 'keep' | 'track' | 'publish'> & { openSource: NonNullable<RefresherOptions['openSource']> }): RefreshRunner {
  return async (basis, nowMs, stored) => {
    let asOf: string | null = null;
    try {
      const source = await opts.openSource(basis.model);
      let result: RefreshResult;
      try {
        if (source.report.users === 0) throw new CohortlabError('EMPTY_INPUT', `the event source ${source.location} holds no usable events: nothing to refresh.`);
        // the last complete UTC day, never past the source's last event day (a static file keeps its date)
        asOf = defaultRefreshAsOf(source, nowMs);
        result = await refreshModel({ models: basis.store, model: basis.model, source, asOf, logger: opts.logger, salt: opts.salt, keep: opts.keep, track: opts.track });
      } finally {
        await source.close();
      }
      stored(result.record, result.table);
      if (opts.publish) {
        try {
          await opts.publish(result);
        } catch (e) {
          return { publishError: e };
        }
      }
      return { publishError: null };
    } catch (e) {
      throw new RefreshRunFailure(asOf, e);
    }
  };
}

export function createRefresher(opts: RefresherOptions): Refresher {
  const clock = opts.clock ?? (() => new Date());
  if (!opts.runner && !opts.openSource) throw new Error('createRefresher needs a runner or openSource');
  const runner = opts.runner ?? inProcessRunner({ ...opts, openSource: opts.openSource as NonNullable<RefresherOptions['openSource']> });
  let running: Promise<RefreshRun> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let nextAt: number | null = null;
  let last: RefreshRun | null = null;
  let skipped = 0;
  let runningSince = '';
  const label = () => `${opts.provider.current().model.name}@${opts.provider.current().model.version}`;

  async function run(): Promise<RefreshRun> {
    const started = new Date();
    const t0 = performance.now();
    const basis: Loaded = opts.provider.current();
    const what = `${basis.model.name}@${basis.model.version}`;
    let asOf: string | null = null;
    let users: number | null = null;
    let served = false;
    const onStored = (record: SnapshotRecord, table: ColumnTable) => {
      asOf = record.as_of;
      users = record.users;
      // the whole state is built before the one swap (no request sees a half-built snapshot)
      served = opts.provider.swap(basis, servingSnapshot(basis, record, table));
      const drift = record.drift ? `; ${record.drift.summary.text}` : '';
      opts.logger.info(`refresh ${what} as of ${asOf}: ${users.toLocaleString('en-US')} users, ${record.changes ?? 0} changes since ${record.previous ?? '(first snapshot)'}${served ? '; now served' : `; stored, not served (the loaded version is now ${label()})`}${drift}`);
    };
    try {
      const { publishError } = await runner(basis, clock().getTime(), onStored);
      if (publishError) {
        // the snapshot is stored (and served); only the sending failed (publishRefresh dead-letters what it can)
        opts.logger.warn(`refresh ${what} as of ${asOf}: the changes were not sent: ${publishError instanceof Error ? publishError.message : String(publishError)}`);
        return finish('error', `the snapshot of ${asOf} is stored${served ? ' and served' : ''}, but its changes were not sent: ${reasonOf(publishError)}`);
      }
      return finish('ok', null);
    } catch (e) {
      const failure = e instanceof RefreshRunFailure ? e : new RefreshRunFailure(null, e);
      asOf ??= failure.asOf;
      const cause = failure.failure;
      opts.logger.warn(`refresh of ${what}${asOf ? ` as of ${asOf}` : ''} failed, still serving the snapshot of ${modelDates(opts.provider.current()).snapshot}: ${cause instanceof Error ? cause.message : String(cause)}`);
      return finish('error', reasonOf(cause));
    }

    function finish(status: 'ok' | 'error', error: string | null): RefreshRun {
      last = { started_at: started.toISOString(), finished_at: new Date().toISOString(), as_of: asOf, status, error, seconds: Number(((performance.now() - t0) / 1000).toFixed(3)), users, served };
      return last;
    }
  }

  function runOnce(): Promise<RefreshRun | null> {
    if (running) {
      skipped++;
      opts.logger.info(`refresh of ${label()} skipped: the run started at ${runningSince} is still going (runs never overlap)`);
      return Promise.resolve(null);
    }
    runningSince = new Date().toISOString();
    running = run().finally(() => {
      running = null;
    });
    if (opts.onRun) void running.then(() => opts.onRun?.(state()));
    return running;
  }

  // Node's timers hold at most 2^31-1 ms (24.8 days; a longer delay fires at once): a monthly or every:900h
  // schedule waits in steps of at most a day until its due time.
  function wait(dueAt: number) {
    nextAt = dueAt;
    timer = setTimeout(() => (Date.now() >= dueAt ? tick() : wait(dueAt)), Math.max(0, Math.min(dueAt - Date.now(), DAY_MS)));
    timer.unref?.();
  }

  function tick() {
    wait(Date.now() + opts.cadence.intervalMs);
    void runOnce();
  }

  return {
    start() {
      if (timer) return;
      if (opts.runAtStart === false) wait(Date.now() + opts.cadence.intervalMs);
      else tick();
    },
    async stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      nextAt = null;
      await running;
      await (runner as { close?: () => Promise<void> }).close?.();
    },
    runOnce,
    state,
  };

  function state(): RefreshState {
    return {
      cadence: opts.cadence.label,
      interval_seconds: opts.cadence.intervalMs / 1000,
      running: running !== null,
      last,
      next_at: nextAt === null ? null : new Date(nextAt).toISOString(),
      skipped,
    };
  }
}

/**
 * serve --workers with --refresh: the schedule runs in worker 1; every other worker answers with this, which holds
 * the state worker 1 last sent (after each run, when that worker has also loaded the new snapshot) and runs nothing.
 */
export function followingRefresher(cadence: Cadence): Refresher & { follow(state: RefreshState): void } {
  let current: RefreshState = { cadence: cadence.label, interval_seconds: cadence.intervalMs / 1000, running: true, last: null, next_at: null, skipped: 0 };
  return {
    start() {},
    async stop() {},
    runOnce: async () => null,
    state: () => current,
    follow(s) {
      current = s;
    },
  };
}
