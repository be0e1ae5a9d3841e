import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEvents } from '../../src/ingest/index.js';
import { CDNOW_PRESET, SPARKIFY_PRESET } from '../../src/ingest/presets.js';
import { chiSquareSurvival, computeRetention, kaplanMeier, logRank, type SurvivalCurve } from '../../src/retention/index.js';
import { readTable } from '../../src/shared/table-io.js';
import { sharedDataset } from '../shared/datasets.js';

const fx = (f: string) => join(import.meta.dirname, '..', 'fixtures', f);

interface RefGroup {
  group: string;
  users: number;
  t_days: number[];
  at_risk: number[];
  churned: number[];
  survival: number[];
  se: (number | null)[];
  lower: number[];
  upper: number[];
  median: number | null;
  median_lower: number | null;
  median_upper: number | null;
  median_upper_unbounded: boolean;
}

function expectCurveEqual(curve: SurvivalCurve, ref: RefGroup): void {
  expect(curve.users).toBe(ref.users);
  expect(curve.steps.map((s) => s.tDays)).toEqual(ref.t_days);
  expect(curve.steps.map((s) => s.atRisk)).toEqual(ref.at_risk);
  expect(curve.steps.map((s) => s.churned)).toEqual(ref.churned);
  curve.steps.forEach((s, i) => {
    expect(Math.abs(s.survival - ref.survival[i])).toBeLessThan(1e-9);
    const se = ref.se[i];
    if (se === null) expect(s.se).toBeNaN();
    else expect(Math.abs(s.se - se)).toBeLessThan(1e-9);
    expect(Math.abs(s.lower - ref.lower[i])).toBeLessThan(1e-9);
    expect(Math.abs(s.upper - ref.upper[i])).toBeLessThan(1e-9);
  });
  expect(curve.medianDays).toBe(ref.median);
  expect(curve.medianLower).toBe(ref.median_lower);
  expect(curve.medianUpper).toBe(ref.median_upper);
}

describe('kaplanMeier', () => {
  it('kaplanMeier([1,2,2,3,4,5], [1,1,0,1,0,1]) matches the hand computation', () => {
    const c = kaplanMeier([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1]);
    expect(c.steps.map((s) => [s.tDays, s.atRisk, s.churned])).toEqual([[1, 6, 1], [2, 5, 1], [3, 3, 1], [5, 1, 1]]);
    const s = c.steps.map((x) => x.survival);
    expect(s[0]).toBeCloseTo(5 / 6, 14);
    expect(s[1]).toBeCloseTo(2 / 3, 14);
    expect(s[2]).toBeCloseTo(4 / 9, 14);
    expect(s[3]).toBe(0);
    // Greenwood: S sqrt(sum d / (n (n - d)))
    expect(c.steps[0].se).toBeCloseTo((5 / 6) * Math.sqrt(1 / 30), 14);
    expect(c.steps[1].se).toBeCloseTo((2 / 3) * Math.sqrt(1 / 12), 14);
    expect(c.steps[2].se).toBeCloseTo(2 / 9, 14);
    expect(c.steps[3].se).toBeNaN();
    expect(c.medianDays).toBe(3);
    expect([c.churned, c.censored]).toEqual([4, 2]);
    // log-log bands stay inside (0, 1) and around S
    for (const x of c.steps.slice(0, 3)) {
      expect(x.lower).toBeGreaterThan(0);
      expect(x.lower).toBeLessThan(x.survival);
      expect(x.upper).toBeGreaterThan(x.survival);
      expect(x.upper).toBeLessThan(1);
    }
  });

  it('rejects a negative duration and a churn flag other than 0/1, naming the row', () => {
    expect(() => kaplanMeier([1, -2], [1, 1])).toThrow(/duration 1 is -2/);
    expect(() => kaplanMeier([1, 2], [1, 2])).toThrow(/churn flag 1 is 2/);
  });
});

describe('chiSquareSurvival', () => {
  it('equals scipy.stats.chi2.sf to 1e-12 relative', () => {
    // /usr/bin/python3 -c "from scipy.stats import chi2; print(chi2.sf(3.84, 1), ...)"
    const cases: [number, number, number][] = [
      [3.84, 1, 0.05004352124870519],
      [0.5, 3, 0.9188914116546758],
      [115.5862359968471, 2, 7.95733718522786e-26],
      [20, 10, 0.029252688076961124],
      [1e-3, 1, 0.9747728793699604],
      [700, 4, 3.4852862290889247e-150],
    ];
    for (const [x, df, p] of cases) expect(Math.abs(chiSquareSurvival(x, df) / p - 1)).toBeLessThan(1e-12);
  });
});

describe('logRank', () => {
  it('two identical groups give chi-square 0 and p 1', () => {
    const r = logRank([1, 2, 3, 1, 2, 3], [1, 0, 1, 1, 0, 1], ['a', 'a', 'a', 'b', 'b', 'b']);
    expect(r.chiSquare).toBeCloseTo(0, 12);
    expect(r.pValue).toBeCloseTo(1, 12);
    expect(r.df).toBe(1);
  });
  it('needs two groups', () => {
    expect(() => logRank([1, 2], [1, 1], ['a', 'a'])).toThrow(/at least 2 groups, got 1 \(a\)/);
  });
});

describe('computeRetention on 200 real CDNOW customers, against statsmodels', () => {
  it('durations, curves, bands, medians and the log-rank test equal SurvfuncRight / survdiff to 1e-9', async () => {
    // test/fixtures/retention-km.py made the reference (its docstring has the command); it recomputes the durations from the raw purchases.
    const ref = JSON.parse(await readFile(fx('retention-cdnow-200-reference.json'), 'utf8')) as { groups: RefGroup[]; log_rank: { chi_square: number; df: number; p_value_sf: number } };
    const store = await loadEvents([fx('cdnow-200.txt')], CDNOW_PRESET);
    try {
      const r = await computeRetention(store, { asOf: '1998-06-30', by: { kind: 'segment' } });
      const durations = await readTable(fx('retention-cdnow-200-durations.csv'), { textColumns: ['user_id', 'group'] });
      expect(r.userIds).toEqual(durations.columns.user_id);
      expect(r.group).toEqual(durations.columns.group);
      expect(Array.from(r.durationDays)).toEqual(Array.from(durations.columns.duration_days as Float64Array));
      expect(Array.from(r.churned)).toEqual(Array.from(durations.columns.churned as Float64Array));
      expect(r.churned.reduce((s, v) => s + v, 0)).toBe(125);
      const groups = ref.groups.filter((g) => g.group !== 'mix');
      expect(r.curves.map((c) => c.group)).toEqual(groups.map((g) => g.group));
      r.curves.forEach((c, i) => expectCurveEqual(c.curve, groups[i]));
      const lr = r.logRank!;
      expect(lr.df).toBe(ref.log_rank.df);
      expect(Math.abs(lr.chiSquare - ref.log_rank.chi_square)).toBeLessThan(1e-9);
      expect(Math.abs(lr.pValue / ref.log_rank.p_value_sf - 1)).toBeLessThan(1e-9);
      // "mix": the churned users with a positive duration and every 4th censored user (in user_id order): a median inside the data.
      const idx = r.userIds.map((_, i) => i).filter((i) => r.durationDays[i] > 0 && (r.churned[i] === 1 || i % 4 === 0));
      const mix = kaplanMeier(idx.map((i) => r.durationDays[i]), idx.map((i) => r.churned[i]));
      const refMix = ref.groups.find((g) => g.group === 'mix')!;
      expectCurveEqual(mix, refMix);
      expect(mix.medianDays).toBe(174);
      expect([mix.medianLower, mix.medianUpper]).toEqual([66, 269]);
    } finally {
      await store.close();
    }
  });
});

describe('delayed entry (left truncation) on the real Sparkify log, against statsmodels SurvfuncRight(entry=...) / survdiff(entry=...)', () => {
  it('curves, bands, medians and the log-rank test equal statsmodels to 1e-9, with the risk set growing as registrations from before the log enter', async () => {
    // test/fixtures/retention-km-entry.py made the reference from the durations file (command in its docstring)
    const ref = JSON.parse(await readFile(fx('retention-sparkify-reference.json'), 'utf8')) as { entered_late: number; groups: RefGroup[]; log_rank: { chi_square: number; df: number; p_value_sf: number } };
    const t = await readTable(fx('retention-sparkify-durations.csv'), { textColumns: ['user_id', 'group'] });
    const d = t.columns.duration_days as Float64Array;
    const c = Uint8Array.from(t.columns.churned as Float64Array);
    const e = t.columns.entry_days as Float64Array; // empty cells read as NaN: at risk from day 0
    const g = t.columns.group as string[];
    expect(Array.from(e).filter((x) => Number.isFinite(x)).length).toBe(ref.entered_late);
    for (const r of ref.groups) {
      const idx = g.map((_, i) => i).filter((i) => r.group === 'all' || g[i] === r.group);
      expectCurveEqual(kaplanMeier(idx.map((i) => d[i]), idx.map((i) => c[i]), { entry: idx.map((i) => e[i]) }), r);
    }
    // without the entries the first risk set would hold all 75 free users, not the 31 observed from day 0
    expect(kaplanMeier(Array.from(d), Array.from(c)).steps[0].atRisk).toBe(97);
    const lr = logRank(d, c, g, { entry: e });
    expect(Math.abs(lr.chiSquare - ref.log_rank.chi_square)).toBeLessThan(1e-9);
    expect(Math.abs(lr.pValue - ref.log_rank.p_value_sf)).toBeLessThan(1e-9);
  });

  const { path: log, missing } = sharedDataset('sparkify-dend-log-data');
  it.skipIf(missing)('computeRetention on the 30 Sparkify files gives those durations and entries', async () => {
    const { readdir } = await import('node:fs/promises');
    const files = (await readdir(log)).filter((f) => f.endsWith('.json.gz')).map((f) => join(log, f));
    const store = await loadEvents(files, SPARKIFY_PRESET);
    try {
      const r = await computeRetention(store, { asOf: '2018-11-30', by: { kind: 'column', column: 'plan' } });
      const t = await readTable(fx('retention-sparkify-durations.csv'), { textColumns: ['user_id', 'group'] });
      expect(r.userIds).toEqual(t.columns.user_id);
      expect(Array.from(r.durationDays)).toEqual(Array.from(t.columns.duration_days as Float64Array));
      expect(Array.from(r.entryDays).map((x) => (Number.isFinite(x) ? x : -1))).toEqual(Array.from(t.columns.entry_days as Float64Array).map((x) => (Number.isFinite(x) ? x : -1)));
      expect(r.warnings.find((w) => w.code === 'SIGNUPS_BEFORE_LOG')?.message).toMatch(/^78 of 97 users signed up before the log's first event \(2018-11-01\)/);
    } finally {
      await store.close();
    }
  });
});

describe('storedRetention (what a version holds for GET /v1/retention)', () => {
  it('without a landmark before as_of the views are assigned at as_of and say GROUPS_FROM_OUTCOME; the views equal computeRetention', async () => {
    const { storedRetention } = await import('../../src/retention/index.js');
    const store = await loadEvents([fx('cdnow-200.txt')], CDNOW_PRESET);
    try {
      // a landmark on the as-of date itself is no landmark
      const s = await storedRetention(store, { asOf: '1998-06-30', landmark: '1998-06-30' });
      expect(s.landmark).toBeNull();
      expect(Object.keys(s.views)).toEqual(['all', 'segment', 'lifecycle']);
      const seg = s.views.segment!;
      expect((seg.warnings as { code: string }[]).map((w) => w.code)).toContain('GROUPS_FROM_OUTCOME');
      const direct = await computeRetention(store, { asOf: '1998-06-30', by: { kind: 'segment' } });
      expect(seg.curves.map((c) => [c.group, c.steps.length])).toEqual(direct.curves.map((c) => [c.group, c.curve.steps.length]));
      expect(seg.curves[0].steps[0]).toEqual({ t_days: 0, at_risk: 131, churned: direct.curves[0].curve.steps[0].churned, survival: direct.curves[0].curve.steps[0].survival, lower: direct.curves[0].curve.steps[0].lower, upper: direct.curves[0].curve.steps[0].upper });
      expect((s.views.all!.warnings as { code: string }[]).map((w) => w.code)).not.toContain('GROUPS_FROM_OUTCOME');
    } finally {
      await store.close();
    }
  });
});
