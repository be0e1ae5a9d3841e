import type { BehavioralSegment } from './segments.js';

/** What a team does with each segment, as data a service can read (playbook §2.1, §2.4, §5.3, §7.1). */

/** playbook §2.1 "Action" and expected "Size" of each behavioral segment. */
export const BEHAVIORAL_ACTIONS: Record<BehavioralSegment, { action: string; expectedShare: number | null }> = {
  Power: { action: 'Expansion offers, beta access, advocacy program', expectedShare: 0.1 }, // playbook §2.1
  Regular: { action: 'Feature adoption campaigns, engagement deepening', expectedShare: 0.3 }, // playbook §2.1
  Casual: { action: 'Activation nudges, value demonstration, use case guidance', expectedShare: 0.35 }, // playbook §2.1
  'At-Risk': { action: 'Re-engagement campaigns, feedback requests, support outreach', expectedShare: 0.15 }, // playbook §2.1
  Dormant: { action: 'Win-back campaigns, sunset communications', expectedShare: 0.1 }, // playbook §2.1
  // Not a playbook segment: users under every §2.1 minimum; treated like casual users until they qualify.
  Unsegmented: { action: 'Activation nudges and onboarding until they meet a §2.1 segment', expectedShare: null },
};

/** playbook §5.3 upgrade messaging, keyed by the §4.1 engagement tier label. */
export const UPGRADE_STRATEGY: Record<string, { strategy: string; message: string }> = {
  'Highly engaged': { strategy: 'Aggressive upgrade prompts, usage-limit nudges', message: "You're getting incredible value. Unlock even more with [Plan]." }, // playbook §5.3 Power user (80-100)
  Engaged: { strategy: 'Feature-based upgrade prompts', message: 'You might like [premium feature] based on how you use [Product].' }, // playbook §5.3 Engaged (60-79)
  Moderate: { strategy: 'Value demonstration before upgrade ask', message: "Here are 3 things you haven't tried yet." }, // playbook §5.3 Moderate (40-59)
  Low: { strategy: 'Focus on engagement, not upgrades', message: "We noticed you haven't been back. Here's what's new." }, // playbook §5.3 Low (20-39)
  Disengaged: { strategy: 'Re-engagement, not upgrade', message: 'We miss you. Come back and see [new feature].' }, // playbook §5.3 Disengaged (0-19)
};

export interface Campaign {
  key: string;
  segment: string;
  campaign: string;
  frequency: string;
  content: string;
}
/** playbook §7.1 email campaigns; `campaign` column = key, assigned from lifecycle stage and plan (see engine). */
export const CAMPAIGNS: readonly Campaign[] = [
  { key: 'onboarding_drip', segment: 'New (not activated)', campaign: 'Onboarding drip', frequency: 'Daily x 7 days', content: 'Step-by-step activation guidance' }, // playbook §7.1
  { key: 'feature_discovery', segment: 'Activated (not engaged)', campaign: 'Feature discovery', frequency: '2x/week x 2 weeks', content: 'Highlight unused features' }, // playbook §7.1
  { key: 'upgrade_nurture', segment: 'Engaged (free)', campaign: 'Upgrade nurture', frequency: '1x/week', content: 'Paid plan value, success stories' }, // playbook §7.1
  { key: 're_engagement', segment: 'At-risk (any plan)', campaign: 'Re-engagement', frequency: '1x immediate, then 1x/week', content: 'Value reminder, feedback ask' }, // playbook §7.1
  { key: 'win_back', segment: 'Churned', campaign: 'Win-back', frequency: 'At churn, 30 days, 90 days', content: "What's new, special offer, survey" }, // playbook §7.1
];

