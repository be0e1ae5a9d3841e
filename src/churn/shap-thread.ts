/**
 * TreeSHAP of a gbdt churn model shared with a worker thread, for a caller with other work meanwhile: `score` sends
 * the next block there while this thread applies the rules, the probabilities, the clusters and the reason codes of
 * the current one and writes it (pipeline/score-stream.ts).
 *
 * The worker takes each block's first trees and this thread the rest (`finish`), continuing from the worker's sums:
 * every row still adds its trees in order, so the contributions and margins are the same bits as treeShap of all the
 * trees in one place, wherever the split falls. The split keeps both threads busy: from the seconds each side
 * spent (the worker's trees, this thread's trees, and this thread's other work per row), the worker gets as many
 * trees as take it as long as this thread's share and its other work together.
 *
 * Used for a gbdt model with two or more cores and the compiled worker (dist/) or tsx (tests); otherwise, or with
 * COHORTLAB_SCORE_THREADS=0, there is no thread (startShapThread returns null) and the caller computes in place.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { internalError } from '../shared/errors.js';
import { fromWorkerError, startWorker, workerSource, type WorkerError } from '../shared/worker.js';
import type { Matrix } from '../shared/matrix.js';
import type { GbdtState } from './gbdt.js';
import { treeShap } from './treeshap.js';

/** A gbdt's TreeSHAP of some rows: rows x cols contributions (row-major) and each row's margin (treeshap.ts). */
export interface PrecomputedShap {
  contributions: Float64Array;
  margin: Float64Array;
  /** The design matrix it was computed from (shapInput's), when at hand: the caller need not build it again. */
  x?: Matrix;
}

/** A request: the raw design matrix of a block (its buffer is handed over) and how many of the first trees to take. */
export interface ShapRequest {
  id: number;
  data: Float32Array | Float64Array;
  rows: number;
  cols: number;
  trees: number;
}

/** The answer: the first trees' TreeSHAP, the matrix handed back, and the worker's seconds; or the error treeShap threw. */
export interface ShapAnswer {
  id: number;
  shap?: PrecomputedShap;
  data?: Float32Array | Float64Array;
  seconds?: number;
  error?: WorkerError;
}

/** The worker's part of a block: TreeSHAP of its first `trees` trees, with the block's matrix. */
export interface ShapShare {
  x: Matrix;
  trees: number;
  shap: PrecomputedShap;
}

export interface ShapThread {
  /** Starts the TreeSHAP of every row of `x` in the worker (x.data is handed to it: use the share's x afterwards). */
  explain(x: Matrix): Promise<ShapShare>;
  /** The block's TreeSHAP: the trees the worker left, computed here after its sums. */
  finish(share: ShapShare): PrecomputedShap;
  /** This thread's other work: `seconds` for a block of `rows` rows (what the split balances against). */
  otherWork(rows: number, seconds: number): void;
  /** The worker's share of the trees for the next block. */
  readonly split: number;
  close(): Promise<void>;
}

/**
 * Where to split a block's trees: as seconds per row and tree on each side and this thread's other seconds per row
 * are learned (a running mean, half of each new block), the worker's trees K solve K w = (T - K) h + o, rounded,
 * between 1 and T. Until this thread has timed trees of its own, they are taken to cost what the worker's do.
 */
export class TreeSplit {
  private worker = NaN;
  private here = NaN;
  private other = NaN;
  constructor(readonly trees: number) {}

  get split(): number {
    const T = this.trees;
    if (!(this.worker > 0) || !(this.other >= 0)) return T;
    const h = this.here > 0 ? this.here : this.worker;
    return Math.max(1, Math.min(T, Math.round((T * h + this.other) / (this.worker + h))));
  }

  /** Seconds per row and tree of `trees` trees over `rows` rows, in the worker or here. */
  timed(where: 'worker' | 'here', rows: number, trees: number, seconds: number): void {
    if (rows > 0 && trees > 0) this.learn(where, seconds / (rows * trees));
  }

  /** Seconds per row of this thread's other work. */
  timedOther(rows: number, seconds: number): void {
    if (rows > 0) this.learn('other', seconds / rows);
  }

  private learn(what: 'worker' | 'here' | 'other', v: number): void {
    this[what] = Number.isNaN(this[what]) ? v : (this[what] + v) / 2;
  }
}

/** A worker holding `state`'s trees (and the patterns it meets), or null where a thread does not pay (file comment). */
export function startShapThread(state: GbdtState): ShapThread | null {
  const src = workerSource(import.meta.url, 'shap-worker');
  if (process.env.COHORTLAB_SCORE_THREADS === '0' || availableParallelism() < 2 || src === null) return null;
  // a small young generation: the worker's garbage is the blocks' buffers (about 30 MB less peak RSS scoring 1M users)
  const worker: Worker = startWorker(src, { state }, { resourceLimits: { maxYoungGenerationSizeMb: 8 } });
  const T = state.trees.length;
  const balance = new TreeSplit(T);
  const waiting = new Map<number, { cols: number; trees: number; resolve: (s: ShapShare) => void; reject: (e: Error) => void }>();
  let next = 0;
  let failed: Error | null = null;
  const failAll = (e: Error): void => {
    failed ??= e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  worker.on('message', (a: ShapAnswer) => {
    const w = waiting.get(a.id);
    if (!w) return;
    waiting.delete(a.id);
    if (a.error) return w.reject(fromWorkerError(a.error));
    const rows = a.shap!.margin.length;
    balance.timed('worker', rows, w.trees, a.seconds!);
    w.resolve({ x: { data: a.data!, rows, cols: w.cols }, trees: w.trees, shap: a.shap! });
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(internalError(`the TreeSHAP worker exited with code ${code}`)));
  return {
    explain(x) {
      if (failed) return Promise.reject(failed);
      const id = next++;
      const trees = balance.split;
      return new Promise<ShapShare>((resolve, reject) => {
        waiting.set(id, { cols: x.cols, trees, resolve, reject });
        worker.postMessage({ id, data: x.data, rows: x.rows, cols: x.cols, trees } satisfies ShapRequest, [x.data.buffer as ArrayBuffer]);
      });
    },
    finish(share) {
      if (share.trees >= T) return { ...share.shap, x: share.x };
      const t0 = performance.now();
      const { contributions, margin } = treeShap(state, share.x, { trees: { from: share.trees, to: T, after: share.shap } });
      balance.timed('here', share.x.rows, T - share.trees, (performance.now() - t0) / 1000);
      return { contributions, margin, x: share.x };
    },
    otherWork(rows, seconds) {
      balance.timedOther(rows, seconds);
    },
    get split() {
      return balance.split;
    },
    async close() {
      failed ??= internalError('the TreeSHAP worker was closed');
      await worker.terminate();
    },
  };
}
