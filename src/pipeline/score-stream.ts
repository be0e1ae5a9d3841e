import type { FeatureTable } from '../features/index.js';
import { shapInput, startShapThread, type ShapShare } from '../churn/index.js';
import { readAhead } from '../shared/read-ahead.js';
import type { Logger } from '../shared/log.js';
import type { LoadedModel } from './load.js';
import { missingFeatures, type ScoreOptions } from './score.js';
import type { ScoreResult } from './types.js';

/**
 * Blocks sent to the worker before this thread scores the first: with two, the worker starts the next block as soon
 * as it finishes one, so neither thread waits for the other when a block takes one of them longer than usual
 * (a collection, a slow read). On 876,769 users with one, the two threads together idled ~3 s.
 */
const AHEAD = 2;

/**
 * Scores a stream of feature blocks (the CLI `score`), each as LoadedModel.score does, in order. With a gbdt model
 * and reason codes, the next block is read ahead and its TreeSHAP (contributions and margins) started in a worker
 * thread while this thread scores the current one, which it finishes first with the trees the worker left
 * (churn/shap-thread.ts: the split keeps both threads busy). The results are the same bits as block by block.
 */
export async function* scoreStream(blocks: AsyncIterable<FeatureTable>, model: LoadedModel, opts: ScoreOptions & { logger?: Logger } = {}): AsyncGenerator<{ part: FeatureTable; result: ScoreResult }> {
  const { logger, ...scoreOpts } = opts;
  const churn = model.parts.churn;
  const thread = (opts.reasons ?? 3) > 0 && churn.kind === 'gbdt' ? startShapThread(churn.gbdt.fitted) : null;
  if (!thread) {
    for await (const part of blocks) yield { part, result: await model.score(part, scoreOpts) };
    return;
  }
  logger?.info('reason codes: TreeSHAP shared with a worker thread, a block ahead of the scoring here');
  type Pending = { part: FeatureTable; share: Promise<ShapShare> | null };
  // this thread's work besides TreeSHAP (scoring, the caller writing, reading the next block), timed from the end of
  // one block's TreeSHAP here to the wait for the next one's share
  let otherSince = NaN;
  let otherRows = 0;
  const scored = async ({ part, share }: Pending) => {
    if (!Number.isNaN(otherSince)) thread.otherWork(otherRows, (performance.now() - otherSince) / 1000);
    const shap = share ? thread.finish(await share) : undefined;
    otherSince = performance.now();
    otherRows = part.userIds.length;
    return { part, result: await model.score(part, { ...scoreOpts, shap }) };
  };
  try {
    const pending: Pending[] = [];
    for await (const part of readAhead(blocks)) {
      // a block lacking the model's features is left to score()'s own error
      const x = missingFeatures(model.parts, part).length ? null : shapInput(churn, part.columns);
      const current: Pending = { part, share: x ? thread.explain(x) : null };
      current.share?.catch(() => {}); // awaited in turn (scored)
      pending.push(current);
      if (pending.length > AHEAD) yield await scored(pending.shift()!);
    }
    while (pending.length) yield await scored(pending.shift()!);
  } finally {
    await thread.close();
  }
}
