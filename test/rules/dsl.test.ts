import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { applyRules, defaultRulesDir, formatExpr, loadSegmentRules, parseSegmentRules } from '../../src/rules/index.js';
import type { Expr } from '../../src/rules/index.js';
import { makeTable } from './fixture.js';

/** The §6.1 block of the playbook, copied verbatim. */
const PLAYBOOK_6_1 = `segment "Power Users" {
  conditions {
    events.session_count(last_7_days) >= 5
    AND events.unique_features_used(last_30_days) >= 0.7 * total_features
    AND user.days_since_signup >= 30
  }
  refresh: daily
}

segment "At Risk" {
  conditions {
    events.session_count(last_7_days) < 0.5 * events.avg_weekly_sessions(last_28_days)
    AND events.avg_weekly_sessions(last_28_days) >= 2
  }
  refresh: daily
}

segment "Expansion Ready" {
  conditions {
    scores.engagement >= 60
    AND (
      usage.percentage_of_limit >= 0.7
      OR events.pricing_page_view(last_14_days) >= 1
      OR events.locked_feature_click(last_14_days) >= 1
    )
  }
  refresh: daily
}
`;

function strip(e: Expr): unknown {
  const { pos: _pos, ...rest } = e as Expr & Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) out[k] = v && typeof v === 'object' && 'kind' in (v as object) ? strip(v as Expr) : v;
  return out;
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '(no error)';
}

describe('parseSegmentRules (§6.1)', () => {
  const rules = parseSegmentRules(PLAYBOOK_6_1, 'playbook-6.1.segment');

  it('parses the three playbook segments with names, slugs and refresh', () => {
    expect(rules.map((r) => [r.name, r.slug, r.refresh, r.pos.line])).toEqual([
      ['Power Users', 'power_users', 'daily', 1],
      ['At Risk', 'at_risk', 'daily', 10],
      ['Expansion Ready', 'expansion_ready', 'daily', 18],
    ]);
  });

  it('builds the typed AST: AND is left-associative, * binds tighter than >=', () => {
    expect(strip(rules[0].conditions)).toEqual({
      kind: 'and',
      left: {
        kind: 'and',
        left: { kind: 'compare', op: '>=', left: { kind: 'call', name: 'events.session_count', args: ['last_7_days'] }, right: { kind: 'number', value: 5 } },
        right: {
          kind: 'compare', op: '>=',
          left: { kind: 'call', name: 'events.unique_features_used', args: ['last_30_days'] },
          right: { kind: 'arith', op: '*', left: { kind: 'number', value: 0.7 }, right: { kind: 'name', name: 'total_features' } },
        },
      },
      right: { kind: 'compare', op: '>=', left: { kind: 'name', name: 'user.days_since_signup' }, right: { kind: 'number', value: 30 } },
    });
  });

  it('keeps parentheses: AND binds the parenthesised OR group', () => {
    expect(formatExpr(rules[2].conditions)).toBe(
      '(scores.engagement >= 60 AND ((usage.percentage_of_limit >= 0.7 OR events.pricing_page_view(last_14_days) >= 1) OR events.locked_feature_click(last_14_days) >= 1))',
    );
  });

  it('gives AND precedence over OR and applies NOT to the next condition', () => {
    const [r] = parseSegmentRules('segment "x" { conditions { NOT user.is_paid >= 1 OR features.x < 2 AND -features.y + 3 * 2 > 1 } }', 'p.segment');
    expect(formatExpr(r.conditions)).toBe('(NOT user.is_paid >= 1 OR (features.x < 2 AND (-features.y + (3 * 2)) > 1))');
  });
});

describe('the shipped rule files', () => {
  it('are the three §6.1 segments as written, with an action each', async () => {
    const shipped = await loadSegmentRules(defaultRulesDir());
    const playbook = parseSegmentRules(PLAYBOOK_6_1, 'playbook');
    // Files load in name order: at-risk, expansion-ready, power-users.
    expect(shipped.map((r) => r.slug)).toEqual(['at_risk', 'expansion_ready', 'power_users']);
    for (const r of shipped) {
      const p = playbook.find((x) => x.slug === r.slug)!;
      expect(formatExpr(r.conditions)).toBe(formatExpr(p.conditions));
      expect(r.refresh).toBe('daily');
    }
    expect(shipped.map((r) => r.action)).toEqual([
      'Re-engagement campaigns, feedback requests, support outreach',
      'Proactive outreach, upgrade prompts',
      'Expansion offers, beta access, advocacy program',
    ]);
  });

  it('the default rules folder is the package-root rules/ folder', async () => {
    expect(defaultRulesDir().replace(/\\/g, '/')).toMatch(/\/rules\/$/);
    const text = await readFile(`${defaultRulesDir()}power-users.segment`, 'utf8');
    expect(text).toContain('segment "Power Users"');
  });
});

describe('evaluating the §6.1 segments on literal users', () => {
  const segments = parseSegmentRules(PLAYBOOK_6_1, 'playbook');
  // total_features = 10 core features in the synthetic preset, so 0.7 * total_features = 7.
  it('Power Users: 5+ sessions in 7 days, 7+ of 10 features in 30 days, 30+ days since signup (both sides of each bound)', () => {
    const t = makeTable([
      { sessions_7d: 5, features_used_30d: 7, tenure_days: 30 }, // in: every bound met exactly
      { sessions_7d: 4, features_used_30d: 7, tenure_days: 30 }, // out: 4 sessions
      { sessions_7d: 9, features_used_30d: 6, tenure_days: 90 }, // out: 6 features < 7
      { sessions_7d: 9, features_used_30d: 10, tenure_days: 29 }, // out: 29 days
    ]);
    const out = applyRules(t, SYNTHETIC_PRESET, { segments });
    expect(Array.from(out.columns.segment_power_users as Float64Array)).toEqual([1, 0, 0, 0]);
  });

  it('At Risk: this week under half the 4-week weekly average, average 2+', () => {
    const t = makeTable([
      { sessions_7d: 1, avg_weekly_sessions_28d: 4 }, // in: 1 < 2
      { sessions_7d: 2, avg_weekly_sessions_28d: 4 }, // out: 2 is not < 2
      { sessions_7d: 0, avg_weekly_sessions_28d: 2 }, // in: average exactly 2
      { sessions_7d: 0, avg_weekly_sessions_28d: 1.99 }, // out: average under 2
    ]);
    const out = applyRules(t, SYNTHETIC_PRESET, { segments });
    expect(Array.from(out.columns.segment_at_risk as Float64Array)).toEqual([1, 0, 1, 0]);
  });

  it('Expansion Ready: engagement 60+ and (70%+ of limit or a pricing view or a locked click in 14 days)', () => {
    // engagement 60 = frequency 12 (2/week) + breadth 25 (80%) + depth 3 (<5 min) + recency 20 (today);
    // engagement 59 = 20 (4/week) + 18 (50%) + 18 (15 min) + 3 (8 days).
    const e60 = { avg_weekly_sessions_28d: 2, feature_breadth_30d: 0.8, avg_session_minutes_30d: 1, days_since_last_activity: 0 };
    const e59 = { avg_weekly_sessions_28d: 4, feature_breadth_30d: 0.5, avg_session_minutes_30d: 15, days_since_last_activity: 8 };
    const t = makeTable([
      { ...e60, usage_pct_of_limit: 0.7 },
      { ...e60, usage_pct_of_limit: 0.69 },
      { ...e60, pricing_views_14d: 1 },
      { ...e60, locked_clicks_14d: 1 },
      { ...e59, usage_pct_of_limit: 0.9, pricing_views_14d: 3, locked_clicks_14d: 3 },
    ]);
    const out = applyRules(t, SYNTHETIC_PRESET, { segments });
    expect(Array.from(out.columns.engagement_score as Float64Array)).toEqual([60, 60, 60, 60, 59]);
    expect(Array.from(out.columns.segment_expansion_ready as Float64Array)).toEqual([1, 0, 1, 1, 0]);
  });

  it('NOT, !=, /, unary minus, 14-day windows and features.<column> evaluate per user', () => {
    const rules = parseSegmentRules(
      `segment "Mixed" { conditions { NOT features.is_paid == 1 AND events.session_count(last_14_days) / 2 != -(-3) } }`,
      'mixed.segment',
    );
    const t = makeTable([
      { is_paid: 0, sessions_7d: 2, sessions_prev_7d: 2 }, // 4 / 2 = 2 != 3: in
      { is_paid: 0, sessions_7d: 4, sessions_prev_7d: 2 }, // 6 / 2 = 3: out
      { is_paid: 1, sessions_7d: 1, sessions_prev_7d: 0 }, // paid: out
    ]);
    expect(Array.from(applyRules(t, SYNTHETIC_PRESET, { segments: rules }).columns.segment_mixed as Float64Array)).toEqual([1, 0, 0]);
  });
});

describe('rule errors name the file, line and column (word for word)', () => {
  const parse = (text: string) => messageOf(() => parseSegmentRules(text, 'rules/x.segment'));

  it('an unclosed parenthesis', () => {
    expect(parse('segment "X" {\n  conditions {\n    scores.engagement >= 60 AND (usage.percentage_of_limit >= 0.7\n  }\n}\n')).toBe(
      'rules/x.segment:4:3: expected ")" to close the "(" at line 3, column 33, found "}".',
    );
  });
  it('a missing value after an operator', () => {
    expect(parse('segment "X" { conditions { scores.engagement >= AND user.is_paid == 1 } }')).toBe(
      'rules/x.segment:1:49: expected a number, a name, a function call or "(", found "AND".',
    );
  });
  it('a misspelt keyword', () => {
    expect(parse('segmnt "X" { conditions { user.is_paid == 1 } }')).toBe('rules/x.segment:1:1: expected "segment", found "segmnt".');
  });
  it('a segment without a quoted name', () => {
    expect(parse('segment Power { conditions { user.is_paid == 1 } }')).toBe(
      'rules/x.segment:1:9: expected the segment name in double quotes, e.g. segment "Power Users", found "Power".',
    );
  });
  it('an unknown refresh value', () => {
    expect(parse('segment "X" {\n  conditions { user.is_paid == 1 }\n  refresh: sometimes\n}')).toBe(
      'rules/x.segment:3:12: expected one of hourly, daily, weekly, monthly, manual after "refresh:", found "sometimes".',
    );
  });
  it('a single "="', () => {
    expect(parse('segment "X" { conditions { user.is_paid = 1 } }')).toBe(
      'rules/x.segment:1:41: unexpected character "=" (write "==" to compare); expected a name, a number, a string, an operator (>= <= > < == != + - * /) or one of { } ( ) , : .',
    );
  });
  it('an unterminated string', () => {
    expect(parse('segment "Power Users {\n')).toBe(`rules/x.segment:1:9: expected a closing '"' for the string started here before the end of the line.`);
  });
  it('the end of the file inside a block', () => {
    expect(parse('segment "X" { conditions { user.is_paid == 1 }')).toBe(
      'rules/x.segment:1:47: expected "conditions", "refresh", "action" or "}" in segment "X", found the end of the file.',
    );
  });
  it('a segment without conditions', () => {
    expect(parse('\nsegment "X" { refresh: daily }')).toBe('rules/x.segment:2:1: segment "X" has no conditions; expected "conditions { ... }" inside its braces.');
  });
  it('a number where a condition is needed', () => {
    expect(parse('segment "X" { conditions { events.session_count(last_7_days) AND user.is_paid == 1 } }')).toBe(
      'rules/x.segment:1:28: expected a condition (a comparison such as x >= 5) on the left of AND, found a number.',
    );
  });
  it('chained comparisons', () => {
    expect(parse('segment "X" { conditions { 1 < user.team_size < 5 } }')).toBe(
      'rules/x.segment:1:47: expected AND or OR between two comparisons (comparisons do not chain), found "<".',
    );
  });
  it('two segments with the same column name', () => {
    expect(parse('segment "At Risk" { conditions { user.is_paid == 1 } }\nsegment "at-risk" { conditions { user.is_paid == 0 } }')).toBe(
      'rules/x.segment:2:1: segment "at-risk" has the same column name (segment_at_risk) as segment "At Risk" at rules/x.segment:1:1; rename one of them.',
    );
  });

  it('an unknown function lists the known ones and suggests the closest', () => {
    expect(parse('segment "X" { conditions { events.sesion_count(last_7_days) >= 5 } }')).toBe(
      'rules/x.segment:1:28: unknown function "events.sesion_count"; did you mean "events.session_count"? Known functions: events.active_days, events.avg_weekly_sessions, events.cancel_page_view, events.count, events.downgrade, events.failed_payment, events.invite, events.locked_feature_click, events.negative_support, events.pricing_page_view, events.session_count, events.share, events.support_ticket, events.unique_features_used.',
    );
  });
  it('an unknown window lists the windows of that function', () => {
    expect(parse('segment "X" { conditions { events.session_count(last_8_days) >= 5 } }')).toBe(
      'rules/x.segment:1:28: unknown window "last_8_days" for events.session_count; known windows: last_7_days, last_14_days, last_28_days, all_time.',
    );
  });
  it('an unknown name lists the known ones', () => {
    expect(parse('segment "X" { conditions { user.age >= 18 } }')).toBe(
      'rules/x.segment:1:28: unknown name "user.age". Known names: scores.activation, scores.at_risk_signals, scores.churn_risk, scores.engagement, scores.expansion_readiness, total_features, usage.feature_breadth, usage.percentage_of_limit, usage.usage_decline, usage.wow_trend, user.days_since_last_activity, user.days_since_signup, user.ever_paid, user.is_paid, user.monetary_value, user.team_size, user.typical_gap_days, features.<column>.',
    );
  });
  it('a function used without its window', () => {
    expect(parse('segment "X" { conditions { events.session_count >= 5 } }')).toBe(
      'rules/x.segment:1:28: "events.session_count" is a function; call it with a window, e.g. events.session_count(last_7_days).',
    );
  });
  it('an unknown features.<column> is reported when evaluated, with the columns present', () => {
    const rules = parseSegmentRules('segment "X" {\n  conditions { features.team_sise >= 3 }\n}', 'rules/x.segment');
    const msg = messageOf(() => applyRules(makeTable([{}]), SYNTHETIC_PRESET, { segments: rules }));
    expect(msg).toMatch(/^rules\/x\.segment:2:16: features\.team_sise needs the feature "team_sise", which the feature table lacks; did you mean "team_size"\? Features present: actions_per_session_30d, active_days_30d, active_days_7d, /);
  });
});
