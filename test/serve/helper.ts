import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSynthetic } from '../../src/synth/index.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { trainPipeline } from '../../src/pipeline/train.js';
import { openModelStore } from '../../src/registry/index.js';

/** A small real registry for the server tests: a seeded synthetic product and one trained version. */
export interface Fixture {
  dir: string;
  modelsDir: string;
  events: string;
}

let cached: Promise<Fixture> | null = null;

export function trainedFixture(): Promise<Fixture> {
  cached ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cl-serve-'));
    await writeSynthetic(join(dir, 'data'), { users: 600, days: 150, seed: 4 });
    const modelsDir = join(dir, 'models');
    const events = join(dir, 'data', 'events.parquet');
    await trainPipeline({ events: [events], config: SYNTHETIC_PRESET, seed: 4, name: 'default', models: openModelStore(modelsDir), kind: 'logistic', k: 4, resamples: 50, keepUserIds: true });
    return { dir, modelsDir, events };
  })();
  return cached;
}

let cachedGbdt: Promise<Fixture> | null = null;

/** The same events with a gbdt churn model (`train --model gbdt`), in a registry of its own. */
export function trainedGbdtFixture(): Promise<Fixture> {
  cachedGbdt ??= (async () => {
    const base = await trainedFixture();
    const modelsDir = join(base.dir, 'models-gbdt');
    await trainPipeline({ events: [base.events], config: SYNTHETIC_PRESET, seed: 4, name: 'default', models: openModelStore(modelsDir), kind: 'gbdt', k: 4, resamples: 50, keepUserIds: true });
    return { dir: base.dir, modelsDir, events: base.events };
  })();
  return cachedGbdt;
}

let cachedUpgrade: Promise<Fixture> | null = null;

/** The same events with an upgrade model (`train --target upgrade --name upgrade`), in a registry of its own. */
export function trainedUpgradeFixture(): Promise<Fixture> {
  cachedUpgrade ??= (async () => {
    const base = await trainedFixture();
    const modelsDir = join(base.dir, 'models-upgrade');
    await trainPipeline({ events: [base.events], config: SYNTHETIC_PRESET, seed: 4, name: 'upgrade', models: openModelStore(modelsDir), kind: 'logistic', k: 4, resamples: 50, target: 'upgrade' });
    return { dir: base.dir, modelsDir, events: base.events };
  })();
  return cachedUpgrade;
}
