import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { renderRulesDoc } from '../../src/rules/index.js';

describe('docs/rules.md', () => {
  it('is the page generated from the threshold tables (regenerate with the command in src/rules/docs.ts)', async () => {
    const onDisk = await readFile(new URL('../../docs/rules.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(renderRulesDoc());
  });
  it('states the overlap choices next to their tables', () => {
    const doc = renderRulesDoc();
    expect(doc).toContain('| [8, 15) | 3 points | 8-14 days: 3 |');
    expect(doc).toContain('| [15, +inf) | 0 points | 14+: 0 |');
    expect(doc).toContain('| [1, 2) | 5 points | 1: 5 |');
    expect(doc).toContain('| (70, +inf) | 25 points | Score >70: 25 |');
  });
});
