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
