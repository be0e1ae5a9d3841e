import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { trainPipeline } from '../../src/pipeline/index.js';
import { openModelStore } from '../../src/registry/index.js';
import { readTable } from '../../src/shared/table-io.js';
import { writeSynthetic } from '../../src/synth/index.js';
import { runCli } from './run.js';

/** The CONTRACT commands of issue 21 over a small seeded registry: refresh, history, drift --json, transitions --model. */
let dir: string;
let events: string;
let modelsDir: string;

async function cli(args: string[]) {
  const out: string[] = [];
  const r = await runCli([...args, '--models-dir', modelsDir], { out: (t) => out.push(t) });
  return { ...r, out: out.join('\n') };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-cli-refresh-'));
  await writeSynthetic(join(dir, 'data'), { users: 700, days: 140, seed: 8 });
  events = join(dir, 'data', 'events.parquet');
  modelsDir = join(dir, 'models');
  await trainPipeline({ events: [events], config: SYNTHETIC_PRESET, seed: 8, name: 'default', models: openModelStore(modelsDir), kind: 'logistic', k: 4, resamples: 30, keepUserIds: true });
}, 240_000);

describe('cohortlab refresh / history / drift / transitions --model', () => {
  it('refreshes two dates, writes the changes of the second, and reads them back', async () => {
    const first = await cli(['refresh', '--events', events, '--as-of', '2026-04-15', '--changes', join(dir, 'c1.ndjson')]);
    expect(first.code).toBe(0);
    expect((await readFile(join(dir, 'c1.ndjson'), 'utf8'))).toBe('');
    const second = await cli(['refresh', '--events', events, '--as-of', '2026-05-15', '--changes', join(dir, 'c2.ndjson'), '--json']);
    expect(second.code).toBe(0);
    const rec = JSON.parse(second.out);
    expect(rec).toMatchObject({ as_of: '2026-05-15', previous: '2026-04-15', member_ids: 'raw', replaced: false });
    const lines = (await readFile(join(dir, 'c2.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBe(rec.changes);
    expect(lines.every((l) => l.as_of === '2026-05-15' && l.from !== l.to)).toBe(true);

    const hist = await cli(['history', '--by', 'lifecycle_stage']);
    expect(hist.code).toBe(0);
    expect(hist.out).toMatch(/2026-04-15[\s\S]*2026-05-15/);

    const tr = await cli(['transitions', '--model', 'default', '--from', '2026-04-15', '--to', '2026-05-15', '--by', 'lifecycle_stage', '--out', join(dir, 't.csv')]);
    expect(tr.code).toBe(0);
    const t = await readTable(join(dir, 't.csv'), { textColumns: ['from_as_of', 'to_as_of', 'from', 'to'] });
    expect(t.names).toEqual(['from_as_of', 'to_as_of', 'from', 'to', 'users', 'share']);
    const moved = lines.filter((l) => l.segment === 'lifecycle_stage').length;
    let off = 0;
    for (let i = 0; i < t.rows; i++) if ((t.columns.from as string[])[i] !== (t.columns.to as string[])[i]) off += (t.columns.users as Float64Array)[i];
    expect(off).toBe(moved);

    const drift = await cli(['drift', '--as-of', '2026-05-15', '--json']);
    expect(drift.code).toBe(0);
    const d = JSON.parse(drift.out);
    expect(d.features[0]).toHaveProperty('psi');
    expect(d.prediction).toHaveProperty('psi');
    expect(d.thresholds).toMatchObject({ watch: 0.1, act: 0.25, min_sample: 100 });
  }, 120_000);

  it('evaluate on new data carries the drift section, in report.json and the HTML', async () => {
    const out = join(dir, 'eval');
    const r = await cli(['evaluate', '--events', events, '--as-of', '2026-04-20', '--out', out, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.drift.current.as_of).toBe('2026-04-20');
    expect(report.drift.prediction.name).toBe('churn_probability');
    expect(await readFile(join(out, 'report.html'), 'utf8')).toMatch(/Drift against the training snapshot[\s\S]*<svg/);
  }, 120_000);

  it('says what is missing, in one sentence', async () => {
    const none = await cli(['drift', '--as-of', '2020-01-01']);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/no snapshot dated 2020-01-01/);
    const both = await cli(['transitions', '--model', 'default']);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/--from DATE and --to DATE/);
    const files = await cli(['transitions']);
    expect(files.code).toBe(2);
    const badTrack = await cli(['refresh', '--events', events, '--as-of', '2026-05-20', '--track', 'no_such_column']);
    expect(badTrack.code).toBe(2);
    expect(badTrack.err).toMatch(/--track names columns the scored table lacks: no_such_column/);
  }, 120_000);
});
