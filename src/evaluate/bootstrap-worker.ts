import { parentPort, workerData } from 'node:worker_threads';
import { CohortlabError } from '../shared/errors.js';
import { runJobs, type BootstrapJob, type BootstrapReply } from './bootstrap-thread.js';

/** Worker thread of bootstrap-thread.ts: the jobs' bootstrapMetrics, their results (or the error) posted back. */
const { jobs } = workerData as { jobs: BootstrapJob[] };
let reply: BootstrapReply;
try {
  reply = { results: runJobs(jobs) };
} catch (e) {
  reply = { error: e instanceof CohortlabError ? { code: e.code, message: e.message, path: e.path } : { code: 'INTERNAL', message: (e as Error).stack ?? String(e) } };
}
parentPort!.postMessage(reply);
