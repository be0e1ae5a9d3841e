/**
 * Picks the tfjs backend once, explicitly (never as an import side effect):
 *   1. `@tensorflow/tfjs-node` (native TensorFlow) when the optional dependency is installed,
 *   2. `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD) with its .wasm files from node_modules,
 *   3. 'cpu' (plain JS kernels, slow but always there).
 * The chosen name goes into the model manifest: numbers can differ in the last digits between
 * backends, so a result is reproducible only on the backend it records.
 */
import { tf } from './tf.js';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { CohortlabError, internalError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | BackendName;

let chosen: Promise<BackendName> | null = null;
let chosenPreference: BackendPreference | null = null;

async function tryNode(logger: Logger): Promise<boolean> {
  // A variable specifier keeps TypeScript from requiring the optional package at compile time.
  const spec = '@tensorflow/tfjs-node';
  try {
    await import(spec);
  } catch {
    return false;
  }
  try {
    return await tf.setBackend('tensorflow');
  } catch (e) {
    logger.warn(`@tensorflow/tfjs-node is installed but its backend failed to start (${(e as Error).message}); trying wasm.`);
    return false;
  }
}

async function tryWasm(logger: Logger): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(`${dir}/`);
    // setBackend resolves to false (it does not throw) when the wasm module cannot start.
    const ok = await tf.setBackend('wasm');
    if (!ok) logger.warn('the tfjs wasm backend did not initialise; falling back to the cpu backend (slower).');
    return ok;
  } catch (e) {
    logger.warn(`the tfjs wasm backend could not be loaded (${(e as Error).message}); falling back to the cpu backend (slower).`);
    return false;
  }
}

async function select(preference: BackendPreference, logger: Logger): Promise<BackendName> {
  if ((preference === 'auto' || preference === 'tensorflow') && (await tryNode(logger))) return 'tensorflow';
  if (preference === 'tensorflow') throw new CohortlabError('BAD_ARGUMENT', 'backend "tensorflow" was requested but @tensorflow/tfjs-node is not installed; install it (npm install @tensorflow/tfjs-node) or use backend "auto".');
  if ((preference === 'auto' || preference === 'wasm') && (await tryWasm(logger))) return 'wasm';
  if (preference === 'wasm') throw new CohortlabError('BAD_ARGUMENT', 'backend "wasm" was requested but it failed to start; use backend "auto" or "cpu".');
  const ok = await tf.setBackend('cpu');
  if (!ok) throw internalError('tfjs: even the cpu backend failed to start');
  return 'cpu';
}

/**
 * Selects and initialises the backend (once per process; later calls return the same name).
 * Asking for a different explicit backend later switches to it (benchmarks compare backends).
 */
export async function initBackend(logger: Logger, preference: BackendPreference = 'auto'): Promise<BackendName> {
  if (chosen && (preference === 'auto' || preference === chosenPreference)) return chosen;
  chosenPreference = preference;
  chosen = select(preference, logger).then(async (name) => {
    await tf.ready();
    logger.info(`tfjs backend: ${name}`);
    return name;
  });
  try {
    return await chosen;
  } catch (e) {
    chosen = null;
    chosenPreference = null;
    throw e;
  }
}

