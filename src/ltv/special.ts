/**
 * Special functions for the buy-till-you-die models: log-gamma, digamma and the Gauss hypergeometric
 * series. Arguments here are positive (model parameters plus counts), so no reflection is needed.
 */
import { CohortlabError } from '../shared/errors.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
/** Below this the argument is shifted up before the asymptotic series (truncation error < 1e-16 above it). */
const SHIFT_TO = 15;

/** ln Γ(x) for x > 0: shift to x >= 15 with ln Γ(x) = ln Γ(x + n) - ln Π(x + k), then Stirling's series to x^-9. */
export function logGamma(x: number): number {
  if (!(x > 0)) return x === 0 ? Infinity : NaN;
  let shift = 0;
  if (x < SHIFT_TO) {
    let prod = 1;
    while (x < SHIFT_TO) {
      prod *= x;
      x += 1;
    }
    shift = Math.log(prod);
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  const series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 / 1188))));
  return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + series - shift;
}

/** ψ(x) = d/dx ln Γ(x) for x > 0: shift with ψ(x) = ψ(x + 1) - 1/x, then the asymptotic series to x^-10. */
export function digamma(x: number): number {
  if (!(x > 0)) return NaN;
  let acc = 0;
  while (x < SHIFT_TO) {
    acc -= 1 / x;
    x += 1;
  }
  const inv2 = 1 / (x * x);
  const series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 / 132))));
  return acc + Math.log(x) - 0.5 / x - series;
}

/**
 * Gauss hypergeometric 2F1(a, b; c; z) by its power series, for 0 <= z < 1 and c > 0. Callers pass it
 * in a form whose terms shrink (bgnbd.ts uses Euler's transformation so a and b stay small); the sum
 * stops when a term no longer changes it (relative 1e-17) and throws past `maxTerms`.
 */
export function hyp2f1(a: number, b: number, c: number, z: number, maxTerms = 1_000_000): number {
  if (!(z >= 0 && z < 1)) throw new CohortlabError('BAD_ARGUMENT', `hyp2f1: z must be in [0, 1), got ${z}.`);
  let term = 1;
  let sum = 1;
  for (let k = 0; k < maxTerms; k++) {
    term *= ((a + k) * (b + k) * z) / ((c + k) * (k + 1));
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) return sum;
    if (term === 0) return sum;
  }
  throw new CohortlabError('BAD_ARGUMENT', `hyp2f1(${a}, ${b}; ${c}; ${z}): the series did not converge in ${maxTerms} terms.`);
}
