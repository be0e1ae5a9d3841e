/**
 * Customer lifetime value over N months, as lifetimes' customer_lifetime_value computes it:
 *   CLV = Σ_{i=1..N} [E(purchases by month i) - E(purchases by month i-1)] × E[spend per purchase] / (1 + d)^i
 * with E(purchases by t) from BG/NBD (bgnbd.ts, eq. 10), the spend from Gamma-Gamma, d the monthly
 * discount rate, and a month of 365.25 / 12 = 30.4375 days (converted to the model's time unit).
 */
import { CohortlabError } from '../shared/errors.js';
import type { BgNbd } from './bgnbd.js';
import type { GammaGamma } from './gamma-gamma.js';

export const DAYS_PER_MONTH = 365.25 / 12;

export interface ClvOptions {
  months: number;
  /** Monthly discount rate (lifetimes' default 0.01). */
  monthlyDiscount: number;
  timeUnitDays: number;
}

export function customerLifetimeValue(bg: BgNbd, gg: GammaGamma, x: number, tx: number, T: number, m: number, opts: ClvOptions): number {
  const { months, monthlyDiscount, timeUnitDays } = opts;
  if (!(Number.isInteger(months) && months >= 1) || !(monthlyDiscount > -1) || !(timeUnitDays > 0)) {
    throw new CohortlabError('BAD_ARGUMENT', `CLV: months must be a whole number >= 1 and the discount rate > -1, got ${months} and ${monthlyDiscount}.`);
  }
  const spend = gg.expectedSpend(x, m);
  const perMonth = DAYS_PER_MONTH / timeUnitDays;
  let prev = 0;
  let total = 0;
  for (let i = 1; i <= months; i++) {
    const cum = bg.expectedPurchases(i * perMonth, x, tx, T);
    total += ((cum - prev) * spend) / Math.pow(1 + monthlyDiscount, i);
    prev = cum;
  }
  return total;
}
