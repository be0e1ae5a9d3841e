import { parentPort, workerData } from 'node:worker_threads';
import { workerError } from '../shared/worker.js';
import type { GbdtState } from './gbdt.js';
import type { ShapAnswer, ShapRequest } from './shap-thread.js';
import { treeShap } from './treeshap.js';

/**
 * Worker thread of shap-thread.ts: TreeSHAP of the first trees of each block it is sent, with one model's trees (and
 * patterns) kept; the block's matrix goes back with the result, for the calling thread to add the other trees.
 */
const { state } = workerData as { state: GbdtState };
parentPort!.on('message', ({ id, data, rows, cols, trees }: ShapRequest) => {
  try {
    const t0 = performance.now();
    const { contributions, margin } = treeShap(state, { data, rows, cols }, { trees: { from: 0, to: trees } });
    const seconds = (performance.now() - t0) / 1000;
    parentPort!.postMessage({ id, shap: { contributions, margin }, data, seconds } satisfies ShapAnswer, [contributions.buffer as ArrayBuffer, margin.buffer as ArrayBuffer, data.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id, error: workerError(e, 'TreeSHAP') } satisfies ShapAnswer);
  }
});
