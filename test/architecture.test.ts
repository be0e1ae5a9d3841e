import { describe, expect, it } from 'vitest';
import { checkImports, collectImports, formatViolations, importsOf, STAGE_LAYERS, type ImportEdge } from './architecture-check.js';

// The stage order of docs/architecture.md, enforced on every import in src/ (issue 19 part 2).

const LAYERS = [['shared'], ['ingest'], ['features'], ['rules', 'churn'], ['evaluate'], ['pipeline']];
const edge = (file: string, line: number, target: string): ImportEdge => ({ file, line, target });

describe('checkImports on a literal graph', () => {
  it('passes downward imports through index.ts, imports inside a stage and imports of shared/', () => {
    const edges = [
      edge('features/compute.ts', 1, 'ingest/index.ts'),
      edge('rules/engine.ts', 2, 'features/index.ts'),
      edge('rules/engine.ts', 3, 'rules/tables/scores.ts'),
      edge('churn/fit.ts', 4, 'shared/errors.ts'),
      edge('rules/sql.ts', 5, 'churn/index.ts'), // same layer, no cycle
      edge('index.ts', 6, 'pipeline/index.ts'), // the public API at the root
    ];
    expect(checkImports(edges, LAYERS)).toEqual([]);
  });

  it('flags an import from a later stage, naming file, line and both layers', () => {
    const v = checkImports([edge('churn/index.ts', 25, 'evaluate/index.ts')], LAYERS);
    expect(v).toEqual([{ kind: 'upward', file: 'churn/index.ts', line: 25, message: 'churn (layer 3) imports evaluate/index.ts of the later stage evaluate (layer 4)' }]);
    expect(formatViolations(v)).toBe('src/churn/index.ts:25 [upward] churn (layer 3) imports evaluate/index.ts of the later stage evaluate (layer 4)');
  });

  it("flags a deep import into another stage's internals, and suggests its index.ts", () => {
    const v = checkImports([edge('rules/engine.ts', 1, 'features/types.ts')], LAYERS);
    expect(v).toEqual([{ kind: 'deep', file: 'rules/engine.ts', line: 1, message: 'imports features/types.ts, an internal file of stage features; import features/index.ts instead' }]);
  });

  it('flags a cycle between stages of one layer with every hop of the loop', () => {
    const v = checkImports([edge('rules/sql.ts', 3, 'churn/index.ts'), edge('churn/sql.ts', 7, 'rules/index.ts')], LAYERS);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ kind: 'cycle', file: 'churn/sql.ts', line: 7 });
    expect(v[0].message).toBe('stages churn -> rules -> churn import each other in a cycle (churn/sql.ts:7 -> rules/index.ts; rules/sql.ts:3 -> churn/index.ts)');
  });

  it('finds a cycle through three stages and reports the upward hop too', () => {
    const v = checkImports(
      [edge('features/index.ts', 11, 'ingest/index.ts'), edge('ingest/read.ts', 2, 'churn/index.ts'), edge('churn/fit.ts', 1, 'features/index.ts')],
      LAYERS,
    );
    expect(v.map((x) => x.kind).sort()).toEqual(['cycle', 'upward']);
    expect(v.find((x) => x.kind === 'cycle')!.message).toMatch(/^stages churn -> features -> ingest -> churn import each other in a cycle/);
  });

  it('refuses a stage that is not placed in a layer', () => {
    const v = checkImports([edge('mystery/x.ts', 4, 'ingest/index.ts')], LAYERS);
    expect(v).toEqual([{ kind: 'upward', file: 'mystery/x.ts', line: 4, message: 'stage "mystery" is not placed in STAGE_LAYERS; add it to a layer' }]);
  });
});

describe('importsOf', () => {
  it('finds static, type-only, re-export, dynamic and import-type specifiers with their lines', () => {
    const text = [
      "import { a } from '../features/index.js';",
      "import type { B } from '../rules/types.js';",
      "export * from './local.js';",
      "export { c } from '../churn/index.js';",
      "const m = await import('../evaluate/report.js');",
      "type T = import('../registry/index.js').Manifest;",
      "import {",
      '  d,',
      "} from '../cluster/index.js';",
      "const s = 'import x from \"../not/an/import.js\"';",
    ].join('\n');
    expect(importsOf(text, 'x.ts')).toEqual([
      { specifier: '../features/index.js', line: 1 },
      { specifier: '../rules/types.js', line: 2 },
      { specifier: './local.js', line: 3 },
      { specifier: '../churn/index.js', line: 4 },
      { specifier: '../evaluate/report.js', line: 5 },
      { specifier: '../registry/index.js', line: 6 },
      { specifier: '../cluster/index.js', line: 7 },
    ]);
  });
});

describe('src/', () => {
  const edges = collectImports('src');
  it('every stage directory of src/ is placed in a layer', () => {
    const stages = new Set(edges.map((e) => e.file.split('/')[0]).filter((s) => !s.endsWith('.ts')));
    const placed = new Set(STAGE_LAYERS.flat());
    expect([...stages].filter((s) => !placed.has(s))).toEqual([]);
  });

  it('has no cycle between stages, no import from a later stage and no deep import into another stage', () => {
    expect(edges.length).toBeGreaterThan(300);
    const report = formatViolations(checkImports(edges));
    expect(report, `stage-order violations (docs/architecture.md):\n${report}`).toBe('');
  });
});
