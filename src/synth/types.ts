/**
 * Types of the synthetic product generator (`cohortlab generate`). The generator is a latent-type
 * model of a project-management SaaS: every user has a hidden type, hidden rates and hazards that
 * are piecewise constant per UTC day, and the ground truth is computed from those rates.
 */
import type { MovementRecord } from './movement.js';

/** The latent user types; the order is the code stored in `SynthTruth.typeCode`. */
export const LATENT_TYPES = ['power', 'regular', 'casual', 'declining', 'dormant', 'evaluator', 'team_champion'] as const;
export type LatentType = (typeof LATENT_TYPES)[number];

export interface SynthParams {
  /** Number of users (ids u000001 ...). */
  users: number;
  /** Days of data: events lie in [start, start + days). */
  days: number;
  seed: number;
  /** First day of data, YYYY-MM-DD (UTC). Default 2026-01-01. */
  start: string;
  /** Horizon of the truth window; the cutoff is placed so that the window ends with the data. Default 30. */
  horizonDays: number;
  /** Inactivity threshold of the label (playbook §3.4, weekly cadence: 21 days). */
  inactivityDays: number;
  /**
   * Movement (movement.ts): per 30-day period, the probability that a regular or power user becomes declining.
   * Absent: no movement (and output byte-identical to a run before movement existed).
   */
  movementRate?: number;
  /** Behaviour shift: from this day (YYYY-MM-DD, UTC, inclusive) every user's expected sessions per day x `shiftFactor`. */
  shiftAfter?: string;
  /** Factor of the shift, default 0.5 (> 0, at most 3). */
  shiftFactor?: number;
}

export const DEFAULT_SYNTH_PARAMS: Omit<SynthParams, 'users' | 'days' | 'seed'> = {
  start: '2026-01-01',
  horizonDays: 30,
  inactivityDays: 21,
};

/** Ground truth per user, columns in user order (index i = user `userId(i)`). */
export interface SynthTruth {
  userIds: string[];
  /** Index into LATENT_TYPES. */
  typeCode: Uint8Array;
  /**
   * True probability of the cohortlab label for the default window (cutoff `asOf` + 1 day, `horizonDays`),
   * conditional on everything before the cutoff. 1 for users who cancelled before the cutoff.
   */
  churnProbability: Float64Array;
  /** Realized label by the same definition (1 for users who cancelled before the cutoff). */
  churned: Uint8Array;
  /** Epoch ms of the `cancelled_subscription` event; NaN when the user never cancels in the data. */
  churnMs: Float64Array;
  /** Epoch ms of signup (may be before the data window: tenure carries). */
  signupMs: Float64Array;
  /** Plan at signup (a declining user may downgrade later; the event rows carry the current plan). */
  plan: string[];
  role: string[];
  companySize: string[];
  /** 1 when the user had signed up and not cancelled before the cutoff (the users cohortlab can train on). */
  aliveAtCutoff: Uint8Array;
  /**
   * True probability of a first `upgraded_plan` in the same window (upgrade.ts), for users alive and not yet
   * upgraded at the cutoff; 1 for users who upgraded before it, 0 for users who cancelled before it.
   */
  upgradeProbability: Float64Array;
  /** Realized: 1 when the user's upgrade falls in the window (or before the cutoff). */
  upgraded: Uint8Array;
  /** Epoch ms of the `upgraded_plan` event; NaN when none. */
  upgradeMs: Float64Array;
}

export interface SynthResult {
  truth: SynthTruth;
  events: number;
  /** The as-of date (inclusive) the truth refers to: last day of data minus the horizon. */
  asOf: string;
  horizonDays: number;
  cutoffMs: number;
  /** Users per latent type. */
  typeCounts: Record<LatentType, number>;
  /** Realized churn rate in the truth window among users alive at the cutoff. */
  churnRate: number;
  /** Mean true churn probability among users alive at the cutoff. */
  meanChurnProbability: number;
  aliveAtCutoff: number;
  /** Realized upgrade rate in the truth window among users alive and not yet upgraded at the cutoff. */
  upgradeRate: number;
  /** With `movementRate`: the rate and every realized move (user order); absent without it. */
  movement?: { rate: number; periodDays: number; records: MovementRecord[] };
  /** With `shiftAfter`: the shift as applied. */
  shift?: { after: string; factor: number };
}
