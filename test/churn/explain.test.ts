import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { buildNetwork, initBackend, occlusionContributions, predictLogits, rescoredOcclusion, resolveChurnParams } from '../../src/churn/index.js';
import { jsStack, logitsJs, occlusionJs } from '../../src/churn/dense-js.js';
import { silentLogger } from '../../src/shared/log.js';
import { createRng } from '../../src/shared/rng.js';

describe('occlusion reason codes', () => {
  it('the Dense-stack shortcut gives the same contributions as re-scoring every occluded row', async () => {
    await initBackend(silentLogger);
    const rng = createRng(9);
    const d = 7;
    const rows = 130; // above SMALL_BATCH_ROWS: the tfjs paths
    const data = Float32Array.from({ length: rows * d }, () => rng.normal());
    for (const kind of ['mlp', 'logistic'] as const) {
      const net = buildNetwork(resolveChurnParams({ kind, seed: 3 }), d);
      if (kind === 'logistic') {
        // Zero-initialised: give the logistic layer real weights so contributions are not all 0.
        const [k, b] = net.layers[0].getWeights();
        net.layers[0].setWeights([tf.add(k, tf.tensor2d(Array.from({ length: d }, (_, j) => [j - 3]))), b]);
      }
      const fast = occlusionContributions(net, { data, rows, cols: d }, 8192, 16);
      const slow = rescoredOcclusion(net, { data, rows, cols: d }, 8192, 16);
      let maxAbs = 0;
      for (let i = 0; i < fast.length; i++) {
        expect(fast[i]).toBeCloseTo(slow[i], 4);
        maxAbs = Math.max(maxAbs, Math.abs(slow[i]));
      }
      expect(maxAbs).toBeGreaterThan(0.01);
      // The plain-JS path of small requests gives the same contributions and logits.
      const stack = jsStack(net)!;
      const few = { data: data.subarray(0, 20 * d), rows: 20, cols: d };
      const js = occlusionJs(stack, few);
      for (let i = 0; i < js.length; i++) expect(js[i]).toBeCloseTo(slow[i], 4);
      const zJs = logitsJs(stack, few);
      const zTf = predictLogits(net, { data, rows, cols: d });
      for (let i = 0; i < 20; i++) expect(zJs[i]).toBeCloseTo(zTf[i], 5);
    }
  });
});

describe('topReasons', () => {
  it('keeps the largest |contribution| first, breaks ties by name, leaves out zeros', async () => {
    const { topReasons } = await import('../../src/churn/index.js');
    const features = ['b', 'a', 'c', 'd'];
    const contrib = Float64Array.from([0.5, -0.5, 0, 2, /* row 2 */ 0, 0, 0, -1]);
    const raw = { data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), rows: 2, cols: 4 };
    const [r1, r2] = topReasons(contrib, raw, features, 3);
    expect(r1.map((r) => [r.feature, r.direction, r.contribution, r.value])).toEqual([
      ['d', 'increases_risk', 2, 4],
      ['a', 'decreases_risk', -0.5, 2],
      ['b', 'increases_risk', 0.5, 1],
    ]);
    expect(r2.map((r) => r.feature)).toEqual(['d']);
  });
});
