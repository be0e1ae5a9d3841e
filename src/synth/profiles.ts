import { SYNTHETIC_CORE_FEATURES } from '../ingest/presets.js';
import type { LatentType } from './types.js';

/**
 * The behaviour of each latent type, in the units of the feature dictionary so the types land in
 * separate places of feature space (sessions/week, breadth, session minutes, actions/session,
 * invites/shares, pricing views, recency, tenure). Per-user values scatter around these means
 * (log-normal noise), so clusters are realistic blobs, not points. The numbers follow playbook §2.1
 * (power >= 5 sessions/week with breadth >= 70%, regular 2-4 with 30-69%, casual 0.5-1 with < 30%,
 * dormant: no activity for weeks after 3+ sessions) and §2.4 (evaluator: short sessions and pricing
 * views; team champion: invites and sharing).
 */
export interface TypeProfile {
  /** Mixing share in the user population. */
  share: number;
  sessionsPerWeek: number;
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
  0.06, // created_project
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

export const TYPE_PROFILES: Record<LatentType, TypeProfile> = {
  power: {
    share: 0.08, sessionsPerWeek: 9, breadth: 9, sessionMinutes: 42, actionsPerSession: 16,
    inviteWeight: 0.02, shareWeight: 0.04, pricingP: 0.06, lockedP: 0.25, ticketP: 0.01, cancelViewP: 0.002, hazardMult: 0.3,
    plans: { free: 0.1, basic: 0.25, pro: 0.45, enterprise: 0.2 },
    roles: { member: 0.35, manager: 0.35, admin: 0.2, viewer: 0.1 },
  },
  regular: {
    share: 0.26, sessionsPerWeek: 3, breadth: 5, sessionMinutes: 15, actionsPerSession: 7,
    inviteWeight: 0, shareWeight: 0, pricingP: 0.02, lockedP: 0.04, ticketP: 0.01, cancelViewP: 0.003, hazardMult: 0.8,
    plans: { free: 0.3, basic: 0.35, pro: 0.3, enterprise: 0.05 },
    roles: ROLES_DEFAULT,
  },
  casual: {
    share: 0.24, sessionsPerWeek: 0.8, breadth: 2.5, sessionMinutes: 6, actionsPerSession: 3.5,
    inviteWeight: -0.02, shareWeight: -0.04, pricingP: 0.02, lockedP: 0.02, ticketP: 0.008, cancelViewP: 0.004, hazardMult: 1.6,
    plans: { free: 0.6, basic: 0.3, pro: 0.1 },
    roles: { member: 0.45, manager: 0.1, admin: 0.05, viewer: 0.4 },
  },
  declining: {
    share: 0.1, sessionsPerWeek: 4, breadth: 6, sessionMinutes: 17, actionsPerSession: 8,
    inviteWeight: 0, shareWeight: 0, pricingP: 0.03, lockedP: 0.03, ticketP: 0.02, cancelViewP: 0.01, hazardMult: 1,
    plans: { free: 0.15, basic: 0.4, pro: 0.35, enterprise: 0.1 },
    roles: ROLES_DEFAULT,
  },
  dormant: {
    share: 0.1, sessionsPerWeek: 0.3, breadth: 1.5, sessionMinutes: 3, actionsPerSession: 2.5,
    inviteWeight: -0.02, shareWeight: -0.05, pricingP: 0.01, lockedP: 0.01, ticketP: 0.005, cancelViewP: 0.002, hazardMult: 1,
    plans: { free: 0.75, basic: 0.2, pro: 0.05 },
    roles: { member: 0.5, manager: 0.1, admin: 0.05, viewer: 0.35 },
  },
  evaluator: {
    share: 0.12, sessionsPerWeek: 4.5, breadth: 5, sessionMinutes: 4, actionsPerSession: 4,
    inviteWeight: 0, shareWeight: -0.03, pricingP: 0.55, lockedP: 0.35, ticketP: 0.02, cancelViewP: 0.02, hazardMult: 1,
    plans: { trial: 1 },
    roles: { manager: 0.4, admin: 0.3, member: 0.2, viewer: 0.1 },
  },
  team_champion: {
    share: 0.1, sessionsPerWeek: 5, breadth: 7, sessionMinutes: 20, actionsPerSession: 11,
    inviteWeight: 0.12, shareWeight: 0.18, pricingP: 0.07, lockedP: 0.1, ticketP: 0.01, cancelViewP: 0.002, hazardMult: 0.25,
    plans: { free: 0.1, basic: 0.2, pro: 0.45, enterprise: 0.25 },
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

/** Weekday multipliers of the session rate (a work tool: quiet weekends); the mean over a week is 1. */
export const WEEKEND_FACTOR = 0.4;
export const WEEKDAY_FACTOR = (7 - 2 * WEEKEND_FACTOR) / 5;

/** Evaluators: trial length and hazards during and after the trial. */
export const TRIAL_DAYS = 14;
export const EVALUATOR_TRIAL_HAZARD = 0.01;
export const EVALUATOR_EXPIRED_HAZARD = 0.1;
/** Declining users: the extra hazard at full decline (per day), scaled by progress squared. */
export const DECLINE_MAX_HAZARD = 0.06;
/** Paid users: chance of a card problem in the data window and its extra hazard (involuntary churn). */
export const CARD_PROBLEM_P = 0.06;
export const CARD_PROBLEM_HAZARD = 0.025;
