import { parentPort, workerData } from 'node:worker_threads';
import { workerError } from '../shared/worker.js';
import { runJobs, type BootstrapJob, type BootstrapReply } from './bootstrap-thread.js';

/** Worker thread of bootstrap-thread.ts: the jobs' bootstrapMetrics, their results (or the error) posted back. */
const { jobs } = workerData as { jobs: BootstrapJob[] };
let reply: BootstrapReply;
try {
  reply = { results: runJobs(jobs) };
} catch (e) {
  reply = { error: workerError(e) };
}
parentPort!.postMessage(reply);
