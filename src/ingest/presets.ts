import type { EventConfig, Taxonomy } from './types.js';

/** Presets for the logs cohortlab knows: `--preset NAME`. Each is a full EventConfig (the generator writes `synthetic` to disk). */
const emptyTaxonomy: Taxonomy = {
  core_features: [], session_start: [], invite: [], share: [], pricing_view: [], locked_feature_click: [],
  support_ticket: [], negative_support: [], failed_payment: [], downgrade: [], cancel_page_view: [], churn: [], upgrade: [],
};

/** The project-management product of the synthetic generator (playbook §4.2 example). */
export const SYNTHETIC_CORE_FEATURES = [
  'created_project', 'added_task', 'completed_task', 'invited_member', 'used_template', 'connected_integration',
  'commented', 'uploaded_file', 'created_report', 'shared_item',
] as const;

export const SYNTHETIC_PRESET: EventConfig = {
  name: 'synthetic',
  format: 'auto',
  timestamp_format: 'iso',
  columns: { user_id: 'user_id', timestamp: 'timestamp', event: 'event', session_id: 'session_id', plan: 'plan', value: null, signup: 'signup_at', properties: [] },
  session_gap_minutes: 30,
  cadence: 'weekly',
  taxonomy: {
    ...emptyTaxonomy,
    core_features: [...SYNTHETIC_CORE_FEATURES],
    session_start: ['app_opened'],
    invite: ['invited_member'],
    share: ['shared_item'],
    pricing_view: ['viewed_pricing'],
    locked_feature_click: ['clicked_locked_feature'],
    support_ticket: ['opened_support_ticket'],
    negative_support: ['negative_support_rating'],
    failed_payment: ['payment_failed'],
    downgrade: ['downgraded_plan'],
    cancel_page_view: ['viewed_cancel_page'],
    churn: ['cancelled_subscription'],
    upgrade: ['upgraded_plan'],
  },
  // playbook §4.2: the project-management example milestones and points.
  activation: {
    milestones: [
      { name: 'created_first_project', event: 'created_project', points: 20 },
      { name: 'added_first_task', event: 'added_task', points: 15 },
      { name: 'invited_team_member', event: 'invited_member', points: 25 },
      { name: 'completed_first_task', event: 'completed_task', points: 15 },
      { name: 'used_template', event: 'used_template', points: 10 },
      { name: 'connected_integration', event: 'connected_integration', points: 15 },
    ],
  },
  plans: {
    values: { free: 0, trial: 0, basic: 12, pro: 39, enterprise: 149 },
    paid: ['basic', 'pro', 'enterprise'],
    // playbook §6.3: 5=Enterprise, 4=Pro, 3=Basic paid, 2=Active free (1 = inactive free, decided by activity).
    rfm_monetary: { enterprise: 5, pro: 4, basic: 3, trial: 2, free: 2 },
  },
  monetary: 'plan',
  usage_limit: { event: 'added_task', window_days: 30, limits: { free: 40, trial: 150, basic: 150, pro: 600 } },
};

/** Sparkify music app (Udacity eventsim log): `page` values are the events, `level` the plan. */
export const SPARKIFY_PRESET: EventConfig = {
  name: 'sparkify',
  format: 'ndjson',
  timestamp_format: 'epoch_ms',
  columns: { user_id: 'userId', timestamp: 'ts', event: 'page', session_id: 'sessionId', plan: 'level', value: null, signup: 'registration', properties: [] },
  session_gap_minutes: 30,
  cadence: 'daily',
  taxonomy: {
    ...emptyTaxonomy,
    core_features: ['NextSong', 'Thumbs Up', 'Thumbs Down', 'Add to Playlist', 'Add Friend', 'Home', 'Settings', 'Help', 'About'],
    session_start: ['Login'],
    invite: ['Add Friend'],
    share: ['Add to Playlist'],
    pricing_view: ['Upgrade'],
    locked_feature_click: ['Roll Advert'],
    support_ticket: ['Help'],
    negative_support: ['Error', 'Thumbs Down'],
    failed_payment: [],
    downgrade: ['Submit Downgrade'],
    cancel_page_view: ['Cancel'],
    churn: ['Cancellation Confirmation'],
    upgrade: ['Submit Upgrade'],
  },
  activation: {
    milestones: [
      { name: 'played_song', event: 'NextSong', points: 40 },
      { name: 'added_to_playlist', event: 'Add to Playlist', points: 20 },
      { name: 'added_friend', event: 'Add Friend', points: 25 },
      { name: 'saved_settings', event: 'Save Settings', points: 15 },
    ],
  },
  plans: { values: { free: 0, paid: 9.99 }, paid: ['paid'], rfm_monetary: { paid: 4, free: 2 } },
  monetary: 'plan',
  usage_limit: null,
};

/** CDNOW purchase log: whitespace-separated, one purchase per row, dates only, `dollar_value` as monetary value. */
export const CDNOW_PRESET: EventConfig = {
  name: 'cdnow',
  format: 'whitespace',
  timestamp_format: 'yyyymmdd',
  columns: { user_id: 'customer_id', timestamp: 'date', event: null, session_id: null, plan: null, value: 'dollar_value', signup: null, properties: ['number_of_cds'] },
  default_event: 'purchase',
  session_gap_minutes: 30,
  cadence: 'monthly',
  // The classic CDNOW split: churned = no purchase in the 39 weeks after the cutoff.
  inactivity_days: 273,
  taxonomy: { ...emptyTaxonomy, core_features: ['purchase'], session_start: ['purchase'] },
  activation: { milestones: [{ name: 'first_purchase', event: 'purchase', points: 100 }] },
  plans: { values: {}, paid: [] },
  monetary: 'sum_value',
  usage_limit: null,
};

export const PRESETS: Record<string, EventConfig> = {
  synthetic: SYNTHETIC_PRESET,
  sparkify: SPARKIFY_PRESET,
  cdnow: CDNOW_PRESET,
};
