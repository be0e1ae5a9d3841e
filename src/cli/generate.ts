import { resolve } from 'node:path';
import { DEFAULT_SHIFT_FACTOR, LATENT_TYPES, writeSynthetic, type WriteSyntheticReport } from '../synth/index.js';
import { DEFAULT_SYNTH_PARAMS } from '../synth/index.js';
import { date, int, str, type ParsedArgs } from './args.js';
import type { Command, CommandContext } from './command.js';
import { CohortlabError } from '../shared/errors.js';

/** `cohortlab generate`: the synthetic product with ground truth (../shared/CONTRACT.md). */
export const generateCommand: Command = {
  name: 'generate',
  summary: 'synthetic product events (a project-management SaaS) with known ground truth',
  usage: 'generate --users N --days D --seed S --out DIR [--start YYYY-MM-DD] [--horizon-days H] [--movement RATE] [--shift-after DATE [--shift-factor F]]',
  options: [
    { name: 'users', type: 'string', description: 'number of users', required: true, placeholder: 'N' },
    { name: 'days', type: 'string', description: 'days of data (at least the horizon + 28)', required: true, placeholder: 'D' },
    { name: 'seed', type: 'string', description: 'random seed (same seed and flags: byte-identical events.csv)', required: true, placeholder: 'S' },
    { name: 'out', type: 'string', description: 'output directory (created if missing)', required: true, placeholder: 'DIR' },
    { name: 'start', type: 'string', description: 'first day of data (UTC)', default: DEFAULT_SYNTH_PARAMS.start, placeholder: 'YYYY-MM-DD' },
    { name: 'horizon-days', type: 'string', description: 'horizon of the truth window; the cutoff is the last day of data minus H', default: String(DEFAULT_SYNTH_PARAMS.horizonDays), placeholder: 'H' },
    { name: 'no-parquet', type: 'boolean', description: 'skip events.parquet (CSV only)' },
    { name: 'movement', type: 'string', description: 'per 30 days, the probability that a regular or power user becomes declining (writes truth-movement.csv)', placeholder: 'RATE' },
    { name: 'shift-after', type: 'string', description: "from this day on (UTC), every user's expected sessions per day x the shift factor", placeholder: 'YYYY-MM-DD' },
    { name: 'shift-factor', type: 'string', description: 'factor of the behaviour shift (above 0, at most 3)', default: String(DEFAULT_SHIFT_FACTOR), placeholder: 'F' },
  ],
  help: [
    'Writes to DIR:',
    '  events.csv, events.parquet  user_id, timestamp (ISO 8601 UTC), event, session_id, plan, signup_at',
    '  truth.csv                   user_id, latent_type, churn_probability, churned, churn_date, churn_at, plan, role,',
    '                              company_size, signup_at, alive_at_cutoff, p_upgrade, upgraded, upgrade_at',
    '  truth.json                  { "as_of": "YYYY-MM-DD", "horizon_days": H }: the cutoff and horizon of the truth',
    '  cohortlab.config.json       the mapping and taxonomy to read the events (preset "synthetic")',
    '  truth-movement.csv          with --movement: user_id, from_type, to_type, moved_at (00:00 UTC of the move day)',
    '',
    'Latent types: power, regular, casual, declining (decays, then cancels), dormant, evaluator (trial), team_champion.',
    'Label (same as cohortlab features): churned = cancelled_subscription in [cutoff, cutoff + H) or no event in the',
    'last 21 days of the horizon (playbook 3.4, weekly cadence). churn_probability is the exact probability of that',
    'label given everything before the cutoff; users who cancelled before the cutoff have 1 (alive_at_cutoff = 0).',
    'Upgrades (train --target upgrade): p_upgrade is the exact probability of a first upgraded_plan in the same window',
    'for users alive and not upgraded at the cutoff (1 for users who upgraded before it); upgrade_at its time, if any.',
    '',
    'Movement (--movement RATE): every 30 days from the first day of data, each regular or power user alive at the',
    'start of the period becomes declining with probability RATE on a uniform day of the period, then decays and',
    'cancels as declining users do. latent_type in truth.csv is the type at the start of the data; the type at any',
    'date is truth.csv plus truth-movement.csv (latentTypesAt). churn_probability and p_upgrade stay exact: they average',
    'over the moves still possible after the cutoff. truth.json gains "movement": { rate, period_days, from, to }.',
    'Shift (--shift-after DATE): from DATE on, active-day probabilities x F (F <= 1; above 1 sessions per active day',
    'x F instead), so expected sessions and events per user-day x F; truth.json gains "shift": { after, factor }.',
    'Without these flags every file is byte-identical to a run before they existed.',
    '',
    'Example: cohortlab generate --users 20000 --days 180 --seed 7 --out data/sample',
  ].join('\n'),
  async run(args: ParsedArgs, ctx: CommandContext): Promise<number> {
    const users = int(args, 'users', 0, 1, 50_000_000);
    const horizonDays = int(args, 'horizon-days', DEFAULT_SYNTH_PARAMS.horizonDays, 1, 365);
    const days = int(args, 'days', 0, horizonDays + 28, 3660);
    const seed = int(args, 'seed', 0, -2147483648, 2147483647);
    const start = date(args, 'start') ?? DEFAULT_SYNTH_PARAMS.start;
    const outArg = str(args, 'out');
    if (!outArg) throw new CohortlabError('BAD_ARGUMENT', '--out needs a directory, e.g. --out data/sample.');
    const movementRate = num(args, 'movement');
    const shiftAfter = date(args, 'shift-after');
    const shiftFactor = num(args, 'shift-factor');
    if (shiftFactor !== undefined && shiftAfter === undefined) throw new CohortlabError('BAD_ARGUMENT', '--shift-factor needs --shift-after YYYY-MM-DD (the day the shift starts).');
    const dir = resolve(ctx.cwd, outArg);
    // Only the flags given: without them the generator runs exactly as before they existed.
    const opt = { ...(movementRate === undefined ? {} : { movementRate }), ...(shiftAfter === undefined ? {} : { shiftAfter, shiftFactor }) };
    const report = await writeSynthetic(dir, { users, days, seed, start, horizonDays, ...opt }, { logger: ctx.logger, parquet: args.flags['no-parquet'] !== true });
    const types = LATENT_TYPES.map((t) => `${t} ${report.typeCounts[t]}`).join(', ');
    const files = [report.files.eventsCsv, report.files.eventsParquet, report.files.truthCsv, report.files.truthJson, report.files.truthMovement, report.files.config].filter((f): f is string => f !== undefined);
    const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
    ctx.logger.info(`files: ${files.join(', ')}`);
    ctx.out(
      `generated ${report.events.toLocaleString('en-US')} events for ${users.toLocaleString('en-US')} users (${types}); ` +
        `truth as of ${report.asOf} + ${report.horizonDays} days: churn rate ${(100 * report.churnRate).toFixed(1)}% ` +
        `(mean true probability ${(100 * report.meanChurnProbability).toFixed(1)}%) among ${report.aliveAtCutoff.toLocaleString('en-US')} users alive at the cutoff, ` +
        `upgrade rate ${(100 * report.upgradeRate).toFixed(1)}% among those not upgraded before it; ` +
        movementText(report) +
        (report.shift === undefined ? '' : `shift from ${report.shift.after}: expected sessions per day x ${report.shift.factor}; `) +
        `generate ${s(report.timingsMs.generate)}, parquet ${s(report.timingsMs.parquet)}, total ${s(report.timingsMs.total)}; out ${dir}`,
    );
    return 0;
  },
};

/** A decimal flag; the range is checked by the generator, which names it. */
function num(args: ParsedArgs, name: string): number | undefined {
  const v = str(args, name);
  if (v === undefined) return undefined;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n)) throw new CohortlabError('BAD_ARGUMENT', `--${name} must be a number, got "${v}".`);
  return n;
}

function movementText(report: WriteSyntheticReport): string {
  if (report.movement === undefined) return '';
  const by = new Map<string, number>();
  for (const r of report.movement.records) by.set(r.fromType, (by.get(r.fromType) ?? 0) + 1);
  const parts = [...by.entries()].sort().map(([from, n]) => `${from} ${n}`);
  return `movement ${report.movement.rate} per ${report.movement.periodDays} days: ${report.movement.records.length} moved to declining (${parts.join(', ') || 'none'}); `;
}
