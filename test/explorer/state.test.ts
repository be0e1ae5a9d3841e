import { describe, expect, it } from 'vitest';
import { DEFAULT_STATE, membersQuery, panelKey, parseState, stateQuery, type ViewState } from '../../explorer/src/state.js';

describe('the view state in the URL', () => {
  it('writes only what differs from the default, in one key order, and reads it back', () => {
    const s: ViewState = { ...DEFAULT_STATE, panel: 'members', mcluster: 3, by: 'lifecycle_stage', segment: 'At Risk & co', q: 'u_1', sort: 'churn_probability', order: 'asc', page: 4 };
    const q = stateQuery(s);
    expect(q).toBe('?panel=members&mcluster=3&by=lifecycle_stage&segment=At+Risk+%26+co&q=u_1&sort=churn_probability&order=asc&page=4');
    expect(parseState(q)).toEqual(s);
    expect(stateQuery(DEFAULT_STATE)).toBe('');
    expect(parseState('')).toEqual(DEFAULT_STATE);
  });

  it('round-trips every panel and pick', () => {
    const states: Partial<ViewState>[] = [
      { panel: 'detail', cluster: 0, compare: 5 },
      { panel: 'crosstab', cross: 'rfm_segment' },
      { panel: 'retention', retention: 'cluster' },
      { panel: 'time', hcol: 'lifecycle_stage', tby: 'cluster_label', from: '2026-03-31', to: '2026-05-31' },
      { panel: 'drift', drift: '2026-04-30' },
      { panel: 'upgrade' },
    ];
    for (const patch of states) {
      const s = { ...DEFAULT_STATE, ...patch };
      expect(parseState(stateQuery(s))).toEqual(s);
    }
  });

  it('falls back to the default of a key whose value is not valid, keeping the rest', () => {
    const s = parseState('?panel=nope&cluster=-1&compare=x&page=0&order=sideways&from=2026-13&drift=yesterday&mcluster=2');
    expect(s).toEqual({ ...DEFAULT_STATE, mcluster: 2 });
  });

  it('builds the members and export query: cluster and segment together, search, sort, page', () => {
    const s: ViewState = { ...DEFAULT_STATE, mcluster: 1, segment: 'Power Users', q: 'ab', sort: 'engagement_score', order: 'desc', page: 2 };
    expect(membersQuery(s, true)).toBe('cluster=1&segment=Power+Users&by=behavioral_segment&q=ab&sort=engagement_score&order=desc&page=2&page_size=50');
    expect(membersQuery(s, false)).toBe('cluster=1&segment=Power+Users&by=behavioral_segment&q=ab&sort=engagement_score&order=desc');
    expect(membersQuery(DEFAULT_STATE, false)).toBe('');
  });

  it('keys a panel on the state it reads only', () => {
    const a = { ...DEFAULT_STATE, panel: 'detail' as const, cluster: 2 };
    expect(panelKey(a, 'detail')).toBe(panelKey({ ...a, page: 9, q: 'x' }, 'detail'));
    expect(panelKey(a, 'detail')).not.toBe(panelKey({ ...a, compare: 1 }, 'detail'));
    expect(panelKey(a, 'members')).not.toBe(panelKey({ ...a, page: 2 }, 'members'));
  });
});
