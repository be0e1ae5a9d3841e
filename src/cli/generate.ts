import { resolve } from 'node:path';
import { LATENT_TYPES, writeSynthetic } from '../synth/index.js';
import { DEFAULT_SYNTH_PARAMS } from '../synth/types.js';
import { date, int, str, type ParsedArgs } from './args.js';
import type { Command, CommandContext } from './command.js';
import { CohortlabError } from '../shared/errors.js';

/** `cohortlab generate`: the synthetic product with ground truth (../shared/CONTRACT.md). */
export const generateCommand: Command = {
  name: 'generate',
  summary: 'synthetic product events (a project-management SaaS) with known ground truth',
  usage: 'generate --users N --days D --seed S --out DIR [--start YYYY-MM-DD] [--horizon-days H]',
  options: [
    { name: 'users', type: 'string', description: 'number of users', required: true, placeholder: 'N' },
    { name: 'days', type: 'string', description: 'days of data (at least the horizon + 28)', required: true, placeholder: 'D' },
    { name: 'seed', type: 'string', description: 'random seed (same seed and flags: byte-identical events.csv)', required: true, placeholder: 'S' },
    { name: 'out', type: 'string', description: 'output directory (created if missing)', required: true, placeholder: 'DIR' },
    { name: 'start', type: 'string', description: 'first day of data (UTC)', default: DEFAULT_SYNTH_PARAMS.start, placeholder: 'YYYY-MM-DD' },
    { name: 'horizon-days', type: 'string', description: 'horizon of the truth window; the cutoff is the last day of data minus H', default: String(DEFAULT_SYNTH_PARAMS.horizonDays), placeholder: 'H' },
    { name: 'no-parquet', type: 'boolean', description: 'skip events.parquet (CSV only)' },
  ],
  help: [
    'Writes to DIR:',
    '  events.csv, events.parquet  user_id, timestamp (ISO 8601 UTC), event, session_id, plan, signup_at',
    '  truth.csv                   user_id, latent_type, churn_probability, churned, churn_date, churn_at, plan, role,',
    '                              company_size, signup_at, alive_at_cutoff, p_upgrade, upgraded, upgrade_at',
    '  truth.json                  { "as_of": "YYYY-MM-DD", "horizon_days": H }: the cutoff and horizon of the truth',
    '  cohortlab.config.json       the mapping and taxonomy to read the events (preset "synthetic")',
    '',
    'Latent types: power, regular, casual, declining (decays, then cancels), dormant, evaluator (trial), team_champion.',
    'Label (same as cohortlab features): churned = cancelled_subscription in [cutoff, cutoff + H) or no event in the',
    'last 21 days of the horizon (playbook 3.4, weekly cadence). churn_probability is the exact probability of that',
    'label given everything before the cutoff; users who cancelled before the cutoff have 1 (alive_at_cutoff = 0).',
    'Upgrades (train --target upgrade): p_upgrade is the exact probability of a first upgraded_plan in the same window',
    'for users alive and not upgraded at the cutoff (1 for users who upgraded before it); upgrade_at its time, if any.',
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
    const dir = resolve(ctx.cwd, outArg);
    const report = await writeSynthetic(dir, { users, days, seed, start, horizonDays }, { logger: ctx.logger, parquet: args.flags['no-parquet'] !== true });
    const types = LATENT_TYPES.map((t) => `${t} ${report.typeCounts[t]}`).join(', ');
    const files = [report.files.eventsCsv, report.files.eventsParquet, report.files.truthCsv, report.files.truthJson, report.files.config].filter((f): f is string => f !== undefined);
    const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
    ctx.logger.info(`files: ${files.join(', ')}`);
    ctx.out(
      `generated ${report.events.toLocaleString('en-US')} events for ${users.toLocaleString('en-US')} users (${types}); ` +
        `truth as of ${report.asOf} + ${report.horizonDays} days: churn rate ${(100 * report.churnRate).toFixed(1)}% ` +
        `(mean true probability ${(100 * report.meanChurnProbability).toFixed(1)}%) among ${report.aliveAtCutoff.toLocaleString('en-US')} users alive at the cutoff, ` +
        `upgrade rate ${(100 * report.upgradeRate).toFixed(1)}% among those not upgraded before it; ` +
        `generate ${s(report.timingsMs.generate)}, parquet ${s(report.timingsMs.parquet)}, total ${s(report.timingsMs.total)}; out ${dir}`,
    );
    return 0;
  },
};
