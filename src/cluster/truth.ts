import { CohortlabError } from '../shared/errors.js';
import { adjustedRandIndex } from './metrics.js';

export interface TruthAgreement {
  /** ARI of the clusters with the latent types over all matched users. */
  ari: number;
  /** ARI over users not already churned at the cutoff (the users k-means was fitted on). */
  ariFitted: number;
  matched: number;
  types: string[];
  /** counts[type][cluster] */
  counts: number[][];
}

/** Agreement with known latent types (the synthetic generator's truth.csv). Users without truth are skipped. */
export function truthAgreement(userIds: string[], assignments: Int32Array, k: number, truth: Map<string, string>, alreadyChurned?: Uint8Array): TruthAgreement {
  const a: number[] = [];
  const t: string[] = [];
  const af: number[] = [];
  const tf: string[] = [];
  for (let i = 0; i < userIds.length; i++) {
    const type = truth.get(userIds[i]);
    if (type === undefined) continue;
    a.push(assignments[i]);
    t.push(type);
    if (!alreadyChurned?.[i]) {
      af.push(assignments[i]);
      tf.push(type);
    }
  }
  if (a.length === 0) throw new CohortlabError('MISSING_COLUMN', 'no user of the features file appears in the truth file; pass the truth.csv generated with these events.');
  const types = [...new Set(t)].sort();
  const counts = types.map(() => new Array<number>(k).fill(0));
  const at = new Map(types.map((x, i) => [x, i]));
  for (let i = 0; i < a.length; i++) counts[at.get(t[i]) as number][a[i]]++;
  return { ari: adjustedRandIndex(a, t), ariFitted: af.length ? adjustedRandIndex(af, tf) : NaN, matched: a.length, types, counts };
}
