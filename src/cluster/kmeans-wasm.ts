/**
 * The WebAssembly SIMD kernel of k-means (src/cluster/wasm/kmeans-simd.ts, compiled by `npm run build`):
 * the memory layout of one fit and the per-thread instances. Pure: it takes a compiled
 * `WebAssembly.Module` (parallel.ts reads the .wasm file and passes it in through `workerThreads`) and
 * never touches the file system.
 *
 * One shared `WebAssembly.Memory` holds the rows of a fit (copied in once per fit, never per iteration),
 * labels, both bounds, the centres (transposed for the SIMD loads), the per-centre shift sums and every
 * chunk's slot of cluster sums and counts. Its `buffer` is a SharedArrayBuffer, so the `PassState` views
 * below are what parallel.ts posts to its worker threads, exactly as for the JavaScript kernel; each
 * thread instantiates the module on that memory once per fit. The caller provides the memory
 * (`KMeansWasm.memory`); parallel.ts keeps one for the process, as it keeps its worker threads.
 */
import { internalError } from '../shared/errors.js';
import type { DenseMatrix } from '../shared/matrix.js';
import { elkanChunk, type PassCommand, type PassState } from './kmeans-kernels.js';

/** What the .wasm exports (src/cluster/wasm/kmeans-simd.ts). */
interface KMeansSimdExports {
  chunk(header: number, cmd: number, j: number): void;
  meanColumnVariance(data: number, n: number, d: number, scratch: number): number;
}

/** The kernel as a caller provides it (parallel.ts `workerThreads.wasm()`): the compiled module and memory. */
export interface KMeansWasm {
  module: WebAssembly.Module;
  /**
   * A shared memory of at least `bytes` for one fit, or undefined when this process cannot reserve one.
   * parallel.ts keeps one between fits (growing it for a larger fit), so a fit copies its rows into pages
   * that are already mapped.
   */
  memory(bytes: number): WebAssembly.Memory | undefined;
}

/** A fresh shared memory of at least `bytes` that can grow to `maxBytes` (the wasm32 limit by default). */
export function newWasmMemory(bytes: number, maxBytes = WASM_MAX_BYTES): WebAssembly.Memory {
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  return new WebAssembly.Memory({ initial: pages, maximum: Math.max(pages, Math.floor(maxBytes / 65536)), shared: true });
}

/** The WebAssembly side of a `PassState`: posted to the worker threads with it. */
export interface WasmPass {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte offset of the header (HEADER_WORDS i32 words: sizes and byte offsets of every array). */
  header: number;
  /** The centres in the kernel's SIMD layout (`transposeCentres`), rewritten before every pass. */
  centT: Float64Array;
  /** Byte offset of 2 x d doubles of scratch for `meanColumnVariance`. */
  scratch: number;
}

// header words, mirrored in src/cluster/wasm/kmeans-simd.ts (H_*)
const HEADER_WORDS = 20;
const H = {
  n: 0, d: 1, k: 2, chunkRows: 3, data: 4, labels: 5, upper: 6, second: 7, centT: 8, cum: 9, cumOther: 10, half: 11, chunkSums: 12, chunkCounts: 13, chunkChanged: 14, cent: 15,
  chunkInertia: 16, failed: 17,
} as const;

/** The largest memory a wasm32 module can address (65,536 pages of 64 KiB). */
export const WASM_MAX_BYTES = 2 ** 32;

/** Doubles of `transposeCentres`'s layout for k centres of d columns: groups of 8, then one of 8, 4 or 2. */
export function transposedLength(k: number, d: number): number {
  const full = Math.floor(k / 8) * 8;
  const rest = k - full;
  return (full + (rest > 4 ? 8 : rest > 2 ? 4 : rest > 0 ? 2 : 0)) * d;
}

/**
 * The centres (k x d, row-major) in the SIMD kernel's layout: centres in groups of 8 (the last group 8, 4
 * or 2 wide, padded with zeros that the kernel never reads back), and per group and column t the group's
 * values side by side, so that one 16-byte load gives column t of two centres.
 */
export function transposeCentres(cent: Float64Array, k: number, d: number, out: Float64Array): void {
  let o = 0;
  for (let c = 0; c < k; ) {
    const rest = k - c;
    const w = rest > 4 ? 8 : rest > 2 ? 4 : 2;
    for (let t = 0; t < d; t++) {
      for (let q = 0; q < w; q++) out[o++] = c + q < k ? cent[(c + q) * d + t] : Infinity;
    }
    c += w;
  }
}

/** Bytes the kernel's memory needs for n rows, d columns, k centres in `chunks` chunks. */
export function wasmBytes(n: number, d: number, k: number, chunks: number): number {
  const a = (b: number) => Math.ceil(b / 16) * 16;
  return a(HEADER_WORDS * 4) + a(n * d * 8) + a(n * 4) + 2 * a(n * 8) + a(transposedLength(k, d) * 8) + 4 * a(k * 8) + a(k * d * 8) + a(k * k * 8) + a(chunks * k * d * 8) + a(chunks * k * 8) + a(chunks * 4) + a(chunks * 8) + a(n * 4) + a(2 * d * 8);
}

/**
 * A `PassState` whose arrays all live in the kernel's shared memory, with the rows of `x` copied in (the
 * only copy of the fit), or undefined when the fit does not fit in a wasm32 memory or none can be had.
 * Everything the first pass (command 1) does not write is set here: the memory may hold a previous fit.
 */
export function wasmPassState(kernel: KMeansWasm, x: DenseMatrix, k: number, chunkRows: number): PassState | undefined {
  const { rows: n, cols: d } = x;
  const chunks = Math.ceil(n / chunkRows);
  const bytes = wasmBytes(n, d, k, chunks);
  const memory = bytes <= WASM_MAX_BYTES ? kernel.memory(bytes) : undefined;
  if (!memory) return undefined;
  const { module } = kernel;
  const buf = memory.buffer;
  let at = 0;
  const take = (b: number) => {
    const o = at;
    at += Math.ceil(b / 16) * 16;
    return o;
  };
  const f64 = (len: number): [Float64Array, number] => {
    const o = take(len * 8);
    return [new Float64Array(buf, o, len), o];
  };
  const i32 = (len: number): [Int32Array, number] => {
    const o = take(len * 4);
    return [new Int32Array(buf, o, len), o];
  };
  const [hw, header] = i32(HEADER_WORDS);
  const [data, pData] = f64(n * d);
  data.set(x.data);
  const [labels, pLabels] = i32(n);
  const [upper, pUpper] = f64(n);
  const [second, pSecond] = f64(n);
  const [centT, pCentT] = f64(transposedLength(k, d));
  const [cum, pCum] = f64(k);
  const [cumOther, pCumOther] = f64(k);
  cum.fill(0);
  cumOther.fill(0);
  const [half, pHalf] = f64(k);
  const [cent, pCent] = f64(k * d);
  const [halfCC] = f64(k * k);
  const [chunkSums, pChunkSums] = f64(chunks * k * d);
  const [chunkCounts, pChunkCounts] = f64(chunks * k);
  const [chunkChanged, pChunkChanged] = i32(chunks);
  const [chunkInertia, pChunkInertia] = f64(chunks);
  // per row, for the kernel: the rows of a chunk that fail the bound test in a pass
  const [, pFailed] = i32(n);
  const [, scratch] = f64(2 * d);
  const words: Record<keyof typeof H, number> = {
    n, d, k, chunkRows, data: pData, labels: pLabels, upper: pUpper, second: pSecond, centT: pCentT, cum: pCum, cumOther: pCumOther, half: pHalf,
    chunkSums: pChunkSums, chunkCounts: pChunkCounts, chunkChanged: pChunkChanged, cent: pCent, chunkInertia: pChunkInertia, failed: pFailed,
  };
  for (const [name, w] of Object.entries(H)) hw[w] = words[name as keyof typeof H];
  return {
    data, n, d, k, labels, upper, lower: new Float64Array(0), second, cent, cum, cumOther, half, halfCC, chunkRows, chunkSums, chunkCounts, chunkChanged,
    chunkInertia, wasm: { module, memory, header, centT, scratch },
  };
}

/** This thread's instance of the kernel on the state's memory (module globals are per instance). */
function instantiate(w: WasmPass): KMeansSimdExports {
  return new WebAssembly.Instance(w.module, { env: { memory: w.memory } }).exports as unknown as KMeansSimdExports;
}

/**
 * Runs chunk j of a pass on this thread: the WebAssembly kernel when the state lives in its memory (one
 * instance per call of `chunkRunner`, so per thread and fit), else kmeans-kernels.ts `elkanChunk`.
 */
export function chunkRunner(st: PassState): (cmd: PassCommand, j: number) => void {
  if (!st.wasm) return (cmd, j) => elkanChunk(st, cmd, j);
  const ex = instantiate(st.wasm);
  const header = st.wasm.header;
  return (cmd, j) => ex.chunk(header, cmd, j);
}

/** kmeans-kernels.ts `meanColumnVariance` of the state's rows, in the kernel (the same bits). */
export function wasmMeanColumnVariance(st: PassState): number {
  const w = st.wasm;
  if (!w) throw internalError('wasmMeanColumnVariance needs a state in WebAssembly memory');
  return instantiate(w).meanColumnVariance(st.data.byteOffset, st.n, st.d, w.scratch);
}
