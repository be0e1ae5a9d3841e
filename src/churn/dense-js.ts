import type { tfl } from './tf.js';
import type { Matrix } from './dataset.js';

/**
 * The churn network evaluated in plain JavaScript, for requests of a few users: a tfjs call costs
 * about half a millisecond of fixed overhead, the arithmetic of one user a few microseconds. Large
 * batches stay on tfjs. Results agree with tfjs to float32 rounding (~1e-7).
 */
export const SMALL_BATCH_ROWS = 64;

interface JsLayer {
  /** inputs x units, row-major. */
  w: Float32Array;
  b: Float32Array;
  inputs: number;
  units: number;
  act: 'linear' | 'relu' | 'sigmoid' | 'tanh';
}

const cache = new WeakMap<tfl.LayersModel, JsLayer[] | null>();

/** The Dense layers of a plain feed-forward network, or null when it has anything else. */
export function jsStack(net: tfl.LayersModel): JsLayer[] | null {
  if (cache.has(net)) return cache.get(net) ?? null;
  const out: JsLayer[] = [];
  let ok = true;
  for (const l of net.layers) {
    const cls = l.getClassName();
    if (cls === 'Dropout' || cls === 'InputLayer') continue;
    const act = String((l.getConfig() as { activation?: string }).activation ?? 'linear');
    const weights = l.getWeights();
    if (cls !== 'Dense' || weights.length !== 2 || !['linear', 'relu', 'sigmoid', 'tanh'].includes(act)) {
      ok = false;
      break;
    }
    const [k, b] = weights;
    out.push({ w: k.dataSync() as Float32Array, b: b.dataSync() as Float32Array, inputs: k.shape[0] as number, units: k.shape[1] as number, act: act as JsLayer['act'] });
  }
  const stack = ok && out.length ? out : null;
  cache.set(net, stack);
  return stack;
}

function activate(v: number, act: JsLayer['act']): number {
  switch (act) {
    case 'relu':
      return v > 0 ? v : 0;
    case 'sigmoid':
      return 1 / (1 + Math.exp(-v));
    case 'tanh':
      return Math.tanh(v);
    default:
      return v;
  }
}

/** Scratch buffers per network: the hot loops below allocate nothing. */
const scratch = new WeakMap<JsLayer[], Float64Array[]>();

function buffersOf(stack: JsLayer[]): Float64Array[] {
  let b = scratch.get(stack);
  if (!b) {
    b = stack.map((l) => new Float64Array(l.units));
    scratch.set(stack, b);
  }
  return b;
}

/** Logit of the rest of the network given the first layer's pre-activations `h`. */
function restFrom(stack: JsLayer[], h: Float64Array): number {
  const bufs = buffersOf(stack);
  let a = bufs[0];
  const act0 = stack[0].act;
  for (let j = 0; j < h.length; j++) a[j] = activate(h[j], act0);
  for (let l = 1; l < stack.length; l++) {
    const { w, b, inputs, units, act } = stack[l];
    const next = bufs[l];
    for (let j = 0; j < units; j++) next[j] = b[j];
    for (let i = 0; i < inputs; i++) {
      const ai = a[i];
      if (ai === 0) continue;
      const row = i * units;
      for (let j = 0; j < units; j++) next[j] += ai * w[row + j];
    }
    for (let j = 0; j < units; j++) next[j] = activate(next[j], act);
    a = next;
  }
  return a[0];
}

function firstLayer(first: JsLayer, x: Matrix, row: number): Float64Array {
  const h = Float64Array.from(first.b);
  for (let i = 0; i < first.inputs; i++) {
    const v = x.data[row * x.cols + i];
    if (v === 0) continue;
    for (let j = 0; j < first.units; j++) h[j] += v * first.w[i * first.units + j];
  }
  return h;
}

export function logitsJs(stack: JsLayer[], x: Matrix): Float64Array {
  const out = new Float64Array(x.rows);
  for (let r = 0; r < x.rows; r++) out[r] = restFrom(stack, firstLayer(stack[0], x, r));
  return out;
}

/** Occlusion contributions (rows x features): logit(user) - logit(user with feature j at the training mean, 0 after scaling). */
export function occlusionJs(stack: JsLayer[], x: Matrix): Float64Array {
  const first = stack[0];
  const d = x.cols;
  const out = new Float64Array(x.rows * d);
  const h2 = new Float64Array(first.units);
  for (let r = 0; r < x.rows; r++) {
    const h = firstLayer(first, x, r);
    const z = restFrom(stack, h);
    for (let j = 0; j < d; j++) {
      const v = x.data[r * d + j];
      if (v === 0) continue;
      for (let u = 0; u < first.units; u++) h2[u] = h[u] - v * first.w[j * first.units + u];
      out[r * d + j] = z - restFrom(stack, h2);
    }
  }
  return out;
}
