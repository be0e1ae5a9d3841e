import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/run.js';

/**
 * `cohortlab cluster` on real features: Sparkify as of 2018-11-23 (test/fixtures/README.md), 91 users of whom
 * 16 had already churned, 75 live. Clusters are fitted on live users only; too few of them is exit 2.
 */
const FEATURES = join(import.meta.dirname, '..', 'fixtures', 'sparkify-features-2018-11-23.csv');

describe('cohortlab cluster on the users live at the cutoff (Sparkify)', () => {
  it('stops with exit 2 and one sentence when fewer than 2 x --min-size users are live', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'cl-live-')), 'out');
    const r = await runCli(['cluster', '--features', FEATURES, '--preset', 'sparkify', '--seed', '7', '--min-size', '40', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe('cohortlab cluster: only 75 of 91 users are live at the cutoff 2018-11-23 (16 already churned); clustering fits on live users and needs at least 80 (2 clusters of the playbook §10 minimum of 40): use an earlier --as-of, a smaller --min-size, or --include-churned to fit on everyone.');
  });

  it('fits on the 75 live users and assigns the 16 churned ones; --include-churned fits on all 91', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cl-live-'));
    const printed: string[] = [];
    const a = await runCli(['cluster', '--features', FEATURES, '--preset', 'sparkify', '--seed', '7', '--min-size', '10', '--k', '3', '--out', join(dir, 'live')], { out: (l) => printed.push(l) });
    expect(a.code).toBe(0);
    // the printed summary says its date and the already-churned share of each cluster
    const summary = printed.join('\n');
    expect(summary).toMatch(/\nas of 2018-11-23\ncluster +users +share +already churned +churn in horizon +rule risk +stability +label\n/);
    const live = JSON.parse(await readFile(join(dir, 'live', 'report.json'), 'utf8'));
    expect(live).toMatchObject({ asOf: '2018-11-23', users: 91, fittedUsers: 75, alreadyChurnedUsers: 16, fittedOn: 'live' });
    expect(live.profiles.reduce((s: number, p: { size: number }) => s + p.size, 0)).toBe(91);
    // the 16 churned users are in the profiles' already-churned shares
    expect(Math.round(live.profiles.reduce((s: number, p: { size: number; alreadyChurnedRate: number }) => s + p.size * p.alreadyChurnedRate, 0))).toBe(16);
    const b = await runCli(['cluster', '--features', FEATURES, '--preset', 'sparkify', '--seed', '7', '--min-size', '10', '--k', '3', '--include-churned', '--out', join(dir, 'all')]);
    expect(b.code).toBe(0);
    const all = JSON.parse(await readFile(join(dir, 'all', 'report.json'), 'utf8'));
    expect(all).toMatchObject({ users: 91, fittedUsers: 91, fittedOn: 'all' });
    const html = await readFile(join(dir, 'live', 'report.html'), 'utf8');
    expect(html).toMatch(/Every figure of this page is as of the cutoff 2018-11-23/);
  });
});
