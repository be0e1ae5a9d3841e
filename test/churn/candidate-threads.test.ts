import { afterEach, describe, expect, it } from 'vitest';
import { fitCandidates, type CandidateJob } from '../../src/churn/candidate-threads.js';
import { resolveChurnParams, type ChurnModelKind } from '../../src/churn/model.js';
import { CohortlabError } from '../../src/shared/errors.js';
import { createRng } from '../../src/shared/rng.js';
import type { Logger } from '../../src/shared/log.js';

function job(rows: number, seed: number, labels?: (i: number) => number): CandidateJob {
  const rng = createRng(seed);
  const cols = 5;
  const part = (n: number) => {
    const data = new Float32Array(n * cols);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let z = -1.5;
      for (let j = 0; j < cols; j++) {
        const v = rng.normal();
        data[i * cols + j] = v;
        z += (j + 1) * 0.4 * v * (j % 2 ? -1 : 1);
      }
      y[i] = labels ? labels(i) : rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    }
    const x = { data, rows: n, cols };
    return { raw: x, scaled: x, y };
  };
  const train = part(rows);
  const valid = part(Math.round(rows / 2));
  if (labels) for (let i = 0; i < valid.y.length; i++) valid.y[i] = i % 3 === 0 ? 1 : 0;
  return { train, valid, params: resolveChurnParams({ kind: 'mlp', seed: 3, maxEpochs: 6, hiddenUnits: [8] }), calibration: 'auto' };
}

function recording(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`), progress: () => {} };
}

const KINDS: ChurnModelKind[] = ['logistic', 'mlp', 'gbdt'];

async function fitAll(j: CandidateJob, threads: boolean) {
  process.env.COHORTLAB_CANDIDATE_THREADS = threads ? '1' : '0';
  const log = recording();
  const order: string[] = [];
  const fits = await fitCandidates(KINDS, j, log, (kind, fit) => {
    order.push(kind);
    log.info(`${kind} done: ${fit.selection.chosen}`);
  });
  return { fits, lines: log.lines, order };
}

afterEach(() => {
  delete process.env.COHORTLAB_CANDIDATE_THREADS;
});

describe('fitCandidates', () => {
  it('fits logistic and gbdt in a worker with the bits, choices and log lines of fitting them here', async () => {
    const j = job(1500, 21);
    const seq = await fitAll(j, false);
    const par = await fitAll(j, true);
    expect(par.lines[0]).toBe('candidates: logistic and gbdt fitted in worker threads while mlp trains here');
    // the same lines in the same order, each kind's after-hook right after its own lines
    expect(par.lines.slice(1)).toEqual(seq.lines);
    expect(par.order).toEqual(KINDS);
    expect([...par.fits.keys()]).toEqual(KINDS);
    for (const kind of ['logistic', 'gbdt'] as const) {
      const a = seq.fits.get(kind)!;
      const b = par.fits.get(kind)!;
      expect(Array.from(b.validRaw)).toEqual(Array.from(a.validRaw));
      expect(b.calibrator).toEqual(a.calibrator);
      expect(b.selection).toEqual(a.selection);
      expect(b.details).toEqual(a.details);
      const json = (f: typeof a) => (f.estimator.kind === 'logistic' ? f.estimator.logistic.toJSON() : f.estimator.kind === 'gbdt' ? f.estimator.gbdt.toJSON() : null);
      expect(json(b)).toEqual(json(a));
      // the revived model predicts what the fitted one does
      const x = j.valid.raw;
      const p = (f: typeof a) => (f.estimator.kind === 'logistic' ? f.estimator.logistic.predictProba(x) : f.estimator.kind === 'gbdt' ? f.estimator.gbdt.predictProba(x) : null);
      expect(Array.from(p(b)!)).toEqual(Array.from(p(a)!));
    }
  }, 120_000);

  it("passes on the worker's own error, with its code", async () => {
    // the trees read the unscaled design, where one value is infinite; the MLP (here) reads the scaled one
    const j = job(300, 4);
    const raw = { ...j.train.raw, data: Float32Array.from(j.train.raw.data) };
    raw.data[7 * raw.cols + 2] = Infinity;
    process.env.COHORTLAB_CANDIDATE_THREADS = '1';
    const err = await fitCandidates(['mlp', 'gbdt'], { ...j, train: { ...j.train, raw } }, recording(), () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CohortlabError);
    expect((err as CohortlabError).code).toBe('BAD_FEATURE');
    expect((err as CohortlabError).message).toBe('GradientBoostedTrees.fit: value at row 7, column 2 is Infinity; use finite numbers or NaN for missing.');
  }, 60_000);
});
