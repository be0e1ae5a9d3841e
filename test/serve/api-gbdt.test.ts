import { expect, it } from 'vitest';
import { loadModel } from '../../src/registry/index.js';
import { apiSuite } from './api-suite.js';
import { trainedGbdtFixture } from './helper.js';

// the same API suite on a gbdt model (train --model gbdt): probabilities, reasons (TreeSHAP), reload, keys
apiSuite(trainedGbdtFixture);

it('the registry model behind this suite is a gbdt model', async () => {
  const m = await loadModel('default@1', { modelsDir: (await trainedGbdtFixture()).modelsDir });
  expect(m.parts.churn.kind).toBe('gbdt');
}, 180_000);
