import { describe, expect, it } from 'vitest';
import { segmentChanges, transitionMatrix } from '../../src/rules/index.js';

const before = { asOf: '2026-05-31', userIds: ['a', 'b', 'c', 'd'], columns: { lifecycle_stage: ['Activated', 'Activated', 'At-risk', 'Churned'], cluster: ['0', '1', '1', '2'] } };
const after = { asOf: '2026-06-30', userIds: ['b', 'a', 'c', 'e'], columns: { lifecycle_stage: ['At-risk', 'Activated', 'At-risk', 'New'], cluster: ['1', '2', '1', '0'] } };

describe('segment changes', () => {
  it('lists moves, entries and exits per column, matched by id', () => {
    expect(segmentChanges(before, after, ['lifecycle_stage', 'cluster'])).toEqual([
      { user_id: 'b', segment: 'lifecycle_stage', from: 'Activated', to: 'At-risk', as_of: '2026-06-30' },
      { user_id: 'd', segment: 'lifecycle_stage', from: 'Churned', to: '(gone)', as_of: '2026-06-30' },
      { user_id: 'e', segment: 'lifecycle_stage', from: '(new)', to: 'New', as_of: '2026-06-30' },
      { user_id: 'a', segment: 'cluster', from: '0', to: '2', as_of: '2026-06-30' },
      { user_id: 'd', segment: 'cluster', from: '2', to: '(gone)', as_of: '2026-06-30' },
      { user_id: 'e', segment: 'cluster', from: '(new)', to: '0', as_of: '2026-06-30' },
    ]);
  });

  it('counts the same moves as the §9.2 matrix off its diagonal', () => {
    const changes = segmentChanges(before, after, ['lifecycle_stage']);
    const m = transitionMatrix({ userIds: before.userIds, labels: before.columns.lifecycle_stage }, { userIds: after.userIds, labels: after.columns.lifecycle_stage }, 'lifecycle_stage');
    let offDiagonal = 0;
    m.from.forEach((f, i) => m.to.forEach((t, j) => (offDiagonal += f === t ? 0 : m.counts[i][j])));
    expect(changes.length).toBe(offDiagonal);
  });

  it('names a missing column and the snapshot', () => {
    expect(() => segmentChanges(before, after, ['behavioral_segment'])).toThrow(/earlier snapshot \(2026-05-31\) has no column "behavioral_segment"/);
  });
});
