import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CDNOW_PRESET, loadEvents } from '../../src/ingest/index.js';
import {
  BgNbd,
  bgnbdObjective,
  customerLifetimeValue,
  fitLtv,
  GammaGamma,
  gammaGammaObjective,
  ltvModelFromParams,
  ltvParams,
  purchaseSummary,
  scoreLtv,
  simulateBgNbd,
} from '../../src/ltv/index.js';
import { createRng } from '../../src/shared/rng.js';
import { shippedDataset } from '../shared/datasets.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const CDNOW = shippedDataset('cdnow', 'CDNOW_master.txt.gz');
/** scipy's maximum-likelihood fit on CDNOW's calibration period (made by test/fixtures/ltv/make-cdnow-btyd.py). */
const REF = JSON.parse(readFileSync(join(FIXTURES, 'ltv', 'cdnow-btyd-scipy.json'), 'utf8'));

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

function centralGradient(f: (th: Float64Array, g: Float64Array) => number, th: number[]): number[] {
  const scratch = new Float64Array(th.length);
  return th.map((_, k) => {
    const h = 1e-6;
    const up = Float64Array.from(th);
    const dn = Float64Array.from(th);
    up[k] += h;
    dn[k] -= h;
    return (f(up, scratch) - f(dn, scratch)) / (2 * h);
  });
}

describe('BG/NBD objective', () => {
  it('has the analytic gradient of its value (central differences), with and without repeat buyers', () => {
    const h = { frequency: [0, 1, 3, 0, 7, 2], recency: [0, 2.5, 10, 0, 30.1, 4], T: [5, 12, 20, 38, 38.5, 4] };
    const f = bgnbdObjective(h);
    for (const th of [[Math.log(0.3), Math.log(5), Math.log(0.8), Math.log(2.4)], [0.4, -1, 1.2, -0.3]]) {
      const g = new Float64Array(4);
      f(Float64Array.from(th), g);
      const num = centralGradient(f, th);
      g.forEach((v, k) => expect(v).toBeCloseTo(num[k], 7));
    }
  });

  it('equals FHL 2005 eq. 6 written with log-gamma for one customer', () => {
    // x = 2, t_x = 3, T = 6, r = 0.5, α = 2, a = 0.7, b = 1.9: the likelihood by its textbook form.
    const [r, alpha, a, b, x, tx, T] = [0.5, 2, 0.7, 1.9, 2, 3, 6];
    // Γ(r + x)/Γ(r) = Γ(2.5)/Γ(0.5) = 1.5 * 0.5 = 0.75; B(a, b + x)/B(a, b) = Π_{k<2} (b + k)/(a + b + k).
    const ratioBeta = ((b) / (a + b)) * ((b + 1) / (a + b + 1));
    const lik = 0.75 * Math.pow(alpha, r) * ratioBeta * (Math.pow(alpha + T, -(r + x)) + (a / (b + x - 1)) * Math.pow(alpha + tx, -(r + x)));
    const f = bgnbdObjective({ frequency: [x], recency: [tx], T: [T] });
    expect(f(Float64Array.from([r, alpha, a, b].map(Math.log)), new Float64Array(4))).toBeCloseTo(-Math.log(lik), 13);
  });
});

describe('Gamma-Gamma objective', () => {
  it('has the analytic gradient of its value', () => {
    const x = Float64Array.from([1, 2, 2, 5, 9]);
    const m = Float64Array.from([10, 31.5, 12, 20.2, 44]);
    const f = gammaGammaObjective(x, m);
    const th = [Math.log(6), Math.log(3.6), Math.log(15)];
    const g = new Float64Array(3);
    f(Float64Array.from(th), g);
    const num = centralGradient(f, th);
    g.forEach((v, k) => expect(v).toBeCloseTo(num[k], 7));
  });
});

describe('BgNbd.fit', () => {
  it('recovers the parameters of 20,000 customers simulated from the model (seeded)', () => {
    const rng = createRng(7);
    const truth = { r: 0.25, alpha: 4.8, a: 0.7, b: 2.2 };
    const T = Float64Array.from({ length: 20_000 }, () => 26 + 13 * rng.next());
    const sim = simulateBgNbd(truth, T, rng);
    const fitted = new BgNbd().fit(sim).fitted;
    expect(fitted.optimizer.converged).toBe(true);
    // Sampling error at n = 20,000 is a few percent (a and b are the hardest to pin down).
    expect(relErr(fitted.r, truth.r)).toBeLessThan(0.05);
    expect(relErr(fitted.alpha, truth.alpha)).toBeLessThan(0.1);
    expect(relErr(fitted.a, truth.a)).toBeLessThan(0.2);
    expect(relErr(fitted.b, truth.b)).toBeLessThan(0.25);
    // Same data, same state.
    expect(new BgNbd().fit(sim).fitted).toEqual(fitted);
  });

  it('predicts what the simulated process does after T: expected purchases and P(no purchase) match the truth\'s outcomes', () => {
    // The true parameters, 40,000 customers run on for 39 more weeks: formulas (FHL eq. 10, p_no_purchase) against the process.
    const rng = createRng(11);
    const truth = { r: 0.25, alpha: 4.8, a: 0.7, b: 2.2 };
    const T = Float64Array.from({ length: 40_000 }, () => 5 + 40 * rng.next());
    const sim = simulateBgNbd(truth, T, rng, 39);
    const m = BgNbd.fromJSON({ kind: 'bgnbd', version: 1, params: { grad_tol: 1e-9, max_iter: 1000 }, state: { ...truth, log_likelihood: 0, customers: 1, repeat_customers: 1, optimizer: {} } as never });
    let expected = 0;
    let pNone = 0;
    let actual = 0;
    let none = 0;
    // Among repeat buyers, split by P(alive) < 0.5: the low group must buy much less, as predicted.
    const groups = [{ exp: 0, act: 0 }, { exp: 0, act: 0 }];
    for (let i = 0; i < T.length; i++) {
      const [x, tx, TT] = [sim.frequency[i], sim.recency[i], sim.T[i]];
      const e = m.expectedPurchases(39, x, tx, TT);
      expected += e;
      pNone += m.pNoPurchase(39, x, tx, TT);
      actual += sim.holdout[i];
      none += sim.holdout[i] === 0 ? 1 : 0;
      if (x > 0) {
        const g = groups[m.pAlive(x, tx, TT) < 0.5 ? 0 : 1];
        g.exp += e;
        g.act += sim.holdout[i];
      }
    }
    // Sampling error: the total is a sum of 40,000 heavy-tailed counts (a few percent); the share of zeros is binomial.
    expect(relErr(expected, actual)).toBeLessThan(0.05);
    expect(Math.abs(pNone - none) / T.length).toBeLessThan(0.01);
    // Per group the purchases are heavy-tailed (a few fast buyers): over seeds 1-6 actual/expected was 0.97-1.00 in both
    // groups; this seed's low-P(alive) group is 2,983 made vs 2,624 expected (+14%). Dropping the P(alive) factor would
    // more than double that group's expectation.
    for (const g of groups) expect(relErr(g.exp, g.act)).toBeLessThan(0.2);
  });

  it('round-trips through toJSON / fromJSON and refuses use before fit', () => {
    const h = { frequency: [0, 1, 3, 0, 7, 2, 1, 0], recency: [0, 2.5, 10, 0, 30.1, 4, 1, 0], T: [5, 12, 20, 38, 38.5, 4, 30, 2] };
    const m = new BgNbd().fit(h);
    const back = BgNbd.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    for (const [x, tx, T] of [[0, 0, 5], [3, 10, 20], [7, 30.1, 38.5]]) {
      expect(back.pAlive(x, tx, T)).toBe(m.pAlive(x, tx, T));
      expect(back.expectedPurchases(10, x, tx, T)).toBe(m.expectedPurchases(10, x, tx, T));
    }
    expect(() => new BgNbd().pAlive(1, 1, 2)).toThrow(/used before fit/);
    expect(() => BgNbd.fromJSON({ ...m.toJSON(), kind: 'gbdt' } as never)).toThrow(/expected \{ kind: "bgnbd", version: 1 \}/);
  });

  it('says which customer is impossible, and that one-time buyers alone cannot be fitted', () => {
    expect(() => new BgNbd().fit({ frequency: [1, 2], recency: [3, 9], T: [5, 8] })).toThrow(/customer 1 has frequency 2, recency 9, T 8/);
    expect(() => new BgNbd().fit({ frequency: [0, 0], recency: [0, 0], T: [5, 8] })).toThrow(/0 with a repeat purchase/);
  });

  it('P(alive) is 1 without a repeat purchase and falls as the silence since the last one grows', () => {
    const m = BgNbd.fromJSON({ kind: 'bgnbd', version: 1, params: { grad_tol: 1e-9, max_iter: 1000 }, state: { ...REF.bgnbd, customers: 1, repeat_customers: 1, optimizer: {} } });
    expect(m.pAlive(0, 0, 30)).toBe(1);
    const p = [38, 30, 20, 10].map((tx) => m.pAlive(3, tx, 39));
    for (let k = 1; k < p.length; k++) expect(p[k]).toBeLessThan(p[k - 1]);
    // The horizon's expected purchases grow with the horizon; P(no purchase) shrinks.
    expect(m.expectedPurchases(52, 3, 30, 39)).toBeGreaterThan(m.expectedPurchases(26, 3, 30, 39));
    expect(m.pNoPurchase(52, 3, 30, 39)).toBeLessThan(m.pNoPurchase(26, 3, 30, 39));
    expect(m.expectedPurchases(0, 3, 30, 39)).toBe(0);
  });
});

describe('CDNOW calibration 1997-01-01..1997-09-30 (all 23,570 customers)', () => {
  it('summary, BG/NBD and Gamma-Gamma equal the independent scipy fit; per-customer predictions equal scipy\'s', async () => {
    const store = await loadEvents([CDNOW], CDNOW_PRESET);
    try {
      const s = await purchaseSummary(store, { asOf: '1997-09-30', timeUnitDays: 7 });
      expect(s.userIds.length).toBe(REF.customers);
      const sum = (v: Float64Array) => v.reduce((a, e) => a + e, 0);
      expect(sum(s.frequency)).toBe(REF.sums.frequency);
      expect(sum(s.recency)).toBeCloseTo(REF.sums.recency, 6);
      expect(sum(s.T)).toBeCloseTo(REF.sums.T, 6);

      const model = fitLtv(s);
      const bg = model.bgnbd.fitted;
      for (const k of ['r', 'alpha', 'a', 'b'] as const) expect(relErr(bg[k], REF.bgnbd[k])).toBeLessThan(1e-3);
      expect(Math.abs(bg.log_likelihood - REF.bgnbd.log_likelihood)).toBeLessThan(1e-6);
      const gg = model.gammaGamma!.fitted;
      expect(gg.customers).toBe(REF.gamma_gamma_customers);
      for (const k of ['p', 'q', 'v'] as const) expect(relErr(gg[k], REF.gamma_gamma[k])).toBeLessThan(1e-3);
      expect(Math.abs(gg.log_likelihood - REF.gamma_gamma.log_likelihood)).toBeLessThan(1e-6);
      // Published FHL 2005 values are for their 2,357-customer sample: the full cohort is near, not equal.
      expect(bg.r).toBeGreaterThan(0.2);
      expect(bg.r).toBeLessThan(0.3);

      const scores = scoreLtv(model, s, { horizonDays: REF.horizon_days, clvMonths: 12, monthlyDiscount: 0.01 });
      for (const u of REF.users) {
        const i = s.userIds.indexOf(u.user_id);
        expect([s.frequency[i], s.recency[i], s.T[i]]).toEqual([u.frequency, expect.closeTo(u.recency, 12), expect.closeTo(u.T, 12)]);
        expect(s.monetary![i]).toBeCloseTo(u.monetary, 10);
        expect(relErr(scores.p_alive[i], u.p_alive)).toBeLessThan(1e-5);
        expect(relErr(scores.expected_purchases[i], u.expected_purchases)).toBeLessThan(1e-5);
        expect(relErr(scores.p_no_purchase[i], u.p_no_purchase)).toBeLessThan(1e-5);
        expect(relErr(scores.expected_spend![i], u.expected_spend)).toBeLessThan(1e-5);
        expect(relErr(scores.clv![i], u.clv_12m_1pct)).toBeLessThan(1e-5);
      }

      // The saved parameters score the same without a refit.
      const back = ltvModelFromParams(JSON.parse(JSON.stringify(ltvParams(model, '1997-09-30'))));
      const again = scoreLtv(back, s, { horizonDays: REF.horizon_days });
      expect(again.clv).toEqual(scores.clv);
      expect(again.p_alive).toEqual(scores.p_alive);
    } finally {
      store.close();
    }
  }, 60_000);
});

describe('customerLifetimeValue', () => {
  it('is the discounted sum of monthly expected purchases times expected spend', () => {
    const bg = BgNbd.fromJSON({ kind: 'bgnbd', version: 1, params: { grad_tol: 1e-9, max_iter: 1000 }, state: { ...REF.bgnbd, customers: 1, repeat_customers: 1, optimizer: {} } });
    const gg = GammaGamma.fromJSON({ kind: 'gamma-gamma', version: 1, params: { grad_tol: 1e-9, max_iter: 1000 }, state: { ...REF.gamma_gamma, customers: 1, spend_frequency_correlation: 0, optimizer: {} } });
    // Undiscounted, the 12 months add up to the expected purchases over 12 months.
    const perMonth = 365.25 / 12 / 7;
    const undiscounted = customerLifetimeValue(bg, gg, 3, 20, 38, 25, { months: 12, monthlyDiscount: 0, timeUnitDays: 7 });
    expect(undiscounted).toBeCloseTo(bg.expectedPurchases(12 * perMonth, 3, 20, 38) * gg.expectedSpend(3, 25), 10);
    // Discounting lowers it; one month discounted once.
    expect(customerLifetimeValue(bg, gg, 3, 20, 38, 25, { months: 12, monthlyDiscount: 0.01, timeUnitDays: 7 })).toBeLessThan(undiscounted);
    expect(customerLifetimeValue(bg, gg, 3, 20, 38, 25, { months: 1, monthlyDiscount: 0.5, timeUnitDays: 7 })).toBeCloseTo((bg.expectedPurchases(perMonth, 3, 20, 38) * gg.expectedSpend(3, 25)) / 1.5, 12);
  });
});
