import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEvents, resolveConfig, type EventConfig } from '../../src/ingest/index.js';
import { computeFeatureBlocks, computeFeatures, dictionaryMarkdown, readFeatureTable, readFeatureTableBlocks, writeFeatureTable, type FeatureTable } from '../../src/features/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';

const fx = (f: string) => join(import.meta.dirname, '..', 'fixtures', f);

async function features(files: string[], config: EventConfig, asOf: string, horizonDays?: number): Promise<FeatureTable> {
  const store = await loadEvents(files, config);
  try {
    return await computeFeatures(store, { asOf, horizonDays });
  } finally {
    store.close();
  }
}

const row = (t: FeatureTable, user: string) => {
  const i = t.userIds.indexOf(user);
  return Object.fromEntries(Object.entries(t.columns).map(([k, v]) => [k, v[i]]));
};

describe('computeFeatures on a hand-computed log (as of 2026-03-14, cutoff 2026-03-15 00:00 UTC)', async () => {
  const config = await resolveConfig({ config: fx('pm-config.json') });
  // 6 days: the log ends 2026-03-21 12:00, so a 7-day horizon (to 03-22 00:00) is not covered by its last event.
  const t = await features([fx('pm-events.csv')], config, '2026-03-14', 6);

  it('a user with 3 sessions in 2 weeks', () => {
    const a = row(t, 'a1');
    // Sessions: 03-14 10:00-10:20 (3 events), 03-10 09:00-09:30 (2 events), 03-03 12:00 (1 event).
    expect(a.sessions_7d).toBe(2);
    expect(a.sessions_prev_7d).toBe(1);
    expect(a.avg_weekly_sessions_28d).toBe(0.75);
    expect(a.total_sessions).toBe(3);
    expect(a.events_30d).toBe(6);
    expect(a.active_days_7d).toBe(2);
    expect(a.active_days_30d).toBe(3);
    expect(a.dau_mau).toBeCloseTo(3 / 30, 12);
    expect(a.wau_mau).toBe(0.5);
    // created_project, added_task, invited_member, completed_task of 5 core features.
    expect(a.features_used_30d).toBe(4);
    expect(a.feature_breadth_30d).toBeCloseTo(0.8, 12);
    expect(a.features_used_7d).toBe(4);
    expect(a.peak_week_features).toBe(4);
    expect(a.avg_session_minutes_30d).toBeCloseTo((20 + 30 + 0) / 3, 9);
    expect(a.actions_per_session_30d).toBe(2);
    expect(a.days_since_last_activity).toBe(0);
    // Gaps between session starts: 6 d 21 h and 4 d 1 h; the median of two is their mean.
    expect(a.typical_gap_days).toBeCloseTo((6.875 + 97 / 24) / 2, 9);
    expect(a.tenure_days).toBe(11);
    expect(a.invites_14d).toBe(1);
    expect(a.invites_total).toBe(1);
    expect(a.pricing_views_14d).toBe(1);
    expect(a.pricing_views_7d).toBe(0);
    expect(a.wow_trend).toBe(1);
    expect(a.usage_decline).toBe(0);
    expect(a.team_size).toBe(2);
    // Latest plan before the cutoff is "pro" (set on 03-14 10:20).
    expect(a.monetary_value).toBe(39);
    expect(a.is_paid).toBe(1);
    expect(a.ever_paid).toBe(1);
    expect(a.milestone_created_first_project).toBe(1);
    // used_template only happens after the cutoff.
    expect(a.milestone_used_template).toBe(0);
  });

  it('a user idle for 41 days is already churned (weekly cadence: 21 days, playbook 3.4) and keeps a tenure-based gap', () => {
    const b = row(t, 'b2');
    expect(b.days_since_last_activity).toBe(41);
    expect(b.typical_gap_days).toBe(41);
    expect(b.sessions_7d).toBe(0);
    expect(t.alreadyChurned[t.userIds.indexOf('b2')]).toBe(1);
    expect(t.alreadyChurned[t.userIds.indexOf('a1')]).toBe(0);
  });

  it('an explicit cancellation marks the user churned at the cutoff', () => {
    expect(t.alreadyChurned[t.userIds.indexOf('c3')]).toBe(1);
  });

  it('labels the 6-day horizon: active after the cutoff = retained, silent = churned', () => {
    expect(t.horizonDays).toBe(6);
    expect(Array.from(t.label!)).toEqual([0, 1, 1]);
  });

  it('no feature reads an event at or after the cutoff', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cl-leak-'));
    const base = await readFile(fx('pm-events.csv'), 'utf8');
    const future = [
      'a1,2026-03-15T00:00:00Z,created_project,enterprise',
      'b2,2026-03-15T00:00:01Z,invited_member,pro',
      'c3,2026-03-16T09:00:00Z,viewed_pricing,pro',
      'd4,2026-03-17T09:00:00Z,added_task,free',
      'a1,2026-04-30T09:00:00Z,opened_ticket,free',
    ].join('\n');
    await writeFile(join(dir, 'with-future.csv'), `${base}${future}\n`);
    const t2 = await features([join(dir, 'with-future.csv')], config, '2026-03-14');
    expect(t2.userIds).toEqual(t.userIds);
    for (const [name, col] of Object.entries(t.columns)) expect(Array.from(t2.columns[name]), name).toEqual(Array.from(col));
    expect(t2.plan).toEqual(t.plan);
  });

  it('round-trips through Parquet and CSV with the config kept beside the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cl-feat-'));
    for (const ext of ['parquet', 'csv']) {
      const p = join(dir, `f.${ext}`);
      await writeFeatureTable(p, t);
      const back = await readFeatureTable(p);
      expect(back.userIds).toEqual(t.userIds);
      expect(back.asOf).toBe('2026-03-14');
      expect(back.horizonDays).toBe(6);
      expect(Array.from(back.label!)).toEqual([0, 1, 1]);
      expect(back.config?.taxonomy.core_features).toEqual(config.taxonomy.core_features);
      for (const [name, col] of Object.entries(t.columns)) expect(Array.from(back.columns[name]), name).toEqual(Array.from(col));
    }
  });

  it('streams the same users and features in blocks, from events and from a features file', async () => {
    const store = await loadEvents([fx('pm-events.csv')], config);
    const fromEvents: FeatureTable[] = [];
    try {
      for await (const b of computeFeatureBlocks(store, { asOf: '2026-03-14', blockRows: 1 })) fromEvents.push(b);
    } finally {
      store.close();
    }
    expect(fromEvents.flatMap((b) => b.userIds)).toEqual(t.userIds);
    expect(fromEvents.flatMap((b) => Array.from(b.columns.sessions_7d))).toEqual(Array.from(t.columns.sessions_7d));
    const dir = await mkdtemp(join(tmpdir(), 'cl-blocks-'));
    await writeFeatureTable(join(dir, 'f.parquet'), t);
    const fromFile: FeatureTable[] = [];
    for await (const b of readFeatureTableBlocks(join(dir, 'f.parquet'), 1)) fromFile.push(b);
    expect(fromFile.flatMap((b) => b.userIds)).toEqual(t.userIds);
    expect(fromFile.flatMap((b) => Array.from(b.columns.typical_gap_days))).toEqual(Array.from(t.columns.typical_gap_days));
    expect(fromFile[0].config?.name).toBe('pm-fixture');
  });

  it('refuses a horizon the data does not cover, naming the dates', async () => {
    await expect(features([fx('pm-events.csv')], config, '2026-03-14', 30)).rejects.toThrow(
      'a 30-day horizon after 2026-03-14 ends at 2026-04-14T00:00:00Z, but the last event is at 2026-03-21T12:00:00Z; pick --as-of 2026-02-18 or earlier, or a shorter --horizon-days.',
    );
    // To the instant: the last day of a 7-day horizon holds an event (03-21 12:00), but not its end (03-22 00:00).
    await expect(features([fx('pm-events.csv')], config, '2026-03-14', 7)).rejects.toThrow(/a 7-day horizon after 2026-03-14 ends at 2026-03-22T00:00:00Z, but the last event is at 2026-03-21T12:00:00Z/);
  });
});

describe('presets on real-data fixtures', () => {
  it('CDNOW: recency and spend per customer as of 1997-03-31', async () => {
    const config = await resolveConfig({ preset: 'cdnow' });
    const t = await features([fx('cdnow-sample.txt')], config, '1997-03-31');
    const c2 = row(t, '00002');
    // Customer 00002 bought twice on 1997-01-12 (one session): 89.00 in all; 1997-01-12 to the cutoff 1997-04-01 is 19 + 28 + 31 + 1 = 79 days.
    expect(c2.monetary_value).toBe(89);
    expect(c2.total_sessions).toBe(1);
    expect(c2.days_since_last_activity).toBe(79);
    expect(t.userIds[0]).toBe('00001');
  });

  it('Sparkify: sessions come from sessionId per user, level is the plan', async () => {
    const config = await resolveConfig({ preset: 'sparkify' });
    const t = await features([fx('sparkify-2018-11-05.json'), fx('sparkify-2018-11-06.json')], config, '2018-11-06');
    expect(t.userIds.length).toBeGreaterThan(3);
    for (const p of t.plan) expect(['free', 'paid']).toContain(p);
    const total = t.columns.total_sessions.reduce((s, v) => s + v, 0);
    expect(total).toBeGreaterThanOrEqual(t.userIds.length);
  });
});

describe('feature dictionary', () => {
  it('docs/features.md is the generated dictionary of the synthetic preset (run: cohortlab features --dictionary --preset synthetic > docs/features.md)', async () => {
    const doc = await readFile(join(import.meta.dirname, '..', '..', 'docs', 'features.md'), 'utf8');
    expect(doc).toBe(dictionaryMarkdown(SYNTHETIC_PRESET));
  });
});
