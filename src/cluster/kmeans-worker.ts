import { parentPort } from 'node:worker_threads';
import { elkanAssign, elkanFirstPass } from './kmeans-kernels.js';
import type { SharedKMeansState } from './lloyd.js';

/**
 * Worker thread of parallel.ts: receives the shared k-means state once per fit, then runs the passes it
 * is told to over its row range until told to stop (command 9). See parallel.ts for the protocol.
 */
interface Setup extends SharedKMeansState {
  data: Float64Array;
  d: number;
  k: number;
  ctrl: Int32Array;
  params: Float64Array;
  wsums: Float64Array;
  wcounts: Float64Array;
  r0: number;
  r1: number;
}

parentPort?.on('message', (m: Setup) => {
  const { ctrl } = m;
  let seen = 0; // commands are numbered from 1 on a fresh control block; one may already be waiting
  Atomics.store(ctrl, 4, 1);
  Atomics.notify(ctrl, 4);
  for (;;) {
    Atomics.wait(ctrl, 0, seen);
    const seq = Atomics.load(ctrl, 0);
    if (seq === seen) continue;
    seen = seq;
    const cmd = Atomics.load(ctrl, 1);
    if (cmd === 9) break;
    try {
      m.wsums.fill(0);
      m.wcounts.fill(0);
      let changed = 0;
      if (cmd === 1) elkanFirstPass(m.data, m.d, m.k, m.cent, m.labels, m.upper, m.lower, m.second, m.halfCC, m.wsums, m.wcounts, m.r0, m.r1);
      else changed = elkanAssign(m.data, m.d, m.k, m.cent, m.labels, m.upper, m.lower, m.cum, m.second, m.params[0], m.half, m.halfCC, m.wsums, m.wcounts, cmd === 2, m.r0, m.r1);
      Atomics.store(ctrl, 3, changed);
    } catch {
      Atomics.store(ctrl, 5, 1);
    }
    Atomics.store(ctrl, 2, seq);
    Atomics.notify(ctrl, 2);
  }
});
