import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeSynthetic } from '../../src/synth/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { trainPipeline } from '../../src/pipeline/train.js';
import { createMemoryStore, openModelStore, readVersionTable } from '../../src/registry/index.js';
import { computeFeatures } from '../../src/features/index.js';
import { openEventSource } from '../../src/engine/source.js';
import { readTable, readTableMetadata } from '../../src/shared/table-io.js';
import { main } from '../../src/cli/index.js';
import { collectingLogger } from '../../src/shared/log.js';
import { runCli } from '../cli/run.js';
import { loadScoringModel } from '../../src/pipeline/load.js';

/**
 * The data scientist's workflow end to end on a small seeded product: train twice with the same
 * seed (identical metrics and assignments), load, score, compare, and the load errors.
 */
let dir: string;
let modelsDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-train-'));
  modelsDir = join(dir, 'models');
  await writeSynthetic(join(dir, 'data'), { users: 500, days: 150, seed: 3 });
}, 120_000);

const train = (seed: number) =>
  trainPipeline({ events: [join(dir, 'data', 'events.parquet')], config: SYNTHETIC_PRESET, seed, name: 'default', models: openModelStore(modelsDir), kind: 'logistic', k: 4, resamples: 50, keepUserIds: true });

describe('train -> registry -> score', () => {
  it('same data + config + seed gives a new version with identical metrics and assignments', async () => {
    const a = await train(5);
    const b = await train(5);
    expect(a.version.version).toBe(1);
    expect(b.version.version).toBe(2);
    expect(b.evaluation.metrics).toEqual(a.evaluation.metrics);
    const sa = await readTable(join(a.version.dir, 'scores.parquet'));
    const sb = await readTable(join(b.version.dir, 'scores.parquet'));
    expect(sb.columns.user_id).toEqual(sa.columns.user_id);
    expect(Array.from(sb.columns.cluster as Float64Array)).toEqual(Array.from(sa.columns.cluster as Float64Array));
    expect(Array.from(sb.columns.churn_probability as Float64Array)).toEqual(Array.from(sa.columns.churn_probability as Float64Array));
    const manifest = JSON.parse(await readFile(join(a.version.dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: 'default', version: 1, seed: 5, kind: 'cohortlab-model', backend: expect.any(String) });
    expect(manifest.input.files[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.metrics.k).toBe(4);
  }, 180_000);

  it("a gbdt's snapshot and previous scores are the same bits with the reason codes in a worker and in place", async () => {
    const gbdt = async (threads: boolean) => {
      const before = process.env.COHORTLAB_SCORE_THREADS;
      if (threads) delete process.env.COHORTLAB_SCORE_THREADS;
      else process.env.COHORTLAB_SCORE_THREADS = '0';
      try {
        const models = createMemoryStore();
        const r = await trainPipeline({ events: [join(dir, 'data', 'events.parquet')], config: SYNTHETIC_PRESET, seed: 5, name: 'gbdt', models, kind: 'gbdt', k: 4, resamples: 20, keepUserIds: true });
        return (await Promise.all(['scores.parquet', 'scores-previous.parquet'].map((f) => readVersionTable(models, r.version, f)))).map((t) => t!);
      } finally {
        if (before === undefined) delete process.env.COHORTLAB_SCORE_THREADS;
        else process.env.COHORTLAB_SCORE_THREADS = before;
      }
    };
    const [inWorker, inPlace] = [await gbdt(true), await gbdt(false)];
    for (let f = 0; f < 2; f++) {
      expect(inWorker[f].columns.user_id.length).toBeGreaterThan(100);
      expect(inWorker[f].columns).toEqual(inPlace[f].columns);
    }
    expect((inWorker[0].columns.reasons as unknown[]).some((r) => JSON.stringify(r).length > 2)).toBe(true);
  }, 180_000);

  it('a loaded version scores users exactly as the training run did', async () => {
    const model = await loadScoringModel(openModelStore(modelsDir), 'default@1');
    const snap = await readTable(join(model.dir, 'scores.parquet'));
    // Parquet: the chunks of 137 users stream through the appender into one file naming the model and cutoff
    const out = join(dir, 'scored.parquet');
    const logger = collectingLogger();
    const code = await main(['score', '--model', 'default@1', '--models-dir', modelsDir, '--events', join(dir, 'data', 'events.parquet'), '--as-of', String((model.manifest.params as { snapshotAsOf: string }).snapshotAsOf), '--out', out, '--chunk', '137'], { logger, out: () => {} });
    expect(code).toBe(0);
    const scored = await readTable(out);
    expect(scored.columns.user_id).toEqual(snap.columns.user_id);
    const p1 = scored.columns.churn_probability as Float64Array;
    const p0 = snap.columns.churn_probability as Float64Array;
    for (let i = 0; i < p0.length; i++) expect(p1[i]).toBeCloseTo(p0[i], 12);
    expect(scored.columns.cluster_label).toEqual(snap.columns.cluster_label);
    expect(scored.names).toEqual(expect.arrayContaining(['engagement_score', 'churn_risk_tier', 'behavioral_segment', 'lifecycle_stage', 'rfm_segment', 'cluster', 'reasons']));
    expect(logger.lines.some((l) => /scored \d+ users with default@1 .* users\/s/.test(l))).toBe(true);
    expect(await readTableMetadata(out)).toEqual({ model: 'default', version: '1', as_of: String((model.manifest.params as { snapshotAsOf: string }).snapshotAsOf) });
  }, 120_000);

  it('a memory store holds the same version: it loads and scores exactly as the one on disk', async () => {
    const memory = createMemoryStore();
    const m = await trainPipeline({ events: [join(dir, 'data', 'events.parquet')], config: SYNTHETIC_PRESET, seed: 5, name: 'default', models: memory, kind: 'logistic', k: 4, resamples: 50, keepUserIds: true });
    expect(m.version).toEqual({ name: 'default', version: 1, dir: 'memory:models/default/1' });
    const [fromMemory, fromDisk] = [await loadScoringModel(memory, 'default'), await loadScoringModel(openModelStore(modelsDir), 'default@1')];
    expect(fromMemory.featureNames).toEqual(fromDisk.featureNames);
    expect(Object.keys(fromMemory.manifest.files).sort()).toEqual(Object.keys(fromDisk.manifest.files).sort());
    expect(fromMemory.segments.map((r) => r.name)).toEqual(fromDisk.segments.map((r) => r.name));
    const source = await openEventSource({ engine: 'duckdb', events: [join(dir, 'data', 'events.parquet')] }, SYNTHETIC_PRESET, {});
    let table;
    try {
      table = await computeFeatures(source, { asOf: fromDisk.params.snapshotAsOf });
    } finally {
      await source.close();
    }
    const [a, b] = [await fromMemory.score(table), await fromDisk.score(table)];
    expect(a.userIds).toEqual(b.userIds);
    expect(Array.from(a.columns.churn_probability as Float64Array)).toEqual(Array.from(b.columns.churn_probability as Float64Array));
    expect(a.columns.cluster_label).toEqual(b.columns.cluster_label);
    expect(a.columns.behavioral_segment).toEqual(b.columns.behavioral_segment);
    // the snapshot the server answers from, read back through DuckDB from memory
    const stored = await readVersionTable(memory, m.version, 'scores.parquet');
    expect(stored?.columns.user_id).toEqual(b.userIds);
    const [ps, pb] = [stored?.columns.churn_probability as Float64Array, b.columns.churn_probability as Float64Array];
    expect(ps.length).toBe(pb.length);
    for (let i = 0; i < pb.length; i++) expect(ps[i]).toBeCloseTo(pb[i], 12);
  }, 180_000);

  it('names the version and the file when a model is corrupt or missing', async () => {
    const v2 = join(modelsDir, 'default', '2');
    // churn-model.json holds every kind's model (the MLP's weights are beside it in churn-weights.bin)
    const file = join(v2, 'churn-model.json');
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length - 8));
    await expect(loadScoringModel(openModelStore(modelsDir), 'default@2')).rejects.toThrow(/model default@2: file churn-model\.json does not match its sha256/);
    await rm(join(v2, 'manifest.json'));
    await expect(loadScoringModel(openModelStore(modelsDir), 'default@2')).rejects.toThrow(/model default@2 does not exist .* versions of "default": 1/);
    await expect(loadScoringModel(openModelStore(modelsDir), 'nope')).rejects.toThrow(/no model "nope"/);
  });

  it('models list, promote, compare and rm through the CLI', async () => {
    const lines: string[] = [];
    const run = (...argv: string[]) => main([...argv, '--models-dir', modelsDir], { logger: collectingLogger(), out: (t) => lines.push(t) });
    await train(6);
    // 500 synthetic users leave fewer test churners than a verdict needs: promotion asks for --force.
    const m1 = JSON.parse(await readFile(join(modelsDir, 'default', '1', 'manifest.json'), 'utf8'));
    expect(m1.metrics.verdictKind).toBe('insufficient_evidence');
    const refused = await runCli(['models', 'promote', 'default@1', '--models-dir', modelsDir]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/default@1 has the verdict insufficient_evidence \(its test set is too small for a verdict\), so nothing shows it works; pass --force/);
    expect(await run('models', 'promote', 'default@1', '--force')).toBe(0);
    expect(lines.pop()).toBe('default@1 is now production');
    expect(await run('models', 'list')).toBe(0);
    const listing = lines.join('\n');
    expect(listing).toMatch(/default@1 \*/);
    expect(listing).toMatch(/default@3/);
    lines.length = 0;
    expect(await run('models', 'compare', 'default@1', 'default@3')).toBe(0);
    const cmp = lines.join('\n');
    expect(cmp).toMatch(/model rocAuc/);
    // same data, another seed: the same test users, so the two versions are paired on them
    expect(cmp).toMatch(/^insufficient_evidence: Insufficient evidence: ROC-AUC default@3 - default@1 = [-+]\d\.\d{3} \(paired 95% CI .*\) on the same \d+ test users/m);
    expect(cmp).toMatch(/users scored by both; \d+\.\d% moved/);
    expect(await run('models', 'rm', 'default@1')).toBe(2);
    expect(await run('models', 'rm', 'default@3')).toBe(0);
  }, 180_000);
});
