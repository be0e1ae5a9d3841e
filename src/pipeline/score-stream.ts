import type { FeatureTable } from '../features/index.js';
import { shapInput, startShapThread } from '../churn/index.js';
import { readAhead } from '../shared/read-ahead.js';
import type { Logger } from '../shared/log.js';
import type { LoadedModel } from './load.js';
import { missingFeatures, type ScoreOptions } from './score.js';
import type { ScoreResult } from './types.js';

/**
 * Scores a stream of feature blocks (the CLI `score`), each as LoadedModel.score does, in order. With a gbdt model
 * and reason codes, the next block is read ahead and its TreeSHAP contributions computed in a worker thread
 * (churn/shap-thread.ts) while this thread scores the current one: the results are the same bits as block by block.
 */
export async function* scoreStream(blocks: AsyncIterable<FeatureTable>, model: LoadedModel, opts: ScoreOptions & { logger?: Logger } = {}): AsyncGenerator<{ part: FeatureTable; result: ScoreResult }> {
  const { logger, ...scoreOpts } = opts;
  const churn = model.parts.churn;
  const thread = (opts.reasons ?? 3) > 0 && churn.kind === 'gbdt' ? startShapThread(churn.gbdt.fitted) : null;
  if (!thread) {
    for await (const part of blocks) yield { part, result: await model.score(part, scoreOpts) };
    return;
  }
  logger?.info('reason codes: TreeSHAP in a worker thread, a block ahead of the scoring here');
  type Pending = { part: FeatureTable; contributions: Promise<Float64Array> | null };
  const scored = async ({ part, contributions }: Pending) => ({ part, result: await model.score(part, { ...scoreOpts, contributions: contributions ? await contributions : undefined }) });
  try {
    let pending: Pending | null = null;
    for await (const part of readAhead(blocks)) {
      // a block lacking the model's features is left to score()'s own error
      const x = missingFeatures(model.parts, part).length ? null : shapInput(churn, part.columns);
      const current: Pending = { part, contributions: x ? thread.contributions(x) : null };
      current.contributions?.catch(() => {}); // awaited in turn (scored)
      if (pending) yield await scored(pending);
      pending = current;
    }
    if (pending) yield await scored(pending);
  } finally {
    await thread.close();
  }
}
