import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';
import type { Command } from '../../src/cli/command.js';
import { rulesCommand } from '../../src/cli/rules.js';
import { transitionsCommand } from '../../src/cli/transitions.js';
import { writeFeatureTable } from '../../src/features/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { collectingLogger } from '../../src/shared/log.js';
import { readTable } from '../../src/shared/table-io.js';
import { makeTable } from '../rules/fixture.js';
import { trainedFixture } from '../serve/helper.js';
import { loadEvents } from '../../src/ingest/index.js';
import { computeFeatures } from '../../src/features/index.js';
import { applyRules } from '../../src/rules/index.js';
import { openModelStore } from '../../src/registry/index.js';
import { loadScoringModel } from '../../src/pipeline/load.js';

/** `cohortlab rules` and `cohortlab transitions` end to end on literal feature files in a temp folder. */
let dir: string;
const power = { avg_weekly_sessions_28d: 6, sessions_7d: 6, features_used_30d: 8, feature_breadth_30d: 0.8, tenure_days: 60, avg_session_minutes_30d: 20 };
const regular = { avg_weekly_sessions_28d: 3, sessions_7d: 3, feature_breadth_30d: 0.4, tenure_days: 60 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cohortlab-rules-'));
  const may = makeTable([{ ...power, label: 0 }, { ...regular, label: 0 }, { ...regular, label: 1 }, { days_since_last_activity: 40, total_sessions: 9, label: 1 }]);
  may.config = SYNTHETIC_PRESET;
  await writeFeatureTable(join(dir, 'may.csv'), may);
  // June: u1 drops to Regular, u2 becomes Power, u3 is gone, u4 still Dormant, u5 is new.
  const june = makeTable([{ ...regular }, { ...power }, { days_since_last_activity: 70, total_sessions: 9 }, { ...regular }]);
  june.userIds = ['u1', 'u2', 'u4', 'u5'];
  june.config = SYNTHETIC_PRESET;
  await writeFeatureTable(join(dir, 'june.csv'), june);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs one command as src/cli/index.ts does (parse the flags, run), without loading every other command. */
async function run(argv: string[]): Promise<{ code: number; out: string; log: string[] }> {
  const [name, ...rest] = argv;
  const command: Command = name === 'rules' ? rulesCommand : transitionsCommand;
  const logger = collectingLogger();
  let out = '';
  const ctx = { logger, out: (t: string) => (out += `${t}\n`), cwd: process.cwd(), env: process.env };
  const code = await command.run(parseArgs(rest, command.options, command.name), ctx);
  return { code, out, log: logger.lines };
}

describe('cohortlab rules', () => {
  it('writes the CONTRACT columns and the shipped segments, prints the dashboard whose sizes add up, and warns', async () => {
    const r = await run(['rules', '--features', join(dir, 'may.csv'), '--out', join(dir, 'may-rules.csv')]);
    expect(r.code).toBe(0);
    const t = await readTable(join(dir, 'may-rules.csv'), { textColumns: ['user_id', 'rfm_code'] });
    expect(t.names.slice(0, 17)).toEqual([
      'user_id', 'engagement_score', 'engagement_tier', 'activation_score', 'activation_tier', 'expansion_readiness_score',
      'expansion_readiness_tier', 'churn_risk_score', 'churn_risk_tier', 'behavioral_segment', 'lifecycle_stage', 'rfm_code',
      'rfm_segment', 'at_risk_signals', 'segment_at_risk', 'segment_expansion_ready', 'segment_power_users',
    ]);
    expect(t.columns.behavioral_segment).toEqual(['Power', 'Regular', 'Regular', 'Dormant']);
    expect(Array.from(t.columns.segment_power_users as Float64Array)).toEqual([1, 0, 0, 0]);
    // u1: frequency 20 + breadth 25 + depth 18 + recency 20 = 83
    expect((t.columns.engagement_score as Float64Array)[0]).toBe(83);
    expect((t.columns.engagement__depth as Float64Array)[0]).toBe(18);
    // users, already churned, share, retention (of the live users)
    expect(r.out).toMatch(/Power\s+1\s+0\s+25\.0%\s+100\.0%/);
    expect(r.out).toMatch(/Regular\s+2\s+0\s+50\.0%\s+50\.0%/);
    expect(r.out).toMatch(/Dormant\s+1\s+1\s+25\.0%\s+n\/a/);
    expect(r.out).toMatch(/Total\s+4\s+1\s+100\.0%/);
    expect(Array.from(t.columns.already_churned as Float64Array)).toEqual([0, 0, 0, 1]);
    expect(t.columns.churn_risk_tier).toEqual(['Healthy', 'Healthy', 'Healthy', 'Churned']);
    // the thresholds were fitted on the file itself, and the log says so
    expect(r.log.join('\n')).toMatch(/rule reference thresholds fitted on the scored table itself as of 2024-03-31 \(3 live of 4 users\): §2\.3 Power User top 10% usage >= 6 sessions\/week/);
    expect(r.log).toContain('warning: segment "Power" (behavioral_segment) has 1 users, under the 100 minimum of playbook §10; treat its figures as noise or merge it.');
  });

  it('--by groups the dashboard by another column', async () => {
    const r = await run(['rules', '--features', join(dir, 'may.csv'), '--out', join(dir, 'may-rules.parquet'), '--by', 'lifecycle_stage']);
    expect(r.out).toContain('Cross-segment dashboard (playbook §9.1) by lifecycle_stage, 4 users: 3 live, 1 already churned');
    expect(r.out).toMatch(/Total\s+4\s+1\s+100\.0%/);
    const t = await readTable(join(dir, 'may-rules.parquet'));
    expect(t.columns.lifecycle_stage).toEqual(['Power User', 'Engaged', 'Engaged', 'Churned']);
  });

  it('--reference MODEL takes the thresholds fitted when the model was trained: a one-user file gets the answer of the batch', async () => {
    const fx = await trainedFixture();
    const store = await loadEvents([fx.events], SYNTHETIC_PRESET);
    const table = await computeFeatures(store, { asOf: '2026-05-20' });
    store.close();
    // the lightest user who, alone in a file with thresholds fitted on itself, is its own top 10%: a "Power User"
    const slice = (i: number) => ({ ...table, userIds: [table.userIds[i]], plan: [table.plan[i]], alreadyChurned: table.alreadyChurned.slice(i, i + 1), columns: Object.fromEntries(Object.entries(table.columns).map(([k, c]) => [k, c.slice(i, i + 1)])) });
    const order = table.userIds.map((_, i) => i).sort((x, y) => table.columns.avg_weekly_sessions_28d[x] - table.columns.avg_weekly_sessions_28d[y]);
    const light = order.find((i) => (applyRules(slice(i), SYNTHETIC_PRESET).columns.lifecycle_stage as string[])[0] === 'Power User')!;
    expect(light).toBeDefined();
    const one = { ...table, userIds: [table.userIds[light]], plan: [table.plan[light]], alreadyChurned: table.alreadyChurned.slice(light, light + 1), columns: Object.fromEntries(Object.entries(table.columns).map(([k, c]) => [k, c.slice(light, light + 1)])), config: SYNTHETIC_PRESET };
    await writeFeatureTable(join(dir, 'one.csv'), one);
    const all = { ...table, config: SYNTHETIC_PRESET };
    await writeFeatureTable(join(dir, 'all.csv'), all);
    const self = await run(['rules', '--features', join(dir, 'one.csv'), '--out', join(dir, 'one-self.csv')]);
    expect(self.code).toBe(0);
    const ref = await run(['rules', '--features', join(dir, 'one.csv'), '--reference', 'default', '--models-dir', fx.modelsDir, '--out', join(dir, 'one-ref.csv')]);
    expect(ref.log.join('\n')).toMatch(/rule reference thresholds fitted on the test cutoff's users of train as of \d{4}-\d{2}-\d{2} \(\d+ live of \d+ users\)/);
    await run(['rules', '--features', join(dir, 'all.csv'), '--reference', 'default', '--models-dir', fx.modelsDir, '--out', join(dir, 'all-ref.csv')]);
    const [a, b, c] = await Promise.all(['one-self.csv', 'one-ref.csv', 'all-ref.csv'].map((f) => readTable(join(dir, f), { textColumns: ['user_id', 'rfm_code'] })));
    expect(a.columns.lifecycle_stage).toEqual(['Power User']); // alone and fitted on itself: the skew issue 17 reports
    const k = (c.columns.user_id as string[]).indexOf(table.userIds[light]);
    // every column but the §5.2 recommendations, an analysis of the file's own Power users (docs/rules.md)
    for (const name of b.names.filter((x) => !x.startsWith('recommendation_'))) {
      const v = b.columns[name] as ArrayLike<unknown>;
      expect(v[0], name).toEqual((c.columns[name] as ArrayLike<unknown>)[k]);
    }
    expect(b.columns.lifecycle_stage).not.toEqual(['Power User']);
    const missing = await run(['rules', '--features', join(dir, 'one.csv'), '--reference', 'nope', '--models-dir', fx.modelsDir, '--out', join(dir, 'x.csv')]).catch((e) => e);
    expect(missing.code).toBe('MODEL_NOT_FOUND');
    // a version trained before the thresholds were saved (no rules-reference.json, none in its manifest) is refused: re-train
    const old = join(dir, 'old-models');
    await cp(join(fx.modelsDir, 'default'), join(old, 'default'), { recursive: true });
    await rm(join(old, 'default', '1', 'rules-reference.json'));
    const manifestPath = join(old, 'default', '1', 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    delete manifest.files['rules-reference.json'];
    await writeFile(manifestPath, JSON.stringify(manifest));
    const refused = await run(['rules', '--features', join(dir, 'one.csv'), '--reference', 'default', '--models-dir', old, '--out', join(dir, 'x.csv')]).catch((e) => e);
    expect(refused.code).toBe('MODEL_INCOMPATIBLE');
    expect(refused.message).toMatch(/model default@1 has no rules-reference\.json \(it was trained by an older cohortlab, whose §2\.3 top-10% and §6\.3 quintile thresholds moved with each scored batch\); re-train it\./);
    await expect(loadScoringModel(openModelStore(old), 'default')).rejects.toThrow(/has no rules-reference\.json/);
  }, 180_000);

  it('a rule file with a syntax error is a RULE_SYNTAX error (exit 2) naming file, line and column', async () => {
    const bad = join(dir, 'bad');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'x.segment'), 'segment "X" {\n  conditions { user.is_paid >= }\n}\n');
    const err = await run(['rules', '--features', join(dir, 'may.csv'), '--rules', bad, '--out', join(dir, 'x.csv')]).catch((e) => e);
    expect(err.code).toBe('RULE_SYNTAX');
    expect(err.message).toMatch(/x\.segment:2:32: expected a number, a name, a function call or "\(", found "}"\.$/);
  });
});

describe('cohortlab transitions', () => {
  it('prints the §9.2 matrix between two rules outputs and writes it', async () => {
    expect((await run(['rules', '--features', join(dir, 'june.csv'), '--out', join(dir, 'june-rules.csv')])).code).toBe(0);
    const r = await run(['transitions', '--from', join(dir, 'may-rules.csv'), '--to', join(dir, 'june-rules.csv'), '--out', join(dir, 'moves.csv')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/From \\ To\s+Power\s+Regular\s+Dormant\s+\(gone\)\s+users/);
    expect(r.out).toMatch(/Power\s+0%\s+100%\s+0%\s+0%\s+1/);
    expect(r.out).toMatch(/Regular\s+50%\s+0%\s+0%\s+50%\s+2/);
    expect(r.out).toMatch(/\(new\)\s+0%\s+100%\s+0%\s+0%\s+1/);
    expect(r.out).toContain('1 users only in the first snapshot (column (gone)); 1 users only in the second (row (new)).');
    const m = await readTable(join(dir, 'moves.csv'));
    expect(m.rows).toBe(16);
    expect(m.columns.from[4]).toBe('Regular');
    expect((m.columns.share as Float64Array)[4]).toBe(0.5);
  });
});
