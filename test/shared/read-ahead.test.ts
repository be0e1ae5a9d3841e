import { describe, expect, it } from 'vitest';
import { readAhead } from '../../src/shared/read-ahead.js';

/** A source that records when each item is asked for, and whether it was closed. */
function source(n: number, failAt = -1) {
  const log: string[] = [];
  async function* gen(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < n; i++) {
        log.push(`read ${i}`);
        await new Promise((r) => setTimeout(r, 1));
        if (i === failAt) throw new Error(`block ${i} is unreadable`);
        yield i;
      }
    } finally {
      log.push('closed');
    }
  }
  return { log, items: gen() };
}

describe('readAhead', () => {
  it('hands out every item in order, and asks for the next one before the caller is done with the current', async () => {
    const { log, items } = source(3);
    const got: number[] = [];
    for await (const x of readAhead(items)) {
      got.push(x);
      await new Promise((r) => setTimeout(r, 5)); // the caller's work on x
      log.push(`used ${x}`);
    }
    expect(got).toEqual([0, 1, 2]);
    // item 1 is read while item 0 is used, item 2 while item 1 is
    expect(log.indexOf('read 1')).toBeLessThan(log.indexOf('used 0'));
    expect(log.indexOf('read 2')).toBeLessThan(log.indexOf('used 1'));
    expect(log.at(-1)).toBe('used 2');
    expect(log).toContain('closed');
  });

  it("a failed read surfaces when its item is due (the items before it are used), with the source's error", async () => {
    const { items } = source(5, 2);
    const got: number[] = [];
    const run = async () => {
      for await (const x of readAhead(items)) got.push(x);
    };
    await expect(run()).rejects.toThrow('block 2 is unreadable');
    expect(got).toEqual([0, 1]);
  });

  it('a caller that stops early closes the source', async () => {
    const { log, items } = source(10);
    for await (const x of readAhead(items)) if (x === 1) break;
    expect(log).toContain('closed');
    expect(log.filter((l) => l.startsWith('read')).length).toBeLessThanOrEqual(3);
  });
});
