import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Structure of the committed notebooks, checked in `npm test` (executing them is `npm run notebooks`, which CI runs
 * after the tests): the tslab kernel, no stale outputs, imports from the package's public API ('cohortlab', i.e.
 * src/index.ts) only, and only the paths a notebook may touch (data/ or ../shared/datasets, never a machine's absolute path).
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NOTEBOOKS = join(ROOT, 'notebooks');
const REQUIRED = ['01-quickstart.ipynb', '02-real-data.ipynb', '03-model-comparison.ipynb', '04-retention-and-value.ipynb', '05-history-and-drift.ipynb'];

interface Cell {
  cell_type: string;
  id?: string;
  source: string | string[];
  metadata?: { execution?: unknown };
  outputs?: unknown[];
  execution_count?: number | null;
}
interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: { kernelspec?: { name?: string } };
  cells: Cell[];
}

const files = readdirSync(NOTEBOOKS).filter((f) => f.endsWith('.ipynb')).sort();
const read = (f: string) => JSON.parse(readFileSync(join(NOTEBOOKS, f), 'utf8')) as Notebook;
const code = (nb: Notebook) => nb.cells.filter((c) => c.cell_type === 'code').map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source));

/** Names a src/ module exports, following `export * from` and `export { ... } from`. */
function exportsOf(tsPath: string, seen = new Set<string>()): Set<string> {
  const names = new Set<string>();
  if (seen.has(tsPath)) return names;
  seen.add(tsPath);
  const text = readFileSync(tsPath, 'utf8');
  for (const m of text.matchAll(/^export\s+(?:declare\s+)?(?:async\s+)?(?:function\*?|const|let|class|interface|type|enum|abstract\s+class)\s+([A-Za-z_$][\w$]*)/gm)) names.add(m[1]);
  for (const m of text.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}/gm)) {
    for (const part of m[1].split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()?.trim();
      if (name) names.add(name);
    }
  }
  for (const m of text.matchAll(/^export\s+\*\s+from\s+'(\.[^']+)\.js'/gm)) {
    for (const n of exportsOf(join(dirname(tsPath), `${m[1]}.ts`), seen)) names.add(n);
  }
  return names;
}

/** `import { a, b as c, type D } from 'cohortlab'` in a cell: the imported names. */
function apiImports(source: string): string[][] {
  const out: string[][] = [];
  for (const m of source.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'cohortlab'/g)) {
    out.push(m[1].split(',').map((p) => p.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0].trim()).filter(Boolean));
  }
  return out;
}

describe('notebooks/', () => {
  it('holds the notebooks of issues 9 and 20', () => {
    expect(REQUIRED.filter((f) => !files.includes(f))).toEqual([]);
  });

  for (const f of files) {
    describe(f, () => {
      const nb = read(f);

      it('runs on the tslab TypeScript kernel, nbformat 4.5 with unique cell ids', () => {
        expect(nb.nbformat).toBe(4);
        expect(nb.metadata.kernelspec?.name).toBe('tslab');
        const ids = nb.cells.map((c) => c.id);
        expect(ids.filter((id) => typeof id !== 'string' || id === '')).toEqual([]);
        expect(new Set(ids).size).toBe(ids.length);
      });

      it('is committed with its outputs, execution counts and timings cleared', () => {
        const withOutputs = nb.cells.flatMap((c, i) => ((c.outputs?.length ?? 0) > 0 || (c.execution_count ?? null) !== null || c.metadata?.execution !== undefined ? [i + 1] : []));
        expect(withOutputs, `cells with outputs (clear them: bash scripts/notebooks.sh clear notebooks/${f})`).toEqual([]);
      });

      it("imports from 'cohortlab' (the package's public API, src/index.ts) only, names that it exports", () => {
        const names = code(nb).flatMap(apiImports).flat();
        expect(names.length).toBeGreaterThan(2);
        const exported = exportsOf(join(ROOT, 'src', 'index.ts'));
        expect(names.filter((n) => !exported.has(n))).toEqual([]);
        // Never a deep import into the build or a copy of the sources next to the notebook.
        expect(code(nb).join('\n')).not.toMatch(/from\s+'(\.\.\/(src|dist)\/|cohortlab\/)/);
      });

      it('touches only data/, ../shared/datasets and module paths, never an absolute path', () => {
        const text = code(nb).join('\n');
        const literals = [...text.matchAll(/(['"`])((?:\.\.?\/|\/|[A-Za-z]:\\)[^'"`$]*)/g)].map((m) => m[2]);
        const absolute = literals.filter((p) => p.startsWith('/') || /^[A-Za-z]:\\/.test(p));
        expect(absolute).toEqual([]);
        const allowed = (p: string) => p.startsWith('../data/') || p.startsWith('../../shared/datasets/');
        expect(literals.filter((p) => !allowed(p))).toEqual([]);
      });
    });
  }
});
