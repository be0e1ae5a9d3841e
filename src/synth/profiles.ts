import { SYNTHETIC_CORE_FEATURES } from '../ingest/index.js';
import type { LatentType } from './types.js';

/**
 * The behaviour of each latent type, close to the units of the feature dictionary so the types land in
 * separate places of feature space (sessions/week, breadth, session minutes, actions/session,
 * invites/shares, pricing views, recency, tenure). Per-user values scatter around these means
 * (log-normal noise), so clusters are realistic blobs, not points. The numbers follow playbook §2.1
 * (power >= 5 sessions/week with breadth >= 70%, regular 2-4 with 30-69%, casual 0.5-1 with < 30%,
 * dormant: no activity for weeks after 3+ sessions) and §2.4 (evaluator: short sessions and pricing
 * views; team champion: invites and sharing).
 */
export interface TypeProfile {
  /** Mixing share among the users of a run (the users with a row in truth.csv). */
  share: number;
  /**
   * Signups of this type arrive at a steady rate from `lookbackDays` before the first day of data to its
   * last day; a user drawn with a signup before the window is kept only if it survived to the window
   * (redrawn otherwise). So the population is the same at every cutoff (stationary): a model trained at
   * an earlier cutoff meets the same mix of types and stages later. Short-lived types need a short lookback.
   */
  lookbackDays: number;
  /**
   * Weekly habit: the user is active on `habitDays` fixed weekdays with probability `habitP`, on other
   * weekdays with `offP`, on weekends with `weekendP`; an active day has 1 + Poisson(sessionsPerActiveDay - 1)
   * sessions. Habits keep weekly counts steadier than a Poisson process would (real users have routines).
   */
  habitDays: number;
  habitP: number;
  offP: number;
  weekendP: number;
  sessionsPerActiveDay: number;
  /** Core features in the user's repertoire (of 10). */
  breadth: number;
  sessionMinutes: number;
  /** Mean events per session besides `app_opened`. */
  actionsPerSession: number;
  /** Extra weight on invited_member / shared_item in the feature mix. */
  inviteWeight: number;
  shareWeight: number;
  /** Per-session probability of a pricing view / locked-feature click (on plans below enterprise). */
  pricingP: number;
  lockedP: number;
  /** Per-session probability of a support ticket and of a cancel-page view at baseline. */
  ticketP: number;
  cancelViewP: number;
  /** Multiplier of the baseline cancellation hazard. */
  hazardMult: number;
  /** Plan mix at signup. */
  plans: Record<string, number>;
  roles: Record<string, number>;
}

export const CORE_FEATURES: readonly string[] = SYNTHETIC_CORE_FEATURES;

/** Base popularity of each core feature (same order as CORE_FEATURES). */
export const FEATURE_WEIGHTS: readonly number[] = [
  0.1, // created_project
  0.27, // added_task
  0.21, // completed_task
  0.02, // invited_member
  0.04, // used_template
  0.03, // connected_integration
  0.15, // commented
  0.08, // uploaded_file
  0.06, // created_report
  0.07, // shared_item
];
export const INVITE_INDEX = CORE_FEATURES.indexOf('invited_member');
export const SHARE_INDEX = CORE_FEATURES.indexOf('shared_item');

const ROLES_DEFAULT = { member: 0.5, manager: 0.25, admin: 0.1, viewer: 0.15 };

// Volumes (playbook §2.1): power about 6-7 sessions/week of about 7 events, team champions 4-5 of 6, regulars
// about 3 of 4-5, casual users about 1 of 3; a 180-day run averages about 230 events per user (power ~1,100,
// casual ~70). Shares are of the users in a run; among the users cohortlab sees at a cutoff (not cancelled,
// active in the last 21 days) the short-lived types are fewer: evaluators ~8%, declining ~11%, dormant ~3%
// (most dormant users are past the §3.4 inactivity threshold, as playbook §2.1 defines them).
export const TYPE_PROFILES: Record<LatentType, TypeProfile> = {
  power: {
    share: 0.08, lookbackDays: 730, habitDays: 5, habitP: 0.92, offP: 0.92, weekendP: 0.3, sessionsPerActiveDay: 1.35,
    breadth: 9.5, sessionMinutes: 45, actionsPerSession: 6,
    inviteWeight: -0.015, shareWeight: 0, pricingP: 0.06, lockedP: 0.25, ticketP: 0.003, cancelViewP: 0.001, hazardMult: 0.3,
    plans: { pro: 0.85, enterprise: 0.15 },
    roles: { member: 0.35, manager: 0.35, admin: 0.2, viewer: 0.1 },
  },
  regular: {
    share: 0.17, lookbackDays: 730, habitDays: 3, habitP: 0.85, offP: 0.08, weekendP: 0.03, sessionsPerActiveDay: 1.05,
    breadth: 5, sessionMinutes: 15, actionsPerSession: 3.5,
    inviteWeight: 0, shareWeight: 0, pricingP: 0.02, lockedP: 0.04, ticketP: 0.003, cancelViewP: 0.001, hazardMult: 0.8,
    plans: { basic: 0.9, pro: 0.1 },
    roles: ROLES_DEFAULT,
  },
  casual: {
    share: 0.15, lookbackDays: 730, habitDays: 1, habitP: 0.9, offP: 0.08, weekendP: 0.02, sessionsPerActiveDay: 1,
    breadth: 3, sessionMinutes: 7, actionsPerSession: 2.2,
    inviteWeight: -0.02, shareWeight: -0.04, pricingP: 0.02, lockedP: 0.02, ticketP: 0.003, cancelViewP: 0.002, hazardMult: 1.6,
    plans: { free: 0.95, basic: 0.05 },
    roles: { member: 0.45, manager: 0.1, admin: 0.05, viewer: 0.4 },
  },
  declining: {
    share: 0.2, lookbackDays: 150, habitDays: 3, habitP: 0.9, offP: 0.15, weekendP: 0.05, sessionsPerActiveDay: 1.2,
    breadth: 5, sessionMinutes: 13, actionsPerSession: 4,
    inviteWeight: 0, shareWeight: 0, pricingP: 0.03, lockedP: 0.03, ticketP: 0.15, cancelViewP: 0.08, hazardMult: 1,
    plans: { basic: 0.25, pro: 0.75 },
    roles: ROLES_DEFAULT,
  },
  dormant: {
    share: 0.08, lookbackDays: 730, habitDays: 0, habitP: 0, offP: 0.03, weekendP: 0.03, sessionsPerActiveDay: 1,
    breadth: 3, sessionMinutes: 2, actionsPerSession: 2,
    inviteWeight: -0.02, shareWeight: -0.05, pricingP: 0.01, lockedP: 0.01, ticketP: 0.003, cancelViewP: 0.002, hazardMult: 1,
    plans: { free: 0.95, basic: 0.05 },
    roles: { member: 0.5, manager: 0.1, admin: 0.05, viewer: 0.35 },
  },
  evaluator: {
    share: 0.24, lookbackDays: 60, habitDays: 5, habitP: 0.7, offP: 0.7, weekendP: 0.15, sessionsPerActiveDay: 1.2,
    breadth: 5, sessionMinutes: 4, actionsPerSession: 2.5,
    inviteWeight: 0, shareWeight: -0.03, pricingP: 0.55, lockedP: 0.35, ticketP: 0.02, cancelViewP: 0.02, hazardMult: 1,
    plans: { trial: 1 },
    roles: { manager: 0.4, admin: 0.3, member: 0.2, viewer: 0.1 },
  },
  team_champion: {
    share: 0.08, lookbackDays: 730, habitDays: 4, habitP: 0.9, offP: 0.2, weekendP: 0.05, sessionsPerActiveDay: 1.15,
    breadth: 7, sessionMinutes: 20, actionsPerSession: 5,
    inviteWeight: 0.15, shareWeight: 0.22, pricingP: 0.07, lockedP: 0.1, ticketP: 0.003, cancelViewP: 0.001, hazardMult: 0.25,
    plans: { pro: 0.3, enterprise: 0.7 },
    roles: { admin: 0.45, manager: 0.4, member: 0.15 },
  },
};

/** Baseline cancellation hazard per day (about 20% a year before the multipliers). */
export const BASE_HAZARD_PER_DAY = 0.0006;
/** Plan multipliers of the hazard: free and trial users leave easily, enterprise contracts rarely. */
export const PLAN_HAZARD: Record<string, number> = { free: 1.6, trial: 2, basic: 1, pro: 0.7, enterprise: 0.35 };
/** Plan a declining user downgrades to. */
export const DOWNGRADE_TO: Record<string, string> = { enterprise: 'pro', pro: 'basic', basic: 'free' };

/** Company size bands; enterprise plans come from larger companies. */
export const COMPANY_SIZES = ['1-10', '11-50', '51-200', '201-1000', '1000+'] as const;
export const COMPANY_SIZE_BY_PLAN: Record<string, readonly number[]> = {
  free: [0.55, 0.3, 0.1, 0.04, 0.01],
  trial: [0.3, 0.3, 0.2, 0.12, 0.08],
  basic: [0.35, 0.4, 0.18, 0.05, 0.02],
  pro: [0.1, 0.35, 0.35, 0.15, 0.05],
  enterprise: [0, 0.03, 0.17, 0.4, 0.4],
};


/** Evaluators: trial length and hazards during and after the trial. */
export const TRIAL_DAYS = 30;
export const EVALUATOR_TRIAL_HAZARD = 0.01;
export const EVALUATOR_EXPIRED_HAZARD = 0.07;
/** Declining users: days after signup the decline starts, its length, the extra hazard at full decline (per day, x progress squared). */
export const DECLINE_ONSET_DAYS: [number, number] = [7, 28];
export const DECLINE_LENGTH_DAYS: [number, number] = [35, 63];
export const DECLINE_MAX_HAZARD = 0.06;
/** Share of paying declining users who downgrade early in the decline. */
export const DECLINE_DOWNGRADE_P = 0.3;
/** Dormant users: days of light use after signup before going quiet, activity and extra hazard once quiet. */
export const DORMANT_LIGHT_DAYS: [number, number] = [14, 45];
export const DORMANT_ACTIVE_P = 0.01;
export const DORMANT_HAZARD = 0.002;
/**
 * Paid users: chance of a card problem within the first CARD_SPAN_DAYS of the subscription; payments fail for
 * CARD_FAIL_DAYS (shown as `payment_failed` in most sessions), and only after CARD_GRACE_DAYS of retries
 * does the extra hazard start (involuntary churn follows visible failures, playbook §4.4).
 */
export const CARD_PROBLEM_P = 0.08;
export const CARD_SPAN_DAYS = 365;
export const CARD_FAIL_DAYS: [number, number] = [10, 20];
export const CARD_GRACE_DAYS = 7;
export const CARD_PROBLEM_HAZARD = 0.025;
export const CARD_FAILED_SESSION_P = 0.8;
