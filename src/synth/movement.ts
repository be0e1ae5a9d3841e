import { CohortlabError } from '../shared/errors.js';
import { createRng } from '../shared/rng.js';
import { DECLINE_DOWNGRADE_P, DECLINE_LENGTH_DAYS, DOWNGRADE_TO } from './profiles.js';
import { LATENT_TYPES, type LatentType } from './types.js';
import type { TruthWindow } from './truth.js';
import type { UserSpec } from './user.js';

/**
 * Latent users that move between types over time (issue 21 part 6, `generate --movement RATE`): playbook §10
 * "ignoring segment transitions" needs a product whose users do move, with the movement known.
 *
 * Every MOVEMENT_PERIOD_DAYS days from the first day of data (periods [30k, 30k + 30)), each user who signed up
 * before the period starts, is alive at its start and is still of a movable type (regular, power) becomes a
 * declining user with probability RATE, on a day drawn uniformly in the period. From that day on it behaves as the
 * declining type does (user.ts `dayState`): its decline starts that day and lasts 5-9 weeks (active days, breadth,
 * session length decay; tickets and cancel-page views rise; 30% of paying movers downgrade early in it), and the
 * cancellation hazard rises with the decline's progress squared. A user moves at most once (declining is not
 * movable), and a user who cancels before its move day never moves.
 *
 * All movement randomness comes from a separate stream per user (`movementSeed`), drawn in full whatever the
 * outcome, so the user's main stream is untouched: until its move day a mover writes exactly the rows it writes
 * without movement, and a run without `--movement` is byte-identical to one before movement existed.
 *
 * Truth stays exact. The coin and the day of each period are independent of everything else, so given the latent
 * state at the cutoff T (moved already, or not yet), the label probability is a mixture over the move days still
 * possible in [T, T+H): P = sum_s w_s P(label | move on day s) + w_none P(label | no move), each term the closed
 * form of truth.ts. With T inside period k (start P_k) and no move before T, a day j in [T, P_k + 30) has weight
 * (RATE/30) / (1 - RATE (T - P_k)/30); later periods RATE/30 per day times the chance of no move before them.
 */

export const MOVEMENT_PERIOD_DAYS = 30;
/** The types that can move, and where they go. */
export const MOVABLE_TYPES: readonly LatentType[] = ['regular', 'power'];
export const MOVE_TO: LatentType = 'declining';

/** The hidden movement draws of one user: every period's coin and day, and the decline a move would start. */
export interface MovementPlan {
  /** Per period k: the day index of the move if the coin came up (in [30k, 30k + 30)), else -1. */
  dayByPeriod: Int32Array;
  /** Length of the decline a move starts (days). */
  declineDays: number;
  /** Whether a paying mover downgrades, and when (share of the decline). */
  downgrade: boolean;
  downgradeAt: number;
}

/** One realized move (a row of truth-movement.csv). */
export interface MovementRecord {
  userId: string;
  fromType: LatentType;
  toType: LatentType;
  /** Epoch ms of 00:00 UTC of the move day (the user behaves as its new type from that day). */
  movedAtMs: number;
}

/** Seed of user i's movement stream: its own seed mixed with a constant other than the upgrade stream's. */
export function movementSeed(userSeedValue: number): number {
  let h = (userSeedValue ^ 0x3c6ef372) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) | 0;
}

/** Draws user `u`'s movement plan for `days` of data; the same number of draws for every user and rate. */
export function drawMovementPlan(seed: number, u: UserSpec, days: number, rate: number): MovementPlan {
  const rng = createRng(seed);
  const periods = Math.ceil(days / MOVEMENT_PERIOD_DAYS);
  const dayByPeriod = new Int32Array(periods);
  for (let k = 0; k < periods; k++) {
    const heads = rng.next() < rate;
    const day = k * MOVEMENT_PERIOD_DAYS + rng.int(MOVEMENT_PERIOD_DAYS);
    dayByPeriod[k] = heads ? day : -1;
  }
  const declineDays = DECLINE_LENGTH_DAYS[0] + (DECLINE_LENGTH_DAYS[1] - DECLINE_LENGTH_DAYS[0]) * rng.next();
  // Playbook §4.4 billing signals: as for the declining type, some paying movers downgrade early in the decline.
  const downgrade = rng.next() < DECLINE_DOWNGRADE_P && DOWNGRADE_TO[u.plan0] !== undefined;
  const downgradeAt = 0.25 + 0.35 * rng.next();
  return { dayByPeriod, declineDays, downgrade, downgradeAt };
}

const eligible = (u: UserSpec, k: number): boolean => MOVABLE_TYPES.includes(u.type) && u.signupDay < k * MOVEMENT_PERIOD_DAYS;

/** The day the plan moves `u` (the first period it is eligible for whose coin came up); Infinity when never. */
export function scheduledMoveDay(u: UserSpec, plan: MovementPlan): number {
  for (let k = 0; k < plan.dayByPeriod.length; k++) {
    if (plan.dayByPeriod[k] >= 0 && eligible(u, k)) return plan.dayByPeriod[k];
  }
  return Infinity;
}

/** `u` as it is when it moves on day `day`: a declining user from that day, its decline (and downgrade) timed from it. */
export function withMove(u: UserSpec, day: number, plan: MovementPlan): UserSpec {
  if (!Number.isFinite(day)) return u;
  const moved: UserSpec = { ...u, moveDay: day, phaseStart: day, phaseDays: plan.declineDays };
  if (plan.downgrade) {
    moved.planChangeDay = Math.floor(day + plan.declineDays * plan.downgradeAt);
    moved.planAfter = DOWNGRADE_TO[u.plan0];
    moved.downgrades = true;
  }
  return moved;
}

/** A move day still possible in the truth window (Infinity: no move in it) and its probability given the state at T. */
export interface MoveScenario {
  day: number;
  weight: number;
}

/**
 * The move days possible in [w.cutDay, w.endDay) given the user's latent state at the cutoff, with their
 * probabilities (summing to 1). A user who moved before the cutoff has one certain scenario.
 */
export function moveScenarios(u: UserSpec, plan: MovementPlan, rate: number, w: Pick<TruthWindow, 'cutDay' | 'endDay'>): MoveScenario[] {
  const m = scheduledMoveDay(u, plan);
  if (m < w.cutDay) return [{ day: m, weight: 1 }];
  const out: MoveScenario[] = [];
  const perDay = rate / MOVEMENT_PERIOD_DAYS;
  let noMoveYet = 1;
  let total = 0;
  for (let k = Math.floor(Math.max(0, w.cutDay) / MOVEMENT_PERIOD_DAYS); k * MOVEMENT_PERIOD_DAYS < w.endDay; k++) {
    if (!eligible(u, k)) continue;
    const start = k * MOVEMENT_PERIOD_DAYS;
    const end = start + MOVEMENT_PERIOD_DAYS;
    const from = Math.max(start, w.cutDay);
    // Within the period of the cutoff, no move on [start, T) is known: the remaining days share the rest.
    const q = perDay / (1 - perDay * (from - start));
    for (let j = from; j < Math.min(end, w.endDay); j++) {
      out.push({ day: j, weight: noMoveYet * q });
      total += noMoveYet * q;
    }
    noMoveYet *= 1 - q * (end - from);
  }
  out.push({ day: Infinity, weight: Math.max(0, 1 - total) });
  return out;
}

/** E over the move scenarios of `f(user as in the scenario)`: an exact truth for movers from a per-user formula. */
export function expectOverMoves(u: UserSpec, plan: MovementPlan, rate: number, w: TruthWindow, f: (v: UserSpec) => number): number {
  let p = 0;
  for (const s of moveScenarios(u, plan, rate, w)) {
    if (s.weight > 0) p += s.weight * f(withMove(u, s.day, plan));
  }
  return p;
}

/** The users and their types at the start of the data (truth.csv `user_id, latent_type`; a SynthTruth is one). */
export interface LatentTypeSource {
  userIds: readonly string[];
  /** Index into LATENT_TYPES per user. */
  typeCode: ArrayLike<number>;
}

/**
 * Every user's true latent type at `dateMs` (epoch ms), in the order of `truth.userIds`: the type at the start of the
 * data, then every move with `movedAtMs <= dateMs` applied in time order. Pure; checks that each move starts from the
 * type the user has at that time.
 */
export function latentTypesAt(truth: LatentTypeSource, movement: readonly MovementRecord[], dateMs: number): LatentType[] {
  const types = Array.from(truth.typeCode, (c) => LATENT_TYPES[c]);
  const index = new Map<string, number>();
  truth.userIds.forEach((id, i) => index.set(id, i));
  const moves = [...movement].sort((a, b) => a.movedAtMs - b.movedAtMs || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  for (const r of moves) {
    if (r.movedAtMs > dateMs) break;
    const i = index.get(r.userId);
    if (i === undefined) {
      throw new CohortlabError('BAD_ARGUMENT', `movement row for user "${r.userId}" names a user the truth does not have; read truth.csv and truth-movement.csv of the same generate run.`);
    }
    if (types[i] !== r.fromType) {
      throw new CohortlabError('BAD_ARGUMENT', `movement row for user "${r.userId}" moves it from ${r.fromType} but it is ${types[i]} at ${new Date(r.movedAtMs).toISOString()}; read truth.csv and truth-movement.csv of the same generate run.`);
    }
    types[i] = r.toType;
  }
  return types;
}
