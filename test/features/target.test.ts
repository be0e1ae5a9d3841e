import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEvents, resolveConfig } from '../../src/ingest/index.js';
import { computeFeatures, computeTargetLabels, withTargetLabels } from '../../src/features/index.js';
import { eligibleRows } from '../../src/churn/dataset.js';
import { formatSetSizes, outcomeNames } from '../../src/evaluate/index.js';
import { nearEventNames, probabilityColumn, resolveTarget } from '../../src/pipeline/target.js';

const fx = (f: string) => join(import.meta.dirname, '..', 'fixtures', f);

describe('propensity target labels on a literal log (test/fixtures/upgrade-edges.csv, as of 2026-03-14, 7-day horizon)', async () => {
  const config = await resolveConfig({ config: fx('upgrade-config.json') });
  const store = await loadEvents([fx('upgrade-edges.csv')], config);
  const table = await computeFeatures(store, { asOf: '2026-03-14', horizonDays: 7 });
  const target = await resolveTarget('upgrade', config, store);
  const labels = await computeTargetLabels(store, table, target);
  const by = (a: Uint8Array) => Object.fromEntries(table.userIds.map((u, i) => [u, a[i]]));

  it('resolves upgrade to the taxonomy events found in the log', () => {
    expect(target).toEqual({ kind: 'upgrade', event: 'Submit Upgrade', events: ['Submit Upgrade'] });
  });

  it('users are those with an event before the cutoff; "late" (first event after it) is not one', () => {
    expect(table.userIds).toEqual(['e0', 'e1', 'e2', 'gone', 'n0', 'p1']);
  });

  it('label: the cutoff instant and the last second of the horizon are in, its end instant is out', () => {
    expect(by(labels.label)).toEqual({ e0: 1, e1: 1, e2: 0, gone: 1, n0: 0, p1: 1 });
  });

  it('prior: only p1 upgraded before the cutoff', () => {
    expect(by(labels.prior)).toEqual({ e0: 0, e1: 0, e2: 0, gone: 0, n0: 0, p1: 1 });
  });

  it('eligible users leave out prior upgraders and already-churned users, counted apart', () => {
    const t = withTargetLabels(table, labels);
    const e = eligibleRows(t);
    expect(Array.from(e.rows, (i) => t.userIds[i])).toEqual(['e0', 'e1', 'e2', 'n0']);
    expect(e.alreadyChurned).toBe(1); // gone: idle 42 days (weekly cadence: 21)
    expect(e.priorTarget).toBe(1); // p1
    // the churn table of the same cutoff keeps p1 (only the churned user is left out)
    expect(eligibleRows(table).rows.length).toBe(5);
    const line = formatSetSizes([{ role: 'test', cutoff: '2026-03-14', users: 4, churners: 2, alreadyChurned: 1, priorTarget: 1 }], outcomeNames(target));
    expect(line[0]).toBe('test       2026-03-14: 4 users, 2 upgraders (50.0%), 1 already churned left out, 1 who did upgrade before the cutoff left out');
  });

  it('event:NAME takes any event of the log', async () => {
    const t = await resolveTarget('event:Home', config, store);
    expect(t).toEqual({ kind: 'event', event: 'Home', events: ['Home'] });
    const l = await computeTargetLabels(store, table, t);
    // every user opened Home before the cutoff and nobody after it
    expect(by(l.label)).toEqual({ e0: 0, e1: 0, e2: 0, gone: 0, n0: 0, p1: 0 });
    expect(by(l.prior)).toEqual({ e0: 1, e1: 1, e2: 1, gone: 1, n0: 1, p1: 1 });
  });

  it('an event absent from the log is one clear error naming it and the near names', async () => {
    await expect(resolveTarget('event:Submit Upgrad', config, store)).rejects.toMatchObject({
      code: 'TARGET_EVENT_ABSENT',
      message: expect.stringMatching(/^--target event:Submit Upgrad: the event "Submit Upgrad" does not occur in the log \(2 distinct event names\); near names: "Submit Upgrade"; event names are case-sensitive\.$/),
    });
    await expect(resolveTarget('event:submit upgrade', config, store)).rejects.toThrow(/near names: "Submit Upgrade"/);
    const noUpgrade = { ...config, taxonomy: { ...config.taxonomy, upgrade: ['Upgraded Plan'] } };
    await expect(resolveTarget('upgrade', noUpgrade, store)).rejects.toMatchObject({ code: 'TARGET_EVENT_ABSENT', message: expect.stringMatching(/none of the upgrade events .*"Upgraded Plan".* occurs in the log/) });
    const empty = { ...config, taxonomy: { ...config.taxonomy, upgrade: [] } };
    await expect(resolveTarget('upgrade', empty, store)).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/taxonomy\.upgrade is empty/) });
    await expect(resolveTarget('upgrades', config, store)).rejects.toThrow(/--target must be churn, upgrade or event:NAME, got "upgrades"/);
  });

  it('near names: edit distance or containment, closest first', () => {
    const counts = new Map([['Submit Upgrade', 8], ['Upgrade', 60], ['Submit Downgrade', 20], ['NextSong', 900]]);
    expect(nearEventNames('Submit Upgrad', counts)).toEqual(['Submit Upgrade']);
    expect(nearEventNames('upgrade', counts)).toEqual(['Upgrade', 'Submit Upgrade']);
    expect(nearEventNames('Logout', counts)).toEqual([]);
  });
});

describe('probabilityColumn', () => {
  it('keeps churn_probability for churn and names a target in snake_case', () => {
    expect(probabilityColumn(null)).toBe('churn_probability');
    expect(probabilityColumn({ kind: 'churn', event: null })).toBe('churn_probability');
    expect(probabilityColumn({ kind: 'upgrade', event: 'Submit Upgrade' })).toBe('upgrade_probability');
    expect(probabilityColumn({ kind: 'event', event: 'Add Friend' })).toBe('add_friend_probability');
    expect(probabilityColumn({ kind: 'event', event: 'invitedMember' })).toBe('invited_member_probability');
    expect(probabilityColumn({ kind: 'event', event: 'Thumbs-Up!' })).toBe('thumbs_up_probability');
  });
});
