// The stage-order checker behind test/architecture.test.ts (issue 19 part 2). It parses every import in
// src/ with the TypeScript compiler API (static imports, `export ... from`, `import type`, dynamic `import()`)
// and reports three kinds of violation, each with the offending file:line:
//   - "cycle": two or more stages import each other in a loop;
//   - "upward": a stage imports a stage that sits later in the data path;
//   - "deep": a stage imports another stage's internals instead of its index.ts.
// The checker works on a plain import list so it can be tested on a small literal graph.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import ts from 'typescript';

/**
 * The layers, lowest first. A stage may import its own files, `shared/`, and stages of the same or a lower layer
 * (through their index.ts). Same-layer imports are allowed as long as they form no cycle.
 */
export const STAGE_LAYERS: readonly (readonly string[])[] = [
  ['shared'],
  ['ingest', 'engine', 'synth'],
  ['features'],
  ['rules', 'cluster', 'churn', 'ltv', 'retention'],
  ['evaluate'],
  ['registry'],
  ['pipeline'],
  ['serve', 'cli'],
];

/** Stages every other stage may import, by any path (shared helpers have no index.ts of their own). */
export const OPEN_STAGES: readonly string[] = ['shared'];

export interface ImportEdge {
  /** Importing file, relative to the source root, with '/' separators (e.g. 'churn/index.ts'). */
  readonly file: string;
  readonly line: number;
  /** The imported file, relative to the source root (e.g. 'evaluate/metrics.ts'). */
  readonly target: string;
}

export type ViolationKind = 'cycle' | 'upward' | 'deep';

export interface Violation {
  readonly kind: ViolationKind;
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** The stage a source-relative path belongs to: its first folder ('' for a file at the root such as index.ts). */
export function stageOf(path: string): string {
  const slash = path.indexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

function layerIndex(layers: readonly (readonly string[])[]): Map<string, number> {
  const index = new Map<string, number>();
  layers.forEach((stages, i) => stages.forEach((s) => index.set(s, i)));
  return index;
}

/** True when `target` is the public entry of its stage (`<stage>/index.ts`). */
function isStageIndex(target: string): boolean {
  const stage = stageOf(target);
  return target === `${stage}/index.ts`;
}

/**
 * Checks an import list against the layers. Root files (src/index.ts, the public API) may import any stage's
 * index; imports inside one stage are free.
 */
export function checkImports(
  edges: readonly ImportEdge[],
  layers: readonly (readonly string[])[] = STAGE_LAYERS,
  open: readonly string[] = OPEN_STAGES,
): Violation[] {
  const layerOf = layerIndex(layers);
  const violations: Violation[] = [];
  const stageEdges = new Map<string, Map<string, ImportEdge>>();
  for (const edge of edges) {
    const from = stageOf(edge.file);
    const to = stageOf(edge.target);
    if (from === to || open.includes(to)) continue;
    if (from !== '') {
      const fromLayer = layerOf.get(from);
      const toLayer = layerOf.get(to);
      if (fromLayer === undefined) {
        violations.push({ kind: 'upward', file: edge.file, line: edge.line, message: `stage "${from}" is not placed in STAGE_LAYERS; add it to a layer` });
      } else if (toLayer === undefined) {
        violations.push({ kind: 'upward', file: edge.file, line: edge.line, message: `imports "${edge.target}" of stage "${to}", which is not placed in STAGE_LAYERS` });
      } else if (toLayer > fromLayer) {
        violations.push({
          kind: 'upward',
          file: edge.file,
          line: edge.line,
          message: `${from} (layer ${fromLayer}) imports ${edge.target} of the later stage ${to} (layer ${toLayer})`,
        });
      }
      const targets = stageEdges.get(from) ?? new Map<string, ImportEdge>();
      if (!targets.has(to)) targets.set(to, edge);
      stageEdges.set(from, targets);
    }
    if (!isStageIndex(edge.target)) {
      violations.push({
        kind: 'deep',
        file: edge.file,
        line: edge.line,
        message: `imports ${edge.target}, an internal file of stage ${to}; import ${to}/index.ts instead`,
      });
    }
  }
  for (const cycle of stageCycles(stageEdges)) {
    const first = stageEdges.get(cycle[0])!.get(cycle[1 % cycle.length])!;
    const hops = cycle.map((s, i) => {
      const e = stageEdges.get(s)!.get(cycle[(i + 1) % cycle.length])!;
      return `${e.file}:${e.line} -> ${e.target}`;
    });
    violations.push({
      kind: 'cycle',
      file: first.file,
      line: first.line,
      message: `stages ${[...cycle, cycle[0]].join(' -> ')} import each other in a cycle (${hops.join('; ')})`,
    });
  }
  return violations;
}

/** Every strongly connected group of two or more stages, as one cycle through the group (Tarjan, then a walk). */
function stageCycles(graph: Map<string, Map<string, ImportEdge>>): string[][] {
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let counter = 0;
  const nodes = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((m) => [...m.keys()])])].sort();
  const visit = (v: string): void => {
    indexOf.set(v, counter);
    low.set(v, counter);
    counter += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of [...(graph.get(v)?.keys() ?? [])].sort()) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
      }
    }
    if (low.get(v) === indexOf.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const n of nodes) if (!indexOf.has(n)) visit(n);
  // Turn each group into one concrete loop: breadth-first from the group's first stage back to itself.
  return groups.map((group) => {
    const start = group[0];
    const members = new Set(group);
    const prev = new Map<string, string>();
    const queue = [start];
    let end: string | undefined;
    while (queue.length > 0 && end === undefined) {
      const v = queue.shift()!;
      for (const w of [...(graph.get(v)?.keys() ?? [])].sort()) {
        if (!members.has(w)) continue;
        if (w === start) {
          end = v;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [end!];
    while (path[0] !== start) path.unshift(prev.get(path[0])!);
    return path;
  });
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) return listTs(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Every relative import in one source text: static, `export from`, `import type`, `import x = require()`, and `import()`. */
export function importsOf(sourceText: string, fileName: string): { specifier: string; line: number }[] {
  const source = ts.createSourceFile(fileName, sourceText, ts.ScriptTarget.ES2022, true);
  const found: { specifier: string; line: number }[] = [];
  const add = (node: ts.Node, literal: ts.Expression | undefined): void => {
    if (literal && ts.isStringLiteralLike(literal)) {
      found.push({ specifier: literal.text, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
    }
  };
  const walk = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node, node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal as ts.Expression);
    ts.forEachChild(node, walk);
  };
  walk(source);
  return found;
}

/** The import list of a source tree: relative imports resolved to source-relative .ts paths. */
export function collectImports(srcDir: string): ImportEdge[] {
  const root = resolve(srcDir);
  const edges: ImportEdge[] = [];
  for (const full of listTs(root).sort()) {
    const file = relative(root, full).split(sep).join('/');
    for (const { specifier, line } of importsOf(readFileSync(full, 'utf8'), full)) {
      if (!specifier.startsWith('.')) continue;
      const resolved = relative(root, resolve(dirname(full), specifier)).split(sep).join('/');
      const target = resolved.replace(/\.js$/, '.ts');
      edges.push({ file, line, target: target.endsWith('.ts') || target.endsWith('.json') ? target : `${target}.ts` });
    }
  }
  return edges;
}

/** One line per violation, `src/<file>:<line> [kind] message`, sorted by file and line. */
export function formatViolations(violations: readonly Violation[], prefix = 'src/'): string {
  return [...violations]
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.kind.localeCompare(b.kind))
    .map((v) => `${prefix}${v.file}:${v.line} [${v.kind}] ${v.message}`)
    .join('\n');
}
