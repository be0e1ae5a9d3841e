import { expect, it } from 'vitest';
import { openModelStore } from '../../src/registry/index.js';
import { loadScoringModel } from '../../src/pipeline/load.js';
import { apiSuite } from './api-suite.js';
import { trainedGbdtFixture } from './helper.js';

// the same API suite on a gbdt model (train --model gbdt): probabilities, reasons (TreeSHAP), reload, keys
apiSuite(trainedGbdtFixture);

it('the registry model behind this suite is a gbdt model', async () => {
  const m = await loadScoringModel(openModelStore((await trainedGbdtFixture()).modelsDir), 'default@1');
  expect(m.parts.churn.kind).toBe('gbdt');
}, 180_000);
