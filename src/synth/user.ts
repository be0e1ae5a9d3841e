import type { Rng } from '../shared/rng.js';
import {
  BASE_HAZARD_PER_DAY, CARD_PROBLEM_HAZARD, CARD_PROBLEM_P, COMPANY_SIZES, COMPANY_SIZE_BY_PLAN, CORE_FEATURES,
  DECLINE_MAX_HAZARD, DOWNGRADE_TO, EVALUATOR_EXPIRED_HAZARD, EVALUATOR_TRIAL_HAZARD, FEATURE_WEIGHTS, INVITE_INDEX,
  PLAN_HAZARD, SHARE_INDEX, TRIAL_DAYS, TYPE_PROFILES, WEEKDAY_FACTOR, WEEKEND_FACTOR,
} from './profiles.js';
import { LATENT_TYPES, type LatentType } from './types.js';

/**
 * One user's hidden parameters, drawn once. Everything the simulation does on day d follows from
 * `dayState(user, d)`: rates and hazards are deterministic, piecewise constant per UTC day, so the
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
  /** Sessions per day averaged over a week. */
  rate: number;
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
  /** Hazard per day before plan, tenure and breadth multipliers (type x personal satisfaction). */
  hazardBase: number;
  /** Centre of the user's working day (seconds after midnight UTC). */
  peakSec: number;
  /** declining: decline start (fractional day) and length; dormant: day the user goes quiet; evaluator: trial end. */
  phaseStart: number;
  phaseDays: number;
  /** Card problem (paid users): days [cardFrom, cardTo); NaN when none. */
  cardFrom: number;
  cardTo: number;
  /** First day of data this user's weekday pattern starts from (0 = Sunday) is global; kept here for speed. */
  startDow: number;
}

/** What the user does on one day; filled in place (no allocation per day). */
export interface DayState {
  /** Expected sessions this day (weekday factor included). 0 before signup. */
  rate: number;
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
  return { rate: 0, hazard: 0, breadth: 1, minutes: 1, actions: 1, pricingP: 0, lockedP: 0, ticketP: 0, negativeP: 0, cancelViewP: 0, paymentFailedP: 0, plan: '' };
}

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

/** The window geometry every user is drawn against. */
export interface World {
  days: number;
  /** Day index of the cutoff (first day of the truth window). */
  cutDay: number;
  /** Day of week of day 0 (0 = Sunday). */
  startDow: number;
}

/**
 * Draws user `index`. Signup dates are placed so that at the default cutoff every type shows its
 * characteristic behaviour: evaluators are recent signups (the last 4 weeks before the cutoff and the
 * truth window), declining users are in their decline (started 0-7 weeks before the cutoff), dormant
 * users went quiet at least 5 weeks before it, and the steady types signed up at least 6 weeks before
 * (half of them before the data window: tenure carries through `signup_at`).
 */
export function drawUser(index: number, world: World, rng: Rng): UserSpec {
  const typeCode = pick(TYPE_SHARES, rng);
  const type = LATENT_TYPES[typeCode];
  const p = TYPE_PROFILES[type];
  const { cutDay, days } = world;

  let signupDay: number;
  let phaseStart = Infinity;
  let phaseDays = 1;
  switch (type) {
    case 'evaluator':
      signupDay = Math.floor(uniform(rng, Math.max(0, cutDay - 28), days - 1));
      phaseStart = signupDay + TRIAL_DAYS;
      break;
    case 'declining':
      signupDay = Math.floor(uniform(rng, -365, Math.max(-30, cutDay - 90)));
      phaseStart = cutDay - uniform(rng, 0, 49);
      phaseDays = uniform(rng, 28, 70);
      break;
    case 'dormant':
      signupDay = Math.floor(uniform(rng, -365, Math.max(-30, cutDay - 90)));
      phaseStart = Math.floor(Math.min(signupDay + uniform(rng, 14, 60), cutDay - 35 - uniform(rng, 0, 20)));
      break;
    default: {
      const lastSignup = cutDay - 42;
      signupDay = lastSignup > 0 && rng.next() < 0.5 ? Math.floor(uniform(rng, 0, lastSignup)) : Math.floor(uniform(rng, -365, 0));
    }
  }
  const signupSec = Math.floor(uniform(rng, 7 * 3600, 17 * 3600));

  const plan0 = pickKey(p.plans, rng);
  let planChangeDay = Infinity;
  let planAfter = plan0;
  let downgrades = false;
  if (type === 'evaluator') {
    planChangeDay = signupDay + TRIAL_DAYS;
    planAfter = 'free';
  } else if (type === 'declining' && DOWNGRADE_TO[plan0] !== undefined && rng.next() < 0.5) {
    // Playbook §4.4 billing signals: half of the paying decliners downgrade mid-decline.
    planChangeDay = Math.floor(phaseStart + phaseDays * uniform(rng, 0.3, 0.8));
    planAfter = DOWNGRADE_TO[plan0];
    downgrades = true;
  }
  const role = pickKey(p.roles, rng);
  const companySize = COMPANY_SIZES[pick(COMPANY_SIZE_BY_PLAN[plan0], rng)];

  const breadth = Math.max(1, Math.min(CORE_FEATURES.length, Math.round(p.breadth + 0.8 * rng.normal())));
  const w = FEATURE_WEIGHTS.map((x, f) => {
    const base = x + (f === INVITE_INDEX ? p.inviteWeight : 0) + (f === SHARE_INDEX ? p.shareWeight : 0);
    return Math.max(0.003, base) * lognormal(rng, 0.5);
  });
  const order = w.map((_, f) => f).sort((a, b) => (a === 1 ? -1 : b === 1 ? 1 : w[b] - w[a] || a - b)); // added_task first
  const featureOrder = Uint8Array.from(order);
  const featureCum = new Float64Array(order.length);
  let acc = 0;
  for (let k = 0; k < order.length; k++) featureCum[k] = acc += w[order[k]];

  const paidAtStart = plan0 === 'basic' || plan0 === 'pro' || plan0 === 'enterprise';
  let cardFrom = NaN;
  let cardTo = NaN;
  if (paidAtStart && rng.next() < CARD_PROBLEM_P) {
    cardFrom = Math.floor(uniform(rng, 0, days));
    cardTo = cardFrom + 3 + rng.int(10);
  }

  // Expansion signals (§4.3) only make sense below the top plan.
  const planInterest = plan0 === 'enterprise' ? 0 : plan0 === 'pro' ? 0.4 : 1;
  return {
    index, typeCode, type, signupDay, signupSec, plan0, planChangeDay, planAfter, downgrades, role, companySize,
    rate: (p.sessionsPerWeek / 7) * lognormal(rng, 0.25),
    minutes: p.sessionMinutes * lognormal(rng, 0.25),
    actions: Math.max(1.2, p.actionsPerSession * lognormal(rng, 0.2)),
    breadth, featureOrder, featureCum,
    pricingP: Math.min(0.95, p.pricingP * (type === 'evaluator' ? 1 : planInterest) * lognormal(rng, 0.3)),
    lockedP: Math.min(0.95, p.lockedP * planInterest * lognormal(rng, 0.3)),
    ticketP: p.ticketP,
    cancelViewP: p.cancelViewP,
    hazardBase: BASE_HAZARD_PER_DAY * p.hazardMult * lognormal(rng, 0.4),
    peakSec: uniform(rng, 8 * 3600, 16 * 3600),
    phaseStart, phaseDays, cardFrom, cardTo,
    startDow: world.startDow,
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
    s.rate = 0;
    s.hazard = 0;
    s.plan = u.plan0;
    return s;
  }
  const dow = (u.startDow + (((d % 7) + 7) % 7)) % 7;
  const weekday = dow === 0 || dow === 6 ? WEEKEND_FACTOR : WEEKDAY_FACTOR;
  const plan = d >= u.planChangeDay ? u.planAfter : u.plan0;
  let rate = u.rate;
  let breadth = u.breadth;
  let minutes = u.minutes;
  let actions = u.actions;
  let ticketP = u.ticketP;
  let cancelViewP = u.cancelViewP;
  let negativeP = 0.1;
  let pricingP = u.pricingP;
  let extraHazard = 0;
  const tenure = d - u.signupDay;
  switch (u.type) {
    case 'declining': {
      // Playbook §2.1 decline signals and §3.3: fewer sessions, fewer features, shorter sessions,
      // more support tickets and cancel-page views as the decline progresses.
      const p = Math.min(1, Math.max(0, (d + 0.5 - u.phaseStart) / u.phaseDays));
      rate *= 1 - 0.85 * p;
      breadth = Math.max(1, Math.round(breadth * (1 - 0.7 * p)));
      minutes *= 1 - 0.6 * p;
      actions = Math.max(1.2, actions * (1 - 0.5 * p));
      ticketP += 0.25 * p;
      cancelViewP += 0.3 * p;
      negativeP += 0.5 * p;
      extraHazard = DECLINE_MAX_HAZARD * p * p * Math.sqrt(PLAN_HAZARD[plan] ?? 1);
      break;
    }
    case 'dormant':
      if (d < u.phaseStart) {
        // Before going quiet, a light casual user (playbook §2.1 dormant: previously had 3+ sessions).
        rate = 1.5 / 7;
        breadth = 3;
        minutes = 8;
        actions = 4;
      }
      break;
    case 'evaluator':
      if (d >= u.phaseStart) rate = 1 / 7; // trial over: lingering visits until they cancel
      break;
    default:
      // Onboarding ramp for the steady types signing up inside the window.
      if (tenure < 14) rate *= 0.6 + (0.4 * tenure) / 14;
  }
  let hazard: number;
  if (u.type === 'evaluator') {
    hazard = d < u.phaseStart ? EVALUATOR_TRIAL_HAZARD : EVALUATOR_EXPIRED_HAZARD;
  } else {
    const planMult = PLAN_HAZARD[plan] ?? 1;
    const tenureMult = 1 + 1.5 * Math.exp(-tenure / 90);
    const breadthMult = Math.exp(-1.2 * (breadth / CORE_FEATURES.length - 0.5));
    hazard = u.hazardBase * planMult * tenureMult * breadthMult + extraHazard;
  }
  const card = d >= u.cardFrom && d < u.cardTo;
  if (card) hazard += CARD_PROBLEM_HAZARD;
  if (d === u.signupDay) hazard = 0; // the signup day always has its onboarding session
  s.rate = rate * weekday;
  s.hazard = hazard;
  s.breadth = breadth;
  s.minutes = minutes;
  s.actions = actions;
  s.pricingP = pricingP;
  s.lockedP = plan === 'enterprise' ? 0 : u.lockedP;
  s.ticketP = ticketP;
  s.negativeP = negativeP;
  s.cancelViewP = cancelViewP;
  s.paymentFailedP = card ? 0.6 : 0;
  s.plan = plan;
  return s;
}
