import { createRng, type Rng } from '../shared/rng.js';
import { TYPE_PROFILES } from './profiles.js';
import type { TruthWindow } from './truth.js';
import { dayState, newDayState, type UserSpec } from './user.js';
import type { LatentType } from './types.js';

/**
 * Plan upgrades of the synthetic product (issue 20 part 5): the outcome `train --target upgrade` predicts,
 * with a known true probability so the ceiling is known.
 *
 * On each day without a cancellation on which the user has a session, a user who has not upgraded yet
 * upgrades with probability g_d (below); the `upgraded_plan` event closes that day's first session (same
 * second as its last event), and a user upgrades at most once. All upgrade randomness comes from a
 * separate stream per user (`upgradeSeed`), drawn only after the day's cancellation and sessions are fixed,
 * so every other event is exactly what the generator wrote before upgrades existed; only the added rows differ.
 * The plan column is NOT changed by an upgrade (the churn process, hazards by plan, stays the same).
 *
 *   g_d = UPGRADE_RATE[type] (trial: before / after expiry) x affinity x interest x (1 - decline progress)
 *   interest = ((pricingP + lockedP) / (the type's pricingP + lockedP))^0.7: the §4.3 signals the user
 *              shows (pricing views, locked-feature clicks; 0 on the top plan), so a model and the §4.3
 *              score can see part of it; affinity = log-normal(0.6) from the upgrade stream: the hidden part.
 */

/** Upgrade probability per active day (before the affinity and interest multipliers). */
export const UPGRADE_RATE: Record<LatentType, number> = {
  power: 0.008, // pro users growing into enterprise
  regular: 0.006,
  casual: 0.003,
  declining: 0.002,
  dormant: 0.002,
  evaluator: 0.025, // trial conversion (after the trial: UPGRADE_RATE_AFTER_TRIAL)
  team_champion: 0.02, // team growth: more seats
};
export const UPGRADE_RATE_AFTER_TRIAL = 0.006;
/** Log-normal sigma of the hidden personal affinity. */
export const UPGRADE_AFFINITY_SIGMA = 0.6;

/** The event the generator writes (SYNTHETIC_PRESET taxonomy.upgrade). */
export const UPGRADE_EVENT = 'upgraded_plan';

/** Seed of user i's upgrade stream: its own seed mixed with a constant, so it never shifts the user's main stream. */
export function upgradeSeed(userSeedValue: number): number {
  let h = (userSeedValue ^ 0x7f4a7c15) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** One user's upgrade state during the simulation. */
export interface UpgradeState {
  rng: Rng;
  /** Hidden personal multiplier (log-normal, mean 1). */
  affinity: number;
  /** Day index and second of the upgrade; -1 until it happens. */
  day: number;
  sec: number;
}

export function drawUpgradeState(seed: number): UpgradeState {
  const rng = createRng(seed);
  const s = UPGRADE_AFFINITY_SIGMA;
  const affinity = Math.exp(s * rng.normal() - (s * s) / 2);
  return { rng, affinity, day: -1, sec: -1 };
}

/** g_d: the probability of upgrading on day d, given a session that day, no cancellation and no upgrade yet. */
export function upgradeRate(u: UserSpec, d: number, affinity: number): number {
  if (d < u.signupDay) return 0;
  const p = TYPE_PROFILES[u.type];
  const plan = d >= u.planChangeDay ? u.planAfter : u.plan0;
  if (plan === 'enterprise') return 0;
  const interest = Math.pow((u.pricingP + u.lockedP) / (p.pricingP + p.lockedP), 0.7);
  // A user who moved (movement.ts) upgrades as a declining user from its move day; its interest stays its own.
  const type = d >= u.moveDay ? 'declining' : u.type;
  let base = UPGRADE_RATE[type];
  if (type === 'evaluator' && d >= u.phaseStart) base = UPGRADE_RATE_AFTER_TRIAL;
  if (type === 'declining') base *= 1 - Math.min(1, Math.max(0, (d + 0.5 - u.phaseStart) / u.phaseDays));
  return Math.min(0.5, base * affinity * interest);
}

/**
 * The exact probability that a user alive and not yet upgraded at the cutoff upgrades in [T, T+H):
 * per day d, cancellation (hazard h_d), activity (a_d, 1 on the signup day) and the upgrade draw are
 * independent, and an upgrade needs an active day without cancellation, so
 *   P = sum_d S_d e^{-h_d} a_d g_d,   S_d = prod_{T <= j < d} e^{-h_j} (1 - a_j g_j).
 */
export function upgradeProbability(u: UserSpec, affinity: number, w: TruthWindow): number {
  const s = newDayState();
  let survive = 1;
  let p = 0;
  for (let d = w.cutDay; d < w.endDay; d++) {
    const st = dayState(u, d, s);
    const a = d === u.signupDay ? 1 : d < u.signupDay ? 0 : st.activeP;
    const g = upgradeRate(u, d, affinity);
    const keep = Math.exp(-st.hazard);
    p += survive * keep * a * g;
    survive *= keep * (1 - a * g);
  }
  return p;
}
