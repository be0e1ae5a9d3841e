/**
 * The in-sample guard (docs/churn.md "In-sample"): a result is evidence only when the outcomes it is
 * measured on were not among those the model was fitted or calibrated on. Outcomes of a cutoff c with a
 * horizon of h days are the label window [c + 1 day, c + 1 day + h days) (the as-of date is inclusive). The
 * evaluated window overlapping the window of any training or validation cutoff makes the result in-sample.
 * (Feature windows reach back over earlier outcomes by design, in every backtest: only labels count.)
 */
import type { InSampleOverlap } from './report.js';

const DAY_MS = 86_400_000;

export interface LabelledCutoff {
  cutoff: string;
  horizonDays: number;
}

function window(c: LabelledCutoff): [number, number] {
  const start = Date.parse(`${c.cutoff}T00:00:00Z`) + DAY_MS;
  return [start, start + c.horizonDays * DAY_MS];
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Every training/validation cutoff whose label window overlaps the evaluated one, with the days shared. */
export function labelWindowOverlaps(evaluated: LabelledCutoff, fitted: { role: 'train' | 'validation'; cutoff: string; horizonDays: number }[]): InSampleOverlap[] {
  const [a0, a1] = window(evaluated);
  const out: InSampleOverlap[] = [];
  for (const f of fitted) {
    const [b0, b1] = window(f);
    const days = Math.round((Math.min(a1, b1) - Math.max(a0, b0)) / DAY_MS);
    if (days > 0) out.push({ role: f.role, cutoff: f.cutoff, window: [iso(b0), iso(b1)], evaluated: [iso(a0), iso(a1)], days });
  }
  return out.sort((x, y) => y.days - x.days || x.cutoff.localeCompare(y.cutoff));
}
