import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CohortlabError } from '../shared/errors.js';
import { parseSegmentRules } from './dsl/parse.js';
import type { SegmentRule } from './types.js';

/** File extension of segment-rule files. */
export const RULE_FILE_EXTENSION = '.segment';

/**
 * The rule files shipped with cohortlab (the three §6.1 segments): `<package root>/rules`. Resolved from
 * this module's URL; src/rules/ and dist/rules/ are both two levels below the package root.
 */
export function defaultRulesDir(): string {
  return fileURLToPath(new URL('../../rules/', import.meta.url));
}

/** Parse every `*.segment` file of a folder (sorted by name, so column order is stable). */
export async function loadSegmentRules(dir: string): Promise<SegmentRule[]> {
  let entries: string[];
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new CohortlabError('BAD_ARGUMENT', `--rules ${dir} is a file; give the folder that holds the *${RULE_FILE_EXTENSION} rule files.`, { path: dir });
    entries = await readdir(dir);
  } catch (e) {
    if (e instanceof CohortlabError) throw e;
    throw new CohortlabError('FILE_NOT_FOUND', `rules folder ${dir} does not exist or cannot be read; give a folder of *${RULE_FILE_EXTENSION} files with --rules.`, { path: dir, cause: e });
  }
  const files = entries.filter((f) => f.endsWith(RULE_FILE_EXTENSION)).sort();
  const out: SegmentRule[] = [];
  const cwd = process.cwd();
  for (const f of files) {
    const full = join(dir, f);
    const shown = full.startsWith(cwd) ? relative(cwd, full) : full;
    out.push(...parseSegmentRules(await readFile(full, 'utf8'), shown));
  }
  const seen = new Map<string, SegmentRule>();
  for (const r of out) {
    const prev = seen.get(r.slug);
    if (prev) {
      throw new CohortlabError('RULE_SYNTAX', `segment "${r.name}" (${r.pos.file}:${r.pos.line}) and segment "${prev.name}" (${prev.pos.file}:${prev.pos.line}) both make the column segment_${r.slug}; rename one of them.`, { path: r.pos.file });
    }
    seen.set(r.slug, r);
  }
  return out;
}
