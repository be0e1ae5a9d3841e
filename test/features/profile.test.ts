import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeFeatures, formatProfile, horizonCoverage, latestCoveredAsOf, profileEvents } from '../../src/features/index.js';
import { loadEvents, validateConfig, SPARKIFY_PRESET } from '../../src/ingest/index.js';
import { runCli } from '../cli/run.js';
import { collectingLogger } from '../../src/shared/log.js';

const fx = (f: string) => join(import.meta.dirname, '..', 'fixtures', f);
// 2026-12-06: "today" pinned so the future-timestamp check does not depend on the clock.
const NOW = Date.UTC(2026, 11, 6);
const epochConfig = (format: 'epoch_ms' | 'epoch_s') =>
  validateConfig({ name: 'sparkify-csv', timestamp_format: format, columns: { user_id: 'user_id', timestamp: 'ts', event: 'page' }, cadence: 'daily', taxonomy: { core_features: ['NextSong'] } }, 'test');

describe('profileEvents', () => {
  it('on 40 events over 3 hours of Sparkify: every feature window and the 7-day threshold carry no information, events per user as numpy says', async () => {
    const store = await loadEvents([fx('sparkify-4h.json')], SPARKIFY_PRESET);
    try {
      const p = await profileEvents(store, { nowMs: NOW });
      expect(p.asOf).toBe('2018-11-15');
      expect(p.users).toBe(7);
      expect(p.events).toBe(40);
      // numpy (make-sparkify-profile.py): min 1, p25 2, median 4, p75 7.5, p90 12.4, max 16; 2 users with one event.
      expect(p.eventsPerUser).toMatchObject({ min: 1, p25: 2, median: 4, p75: 7.5, max: 16, withOneEvent: 2 });
      expect(p.eventsPerUser.p90).toBeCloseTo(12.4, 9);
      expect(p.windowsBeyondHistory).toEqual([7, 14, 28, 30, 84, 90]);
      const byCode = new Map(p.warnings.map((w) => [w.code, w.message]));
      expect(byCode.get('LOG_SHORTER_THAN_WINDOWS')).toBe(
        'the log spans 3 hours before the cutoff 2018-11-16T00:00:00Z: the 7-, 14-, 28-, 30-, 84- and 90-day features carry no information; nobody can be inactive for the 7-day threshold of playbook §3.4, so no one is dormant or already churned by inactivity.',
      );
      expect(byCode.get('TAXONOMY_EVENTS_ABSENT')).toMatch(/churn: "Cancellation Confirmation"/);
      expect(byCode.get('MILESTONE_EVENTS_ABSENT')).toMatch(/added_to_playlist \("Add to Playlist"\), added_friend \("Add Friend"\), saved_settings \("Save Settings"\)/);
      expect(byCode.get('FEW_LIVE_USERS')).toMatch(/^only 7 users are live at the cutoff 2018-11-15/);
      expect(byCode.has('TIMESTAMPS_BEFORE_2000')).toBe(false);
      expect(p.atCutoff).toMatchObject({ users: 7, alreadyChurned: 0, live: 7 });
      expect(formatProfile(p).length).toBeLessThanOrEqual(24);
    } finally {
      store.close();
    }
  });

  it('epoch seconds read as milliseconds: events in January 1970, the likely cause named, every user already churned', async () => {
    const store = await loadEvents([fx('sparkify-epoch-s.csv')], epochConfig('epoch_ms'));
    try {
      const p = await profileEvents(store, { asOf: '2018-11-15', nowMs: NOW });
      const w = p.warnings.find((x) => x.code === 'TIMESTAMPS_BEFORE_2000');
      expect(w?.message).toBe(
        '40 of 40 events are dated before 2000 (events range 1970-01-18T20:24:57.670Z .. 1970-01-18T20:25:09.084Z): epoch seconds read as milliseconds? (timestamp_format is "epoch_ms"; try "epoch_s")',
      );
      expect(p.atCutoff).toMatchObject({ users: 7, alreadyChurned: 7, live: 0 });
      expect(p.warnings.map((x) => x.code)).toContain('MOST_USERS_ALREADY_CHURNED');
    } finally {
      store.close();
    }
    const right = await loadEvents([fx('sparkify-epoch-s.csv')], epochConfig('epoch_s'));
    try {
      const p = await profileEvents(right, { nowMs: NOW });
      expect(p.firstEvent).toBe('2018-11-15T16:01:10Z');
      expect(p.warnings.map((x) => x.code)).not.toContain('TIMESTAMPS_BEFORE_2000');
      // No activation section: said, not silent.
      expect(p.warnings.find((x) => x.code === 'NO_ACTIVATION_MILESTONES')?.message).toBe(
        'no activation milestones configured: every user will be Not activated (playbook §4.2); add activation.milestones to the config.',
      );
      // "Today" before the events: all of them are in the future.
      const past = await profileEvents(right, { nowMs: Date.UTC(2018, 0, 1) });
      expect(past.warnings.find((x) => x.code === 'TIMESTAMPS_IN_FUTURE')?.message).toMatch(/^40 of 40 events are dated after today \(2018-01-01/);
    } finally {
      right.close();
    }
  });

  it('checks the label horizon to the last event instant, not its day', async () => {
    const last = Date.parse('2018-11-15T19:11:24.796Z');
    // Old day-level rule: a 1-day horizon after 2018-11-14 ends 2018-11-16 00:00, and an event on 2018-11-15 passed.
    // Now the tail after the last event may be 1% of the quiet window, min(7-day threshold, 1 day): 14.4 minutes.
    expect(horizonCoverage('2018-11-14', 1, last, 7)).toEqual({ endMs: Date.parse('2018-11-16T00:00:00Z'), covered: false, uncoveredMs: 17_315_204 });
    expect(horizonCoverage('2018-11-13', 1, last, 7).covered).toBe(true);
    expect(latestCoveredAsOf(last, 1, 7)).toBe('2018-11-13');
    // A log ending exactly at midnight covers a horizon ending then.
    expect(latestCoveredAsOf(Date.parse('2018-11-16T00:00:00Z'), 1, 7)).toBe('2018-11-14');
    // A log that runs to midnight (last event 23:50): 10 minutes short is within 14.4 minutes for 1 day, 20 minutes is not.
    expect(horizonCoverage('2018-11-14', 1, Date.parse('2018-11-15T23:50:00Z'), 7).covered).toBe(true);
    expect(horizonCoverage('2018-11-14', 1, Date.parse('2018-11-15T23:40:00Z'), 7).covered).toBe(false);
    // 30 days with a 21-day threshold: 5.04 hours of tolerance, so the synthetic log's last minutes do not shift the cutoff.
    expect(latestCoveredAsOf(Date.parse('2018-11-15T23:50:00Z'), 30, 21)).toBe('2018-10-16');
    expect(horizonCoverage('2018-10-16', 30, Date.parse('2018-11-15T19:00:00Z'), 21).covered).toBe(true);
    expect(horizonCoverage('2018-10-16', 30, Date.parse('2018-11-15T18:00:00Z'), 21).covered).toBe(false);

    const store = await loadEvents([fx('sparkify-4h.json')], SPARKIFY_PRESET);
    try {
      await expect(computeFeatures(store, { asOf: '2018-11-14', horizonDays: 1 })).rejects.toThrow(
        'a 1-day horizon after 2018-11-14 ends at 2018-11-16T00:00:00Z, but the last event is at 2018-11-15T19:11:24.796Z; pick --as-of 2018-11-13 or earlier, or a shorter --horizon-days.',
      );
      const p = await profileEvents(store, { asOf: '2018-11-15', horizonDays: 1, nowMs: NOW });
      expect(p.horizon).toEqual({ days: 1, end: '2018-11-17T00:00:00Z', covered: false });
      expect(p.warnings.find((w) => w.code === 'HORIZON_NOT_COVERED')?.message).toMatch(/pick an as-of of 2018-11-13 or earlier/);
    } finally {
      store.close();
    }
  });
});

describe('cohortlab profile', () => {
  it('prints the summary, or with --json the profile with its warnings, and writes --out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cohortlab-profile-'));
    const out: string[] = [];
    const r = await runCli(['profile', '--events', fx('sparkify-4h.json'), '--preset', 'sparkify', '--json', '--out', join(dir, 'p.json')], { out: (t) => out.push(t) });
    expect(r.code).toBe(0);
    const printed = JSON.parse(out.join(''));
    expect(printed.warnings.map((w: { code: string }) => w.code)).toEqual(
      expect.arrayContaining(['LOG_SHORTER_THAN_WINDOWS', 'TAXONOMY_EVENTS_ABSENT', 'MILESTONE_EVENTS_ABSENT', 'FEW_LIVE_USERS']),
    );
    expect(JSON.parse(await readFile(join(dir, 'p.json'), 'utf8'))).toEqual(printed);
    const text: string[] = [];
    expect((await runCli(['profile', '--events', fx('sparkify-4h.json'), '--preset', 'sparkify'], { out: (t) => text.push(t) })).code).toBe(0);
    expect(text.join('')).toMatch(/users {5}7 in the log; at the cutoff 7: 0 already churned \(0\.0%\), 7 live/);
    expect(text.join('')).toMatch(/LOG_SHORTER_THAN_WINDOWS: the log spans 3 hours/);
  });

  it('features prints the same warnings and keeps them in the .meta.json beside its output', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cohortlab-profile-'));
    const logger = collectingLogger();
    const r = await runCli(['features', '--events', fx('sparkify-4h.json'), '--preset', 'sparkify', '--as-of', '2018-11-15', '--out', join(dir, 'f.csv')], { logger });
    expect(r.code).toBe(0);
    expect(logger.lines.filter((l) => l.startsWith('warning: ')).map((l) => l.split(':')[1].trim())).toEqual(['LOG_SHORTER_THAN_WINDOWS', 'FEW_LIVE_USERS', 'TAXONOMY_EVENTS_ABSENT', 'MILESTONE_EVENTS_ABSENT']);
    const meta = JSON.parse(await readFile(join(dir, 'f.csv.meta.json'), 'utf8')) as { warnings: { code: string; message: string }[] };
    expect(meta.warnings.map((w) => w.code)).toEqual(['LOG_SHORTER_THAN_WINDOWS', 'FEW_LIVE_USERS', 'TAXONOMY_EVENTS_ABSENT', 'MILESTONE_EVENTS_ABSENT']);
    expect(meta.warnings[0].message).toMatch(/^the log spans 3 hours before the cutoff 2018-11-16T00:00:00Z/);
  });
});
