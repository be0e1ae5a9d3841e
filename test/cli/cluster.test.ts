import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';
import { clusterCommand } from '../../src/cli/cluster.js';
import { assignClusters, type ClusterModel } from '../../src/cluster/index.js';
import { writeFeatureTable } from '../../src/features/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { collectingLogger } from '../../src/shared/log.js';
import { createRng } from '../../src/shared/rng.js';
import { readTable } from '../../src/shared/table-io.js';
import { makeTable, type UserRow } from '../rules/fixture.js';

/**
 * `cohortlab cluster` end to end on a literal features file: three planted user groups (60 each) in
 * the default behavioural features, every other feature 0; a truth file naming the groups.
 */
let dir: string;
const GROUPS: Record<string, UserRow> = {
  power: { sessions_7d: 12, avg_weekly_sessions_28d: 11, active_days_30d: 24, feature_breadth_30d: 0.9, avg_session_minutes_30d: 40, actions_per_session_30d: 18, days_since_last_activity: 0 },
  casual: { sessions_7d: 1, avg_weekly_sessions_28d: 1, active_days_30d: 4, feature_breadth_30d: 0.2, avg_session_minutes_30d: 6, actions_per_session_30d: 3, days_since_last_activity: 5 },
  champion: { sessions_7d: 4, avg_weekly_sessions_28d: 4, active_days_30d: 12, feature_breadth_30d: 0.6, avg_session_minutes_30d: 20, actions_per_session_30d: 10, invites_14d: 6, shares_14d: 8, days_since_last_activity: 1 },
};
const names = Object.keys(GROUPS);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cohortlab-cluster-'));
  const rng = createRng(11);
  const rows: UserRow[] = [];
  const truth: string[] = ['user_id,latent_type'];
  for (let i = 0; i < 180; i++) {
    const g = names[i % 3];
    const row: UserRow = {};
    // +-15% multiplicative noise, and small noise on every default feature so none is constant
    for (const [k, v] of Object.entries(GROUPS[g])) row[k] = (v as number) * (1 + 0.15 * rng.normal());
    row.pricing_views_14d = rng.int(2);
    row.locked_clicks_14d = rng.int(2);
    row.usage_decline = 0.1 * rng.next();
    row.invites_14d = Math.max(0, Math.round(Number(row.invites_14d ?? 0)));
    row.shares_14d = Math.max(0, Math.round(Number(row.shares_14d ?? 0)));
    row.days_since_last_activity = Math.max(0, Math.round(Number(row.days_since_last_activity)));
    row.label = g === 'casual' ? 1 : 0;
    rows.push(row);
    truth.push(`u${i + 1},${g}`);
  }
  const table = makeTable(rows);
  table.config = SYNTHETIC_PRESET;
  await writeFeatureTable(join(dir, 'features.csv'), table);
  await writeFile(join(dir, 'truth.csv'), `${truth.join('\n')}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; out: string; log: string[] }> {
  const logger = collectingLogger();
  let out = '';
  try {
    const code = await clusterCommand.run(parseArgs(argv, clusterCommand.options, 'cluster'), { logger, out: (t) => (out += `${t}\n`), cwd: dir, env: {} });
    return { code, out, log: logger.lines };
  } catch (e) {
    return { code: 2, out, log: [...logger.lines, (e as Error).message] };
  }
}

describe('cohortlab cluster', () => {
  it('cluster --features f --truth t picks k = 3, recovers the groups (ARI 1) and writes the four outputs', async () => {
    const out = join(dir, 'out');
    const r = await run(['--features', join(dir, 'features.csv'), '--seed', '3', '--out', out, '--truth', join(dir, 'truth.csv'), '--k-range', '2..5', '--min-size', '20']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^3 .*<- chosen$/m);
    expect(r.out).toMatch(/ARI against the latent types: 1\.000 \(180 users/);
    const a = await readTable(join(out, 'assignments.csv'));
    expect(a.names).toEqual(['user_id', 'cluster', 'cluster_label', 'pc1', 'pc2']);
    expect(new Set(a.columns.cluster as Float64Array).size).toBe(3);
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(report.k).toBe(3);
    expect(report.crosstabs.map((t: { column: string }) => t.column)).toContain('behavioral_segment');
    const casual = report.profiles.find((p: { churnRate: number }) => p.churnRate === 1);
    expect(casual.size).toBe(60);
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/<svg/);
    expect(html).not.toMatch(/<script src=/);
    // the saved model assigns the training users as the run did
    const model = JSON.parse(await readFile(join(out, 'model.json'), 'utf8')) as ClusterModel;
    const { readFeatureTable } = await import('../../src/features/index.js');
    const table = await readFeatureTable(join(dir, 'features.csv'));
    expect(Array.from(assignClusters(model, table).cluster)).toEqual(Array.from(a.columns.cluster as Float64Array));
  });

  it('names a misspelled feature and refuses k = 1', async () => {
    const bad = await run(['--features', join(dir, 'features.csv'), '--out', join(dir, 'x'), '--features-list', 'sessions_7d,feature_bredth_30d']);
    expect(bad.code).toBe(2);
    expect(bad.log.join('\n')).toMatch(/"feature_bredth_30d" is not a column.*did you mean "feature_breadth_30d"/);
    const k1 = await run(['--features', join(dir, 'features.csv'), '--out', join(dir, 'x'), '--k', '1']);
    expect(k1.code).toBe(2);
    expect(k1.log.join('\n')).toMatch(/--k must be "auto" or an integer from 2 to 100, got "1"/);
  });
});
