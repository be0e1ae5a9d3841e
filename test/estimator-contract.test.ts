/**
 * One contract for every estimator (scikit-learn's `check_estimator` idea, STYLE.md "one contract suite"):
 *
 *   1. fit validates its input: bad data or bad hyperparameters throw a CohortlabError with a stable code
 *      and a sentence naming the problem
 *   2. fit is idempotent: fitting the same estimator twice on the same data gives the same state and predictions
 *   3. the same seed (the same hyperparameters) gives the same result in a fresh estimator
 *   4. toJSON -> JSON text -> fromJSON predicts exactly what the fitted estimator predicts
 *   5. predicting (or saving) before fit throws NOT_FITTED
 *
 * Data: real fixtures (91 Sparkify users with their 7-day churn label; CDNOW customers 1-200 for the LTV
 * models). The MLP (churn/model.ts) is a tfjs network fitted by a function, not an estimator class; its
 * seeded determinism and save/load are tested in test/churn/model.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { applyCalibrator, fitIsotonic, fitPlatt, type Calibrator } from '../src/churn/calibrate.js';
import { GradientBoostedTrees, type GbdtJson } from '../src/churn/gbdt.js';
import { LogisticExact, type LogisticExactJson } from '../src/churn/logistic-exact.js';
import { KMeans, MiniBatchKMeans } from '../src/cluster/kmeans.js';
import { FeatureScaler } from '../src/cluster/scale.js';
import { BgNbd, type BgNbdJSON } from '../src/ltv/bgnbd.js';
import { GammaGamma, type GammaGammaJSON } from '../src/ltv/gamma-gamma.js';
import { CohortlabError } from '../src/shared/errors.js';
import type { DenseMatrix } from '../src/shared/matrix.js';
import { cdnowHistories, sparkifyColumns } from './fixtures/load.js';

const FEATURES = ['sessions_7d', 'avg_weekly_sessions_28d', 'typical_gap_days', 'active_days_30d', 'avg_session_minutes_30d', 'actions_per_session_30d', 'days_since_last_activity'];
const columns = sparkifyColumns();
const x: DenseMatrix = new FeatureScaler({ kind: 'standard', features: FEATURES }).fit(columns).transform(columns);
const y = Uint8Array.from(columns.churned);
const history = cdnowHistories();
// raw scores for the calibrators: a plain logistic fit on the same users
const raw = new LogisticExact({ C: 1 }).fit(x, y).predictProba(x);

interface EstimatorCase<E> {
  name: string;
  /** A fresh, unfitted estimator with fixed hyperparameters (and seed). */
  make(): E;
  fit(e: E): void;
  predict(e: E): unknown;
  toJSON(e: E): unknown;
  fromJSON(json: unknown): E;
  /** Fits that must be refused: [what is wrong, the call, the code, the message]. */
  invalid: [string, () => unknown, string, RegExp][];
  /** Use before fit (undefined for the calibrators, which are fitted by a function). */
  beforeFit?(e: E): unknown;
}

const define = <E>(c: EstimatorCase<E>) => c as unknown as EstimatorCase<unknown>;
const wrongShape = (m: DenseMatrix): DenseMatrix => ({ data: m.data.subarray(0, m.data.length - 1), rows: m.rows, cols: m.cols });
const withNaN = (m: DenseMatrix): DenseMatrix => {
  const data = Float64Array.from(m.data);
  data[5] = NaN;
  return { data, rows: m.rows, cols: m.cols };
};
const calibrator = (name: string, fitWith: (r: ArrayLike<number>, l: ArrayLike<number>) => Calibrator) =>
  define<{ c: Calibrator | null }>({
    name,
    make: () => ({ c: null }),
    fit: (e) => void (e.c = fitWith(raw, y)),
    predict: (e) => applyCalibrator(e.c as Calibrator, raw),
    toJSON: (e) => e.c,
    fromJSON: (j) => ({ c: j as Calibrator }),
    invalid: [
      ['scores and labels of different lengths', () => fitWith(raw.subarray(1), y), 'BAD_ARGUMENT', /90 scores but 91 labels/],
      ['a NaN score', () => fitWith(Float64Array.from(raw, (v, i) => (i === 3 ? NaN : v)), y), 'BAD_ARGUMENT', /raw score of validation row 3 is NaN/],
      ['a label of 2', () => fitWith(raw, Uint8Array.from(y, (v, i) => (i === 0 ? 2 : v))), 'BAD_ARGUMENT', /label of validation row 0 is 2/],
    ],
  });

const CASES: EstimatorCase<unknown>[] = [
  define<KMeans>({
    name: 'KMeans',
    make: () => new KMeans({ k: 3, nInit: 2, seed: 11 }),
    fit: (e) => void e.fit(x),
    predict: (e) => e.predict(x),
    toJSON: (e) => e.toJSON(),
    fromJSON: (j) => KMeans.fromJSON(j as ReturnType<KMeans['toJSON']>),
    invalid: [
      ['k above the rows', () => new KMeans({ k: 92 }).fit(x), 'BAD_ARGUMENT', /k = 92 is more than the 91 rows/],
      ['k = 0', () => new KMeans({ k: 0 }).fit(x), 'BAD_ARGUMENT', /k must be an integer in \[1, 1000\], got 0/],
      ['a matrix whose values do not match rows x cols', () => new KMeans({ k: 3 }).fit(wrongShape(x)), 'BAD_ARGUMENT', /636 values but rows x cols = 91 x 7/],
    ],
    beforeFit: (e) => e.predict(x),
  }),
  define<MiniBatchKMeans>({
    name: 'MiniBatchKMeans',
    make: () => new MiniBatchKMeans({ k: 3, batchSize: 32, seed: 11 }),
    fit: (e) => void e.fit(x),
    predict: (e) => e.predict(x),
    toJSON: (e) => e.toJSON(),
    fromJSON: (j) => MiniBatchKMeans.fromJSON(j as ReturnType<MiniBatchKMeans['toJSON']>),
    invalid: [
      ['k above the rows', () => new MiniBatchKMeans({ k: 92 }).fit(x), 'BAD_ARGUMENT', /k = 92 is more than the 91 rows/],
      ['batch size 0', () => new MiniBatchKMeans({ batchSize: 0 }).fit(x), 'BAD_ARGUMENT', /batchSize must be an integer/],
    ],
    beforeFit: (e) => e.toJSON(),
  }),
  ...(['standard', 'robust'] as const).map((kind) =>
    define<FeatureScaler>({
      name: `FeatureScaler (${kind})`,
      make: () => new FeatureScaler({ kind, features: FEATURES }),
      fit: (e) => void e.fit(columns),
      predict: (e) => e.transform(columns).data,
      toJSON: (e) => e.toJSON(),
      fromJSON: (j) => FeatureScaler.fromJSON(j as ReturnType<FeatureScaler['toJSON']>),
      invalid: [
        ['a feature the table lacks', () => new FeatureScaler({ kind, features: ['sesions_7d'] }).fit(columns), 'MISSING_COLUMN', /feature "sesions_7d" is not in the table to scale/],
        ['a constant feature', () => new FeatureScaler({ kind, features: ['failed_payments_30d'] }).fit(columns), 'BAD_FEATURE', /"failed_payments_30d" is constant \(0\) over all 91 users/],
        ['an unknown kind', () => new FeatureScaler({ kind: 'minmax' as 'standard', features: FEATURES }).fit(columns), 'BAD_ARGUMENT', /scaler must be "standard" or "robust", got "minmax"/],
      ],
      beforeFit: (e) => e.transform(columns),
    }),
  ),
  define<LogisticExact>({
    name: 'LogisticExact',
    make: () => new LogisticExact({ C: 0.5 }),
    fit: (e) => void e.fit(x, y),
    predict: (e) => e.predictProba(x),
    toJSON: (e) => e.toJSON(),
    fromJSON: (j) => LogisticExact.fromJSON(j as LogisticExactJson),
    invalid: [
      ['fewer labels than rows', () => new LogisticExact().fit(x, y.subarray(1)), 'BAD_ARGUMENT', /90 labels for 91 rows/],
      ['a NaN value', () => new LogisticExact().fit(withNaN(x), y), 'BAD_FEATURE', /row 0, column 5 is NaN/],
      ['one class only', () => new LogisticExact().fit(x, new Uint8Array(91)), 'ONE_CLASS', /every one of the 91 rows .* is labelled 0/],
    ],
    beforeFit: (e) => e.predictProba(x),
  }),
  define<GradientBoostedTrees>({
    name: 'GradientBoostedTrees',
    make: () => new GradientBoostedTrees({ maxIter: 15, maxLeafNodes: 7, minSamplesLeaf: 5, subsample: 0.8, seed: 4 }),
    fit: (e) => void e.fit(x, y),
    predict: (e) => e.predictProba(x),
    toJSON: (e) => e.toJSON(),
    fromJSON: (j) => GradientBoostedTrees.fromJSON(j as GbdtJson),
    invalid: [
      ['a label of 2', () => new GradientBoostedTrees().fit(x, Uint8Array.from(y, (v, i) => (i === 7 ? 2 : v))), 'BAD_ARGUMENT', /label of row 7 is 2/],
      ['a matrix whose values do not match rows x cols', () => new GradientBoostedTrees().fit(wrongShape(x), y), 'BAD_ARGUMENT', /636 values but rows x cols = 91 x 7/],
    ],
    beforeFit: (e) => e.predictProba(x),
  }),
  calibrator('Platt calibrator', fitPlatt),
  calibrator('isotonic calibrator', fitIsotonic),
  define<BgNbd>({
    name: 'BgNbd',
    make: () => new BgNbd(),
    fit: (e) => void e.fit(history),
    predict: (e) => Array.from(history.T, (T, i) => e.pNoPurchase(26, history.frequency[i], history.recency[i], T)),
    toJSON: (e) => e.toJSON(),
    fromJSON: (j) => BgNbd.fromJSON(j as BgNbdJSON),
    invalid: [
      ['recency after T', () => new BgNbd().fit({ ...history, recency: Float64Array.from(history.T, (t) => t + 1) }), 'BAD_ARGUMENT', /customer 0 has frequency \d+, recency [\d.]+, T [\d.]+; .*0 <= recency <= T/],
      ['no repeat buyer', () => new BgNbd().fit({ frequency: [0, 0], recency: [0, 0], T: [5, 6] }), 'TOO_FEW_PURCHASES', /2 customers and 0 with a repeat purchase/],
      ['max_iter 0', () => new BgNbd({ max_iter: 0 }).fit(history), 'BAD_ARGUMENT', /max_iter a whole number > 0/],
    ],
    beforeFit: (e) => e.pAlive(1, 1, 2),
  }),
  define<GammaGamma>({
    name: 'GammaGamma',
    make: () => new GammaGamma(),
    fit: (e) => void e.fit(history),
    predict: (e) => Array.from(history.frequency, (f, i) => e.expectedSpend(f, history.monetary[i])),
    toJSON: (e) => e.toJSON(),
    fromJSON: (j) => GammaGamma.fromJSON(j as GammaGammaJSON),
    invalid: [['no repeat purchase of positive value', () => new GammaGamma().fit({ frequency: [0, 3], monetary: [0, 0] }), 'TOO_FEW_PURCHASES', /0 customer\(s\) with a repeat purchase/]],
    beforeFit: (e) => e.expectedSpend(2, 10),
  }),
];

/** Comparable form of predictions: typed arrays and nested arrays as plain arrays. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, val) => (ArrayBuffer.isView(val) ? Array.from(val as unknown as ArrayLike<number>) : val)));

describe.each(CASES.map((c) => [c.name, c] as const))('estimator contract: %s', (_name, c) => {
  it.each(c.invalid.map(([why, call, code, message]) => ({ why, call, code, message })))('fit refuses $why with $code and a sentence', ({ call, code, message }) => {
    let thrown: unknown;
    try {
      call();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(CohortlabError);
    expect(thrown).toMatchObject({ code });
    expect((thrown as Error).message).toMatch(message);
  });

  it('fit is idempotent: a second fit on the same data leaves the same state and predictions', () => {
    const e = c.make();
    c.fit(e);
    const state = JSON.stringify(c.toJSON(e));
    const predicted = plain(c.predict(e));
    c.fit(e);
    expect(JSON.stringify(c.toJSON(e))).toBe(state);
    expect(plain(c.predict(e))).toEqual(predicted);
  });

  it('the same seed and hyperparameters give the same result in a fresh estimator', () => {
    const a = c.make();
    const b = c.make();
    c.fit(a);
    c.fit(b);
    expect(JSON.stringify(c.toJSON(b))).toBe(JSON.stringify(c.toJSON(a)));
    expect(plain(c.predict(b))).toEqual(plain(c.predict(a)));
  });

  it('toJSON -> JSON text -> fromJSON predicts exactly the same', () => {
    const e = c.make();
    c.fit(e);
    const loaded = c.fromJSON(JSON.parse(JSON.stringify(c.toJSON(e))));
    const predicted = plain(c.predict(e)) as unknown[];
    expect(predicted.length).toBeGreaterThan(0);
    expect(plain(c.predict(loaded))).toEqual(predicted);
  });

  it.runIf(c.beforeFit)('use before fit throws NOT_FITTED', () => {
    expect(() => c.beforeFit?.(c.make())).toThrow(expect.objectContaining({ code: 'NOT_FITTED' }) as unknown as Error);
  });
});

describe('estimator contract: the seed is used', () => {
  it.each([
    ['KMeans', (seed: number): unknown => new KMeans({ k: 4, nInit: 1, seed }).fit(x).toJSON().state.restartInertias],
    ['MiniBatchKMeans', (seed: number): unknown => new MiniBatchKMeans({ k: 4, batchSize: 16, nInit: 1, seed }).fit(x).toJSON().state.centroids],
    ['GradientBoostedTrees (subsample 0.8)', (seed: number): unknown => Array.from(new GradientBoostedTrees({ maxIter: 5, subsample: 0.8, seed }).fit(x, y).predictProba(x))],
  ] as const)('%s: another seed gives another fit', (_name, fitWith) => {
    expect(fitWith(2)).not.toEqual(fitWith(3));
  });
});
