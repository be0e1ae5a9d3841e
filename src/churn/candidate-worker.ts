import { parentPort, workerData } from 'node:worker_threads';
import { workerError } from '../shared/worker.js';
import { estimatorJson, fitCalibrated, keepingLogger, type CandidateJob, type WorkerResult } from './candidate-threads.js';
import type { ChurnModelKind } from './model.js';

/** Worker thread of candidate-threads.ts: fits its kinds one after another and sends each back as it is done. */
const { kinds, job } = workerData as { kinds: ChurnModelKind[]; job: CandidateJob };
for (const kind of kinds) {
  const kept = keepingLogger(() => {});
  try {
    const { estimator, ...fit } = fitCalibrated(kind, job, kept);
    parentPort!.postMessage({ kind, estimator: estimatorJson(estimator), fit, lines: kept.lines } satisfies WorkerResult);
  } catch (e) {
    parentPort!.postMessage({ kind, lines: kept.lines, error: workerError(e, kind) } satisfies WorkerResult);
    break;
  }
}
