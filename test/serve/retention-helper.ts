import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openModelStore } from '../../src/registry/index.js';
import { RETENTION_FILE } from '../../src/retention/index.js';
import type { Fixture } from './helper.js';

/**
 * A copy of the fixture version without retention.json, as a version written before train stored the curves:
 * registered under `name` through the registry's own writer (files and sha256 listed anew). Returns its ref.
 */
export async function versionWithoutRetention(fx: Fixture, name: string, from = 'default/1'): Promise<string> {
  const src = join(fx.modelsDir, from);
  const v = await openModelStore(fx.modelsDir).writeVersion(name, async (dir) => {
    await cp(src, dir, { recursive: true, filter: (p) => !p.endsWith('manifest.json') && !p.endsWith(RETENTION_FILE) });
    const m = JSON.parse(await readFile(join(src, 'manifest.json'), 'utf8'));
    delete m.files;
    delete m.version;
    delete m.name;
    return m;
  });
  return `${v.name}@${v.version}`;
}
