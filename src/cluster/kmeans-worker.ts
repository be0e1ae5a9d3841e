import { parentPort } from 'node:worker_threads';
import type { PassCommand, PassState } from './kmeans-kernels.js';
import { chunkRunner } from './kmeans-wasm.js';

/**
 * Worker thread of parallel.ts: receives the shared k-means state once per fit, then, per command,
 * claims chunks from the shared counter `next` and runs them (kmeans-wasm.ts `chunkRunner`: the
 * WebAssembly kernel, instantiated here once per fit on the fit's shared memory, or kmeans-kernels.ts
 * `elkanChunk`) until none is left, until told to stop (command 9). See parallel.ts for the protocol.
 */
interface Setup {
  st: PassState;
  /** [0] command sequence, [1] command, [2] done sequence, [4] ready, [5] error. */
  ctrl: Int32Array;
  next: Int32Array;
  chunks: number;
}

parentPort?.on('message', (m: Setup | { ping: true }) => {
  // parallel.ts startWorkers: answer once loaded
  if ('ping' in m) {
    parentPort?.postMessage({ pong: true });
    return;
  }
  const { ctrl, next, st, chunks } = m;
  let runChunk: (cmd: PassCommand, j: number) => void;
  try {
    runChunk = chunkRunner(st);
  } catch {
    return; // never ready: this fit's passes run without this thread
  }
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
      for (let j = Atomics.add(next, 0, 1); j < chunks; j = Atomics.add(next, 0, 1)) runChunk(cmd as PassCommand, j);
    } catch {
      Atomics.store(ctrl, 5, 1);
    }
    Atomics.store(ctrl, 2, seq);
    Atomics.notify(ctrl, 2);
  }
});
