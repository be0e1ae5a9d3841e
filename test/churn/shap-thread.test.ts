import { describe, expect, it } from 'vitest';
import { TreeSplit } from '../../src/churn/shap-thread.js';

describe('TreeSplit (the worker share of a block\'s trees)', () => {
  it('gives the worker every tree until both sides are timed, then balances K w = (T - K) h + o', () => {
    const s = new TreeSplit(50);
    expect(s.split).toBe(50);
    s.timed('worker', 1000, 50, 0.05); // 1 microsecond per row and tree
    expect(s.split).toBe(50); // this thread's other work is not known yet
    s.timedOther(1000, 0.01); // 10 microseconds per row
    // h taken as w: K = (50 + 10) / 2
    expect(s.split).toBe(30);
    s.timed('here', 1000, 20, 0.04); // 2 microseconds per row and tree here
    // K = (50 * 2 + 10) / (1 + 2) = 36.7
    expect(s.split).toBe(37);
  });

  it('learns a running mean (half of each new block) and keeps at least one tree in the worker, at most all', () => {
    const s = new TreeSplit(10);
    s.timed('worker', 100, 10, 0.001); // 1 us
    s.timed('worker', 100, 10, 0.003); // 3 us: mean 2 us
    s.timedOther(100, 0); // nothing else to do here: an even split
    expect(s.split).toBe(5);
    s.timedOther(100, 1); // a lot of other work here: the worker takes every tree
    expect(s.split).toBe(10);
    const t = new TreeSplit(10);
    t.timed('worker', 100, 10, 1); // a slow worker, no other work: still one tree there
    t.timed('here', 100, 1, 0.0001);
    t.timedOther(100, 0);
    expect(t.split).toBe(1);
    // empty blocks teach nothing
    t.timed('worker', 0, 10, 5);
    t.timedOther(0, 5);
    expect(t.split).toBe(1);
  });
});
