import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseC, LogisticExact, logLossFromMargins } from '../../src/churn/logistic-exact.js';
import type { Matrix as RealMatrix } from '../../src/shared/matrix.js';

// Fixtures and sklearn coefficients: test/fixtures/sklearn/lr_fixtures.py (the script says how each was made).
interface Fit { C: number; fitIntercept: boolean; weighted: boolean; lbfgs: { coef: number[]; intercept: number }; 'newton-cg': { coef: number[]; intercept: number } }
interface Fixture { rows: number; cols: number; x: number[][]; y: number[]; sampleWeight: number[]; fits: Fit[] }
const load = (name: string): Fixture => JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'sklearn', name), 'utf8'));
const matrix = (f: Fixture): RealMatrix => ({ data: Float64Array.from(f.x.flat()), rows: f.rows, cols: f.cols });

describe.each(['lr-synthetic.json', 'lr-telco.json'])('LogisticExact against sklearn LogisticRegression (%s)', (name) => {
  const f = load(name);
  const x = matrix(f);
  for (const c of f.fits) {
    it(`C=${c.C} intercept=${c.fitIntercept} weighted=${c.weighted}: coefficients within 1e-4 of lbfgs and newton-cg`, () => {
      const m = new LogisticExact({ C: c.C, fitIntercept: c.fitIntercept }).fit(x, f.y, { sampleWeight: c.weighted ? f.sampleWeight : null });
      const s = m.fitted;
      expect(s.converged).toBe(true);
      expect(s.gradMaxRel).toBeLessThanOrEqual(1e-10);
      for (const ref of [c.lbfgs, c['newton-cg']]) {
        for (let j = 0; j < f.cols; j++) expect(Math.abs(s.coef[j] - ref.coef[j])).toBeLessThan(1e-4);
        expect(Math.abs(s.intercept - ref.intercept)).toBeLessThan(1e-4);
      }
    });
  }
});

describe('LogisticExact', () => {
  const f = load('lr-telco.json');
  const x = matrix(f);

  it('fit is deterministic and idempotent; a warm start reaches the same minimum', () => {
    const a = new LogisticExact({ C: 0.5 }).fit(x, f.y).toJSON();
    const b = new LogisticExact({ C: 0.5 }).fit(x, f.y).toJSON();
    expect(b).toEqual(a);
    const warm = new LogisticExact({ C: 0.5 }).fit(x, f.y, { init: { coef: new Array(f.cols).fill(3), intercept: -5 } }).fitted;
    for (let j = 0; j < f.cols; j++) expect(warm.coef[j]).toBeCloseTo(a.state.coef[j], 8);
  });

  it('a weight of 2 on a row equals that row twice', () => {
    const w = f.y.map((_, i) => (i % 7 === 0 ? 2 : 1));
    const rows: number[] = [];
    f.y.forEach((_, i) => { rows.push(i); if (i % 7 === 0) rows.push(i); });
    const xd: RealMatrix = { data: Float64Array.from(rows.flatMap((i) => f.x[i])), rows: rows.length, cols: f.cols };
    const a = new LogisticExact({ C: 2 }).fit(x, f.y, { sampleWeight: w }).fitted;
    const b = new LogisticExact({ C: 2 }).fit(xd, rows.map((i) => f.y[i])).fitted;
    for (let j = 0; j < f.cols; j++) expect(a.coef[j]).toBeCloseTo(b.coef[j], 9);
    expect(a.intercept).toBeCloseTo(b.intercept, 9);
  });

  it('perfectly separated classes: converges (the penalty keeps the minimum finite) with a damped or plain Newton', () => {
    const xs: RealMatrix = { data: Float64Array.from([-2, -1, -0.5, 0.5, 1, 2]), rows: 6, cols: 1 };
    const m = new LogisticExact({ C: 1e4 }).fit(xs, [0, 0, 0, 1, 1, 1]);
    expect(m.fitted.converged).toBe(true);
    expect(m.fitted.coef[0]).toBeGreaterThan(5);
    // a duplicated column with a huge C: the Hessian is near-singular in one direction, still solved
    const dup: RealMatrix = { data: Float64Array.from([-2, -2, -1, -1, 1, 1, 2, 2, 0.5, 0.5, -0.5, -0.5]), rows: 6, cols: 2 };
    const md = new LogisticExact({ C: 1 }).fit(dup, [0, 1, 1, 1, 0, 0]).fitted;
    expect(md.coef[0]).toBeCloseTo(md.coef[1], 10);
  });

  it('toJSON / fromJSON round trip predicts the same margins; predict before fit is NOT_FITTED', () => {
    const m = new LogisticExact({ C: 1 }).fit(x, f.y);
    const back = LogisticExact.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    expect(Array.from(back.predictRaw(x))).toEqual(Array.from(m.predictRaw(x)));
    const p = m.predictProba(x);
    expect(Math.min(...p)).toBeGreaterThan(0);
    expect(Math.max(...p)).toBeLessThan(1);
    expect(() => new LogisticExact().predictRaw(x)).toThrow(expect.objectContaining({ code: 'NOT_FITTED' }));
    expect(() => LogisticExact.fromJSON({ kind: 'gbdt' } as never)).toThrow(/not a logistic-exact model/);
  });

  it('bad params and inputs: one sentence naming the value', () => {
    expect(() => new LogisticExact({ C: 0 }).fit(x, f.y)).toThrow(/parameter C = 0 is invalid; it must be a finite number > 0/);
    expect(() => new LogisticExact().fit(x, f.y.slice(1))).toThrow(/299 labels for 300 rows/);
    expect(() => new LogisticExact().fit({ data: Float64Array.from([1, NaN]), rows: 2, cols: 1 }, [0, 1])).toThrow(/row 1, column 0 is NaN/);
    expect(() => new LogisticExact().fit(x, f.y.map(() => 2))).toThrow(/label of row 0 is 2/);
    expect(() => new LogisticExact().fit(x, f.y.map(() => 0))).toThrow(expect.objectContaining({ code: 'ONE_CLASS', message: expect.stringMatching(/every one of the 300 rows .* is labelled 0/) }));
  });

  it('chooseC picks the C of lowest validation log loss, over a grid in any order', () => {
    const tr = (i: number) => i < 200;
    const pick = (keep: (i: number) => boolean) => {
      const idx = f.y.map((_, i) => i).filter(keep);
      return { x: { data: Float64Array.from(idx.flatMap((i) => f.x[i])), rows: idx.length, cols: f.cols }, y: idx.map((i) => f.y[i]) };
    };
    const train = pick(tr);
    const valid = pick((i) => !tr(i));
    const grid = [10, 0.001, 1, 0.1, 0.01];
    const r = chooseC(grid, train, valid);
    expect(r.path.map((p) => p.C)).toEqual(grid);
    const losses = grid.map((C) => logLossFromMargins(new LogisticExact({ C }).fit(train.x, train.y).predictRaw(valid.x), valid.y));
    for (let k = 0; k < grid.length; k++) expect(r.path[k].validLogLoss).toBeCloseTo(losses[k], 10);
    const best = grid[losses.indexOf(Math.min(...losses))];
    expect(r.C).toBe(best);
    const cold = new LogisticExact({ C: best }).fit(train.x, train.y).fitted;
    for (let j = 0; j < f.cols; j++) expect(r.model.fitted.coef[j]).toBeCloseTo(cold.coef[j], 7);
    // the grid is not degenerate: the extremes are worse than the chosen C
    expect(Math.max(...losses)).toBeGreaterThan(Math.min(...losses) + 1e-3);
  });
});
