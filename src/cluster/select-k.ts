import { CohortlabError } from '../shared/errors.js';
import { createRng } from '../shared/rng.js';
import { takeRows, type DenseMatrix } from '../shared/matrix.js';
import { KMeans } from './kmeans.js';
import type { KMeansWorkers } from './lloyd.js';
import { silhouetteScore } from './metrics.js';
import { sampleIndices, takeLabels } from './sample.js';

/**
 * Choosing k by evidence (issue 5 part 3). Every k of the range is fitted with the same restarts and
 * seed; for each we record the inertia (elbow), the mean silhouette on one seeded sample of users (the
 * same sample for every k) and the cluster sizes against the playbook's size rule (§10: "Small sample
 * segments (<100 users)" -> "Minimum 100-200 users per segment").
 *
 * The rule (`pickK`):
 *   1. admissible k: the smallest cluster has at least `minClusterSize` users (§10);
 *   2. among admissible k, the highest silhouette wins; a smaller k within `silhouetteSlack` (0.01) of
 *      the best is preferred (§10: "Over-segmenting" -> fewer segments when the evidence is even);
 *   3. when no k is admissible, the smallest k of the range, with a warning.
 * §10 also says "Start with 4-6 segments": when the chosen k is outside 4..6 the report says so, and
 * `--k N` overrides the choice.
 */
export interface KCandidate {
  k: number;
  inertia: number;
  silhouette: number;
  sizes: number[];
  minSize: number;
  admissible: boolean;
  iterations: number;
  converged: boolean;
}

export interface KSelection {
  candidates: KCandidate[];
  chosen: number;
  reason: string;
  /** The fitted model of every k, so the chosen one is not fitted twice. */
  models: Map<number, KMeans>;
  silhouetteSample: number;
}

export interface SelectKOptions {
  kMin: number;
  kMax: number;
  nInit: number;
  maxIter: number;
  tol: number;
  seed: number;
  minClusterSize: number;
  silhouetteSample: number;
  silhouetteSlack?: number;
  onProgress?: (done: number, total: number) => void;
  /** Thread pool for the k-means fits (parallel.ts `workerThreads`); default: this thread. */
  workers?: KMeansWorkers;
}

/** Largest number of clusters cohortlab fits or lets a user ask for. */
export const K_MAX = 100;

/** k is "auto" or a whole number from 2 to K_MAX; `name` is how the caller calls it (k, --k), `given` what was written. */
export function checkK(k: number | 'auto', name: string, given: unknown = k): void {
  if (k !== 'auto' && (!Number.isInteger(k) || k < 2 || k > K_MAX)) {
    throw new CohortlabError('BAD_ARGUMENT', `${name} must be "auto" or an integer from 2 to ${K_MAX}, got ${JSON.stringify(given)}.`);
  }
}

export function evaluateKRange(x: DenseMatrix, o: SelectKOptions): KSelection {
  if (!Number.isInteger(o.kMin) || !Number.isInteger(o.kMax) || o.kMin < 2 || o.kMax < o.kMin) {
    throw new CohortlabError('BAD_ARGUMENT', `the k range must be integers with 2 <= min <= max, got ${o.kMin}..${o.kMax}.`);
  }
  const kMax = Math.min(o.kMax, x.rows - 1);
  if (kMax < o.kMin) throw new CohortlabError('BAD_ARGUMENT', `${x.rows} users are too few for k = ${o.kMin}..${o.kMax}; cluster at least ${o.kMin + 1} users.`);
  // one sample for every k, seeded apart from the k-means seeds
  const idx = sampleIndices(x.rows, o.silhouetteSample, createRng(o.seed ^ 0x5f3759df));
  const sample = takeRows(x, idx);
  const candidates: KCandidate[] = [];
  const models = new Map<number, KMeans>();
  const total = kMax - o.kMin + 1;
  for (let k = o.kMin; k <= kMax; k++) {
    const m = new KMeans({ k, nInit: o.nInit, maxIter: o.maxIter, tol: o.tol, seed: o.seed }).fit(x, { workers: o.workers });
    const labels = m.labels as Int32Array;
    const sizes = new Array<number>(k).fill(0);
    for (let i = 0; i < labels.length; i++) sizes[labels[i]]++;
    const minSize = Math.min(...sizes);
    const st = m.state as NonNullable<KMeans['state']>;
    candidates.push({
      k,
      inertia: st.inertia,
      silhouette: silhouetteScore(sample, takeLabels(labels, idx), k),
      sizes,
      minSize,
      admissible: minSize >= o.minClusterSize,
      iterations: st.iterations,
      converged: st.converged,
    });
    models.set(k, m);
    o.onProgress?.(k - o.kMin + 1, total);
  }
  const { chosen, reason } = pickK(candidates, o.minClusterSize, o.silhouetteSlack ?? 0.01);
  return { candidates, chosen, reason, models, silhouetteSample: idx.length };
}

export function pickK(candidates: KCandidate[], minClusterSize: number, slack = 0.01): { chosen: number; reason: string } {
  const ok = candidates.filter((c) => c.admissible);
  if (ok.length === 0) {
    const k = candidates[0].k;
    return { chosen: k, reason: `no k in ${candidates[0].k}..${candidates[candidates.length - 1].k} keeps every cluster at ${minClusterSize}+ users (playbook §10); using the smallest, k = ${k}. Cluster more users or lower the range.` };
  }
  const best = ok.reduce((a, b) => (b.silhouette > a.silhouette ? b : a));
  const pick = ok.find((c) => c.silhouette >= best.silhouette - slack) as KCandidate;
  const dropped = candidates.filter((c) => !c.admissible).map((c) => c.k);
  let reason = `k = ${pick.k}: highest silhouette (${pick.silhouette.toFixed(3)}) among k whose smallest cluster has ${minClusterSize}+ users (playbook §10)`;
  if (pick.k !== best.k) reason += `; k = ${best.k} scores ${best.silhouette.toFixed(3)}, within ${slack} so the smaller k is kept (§10: avoid over-segmenting)`;
  if (dropped.length) reason += `; excluded for a cluster under ${minClusterSize} users: k = ${dropped.join(', ')}`;
  if (pick.k < 4 || pick.k > 6) reason += `. Playbook §10 suggests starting with 4-6 segments; use --k to override`;
  return { chosen: pick.k, reason: `${reason}.` };
}
