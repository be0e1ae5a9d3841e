import { BASE_FEATURES, MILESTONE_PREFIX } from '../../src/features/dictionary.js';
import type { FeatureTable } from '../../src/features/types.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import type { EventConfig } from '../../src/ingest/types.js';

/**
 * A literal feature table for rule tests: one object per user giving only the features the test is
 * about; every other feature of the dictionary (and every milestone column) is 0. `plan` defaults to
 * "free", `churned` (alreadyChurned) to 0. Made by hand, no generator involved.
 */
export type UserRow = Record<string, number | string | undefined> & { plan?: string; churned?: number; label?: number };

export function makeTable(rows: UserRow[], config: EventConfig = SYNTHETIC_PRESET): FeatureTable {
  const n = rows.length;
  const names = [...BASE_FEATURES.map((f) => f.name), ...config.activation.milestones.map((m) => MILESTONE_PREFIX + m.name)];
  const columns: Record<string, Float64Array> = {};
  for (const name of names) columns[name] = new Float64Array(n);
  rows.forEach((r, i) => {
    for (const [k, v] of Object.entries(r)) {
      if (k === 'plan' || k === 'churned' || k === 'label' || v === undefined) continue;
      if (!columns[k]) throw new Error(`fixture: unknown feature ${k}`);
      columns[k][i] = v as number;
    }
  });
  const hasLabel = rows.some((r) => r.label !== undefined);
  return {
    asOf: '2024-03-31',
    cutoffMs: Date.UTC(2024, 3, 1),
    userIds: rows.map((_, i) => `u${i + 1}`),
    columns,
    plan: rows.map((r) => r.plan ?? 'free'),
    alreadyChurned: Uint8Array.from(rows.map((r) => r.churned ?? 0)),
    ...(hasLabel ? { label: Uint8Array.from(rows.map((r) => r.label ?? 0)), horizonDays: 30 } : {}),
  };
}
