import type { Rng } from '../shared/rng.js';
import {
  BASE_HAZARD_PER_DAY, CARD_FAILED_SESSION_P, CARD_FAIL_DAYS, CARD_GRACE_DAYS, CARD_PROBLEM_HAZARD, CARD_PROBLEM_P,
  CARD_SPAN_DAYS, COMPANY_SIZES, DECLINE_DOWNGRADE_P, COMPANY_SIZE_BY_PLAN, CORE_FEATURES, DECLINE_LENGTH_DAYS, DECLINE_MAX_HAZARD,
  DECLINE_ONSET_DAYS, DORMANT_ACTIVE_P, DORMANT_HAZARD, DORMANT_LIGHT_DAYS, DOWNGRADE_TO, EVALUATOR_EXPIRED_HAZARD,
  EVALUATOR_TRIAL_HAZARD, FEATURE_WEIGHTS, INVITE_INDEX, PLAN_HAZARD, SHARE_INDEX, TRIAL_DAYS, TYPE_PROFILES,
} from './profiles.js';
import { LATENT_TYPES, type LatentType } from './types.js';

/**
 * One user's hidden parameters, drawn once. Everything the simulation does on day d follows from
 * `dayState(user, d)`: activity probabilities and hazards are deterministic, piecewise constant per UTC day, so the
 * truth (truth.ts) can be computed exactly from the same function the simulation uses.
 */
export interface UserSpec {
  index: number;
  typeCode: number;
  type: LatentType;
  /** Day index of signup relative to the first day of data (negative: before the window). */
  signupDay: number;
  /** Seconds after midnight UTC of the signup on its day. */
  signupSec: number;
  plan0: string;
  /** Day from which the plan is `planAfter` (downgrade or trial expiry); Infinity when never. */
  planChangeDay: number;
  planAfter: string;
  /** 1 when the plan change is a downgrade (emits `downgraded_plan`). */
  downgrades: boolean;
  role: string;
  companySize: string;
  /** Probability of being active (>= 1 session) on each weekday, 0 = Sunday. */
  activeByDow: Float64Array;
  /** Mean sessions on an active day (>= 1). */
  sessionsPerActiveDay: number;
  minutes: number;
  actions: number;
  breadth: number;
  /** Core feature indexes by this user's preference, and the cumulative weights in that order. */
  featureOrder: Uint8Array;
  featureCum: Float64Array;
  pricingP: number;
  lockedP: number;
  ticketP: number;
  cancelViewP: number;
  /** Share of support tickets rated negatively. */
  negativeP: number;
  /** Hazard per day before plan, tenure and breadth multipliers (the type's). */
  hazardBase: number;
  /** Centre of the user's working day (seconds after midnight UTC). */
  peakSec: number;
  /** declining: decline start (fractional day) and length; dormant: day the user goes quiet; evaluator: trial end. */
  phaseStart: number;
  phaseDays: number;
  /** Card problem (paid users): payments fail on days [cardFrom, cardTo), the extra hazard runs from cardFrom + grace; NaN when none. */
  cardFrom: number;
  cardTo: number;
  /** First day of data this user's weekday pattern starts from (0 = Sunday) is global; kept here for speed. */
  startDow: number;
  /**
   * Movement (movement.ts, `generate --movement`): from this day on the user behaves as the declining type, its
   * decline starting that day (`phaseStart`, `phaseDays` are then the decline's); Infinity when the user never moves.
   */
  moveDay: number;
  /** Behaviour shift (`generate --shift-after`), the world's, kept here for speed: from `shiftDay` on activity x `shiftFactor`. */
  shiftDay: number;
  shiftFactor: number;
}

/** What the user does on one day; filled in place (no allocation per day). */
export interface DayState {
  /** Probability of at least one session this day. 0 before signup. */
  activeP: number;
  /** Mean sessions on an active day (>= 1). */
  sessionsPerActiveDay: number;
  /** Cancellation hazard this day (0 before and on the signup day). */
  hazard: number;
  breadth: number;
  minutes: number;
  actions: number;
  pricingP: number;
  lockedP: number;
  ticketP: number;
  negativeP: number;
  cancelViewP: number;
  paymentFailedP: number;
  plan: string;
}

export function newDayState(): DayState {
  return { activeP: 0, sessionsPerActiveDay: 1, hazard: 0, breadth: 1, minutes: 1, actions: 1, pricingP: 0, lockedP: 0, ticketP: 0, negativeP: 0, cancelViewP: 0, paymentFailedP: 0, plan: '' };
}

/** added_task, completed_task, created_project: every user's repertoire starts with these. */
const BASICS = ['added_task', 'completed_task', 'created_project'].map((f) => CORE_FEATURES.indexOf(f));
const TYPE_SHARES = LATENT_TYPES.map((t) => TYPE_PROFILES[t].share);

function pick(weights: readonly number[], rng: Rng): number {
  let total = 0;
  for (const w of weights) total += w;
  let r = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  return weights.length - 1;
}

function pickKey(weights: Record<string, number>, rng: Rng): string {
  const keys = Object.keys(weights);
  return keys[pick(keys.map((k) => weights[k]), rng)];
}

const lognormal = (rng: Rng, sigma: number): number => Math.exp(sigma * rng.normal() - (sigma * sigma) / 2);
const uniform = (rng: Rng, a: number, b: number): number => a + (b - a) * rng.next();
/** Log-normal spread of a user's session rate, length and actions around the type's (types stay apart: blobs, not points). */
const PERSONAL_SIGMA = 0.12;

/** The window geometry every user is drawn against. */
export interface World {
  days: number;
  /**
   * Day index of the default cutoff (first day of the truth window). Not used to draw users: the process is
   * stationary, so any cutoff sees the same mix of types and stages.
   */
  cutDay: number;
  /** Day of week of day 0 (0 = Sunday). */
  startDow: number;
  /** Behaviour shift: from this day index on, every user's expected sessions per day x `shiftFactor`. Absent: none. */
  shiftDay?: number;
  shiftFactor?: number;
}

const PAID = new Set(['basic', 'pro', 'enterprise']);
/** Share of a declining user's support tickets rated negatively before its decline progresses. */
const DECLINING_NEGATIVE_P = 0.4;
const DECLINING = TYPE_PROFILES.declining;

/**
 * Draws user `index`: the type (profile share), then everything else. Signups arrive at a steady rate from
 * the type's `lookbackDays` before the window to its end, and every stage is timed from the signup (a
 * declining user starts declining 1-5 weeks after signup, a dormant user goes quiet 2-6 weeks after it, an
 * evaluator's trial ends 3 weeks after it), never from the cutoff: what a cohortlab cutoff sees is the same
 * at every cutoff, so models trained on earlier cutoffs transfer. A user who signed up before the window is
 * kept with its probability of having survived to day 0 (exp of minus the summed hazard), else the type's
 * other parameters are drawn again: users in the data are the ones alive at its start or arriving later.
 */
export function drawUser(index: number, world: World, rng: Rng): UserSpec {
  const typeCode = pick(TYPE_SHARES, rng);
  const s = newDayState();
  for (;;) {
    const u = drawParams(index, typeCode, world, rng);
    if (u.signupDay >= 0) return u;
    let cum = 0;
    for (let d = u.signupDay; d < 0; d++) cum += dayState(u, d, s).hazard;
    if (rng.next() < Math.exp(-cum)) return u;
  }
}

function drawParams(index: number, typeCode: number, world: World, rng: Rng): UserSpec {
  const type = LATENT_TYPES[typeCode];
  const p = TYPE_PROFILES[type];
  const signupDay = Math.floor(uniform(rng, -p.lookbackDays, world.days));
  let phaseStart = Infinity;
  let phaseDays = 1;
  switch (type) {
    case 'evaluator':
      phaseStart = signupDay + TRIAL_DAYS;
      break;
    case 'declining':
      phaseStart = signupDay + uniform(rng, DECLINE_ONSET_DAYS[0], DECLINE_ONSET_DAYS[1]);
      phaseDays = uniform(rng, DECLINE_LENGTH_DAYS[0], DECLINE_LENGTH_DAYS[1]);
      break;
    case 'dormant':
      phaseStart = Math.floor(signupDay + uniform(rng, DORMANT_LIGHT_DAYS[0], DORMANT_LIGHT_DAYS[1]));
      break;
    default:
  }
  const signupSec = Math.floor(uniform(rng, 7 * 3600, 17 * 3600));

  const plan0 = pickKey(p.plans, rng);
  let planChangeDay = Infinity;
  let planAfter = plan0;
  let downgrades = false;
  if (type === 'declining' && DOWNGRADE_TO[plan0] !== undefined && rng.next() < DECLINE_DOWNGRADE_P) {
    // Playbook §4.4 billing signals: some paying decliners downgrade early in the decline.
    planChangeDay = Math.floor(phaseStart + phaseDays * uniform(rng, 0.25, 0.6));
    planAfter = DOWNGRADE_TO[plan0];
    downgrades = true;
  }
  const role = pickKey(p.roles, rng);
  const companySize = COMPANY_SIZES[pick(COMPANY_SIZE_BY_PLAN[plan0], rng)];

  // Repertoire: the three basics of a project tool always, then the type's favourites (little personal
  // noise, so the activation milestones a user reaches follow the type, playbook §4.2).
  const breadth = Math.max(BASICS.length, Math.min(CORE_FEATURES.length, Math.round(p.breadth + 0.6 * rng.normal())));
  const w = FEATURE_WEIGHTS.map((x, f) => {
    const base = x + (f === INVITE_INDEX ? p.inviteWeight : 0) + (f === SHARE_INDEX ? p.shareWeight : 0);
    return Math.max(0.003, base) * lognormal(rng, 0.2);
  });
  const rank = (f: number): number => (BASICS.includes(f) ? BASICS.indexOf(f) - BASICS.length : 0);
  const order = w.map((_, f) => f).sort((a, b) => rank(a) - rank(b) || w[b] - w[a] || a - b);
  const featureOrder = Uint8Array.from(order);
  const featureCum = new Float64Array(order.length);
  let acc = 0;
  for (let k = 0; k < order.length; k++) featureCum[k] = acc += w[order[k]];

  // A card problem some time in the first year of a paid subscription.
  let cardFrom = NaN;
  let cardTo = NaN;
  if (PAID.has(plan0) && rng.next() < CARD_PROBLEM_P) {
    cardFrom = signupDay + 1 + Math.floor(uniform(rng, 0, CARD_SPAN_DAYS));
    cardTo = cardFrom + CARD_FAIL_DAYS[0] + rng.int(CARD_FAIL_DAYS[1] - CARD_FAIL_DAYS[0] + 1);
  }

  // Weekly habit: `habitDays` distinct weekdays (Mon-Fri) get the habit probability.
  const habitScale = uniform(rng, 0.9, 1.04);
  const activeByDow = new Float64Array(7);
  for (let dow = 0; dow < 7; dow++) activeByDow[dow] = dow === 0 || dow === 6 ? p.weekendP : p.offP;
  const weekdays = [1, 2, 3, 4, 5];
  for (let h = 0; h < p.habitDays; h++) {
    const k = h + rng.int(weekdays.length - h);
    [weekdays[h], weekdays[k]] = [weekdays[k], weekdays[h]];
    activeByDow[weekdays[h]] = Math.min(0.99, p.habitP * habitScale);
  }

  // Expansion signals (§4.3) only make sense below the top plan.
  const planInterest = plan0 === 'enterprise' ? 0 : plan0 === 'pro' ? 0.4 : 1;
  return {
    index, typeCode, type, signupDay, signupSec, plan0, planChangeDay, planAfter, downgrades, role, companySize,
    activeByDow, sessionsPerActiveDay: 1 + (p.sessionsPerActiveDay - 1) * lognormal(rng, PERSONAL_SIGMA),
    minutes: p.sessionMinutes * lognormal(rng, PERSONAL_SIGMA),
    actions: Math.max(1.2, p.actionsPerSession * lognormal(rng, PERSONAL_SIGMA)),
    breadth, featureOrder, featureCum,
    pricingP: Math.min(0.95, p.pricingP * (type === 'evaluator' ? 1 : planInterest) * lognormal(rng, 0.3)),
    lockedP: Math.min(0.95, p.lockedP * planInterest * lognormal(rng, 0.3)),
    ticketP: p.ticketP,
    cancelViewP: p.cancelViewP,
    // Declining users are unhappy from the start: their tickets are often rated negatively.
    negativeP: type === 'declining' ? DECLINING_NEGATIVE_P : 0.1,
    hazardBase: BASE_HAZARD_PER_DAY * p.hazardMult,
    peakSec: uniform(rng, 8 * 3600, 16 * 3600),
    phaseStart, phaseDays, cardFrom, cardTo,
    startDow: world.startDow,
    moveDay: Infinity,
    shiftDay: world.shiftDay ?? Infinity,
    shiftFactor: world.shiftFactor ?? 1,
  };
}

/**
 * The user's rates on day d (day index from the first day of data). Hazard multipliers: plan
 * (free/trial leave easily, enterprise rarely), tenure (new users churn more), current breadth (narrow
 * use churns more) and, for declining users, progress of the decline squared; so churn depends on
 * more than the §4.4 signals and a model can beat the rule score.
 */
export function dayState(u: UserSpec, d: number, s: DayState): DayState {
  if (d < u.signupDay) {
    s.activeP = 0;
    s.hazard = 0;
    s.plan = u.plan0;
    return s;
  }
  const dow = (u.startDow + (((d % 7) + 7) % 7)) % 7;
  const plan = d >= u.planChangeDay ? u.planAfter : u.plan0;
  let activeP = u.activeByDow[dow];
  let breadth = u.breadth;
  let minutes = u.minutes;
  let actions = u.actions;
  let ticketP = u.ticketP;
  let cancelViewP = u.cancelViewP;
  let negativeP = u.negativeP;
  let pricingP = u.pricingP;
  let extraHazard = 0;
  const tenure = d - u.signupDay;
  // A user who moved (movement.ts) is a declining user from its move day: the decline is timed from that day.
  const moved = d >= u.moveDay;
  switch (moved ? 'declining' : u.type) {
    case 'declining': {
      if (moved) {
        // The move is when the unhappiness starts: the declining type's baseline tickets and cancel-page views.
        ticketP = DECLINING.ticketP;
        cancelViewP = DECLINING.cancelViewP;
        negativeP = DECLINING_NEGATIVE_P;
      }
      // Playbook §2.1 decline signals and §3.3: fewer sessions, fewer features, shorter sessions,
      // more support tickets and cancel-page views as the decline progresses.
      const p = Math.min(1, Math.max(0, (d + 0.5 - u.phaseStart) / u.phaseDays));
      // Unhappy from the start (profile: a ticket in one session of ten, cancel-page views), more so as it goes.
      activeP *= 1 - 0.7 * p;
      breadth = Math.max(2, Math.round(breadth * (1 - 0.6 * p)));
      minutes *= 1 - 0.6 * p;
      actions = Math.max(1.2, actions * (1 - 0.5 * p));
      ticketP += 0.25 * p;
      cancelViewP += 0.3 * p;
      negativeP += 0.4 * p;
      extraHazard = DECLINE_MAX_HAZARD * p * p * Math.sqrt(PLAN_HAZARD[plan] ?? 1);
      break;
    }
    case 'dormant':
      if (d < u.phaseStart) {
        // Before going quiet, a light casual user (playbook §2.1 dormant: previously had 3+ sessions).
        activeP = 0.2;
        breadth = 3;
        minutes = 8;
        actions = 2.5;
      } else {
        // Quiet: a rare short look-in.
        activeP = DORMANT_ACTIVE_P;
        breadth = 2;
        minutes = 1.5;
        actions = 1.3;
        extraHazard = DORMANT_HAZARD;
      }
      break;
    case 'evaluator':
      if (d >= u.phaseStart) activeP = 0.14; // trial over: lingering visits until they cancel
      break;
    default:
      // Onboarding ramp for the steady types signing up inside the window.
      if (tenure < 14) activeP *= 0.6 + (0.4 * tenure) / 14;
  }
  let hazard: number;
  if (u.type === 'evaluator') {
    hazard = d < u.phaseStart ? EVALUATOR_TRIAL_HAZARD : EVALUATOR_EXPIRED_HAZARD;
  } else {
    const planMult = PLAN_HAZARD[plan] ?? 1;
    const tenureMult = 1 + 1.5 * Math.exp(-tenure / 90);
    const breadthMult = Math.exp(-1.2 * (breadth / CORE_FEATURES.length - 0.5));
    const hazardBase = moved ? BASE_HAZARD_PER_DAY * DECLINING.hazardMult : u.hazardBase;
    hazard = hazardBase * planMult * tenureMult * breadthMult + extraHazard;
  }
  // Card problem: payments fail from cardFrom; the hazard starts only after the grace period of retries.
  const card = d >= u.cardFrom && d < u.cardTo && PAID.has(plan);
  if (card && d >= u.cardFrom + CARD_GRACE_DAYS) hazard += CARD_PROBLEM_HAZARD;
  if (d === u.signupDay) hazard = 0; // the signup day always has its onboarding session
  let sessionsPerActiveDay = u.sessionsPerActiveDay;
  if (d >= u.shiftDay) {
    // A product-wide change: expected sessions per day x F. Below 1 through fewer active days (the sessions of an
    // active day stay >= 1); above 1 through more sessions per active day (a probability cannot exceed 1).
    if (u.shiftFactor <= 1) activeP *= u.shiftFactor;
    else sessionsPerActiveDay *= u.shiftFactor;
  }
  s.activeP = activeP;
  s.sessionsPerActiveDay = sessionsPerActiveDay;
  s.hazard = hazard;
  s.breadth = breadth;
  s.minutes = minutes;
  s.actions = actions;
  s.pricingP = pricingP;
  s.lockedP = plan === 'enterprise' ? 0 : u.lockedP;
  s.ticketP = ticketP;
  s.negativeP = negativeP;
  s.cancelViewP = cancelViewP;
  s.paymentFailedP = card ? CARD_FAILED_SESSION_P : 0;
  s.plan = plan;
  return s;
}
