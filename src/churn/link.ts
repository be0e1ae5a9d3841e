import { CohortlabError } from '../shared/errors.js';

/** The logistic link of the churn models: probability = sigmoid(margin), without overflow for large |margin|. */
export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** sigmoid of every margin, into a new array. */
export function sigmoidArray(z: ArrayLike<number>): Float64Array {
  const out = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) out[i] = sigmoid(z[i]);
  return out;
}

/** log(1 + e^z) without overflow. */
export function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Mean (weighted) log loss of margins z against 0/1 labels, computed from margins (no clipping needed). */
export function logLossFromMargins(z: ArrayLike<number>, y: ArrayLike<number>, w?: ArrayLike<number> | null): number {
  let s = 0;
  let sw = 0;
  for (let i = 0; i < z.length; i++) {
    const wi = w ? w[i] : 1;
    if (wi === 0) continue;
    s += wi * (softplus(z[i]) - (y[i] === 1 ? z[i] : 0));
    sw += wi;
  }
  return s / sw;
}

/**
 * The envelope of a saved exact churn model: another kind is MODEL_CORRUPT (the file is not this model),
 * another version MODEL_INCOMPATIBLE (written by another cohortlab).
 */
export function checkSavedModel(j: { kind?: unknown; version?: unknown } | null | undefined, kind: string, path: string): void {
  if (!j || j.kind !== kind) throw new CohortlabError('MODEL_CORRUPT', `${path} is not a ${kind} model (kind ${JSON.stringify(j?.kind)}).`, { path });
  if (j.version !== 1) throw new CohortlabError('MODEL_INCOMPATIBLE', `${path} has ${kind} version ${String(j.version)}; this cohortlab reads version 1.`, { path });
}
