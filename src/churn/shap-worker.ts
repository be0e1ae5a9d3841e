import { parentPort, workerData } from 'node:worker_threads';
import { workerError } from '../shared/worker.js';
import type { GbdtState } from './gbdt.js';
import type { ShapAnswer, ShapRequest } from './shap-thread.js';
import { treeShap } from './treeshap.js';

/** Worker thread of shap-thread.ts: TreeSHAP of each block it is sent, with one model's trees (and patterns) kept. */
const { state } = workerData as { state: GbdtState };
parentPort!.on('message', ({ id, data, rows, cols }: ShapRequest) => {
  try {
    const { contributions } = treeShap(state, { data, rows, cols });
    parentPort!.postMessage({ id, contributions } satisfies ShapAnswer, [contributions.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id, error: workerError(e, 'TreeSHAP') } satisfies ShapAnswer);
  }
});
