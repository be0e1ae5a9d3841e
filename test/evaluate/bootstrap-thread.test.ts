import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapMetrics, pickScorers } from '../../src/evaluate/bootstrap.js';
import { bootstrapInThread } from '../../src/evaluate/bootstrap-thread.js';
import { CohortlabError } from '../../src/shared/errors.js';
import { createRng } from '../../src/shared/rng.js';

function data(n: number, seed: number) {
  const rng = createRng(seed);
  const y = new Uint8Array(n);
  const p = new Float64Array(n);
  const rule = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.2 ? 1 : 0;
    p[i] = 1 / (1 + Math.exp(-(2 * y[i] - 1.5 + rng.normal())));
    rule[i] = Math.round(rng.next() * 50 + 30 * y[i]);
  }
  return { y, scorers: [{ name: 'model', scores: p, isProbability: true }, { name: 'rule', scores: rule, isProbability: false }] };
}

afterEach(() => {
  delete process.env.COHORTLAB_EVALUATION_THREADS;
});

describe('bootstrapInThread', () => {
  it('gives, job by job, what bootstrapMetrics gives here', async () => {
    const a = data(800, 1);
    const b = data(500, 2);
    const jobs = [
      { y: a.y, scorers: a.scorers, opts: { seed: 3, resamples: 200, highRiskShare: 0.2, differences: [['model', 'rule']] as [string, string][] } },
      { y: b.y, scorers: b.scorers.slice(0, 1), opts: { seed: 4, resamples: 150, highRiskShare: 0 } },
    ];
    process.env.COHORTLAB_EVALUATION_THREADS = '1';
    const threaded = await bootstrapInThread(jobs);
    expect(threaded).toEqual(jobs.map((j) => bootstrapMetrics(j.y, j.scorers, j.opts)));
    process.env.COHORTLAB_EVALUATION_THREADS = '0';
    expect(await bootstrapInThread(jobs)).toEqual(threaded);
  }, 60_000);

  it("rejects with the worker's error, code and message", async () => {
    const a = data(100, 5);
    const bad = Float64Array.from(a.scorers[0].scores as Float64Array);
    bad[17] = NaN;
    process.env.COHORTLAB_EVALUATION_THREADS = '1';
    const err = await bootstrapInThread([{ y: a.y, scorers: [{ name: 'model', scores: bad, isProbability: true }], opts: { seed: 1, resamples: 10, highRiskShare: 0 } }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CohortlabError);
    expect((err as CohortlabError).code).toBe('BAD_ARGUMENT');
    expect((err as CohortlabError).message).toMatch(/scorer "model": score of row 17 is NaN/);
  }, 60_000);
});

describe('pickScorers', () => {
  it('keeps the named scorers in the order named and the differences between two of them', () => {
    const a = data(300, 7);
    const r = bootstrapMetrics(a.y, [...a.scorers, { name: 'other', scores: a.scorers[1].scores, isProbability: false }], { seed: 2, resamples: 50, highRiskShare: 0.1, differences: [['model', 'rule'], ['model', 'other']] });
    const p = pickScorers(r, ['rule', 'model']);
    expect(Object.keys(p.scorers)).toEqual(['rule', 'model']);
    expect(p.differences.map((d) => `${d.a}-${d.b}`)).toEqual(['model-rule', 'model-rule']);
    expect(p.scorers.model).toBe(r.scorers.model);
    expect(() => pickScorers(r, ['truth'])).toThrow(/no scorer "truth"/);
  });
});
