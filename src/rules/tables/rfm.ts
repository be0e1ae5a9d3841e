import type { BandTable } from '../types.js';
import { internalError } from '../../shared/errors.js';

/** Playbook §6.3 RFM analysis: three 1-5 scores, a three-digit code, and the named segments. */

export const RFM_RECENCY: BandTable<number> = {
  name: 'rfm.recency',
  input: 'days_since_last_activity (whole days)',
  section: '6.3',
  choice: 'Bands [0, 1) = 5, [1, 4) = 4, [4, 8) = 3, [8, 15) = 2, [15, inf) = 1; fractional days fall in the band below the next bound.',
  bands: [
    { min: 15, value: 1, playbook: '1=15+ days', section: '6.3' }, // playbook §6.3
    { min: 8, value: 2, playbook: '2=8-14 days', section: '6.3' }, // playbook §6.3
    { min: 4, value: 3, playbook: '3=4-7 days', section: '6.3' }, // playbook §6.3
    { min: 1, value: 4, playbook: '4=1-3 days', section: '6.3' }, // playbook §6.3
    { min: -Infinity, value: 5, playbook: '5=Today', section: '6.3' }, // playbook §6.3
  ],
};

export const RFM_FREQUENCY: BandTable<number> = {
  name: 'rfm.frequency',
  input: 'avg_weekly_sessions_28d (sessions/week)',
  section: '6.3',
  choice: '"Daily" = 7+ sessions/week, "Weekly" = 1 session/week; the same half-open bands as §4.1 frequency: [0, 1) = 1, [1, 2) = 2, [2, 4) = 3, [4, 7) = 4, [7, inf) = 5.',
  bands: [
    { min: 7, value: 5, playbook: '5=Daily', section: '6.3' }, // playbook §6.3
    { min: 4, value: 4, playbook: '4=4-6x/week', section: '6.3' }, // playbook §6.3
    { min: 2, value: 3, playbook: '3=2-3x/week', section: '6.3' }, // playbook §6.3
    { min: 1, value: 2, playbook: '2=Weekly', section: '6.3' }, // playbook §6.3
    { min: -Infinity, value: 1, playbook: '1=<Weekly', section: '6.3' }, // playbook §6.3
  ],
};

/**
 * Monetary (playbook §6.3 "plan value, seat count, or usage volume"), in this order:
 * 1. a free (unpaid) user inactive past the §3.4 cadence threshold scores 1 ("1=Inactive free");
 * 2. the plan's score in config `plans.rfm_monetary` ("5=Enterprise/highest, 4=Pro, 3=Basic paid, 2=Active free");
 * 3. logs valued by spend (`monetary: sum_value`, e.g. CDNOW): quintiles of monetary_value among spenders (1-5), 1 without spend;
 * 4. otherwise paid = 3 (Basic paid), free = 2 (Active free).
 */
export const RFM_MONETARY_FALLBACK = { inactiveFree: 1, paid: 3, activeFree: 2, noSpend: 1 } as const; // playbook §6.3

export interface RfmSegment {
  name: string;
  codes: string[];
  action: string;
}

/**
 * Playbook §6.3 named segments. The playbook names 15 of the 125 codes; every other code gets
 * `RFM_OTHER` in `rfm_segment` (exact). The extra column `rfm_segment_nearest` gives the segment of the
 * nearest listed code for teams that want every user named (rule: `rfmNearest`, docs/rules.md).
 */
export const RFM_SEGMENTS: readonly RfmSegment[] = [
  { name: 'Champions', codes: ['555', '554', '545'], action: 'nurture, upsell, advocacy' }, // playbook §6.3
  { name: 'Loyal', codes: ['444', '445', '455'], action: 'deepen engagement, expand' }, // playbook §6.3
  { name: 'Promising', codes: ['334', '343', '344'], action: 'increase frequency, feature adoption' }, // playbook §6.3
  { name: 'Need attention', codes: ['233', '234', '244'], action: 're-engage, show value' }, // playbook §6.3
  { name: 'Lost', codes: ['111', '112', '121'], action: 'win-back campaign or sunset' }, // playbook §6.3
];
export const RFM_OTHER = 'Other';

/**
 * How far a listed code's recency may be from the user's for `rfm_segment_nearest`. The playbook lists each
 * named segment at one recency (Champions 5, Loyal 4, Promising 3, Need attention 2, Lost 1), and plain L1
 * distance let frequency and monetary outvote recency: 511 (seen today, rare, low value) was 4 steps from
 * "Lost" 111 but 6 from "Promising" 343. With at most 2 recency steps, a user seen in the last 3 days (R 4-5)
 * is never "Lost", and a user gone 15+ days (R 1) never "Champions" or "Loyal".
 */
export const RFM_NEAREST_MAX_RECENCY_GAP = 2;

/**
 * The listed code nearest to (r, f, m): among the listed codes whose recency is within
 * RFM_NEAREST_MAX_RECENCY_GAP of r, the smallest L1 distance |dR| + |dF| + |dM|; ties go to the smaller
 * recency gap, then to the segment listed first (RFM_SEGMENTS order, then the order of its codes).
 */
export function rfmNearest<T extends { r: number; f: number; m: number }>(listed: readonly T[], r: number, f: number, m: number): T {
  let best: T | undefined;
  let bestD = Infinity;
  let bestGap = Infinity;
  for (const l of listed) {
    const gap = Math.abs(l.r - r);
    if (gap > RFM_NEAREST_MAX_RECENCY_GAP) continue;
    const d = gap + Math.abs(l.f - f) + Math.abs(l.m - m);
    if (d < bestD || (d === bestD && gap < bestGap)) {
      bestD = d;
      bestGap = gap;
      best = l;
    }
  }
  // every recency 1-5 has a listed code (the table above), so the window is never empty
  if (!best) throw internalError(`no listed RFM code within ${RFM_NEAREST_MAX_RECENCY_GAP} recency steps of ${r}${f}${m}`);
  return best;
}

type RfmSegmentTables = { readonly exact: readonly string[]; readonly nearest: readonly string[]; readonly codes: readonly string[] };
let rfmTables: RfmSegmentTables | undefined;

/**
 * Segment of every code 111..555 (index r*25 + f*5 + m with 0-based scores), exact and nearest. Built once (the
 * tables are constants; every scored batch, down to one user from POST /v1/predict, reads them).
 */
export function rfmSegmentTables(): RfmSegmentTables {
  rfmTables ??= buildRfmSegmentTables();
  return rfmTables;
}

function buildRfmSegmentTables(): RfmSegmentTables {
  const exact: string[] = [];
  const nearest: string[] = [];
  const codes: string[] = [];
  const listed = RFM_SEGMENTS.flatMap((s) => s.codes.map((c) => ({ name: s.name, r: +c[0], f: +c[1], m: +c[2], code: c })));
  for (let r = 1; r <= 5; r++)
    for (let f = 1; f <= 5; f++)
      for (let m = 1; m <= 5; m++) {
        const code = `${r}${f}${m}`;
        codes.push(code);
        const hit = listed.find((l) => l.code === code);
        exact.push(hit ? hit.name : RFM_OTHER);
        nearest.push(rfmNearest(listed, r, f, m).name);
      }
  return Object.freeze({ exact: Object.freeze(exact), nearest: Object.freeze(nearest), codes: Object.freeze(codes) });
}
