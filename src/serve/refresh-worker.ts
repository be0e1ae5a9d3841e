import { parentPort, type MessagePort } from 'node:worker_threads';
import { openEventSource } from '../engine/index.js';
import { defaultRefreshAsOf, loadScoringModel, publishRefresh, refreshModel, type LoadedModel } from '../pipeline/index.js';
import { openModelStore } from '../registry/index.js';
import { CohortlabError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { RefreshJob, RefreshJobMessage } from './refresh-job.js';

/**
 * The thread a server's scheduled refresh runs in (refresh-job.ts): ingest, features, rules, the model and the
 * history write are seconds of CPU that would otherwise stall every request of the event loop (the 5-minute load
 * bench timed requests out while a refresh ran in the server's own thread). One job at a time; the loaded version
 * is kept between jobs (same name@version, same files).
 */
if (!parentPort) throw new Error('refresh-worker.ts runs as a worker thread');
const port: MessagePort = parentPort;

let cached: { ref: string; modelsDir: string; model: LoadedModel } | null = null;

const post = (m: RefreshJobMessage) => port.postMessage(m);
const logger: Logger = {
  info: (message) => post({ type: 'log', level: 'info', message }),
  warn: (message) => post({ type: 'log', level: 'warn', message }),
  progress: () => {},
};

async function run(job: RefreshJob): Promise<void> {
  let asOf: string | null = null;
  try {
    const models = openModelStore(job.modelsDir);
    if (!cached || cached.ref !== job.ref || cached.modelsDir !== job.modelsDir) cached = { ref: job.ref, modelsDir: job.modelsDir, model: await loadScoringModel(models, job.ref, { logger }) };
    const source = await openEventSource(job.spec, job.config, { logger });
    let result;
    try {
      if (source.report.users === 0) throw new CohortlabError('EMPTY_INPUT', `the event source ${source.location} holds no usable events: nothing to refresh.`);
      // the last complete UTC day, never past the source's last event day (a static file keeps its date)
      asOf = defaultRefreshAsOf(source, job.nowMs);
      result = await refreshModel({ models, model: cached.model, source, asOf, logger, salt: job.salt, keep: job.keep, track: job.track });
    } finally {
      await source.close();
    }
    // the table goes over as it is (numeric columns' buffers moved, not copied): the server's thread reads no file
    const table = result.table;
    const moved = table.names.map((n) => table.columns[n]).filter((c): c is Float64Array => c instanceof Float64Array).map((c) => c.buffer as ArrayBuffer);
    port.postMessage({ type: 'stored', id: job.id, record: result.record, table } satisfies RefreshJobMessage, [...new Set(moved)]);
    if (job.destinations) {
      try {
        const published = await publishRefresh(result, job.destinations, { logger });
        if (published.written !== null) logger.info(`changes of ${result.record.as_of}: ${published.written.toLocaleString('en-US')} records -> ${job.destinations.changesFile}`);
      } catch (e) {
        post({ type: 'failed', id: job.id, stage: 'publish', asOf, error: errorOf(e) });
        return;
      }
    }
    post({ type: 'done', id: job.id });
  } catch (e) {
    post({ type: 'failed', id: job.id, stage: 'refresh', asOf, error: errorOf(e) });
  }
}

function errorOf(e: unknown): { code: string | null; message: string } {
  return { code: e instanceof CohortlabError ? e.code : null, message: e instanceof Error ? e.message : String(e) };
}

port.on('message', (job: RefreshJob) => {
  void run(job);
});
