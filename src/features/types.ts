/**
 * The per-user feature table: one row per user, every numeric feature a Float64Array column in
 * `userIds` order. This is what rules, cluster and churn consume; no arrays of row objects.
 */
import type { EventConfig } from '../ingest/types.js';

export interface FeatureTable {
  /** The as-of date (YYYY-MM-DD, inclusive): features read events strictly before `cutoffMs`. */
  asOf: string;
  /** Epoch ms of the cutoff instant: the start (00:00 UTC) of the day after `asOf`. */
  cutoffMs: number;
  userIds: string[];
  /** Numeric features by name (see FEATURE_DICTIONARY and milestone columns). No NaN: every feature has a defined fallback. */
  columns: Record<string, Float64Array>;
  /** Latest plan before the cutoff ('' when unknown). */
  plan: string[];
  /** 1 when the user had already churned at the cutoff (explicit churn event, or inactive past the §3.4 threshold). */
  alreadyChurned: Uint8Array;
  /**
   * Propensity targets (`train --target`, features/target.ts): 1 when the user already did the target event
   * before the cutoff; such users are left out like already-churned ones. Absent for churn.
   */
  priorTarget?: Uint8Array;
  /** Churn label within the horizon after the cutoff (or the target's label, see `priorTarget`); present only when the data covers the horizon. */
  label?: Uint8Array;
  horizonDays?: number;
  /** The mapping/taxonomy the features were computed with (kept beside a features file as `<file>.meta.json`). */
  config?: EventConfig;
}

export interface FeatureDefinition {
  name: string;
  definition: string;
  /** Window before the cutoff, e.g. "7d", "28d", "all history". */
  window: string;
  unit: string;
  /** Playbook sections that use it. */
  playbook: string;
  /** Heavy-tailed counts are log1p-transformed before clustering. */
  heavyTailed: boolean;
}
