/**
 * Types of the cluster stage. A dense matrix is the shared row-major Float64 `DenseMatrix`
 * (`data[i * cols + j]` = user i, feature j); every numeric kernel of this stage takes one.
 */

/** JSON values only, so params and states round-trip through `JSON.stringify` (STYLE.md: plain params). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** The shared matrix type (src/shared/matrix.ts), Float64: rows = users, cols = features. */
export type { DenseMatrix } from '../shared/matrix.js';

export type ScalerKind = 'standard' | 'robust';

/** The fitted preparation: raw feature -> impute -> log1p -> (x - center) / scale. Units are kept per feature. */
export interface ScalerState extends JsonObject {
  features: string[];
  /** 1 where the feature is log1p-transformed before centring (heavy-tailed counts). */
  log1p: number[];
  /** Value given to a missing (NaN) raw value: the training median of the raw feature. */
  impute: number[];
  /** Mean (standard) or median (robust) of the transformed feature on the training users. */
  center: number[];
  /** Std (standard) or IQR / 1.349 (robust; std when the IQR is 0) of the transformed feature. */
  scale: number[];
}

/**
 * Which kernel ran a k-means fit: the WebAssembly SIMD kernel (kmeans-wasm.ts, Hamerly bounds) or the
 * JavaScript one with Elkan's or Hamerly's bounds (kmeans-kernels.ts). Every kernel gives the same bits.
 */
export type KMeansKernel = 'wasm-simd' | 'js-elkan' | 'js-hamerly';

/** Result of one k-means run (Lloyd iterations with Hamerly bounds, or mini-batch). */
export interface KMeansRun {
  labels: Int32Array;
  /** k x d, row-major. */
  centroids: Float64Array;
  inertia: number;
  iterations: number;
  converged: boolean;
  /** The absolute tolerance used: tol x mean feature variance (sklearn's definition). */
  tolAbs: number;
  /** Clusters that were empty in some iteration (their centroid was kept). */
  emptyClusters: number;
  /** Threads that ran the last assignment pass (1 without a pool; a worker still starting joins later). */
  threads: number;
  kernel: KMeansKernel;
}
