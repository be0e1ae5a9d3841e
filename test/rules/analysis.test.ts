import { describe, expect, it } from 'vitest';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import {
  antiPatternWarnings, applyRules, featureAffinity, formatDashboard, formatTransitions, icpRefinement, parseSegmentRules,
  percentileRanks, segmentDashboard, transitionMatrix,
} from '../../src/rules/index.js';
import { makeTable } from './fixture.js';

const power = { avg_weekly_sessions_28d: 6, feature_breadth_30d: 0.8, tenure_days: 60 };
const regular = { avg_weekly_sessions_28d: 3, feature_breadth_30d: 0.4, tenure_days: 60 };
const dormant = { days_since_last_activity: 40, total_sessions: 10, tenure_days: 90 };

describe('segmentDashboard (§9.1)', () => {
  // 6 users: 2 Power (both paid, one churned), 3 Regular (one paid), 1 Dormant; 30-day label.
  const t = makeTable([
    { ...power, is_paid: 1, monetary_value: 39, label: 0, plan: 'pro' },
    { ...power, is_paid: 1, monetary_value: 149, label: 1, plan: 'enterprise' },
    { ...regular, label: 0 },
    { ...regular, label: 0 },
    { ...regular, is_paid: 1, monetary_value: 12, label: 1, plan: 'basic' },
    { ...dormant, label: 1 },
  ]);
  const out = applyRules(t, SYNTHETIC_PRESET);
  const d = segmentDashboard(t, out);

  it('sizes, shares, retention, paid conversion and average revenue per behavioral segment; sizes add up to the users', () => {
    expect(out.columns.behavioral_segment).toEqual(['Power', 'Power', 'Regular', 'Regular', 'Regular', 'Dormant']);
    const rows = Object.fromEntries(d.rows.map((r) => [r.segment, [r.users, r.alreadyChurned, r.share, r.retention, r.paidConversion, r.avgRevenue]]));
    // the Dormant user (40 idle days, weekly cadence: 21) is already churned: counted apart, no retention among live users
    expect(rows).toEqual({
      Power: [2, 0, 2 / 6, 0.5, 1, 94],
      Regular: [3, 0, 0.5, 2 / 3, 1 / 3, 4],
      Casual: [0, 0, 0, null, 0, 0],
      'At-Risk': [0, 0, 0, null, 0, 0],
      Dormant: [1, 1, 1 / 6, null, 0, 0],
    });
    expect(d.rows.reduce((a, r) => a + r.users, 0)).toBe(6);
    expect(d.alreadyChurned).toBe(1);
    expect(d.retentionHorizonDays).toBe(30);
  });

  it('prints a table with a total row', () => {
    const text = formatDashboard(d);
    expect(text).toContain('Cross-segment dashboard (playbook §9.1) by behavioral_segment, 6 users: 5 live, 1 already churned at the cutoff (retention over live users only)');
    expect(text).toMatch(/Power\s+2\s+0\s+33\.3%\s+50\.0%\s+100\.0%\s+94\.00/);
    expect(text).toMatch(/Dormant\s+1\s+1\s+16\.7%\s+n\/a/);
    expect(text).toMatch(/Total\s+6\s+1\s+100\.0%/);
  });

  it('§10 warnings: small segments, no action, no refresh', () => {
    const rules = parseSegmentRules('segment "Vanity" { conditions { user.is_paid == 1 } refresh: monthly }', 'v.segment');
    const out2 = applyRules(t, SYNTHETIC_PRESET, { segments: rules });
    const w = antiPatternWarnings(segmentDashboard(t, out2, { segments: rules }), rules);
    expect(w.map((x) => `${x.code}:${x.segment ?? ''}`)).toEqual([
      'SMALL_SEGMENT:Power', 'SMALL_SEGMENT:Regular', 'SMALL_SEGMENT:Casual', 'SMALL_SEGMENT:At-Risk', 'SMALL_SEGMENT:Dormant',
      'SMALL_SEGMENT:Vanity', 'NO_ACTION:Vanity', 'STATIC_SEGMENT:Vanity',
    ]);
    expect(w[0].message).toBe('segment "Power" (behavioral_segment) has 2 users, under the 100 minimum of playbook §10; treat its figures as noise or merge it.');
    expect(w[6].message).toBe('rule-file segment "Vanity" (v.segment:1) has no action; add action: "..." (playbook §10: no vanity segments).');
    expect(w[4].message).toBe('segment "Dormant" (behavioral_segment) has 1 users, all already churned, under the 100 minimum of playbook §10; treat its figures as noise or merge it.');
    // Vanity = the 3 paid users, none already churned
    expect(w[5].message).toBe('rule-file segment "Vanity" has 3 users, under the 100 minimum of playbook §10; treat its figures as noise or widen the rule.');
  });

  it('§10 warning: more than 6 rule-file segments', () => {
    const text = Array.from({ length: 7 }, (_, k) => `segment "S${k}" { conditions { user.is_paid >= 0 } refresh: daily action: "x" }`).join('\n');
    const rules = parseSegmentRules(text, 'many.segment');
    const big = makeTable(Array.from({ length: 3 }, () => ({})));
    const w = antiPatternWarnings(segmentDashboard(big, applyRules(big, SYNTHETIC_PRESET, { segments: rules }), { segments: rules }), rules);
    expect(w.filter((x) => x.code === 'TOO_MANY_SEGMENTS').map((x) => x.message)).toEqual([
      '7 rule-file segments, more than the 6 playbook §10 suggests starting with; remove or merge some.',
    ]);
  });
});

describe('transitionMatrix (§9.2)', () => {
  const from = { userIds: ['u1', 'u2', 'u3', 'u4', 'u5'], labels: ['Power', 'Power', 'Regular', 'Casual', 'Dormant'] };
  const to = { userIds: ['u1', 'u2', 'u3', 'u4', 'u6'], labels: ['Power', 'Regular', 'Regular', 'At-Risk', 'Casual'] };
  const m = transitionMatrix(from, to);

  it('counts moves, sends users missing from `to` to (gone) and users only in `to` to the (new) row', () => {
    expect(m.from).toEqual(['Power', 'Regular', 'Casual', 'Dormant', '(new)']);
    expect(m.to).toEqual(['Power', 'Regular', 'Casual', 'At-Risk', '(gone)']);
    expect(m.counts).toEqual([
      [1, 1, 0, 0, 0],
      [0, 1, 0, 0, 0],
      [0, 0, 0, 1, 0],
      [0, 0, 0, 0, 1],
      [0, 0, 1, 0, 0],
    ]);
    expect([m.matched, m.onlyInFrom, m.onlyInTo]).toEqual([4, 1, 1]);
  });
  it('rows sum to 100%', () => {
    expect(m.shares[0]).toEqual([0.5, 0.5, 0, 0, 0]);
    for (const row of m.shares) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
  it('prints the matrix and the users in one snapshot only', () => {
    const text = formatTransitions(m);
    expect(text).toMatch(/Power\s+50%\s+50%\s+0%\s+0%\s+0%\s+2/);
    expect(text).toContain('1 users only in the first snapshot (column (gone)); 1 users only in the second (row (new)).');
  });
});

describe('icpRefinement (§8)', () => {
  it('best 20% by retention + revenue + engagement vs worst 20% by retention; the attribute that differs most comes first', () => {
    // 10 users: users 1-2 engaged, paying, retained; users 9-10 churned, idle, unpaid.
    const rows = Array.from({ length: 10 }, (_, k) => {
      const good = k < 2;
      const bad = k >= 8;
      return {
        ...(good ? power : regular),
        is_paid: good ? 1 : 0,
        monetary_value: good ? 149 : 0,
        invites_total: good ? 6 : bad ? 0 : 1,
        team_size: good ? 7 : bad ? 1 : 2,
        days_since_last_activity: bad ? 20 : 0,
        label: bad ? 1 : 0,
        plan: good ? 'enterprise' : 'free',
      };
    });
    const t = makeTable(rows);
    const r = icpRefinement(t, applyRules(t, SYNTHETIC_PRESET), { top: 50 });
    expect([r.bestUsers, r.worstUsers, r.retentionSource]).toEqual([2, 2, 'label']);
    const inv = r.attributes.find((a) => a.feature === 'invites_total')!;
    expect([inv.best, inv.worst]).toEqual([6, 0]);
    expect(r.plans).toEqual([{ plan: 'enterprise', best: 1, worst: 0 }, { plan: 'free', best: 0, worst: 1 }]);
  });
  it('percentile ranks give ties the mean rank', () => {
    expect(Array.from(percentileRanks(Float64Array.from([5, 1, 5, 3, 9])))).toEqual([0.625, 0, 0.625, 0.25, 1]);
  });
});

describe('featureAffinity (§5.2)', () => {
  const M = 'milestone_';
  it('co-occurrence among power users and the top 1-2 gaps per user', () => {
    const t = makeTable([
      // three power users: all created projects and added tasks; two also used templates; one connected an integration
      { ...power, [`${M}created_first_project`]: 1, [`${M}added_first_task`]: 1, [`${M}used_template`]: 1 },
      { ...power, [`${M}created_first_project`]: 1, [`${M}added_first_task`]: 1, [`${M}used_template`]: 1 },
      { ...power, [`${M}created_first_project`]: 1, [`${M}added_first_task`]: 1, [`${M}connected_integration`]: 1 },
      // a regular user with projects only: gaps added_first_task (3/3 of project users), used_template (2/3)
      { ...regular, [`${M}created_first_project`]: 1 },
      // a user with nothing: the features most power users use
      { ...regular },
    ]);
    const a = featureAffinity(t, applyRules(t, SYNTHETIC_PRESET), SYNTHETIC_PRESET);
    expect(a.powerUsers).toBe(3);
    const f = (name: string) => a.features.indexOf(name);
    expect(a.cooccurrence[f('created_first_project')][f('used_template')]).toBeCloseTo(2 / 3, 12);
    expect(a.cooccurrence[f('created_first_project')][f('invited_team_member')]).toBe(0);
    expect(a.recommendations[3]).toEqual(['added_first_task', 'used_template']);
    expect(a.recommendations[4]).toEqual(['created_first_project', 'added_first_task']);
    expect(a.recommendations[0]).toEqual(['connected_integration']);
  });
});
