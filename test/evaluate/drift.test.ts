import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fitDriftBins, measureDrift, MIN_DRIFT_SAMPLE, psiNoiseBound, PSI_WATCH } from '../../src/evaluate/index.js';
import { createRng } from '../../src/shared/rng.js';

/**
 * Reference values from test/fixtures/drift-reference.py (NumPy quantiles and searchsorted, SciPy chi2.ppf,
 * ks_2samp and kstwobign) on test/fixtures/drift-cdnow.csv: CDNOW customers 1-200 as of 1997-03-31 and
 * 1997-09-30, and customers 201-400 as of 1997-09-30 (cohortlab features, columns cut to five).
 */
interface Reference {
  reference: string;
  current: string;
  feature: string;
  edges: number[];
  reference_counts: number[];
  current_counts: number[];
  psi: number;
  noise_bound_exact_chi2: number;
  ks_statistic: number;
  ks_pvalue_kolmogorov_stephens: number;
}
const refs = JSON.parse(readFileSync('test/fixtures/drift-reference.json', 'utf8')) as Reference[];
const lines = readFileSync('test/fixtures/drift-cdnow.csv', 'utf8').trim().split('\n');
const header = lines[0].split(',');
function sample(name: string, feature: string): Float64Array {
  const c = header.indexOf(feature);
  return Float64Array.from(lines.slice(1).map((l) => l.split(',')).filter((r) => r[0] === name).map((r) => Number(r[c])));
}

describe('drift against NumPy/SciPy on CDNOW features', () => {
  for (const r of refs) {
    it(`${r.feature}: ${r.reference} -> ${r.current}`, () => {
      const d = measureDrift(sample(r.reference, r.feature), sample(r.current, r.feature), { what: r.feature });
      expect(d.edges).toEqual(r.edges);
      expect(d.referenceShares.map((s) => Math.round(s * d.referenceN))).toEqual(r.reference_counts);
      expect(d.currentShares.map((s) => Math.round(s * d.currentN))).toEqual(r.current_counts);
      expect(d.psi).toBeCloseTo(r.psi, 12);
      // Wilson-Hilferty against the exact chi-square quantile.
      expect(Math.abs(d.noiseBound / r.noise_bound_exact_chi2 - 1)).toBeLessThan(0.01);
      if (d.ks) {
        expect(d.ks.statistic).toBeCloseTo(r.ks_statistic, 14);
        expect(d.ks.pValue).toBeCloseTo(r.ks_pvalue_kolmogorov_stephens, 10);
      }
    });
  }

  it('calls the six months of ageing a shift and two samples of one date stable', () => {
    const status = (a: string, b: string, f: string) => measureDrift(sample(a, f), sample(b, f)).status;
    expect(status('a_1997-03-31', 'a_1997-09-30', 'days_since_last_activity')).toBe('act');
    expect(status('a_1997-03-31', 'a_1997-09-30', 'total_sessions')).toBe('watch');
    expect(status('a_1997-03-31', 'a_1997-09-30', 'monetary_value')).toBe('stable');
    for (const f of ['days_since_last_activity', 'total_sessions', 'monetary_value', 'active_days_30d']) {
      expect(status('a_1997-09-30', 'b_1997-09-30', f)).toBe('stable');
    }
  });
});

describe('the sample-size caveat', () => {
  it('gives no verdict below the minimum sample', () => {
    const rng = createRng(1);
    const a = Float64Array.from({ length: MIN_DRIFT_SAMPLE - 1 }, () => rng.normal());
    const b = Float64Array.from({ length: 500 }, () => rng.normal() + 3);
    expect(measureDrift(a, b).status).toBe('too_few');
  });

  it('does not cry drift on two small samples of one population, though PSI often passes 0.1 by chance', () => {
    const rng = createRng(2);
    let overThreshold = 0;
    let called = 0;
    for (let rep = 0; rep < 200; rep++) {
      const a = Float64Array.from({ length: 100 }, () => rng.normal());
      const b = Float64Array.from({ length: 100 }, () => rng.normal());
      const d = measureDrift(a, b);
      if (d.psi >= PSI_WATCH) overThreshold++;
      if (d.status !== 'stable') called++;
    }
    expect(overThreshold).toBeGreaterThan(40);
    expect(called).toBeLessThanOrEqual(4);
  });

  it('keeps a trivial shift of a huge sample stable while KS finds it significant', () => {
    const rng = createRng(3);
    const a = Float64Array.from({ length: 200_000 }, () => rng.normal());
    const b = Float64Array.from({ length: 200_000 }, () => rng.normal() + 0.03);
    const d = measureDrift(a, b);
    expect(d.status).toBe('stable');
    expect(d.ks!.pValue).toBeLessThan(1e-6);
    const shifted = measureDrift(a, Float64Array.from({ length: 200_000 }, () => rng.normal() + 0.8));
    expect(shifted.status).toBe('act');
  });

  it('shrinks the noise bound with the sample sizes', () => {
    expect(psiNoiseBound(10, 100, 100)).toBeGreaterThan(0.4);
    expect(psiNoiseBound(10, 1e6, 1e6)).toBeLessThan(1e-4);
  });
});

describe('bins fixed on the reference', () => {
  it('merges tied quantiles and drops an edge at the maximum', () => {
    const b = fitDriftBins([0, 0, 0, 0, 0, 0, 1, 1, 2, 5]);
    expect(b.edges).toEqual([0, 1, 2]);
    expect(b.counts).toEqual([6, 2, 1, 1]);
  });

  it('names the variable on bad input', () => {
    expect(() => measureDrift([1, Number.NaN], [1, 2], { what: 'events_30d' })).toThrow(/events_30d \(reference\): value 1 is NaN/);
    expect(() => measureDrift([1, 2], [], { what: 'x' })).toThrow(/x: the current sample is empty/);
  });
});
