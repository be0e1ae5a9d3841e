import { CohortlabError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { createRng } from '../shared/rng.js';
import { createSimContext, createSimScratch, EVENTS_CSV_HEADER, simulateUser } from './simulate.js';
import { churnProbability } from './truth.js';
import { drawMovementPlan, expectOverMoves, MOVE_TO, MOVEMENT_PERIOD_DAYS, movementSeed, scheduledMoveDay, withMove, type MovementRecord } from './movement.js';
import { drawUpgradeState, upgradeProbability, upgradeSeed } from './upgrade.js';
import { DEFAULT_SYNTH_PARAMS, LATENT_TYPES, type LatentType, type SynthParams, type SynthResult, type SynthTruth } from './types.js';
import { drawUser, type World } from './user.js';

/**
 * The synthetic product, pure: params in, CSV text out through `write`, ground truth returned.
 *
 *   params -> World (window, cutoff T = last day - H + 1, day of week)
 *     for each user i (own rng from seed and i, so users are independent of each other):
 *       drawUser     hidden type, plan, signup, rates and hazards        (user.ts)
 *       churnProbability  exact P(label) for [T, T+H) from those rates   (truth.ts)
 *       simulateUser CSV lines day by day, realized cancellation/label   (simulate.ts)
 *       upgrades     own stream per user, exact P(upgrade in window)     (upgrade.ts)
 *       movement     opt-in, own stream per user: regular/power -> declining, truths mixed over move days (movement.ts)
 *   shift (opt-in): from a date, every user's expected sessions per day x F (user.ts dayState)
 *
 * Same params and seed give byte-identical text.
 */

const DAY_MS = 86_400_000;
/** Factor of `--shift-after` without `--shift-factor`: activity halves. */
export const DEFAULT_SHIFT_FACTOR = 0.5;

export function validateSynthParams(p: Partial<SynthParams> & Pick<SynthParams, 'users' | 'days' | 'seed'>): SynthParams {
  const params: SynthParams = { ...DEFAULT_SYNTH_PARAMS, ...p };
  const check = (name: string, value: number, ok: boolean, fix: string) => {
    if (!ok) throw new CohortlabError('BAD_ARGUMENT', `synthetic ${name} ${value} is not valid: ${fix}.`);
  };
  check('users', params.users, Number.isInteger(params.users) && params.users >= 1 && params.users <= 50_000_000, 'give an integer from 1 to 50,000,000');
  check('horizon days', params.horizonDays, Number.isInteger(params.horizonDays) && params.horizonDays >= 1 && params.horizonDays <= 365, 'give an integer from 1 to 365');
  check('days', params.days, Number.isInteger(params.days) && params.days >= params.horizonDays + 28 && params.days <= 3660,
    `give an integer from ${params.horizonDays + 28} (the horizon plus 4 weeks of history before the cutoff) to 3660`);
  check('seed', params.seed, Number.isInteger(params.seed), 'give an integer');
  check('inactivity days', params.inactivityDays, Number.isInteger(params.inactivityDays) && params.inactivityDays >= 1, 'give a positive integer');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(params.start) || Number.isNaN(Date.parse(`${params.start}T00:00:00Z`))) {
    throw new CohortlabError('BAD_ARGUMENT', `synthetic start date "${params.start}" is not a date YYYY-MM-DD; give e.g. 2026-01-01.`);
  }
  if (params.movementRate !== undefined) {
    check('movement rate', params.movementRate, Number.isFinite(params.movementRate) && params.movementRate >= 0 && params.movementRate <= 1, 'give a probability per 30 days from 0 to 1, e.g. 0.1');
  }
  if (params.shiftFactor !== undefined && params.shiftAfter === undefined) {
    throw new CohortlabError('BAD_ARGUMENT', `synthetic shift factor ${params.shiftFactor} needs a shift date: give --shift-after YYYY-MM-DD too.`);
  }
  if (params.shiftAfter !== undefined) {
    const startMs = Date.parse(`${params.start}T00:00:00Z`);
    const lastDay = new Date(startMs + (params.days - 1) * DAY_MS).toISOString().slice(0, 10);
    const at = Date.parse(`${params.shiftAfter}T00:00:00Z`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(params.shiftAfter) || Number.isNaN(at) || at <= startMs || at > startMs + (params.days - 1) * DAY_MS) {
      throw new CohortlabError('BAD_ARGUMENT', `synthetic shift date "${params.shiftAfter}" is not a day after the first day of data (${params.start}) and at most its last (${lastDay}); give a date YYYY-MM-DD in that range.`);
    }
    params.shiftFactor ??= DEFAULT_SHIFT_FACTOR;
    check('shift factor', params.shiftFactor, Number.isFinite(params.shiftFactor) && params.shiftFactor > 0 && params.shiftFactor <= 3, 'give a number above 0 and at most 3, e.g. 0.5 to halve activity');
  }
  return params;
}

/** `u000123`: zero padded to at least 6 digits so ids sort like numbers. */
export function userId(index: number, users: number): string {
  return `u${String(index + 1).padStart(Math.max(6, String(users).length), '0')}`;
}

/** Seed of user i's own generator: a 32-bit mix of the run seed and the index. */
export function userSeed(seed: number, index: number): number {
  let h = Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) | 0;
}

const isoSeconds = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;

export function generateSynthetic(
  input: Partial<SynthParams> & Pick<SynthParams, 'users' | 'days' | 'seed'>,
  write: (text: string) => void,
  opts: { logger?: Logger } = {},
): SynthResult {
  const params = validateSynthParams(input);
  const logger = opts.logger ?? silentLogger;
  const { users, days, horizonDays, inactivityDays } = params;
  const startMs = Date.parse(`${params.start}T00:00:00Z`);
  const cutDay = days - horizonDays;
  const cutoffMs = startMs + cutDay * DAY_MS;
  const world: World = { days, cutDay, startDow: new Date(startMs).getUTCDay() };
  if (params.shiftAfter !== undefined) {
    world.shiftDay = Math.round((Date.parse(`${params.shiftAfter}T00:00:00Z`) - startMs) / DAY_MS);
    world.shiftFactor = params.shiftFactor;
  }
  const rate = params.movementRate;
  const moves: MovementRecord[] = [];
  const window = { cutDay, endDay: days, inactivityDays };
  const ctx = createSimContext(startMs, days, Math.max(cutDay, days - inactivityDays));
  const scratch = createSimScratch();

  const truth: SynthTruth = {
    userIds: new Array(users),
    typeCode: new Uint8Array(users),
    churnProbability: new Float64Array(users),
    churned: new Uint8Array(users),
    churnMs: new Float64Array(users),
    signupMs: new Float64Array(users),
    plan: new Array(users),
    role: new Array(users),
    companySize: new Array(users),
    aliveAtCutoff: new Uint8Array(users),
    upgradeProbability: new Float64Array(users),
    upgraded: new Uint8Array(users),
    upgradeMs: new Float64Array(users),
  };
  let events = 0;
  let buf = EVENTS_CSV_HEADER;
  const sink = (text: string) => {
    buf += text;
    if (buf.length >= 1 << 20) {
      write(buf);
      buf = '';
    }
  };
  for (let i = 0; i < users; i++) {
    const seedI = userSeed(params.seed, i);
    const rng = createRng(seedI);
    const u = drawUser(i, world, rng);
    const uid = userId(i, users);
    const signupMs = startMs + u.signupDay * DAY_MS + u.signupSec * 1000;
    const up = drawUpgradeState(upgradeSeed(seedI));
    // Movement: the user as it is lived (moved on its scheduled day, if any); truths below mix over what is unknown at T.
    const plan = rate === undefined ? undefined : drawMovementPlan(movementSeed(seedI), u, days, rate);
    const lived = plan === undefined ? u : withMove(u, scheduledMoveDay(u, plan), plan);
    const outcome = simulateUser(lived, uid, isoSeconds(signupMs), ctx, scratch, rng, sink, up);
    if (lived.moveDay < days && (outcome.churnDay < 0 || outcome.churnDay >= lived.moveDay)) {
      moves.push({ userId: uid, fromType: u.type, toType: MOVE_TO, movedAtMs: startMs + lived.moveDay * DAY_MS });
    }
    events += outcome.events;
    const churnedBefore = outcome.churnDay >= 0 && outcome.churnDay < cutDay;
    truth.userIds[i] = uid;
    truth.typeCode[i] = u.typeCode;
    truth.signupMs[i] = signupMs;
    truth.plan[i] = u.plan0;
    truth.role[i] = u.role;
    truth.companySize[i] = u.companySize;
    truth.churnMs[i] = outcome.churnDay >= 0 ? startMs + outcome.churnDay * DAY_MS + outcome.churnSec * 1000 : NaN;
    truth.aliveAtCutoff[i] = signupMs < cutoffMs && !churnedBefore ? 1 : 0;
    // Users who cancelled before the cutoff: probability 1 and label 1 (cohortlab marks them
    // already churned and leaves them out of training). Users who sign up after the cutoff get the
    // same formula with zero rates before their signup.
    truth.churnProbability[i] = churnedBefore ? 1 : plan === undefined ? churnProbability(u, window) : expectOverMoves(u, plan, rate!, window, (v) => churnProbability(v, window));
    truth.churned[i] = churnedBefore || outcome.churnDay >= cutDay || !outcome.activeInLabelWindow ? 1 : 0;
    const upgradedBefore = up.day >= 0 && up.day < cutDay;
    truth.upgradeMs[i] = up.day >= 0 ? startMs + up.day * DAY_MS + up.sec * 1000 : NaN;
    truth.upgraded[i] = up.day >= 0 ? 1 : 0;
    truth.upgradeProbability[i] = upgradedBefore ? 1 : churnedBefore ? 0
      : plan === undefined ? upgradeProbability(u, up.affinity, window) : expectOverMoves(u, plan, rate!, window, (v) => upgradeProbability(v, up.affinity, window));
    if ((i + 1) % 2000 === 0 || i + 1 === users) logger.progress('generate users', i + 1, users);
  }
  if (buf.length > 0) write(buf);

  const typeCounts = Object.fromEntries(LATENT_TYPES.map((t) => [t, 0])) as Record<LatentType, number>;
  let alive = 0;
  let churnedAlive = 0;
  let probAlive = 0;
  let upgradeEligible = 0;
  let upgradedInWindow = 0;
  for (let i = 0; i < users; i++) {
    typeCounts[LATENT_TYPES[truth.typeCode[i]]]++;
    if (truth.aliveAtCutoff[i]) {
      alive++;
      churnedAlive += truth.churned[i];
      probAlive += truth.churnProbability[i];
      if (!(truth.upgradeMs[i] < cutoffMs)) {
        upgradeEligible++;
        upgradedInWindow += truth.upgraded[i];
      }
    }
  }
  return {
    truth,
    events,
    asOf: new Date(cutoffMs - DAY_MS).toISOString().slice(0, 10),
    horizonDays,
    cutoffMs,
    typeCounts,
    churnRate: alive > 0 ? churnedAlive / alive : 0,
    meanChurnProbability: alive > 0 ? probAlive / alive : 0,
    aliveAtCutoff: alive,
    upgradeRate: upgradeEligible > 0 ? upgradedInWindow / upgradeEligible : 0,
    ...(rate === undefined ? {} : { movement: { rate, periodDays: MOVEMENT_PERIOD_DAYS, records: moves } }),
    ...(params.shiftAfter === undefined ? {} : { shift: { after: params.shiftAfter, factor: params.shiftFactor! } }),
  };
}

export const TRUTH_CSV_HEADER = 'user_id,latent_type,churn_probability,churned,churn_date,churn_at,plan,role,company_size,signup_at,alive_at_cutoff,p_upgrade,upgraded,upgrade_at\n';

/** truth.csv text, chunk by chunk. `churn_date` is the UTC day of cancellation, empty when none. */
export function writeTruthCsv(truth: SynthTruth, write: (text: string) => void): void {
  let buf = TRUTH_CSV_HEADER;
  const n = truth.userIds.length;
  for (let i = 0; i < n; i++) {
    const c = truth.churnMs[i];
    const churnAt = Number.isNaN(c) ? '' : isoSeconds(c);
    const up = truth.upgradeMs[i];
    const upgradeAt = Number.isNaN(up) ? '' : isoSeconds(up);
    buf += `${truth.userIds[i]},${LATENT_TYPES[truth.typeCode[i]]},${truth.churnProbability[i].toFixed(6)},${truth.churned[i]},${churnAt.slice(0, 10)},${churnAt},${truth.plan[i]},${truth.role[i]},${truth.companySize[i]},${isoSeconds(truth.signupMs[i])},${truth.aliveAtCutoff[i]},${truth.upgradeProbability[i].toFixed(6)},${truth.upgraded[i]},${upgradeAt}\n`;
    if (buf.length >= 1 << 20) {
      write(buf);
      buf = '';
    }
  }
  write(buf);
}

/**
 * Users needed for about `targetEvents` events with these days and horizon: a 400-user pilot run of
 * the same generator (the event volume per user depends on the type mix and the window), scaled.
 * For sizing benches: `generate` itself takes users, not events.
 */
export function usersForEvents(targetEvents: number, params: { days: number; seed?: number; start?: string; horizonDays?: number }): number {
  const pilotUsers = 400;
  const pilot = generateSynthetic({ ...params, users: pilotUsers, seed: params.seed ?? 1 }, () => {});
  return Math.max(1, Math.round((targetEvents * pilotUsers) / Math.max(1, pilot.events)));
}
