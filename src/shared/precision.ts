/**
 * Number(v.toPrecision(digits)) without making the text (it runs for every reason code of every scored user: about
 * 2.6 million a second of JavaScript's number printing at 1M users).
 *
 * The significand m is v's magnitude scaled by 10^k (k = digits - 1 - its decimal exponent), rounded half up as
 * toPrecision rounds; then m / 10^k (or m x 10^-k) is one correctly rounded operation on exact operands, which is
 * the double nearest to the decimal m x 10^-k: what Number() makes of the text. Where the scaled value lies too
 * near a rounding boundary for its floating-point error (or k is past exact powers of ten), the text is made.
 */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i); // exact up to 10^22

export function roundSignificant(v: number, digits: number): number {
  if (v === 0) return 0; // toPrecision drops the sign of -0
  const a = Math.abs(v);
  const k = digits - 1 - Math.floor(Math.log10(a));
  if (k > 22 || k < -22 || !Number.isFinite(a)) return Number(v.toPrecision(digits));
  const y = k >= 0 ? a * POW10[k] : a / POW10[-k];
  const f = Math.floor(y);
  const frac = y - f;
  const lo = POW10[digits - 1];
  // near .5 the float product may sit on the wrong side; a significand out of range means the exponent was misjudged
  if (Math.abs(frac - 0.5) < 1e-6 || f < lo || f >= 10 * lo) return Number(v.toPrecision(digits));
  const m = frac > 0.5 ? f + 1 : f;
  const r = k >= 0 ? m / POW10[k] : m * POW10[-k];
  return v < 0 ? -r : r;
}
