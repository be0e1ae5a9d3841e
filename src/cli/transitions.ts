import { historyTransitions, monthlyTransitions } from '../pipeline/index.js';
import { formatTransitions, transitionMatrix, type TransitionMatrix } from '../rules/index.js';
import { CohortlabError } from '../shared/errors.js';
import { readTable, writeTable, type ColumnTable } from '../shared/table-io.js';
import { bool, date, str, MODELS_DIR_OPTION } from './args.js';
import type { Command } from './command.js';
import { historyOf } from './history.js';

function snapshot(t: ColumnTable, path: string, by: string): { userIds: string[]; labels: string[] } {
  const ids = t.columns.user_id;
  if (!ids) throw new CohortlabError('MISSING_COLUMN', `"${path}" has no user_id column; give two outputs of "cohortlab rules".`, { path });
  const c = t.columns[by];
  if (!c) throw new CohortlabError('MISSING_COLUMN', `"${path}" has no column "${by}" for --by; its columns are: ${t.names.join(', ')}.`, { path });
  const userIds = Array.isArray(ids) ? ids : Array.from(ids, (v) => String(v));
  const labels = Array.isArray(c) ? c : Array.from(c as ArrayLike<number>, (v) => (Number.isNaN(v) ? '' : String(v)));
  return { userIds, labels };
}

/** The long form of the matrix (CONTRACT: from, to, users, share), with the snapshot dates when they are known. */
function longForm(ms: (TransitionMatrix & { from_as_of?: string; to_as_of?: string })[]): ColumnTable {
  const cols = { from_as_of: [] as string[], to_as_of: [] as string[], from: [] as string[], to: [] as string[], users: [] as number[], share: [] as number[] };
  for (const m of ms) {
    m.from.forEach((f, i) =>
      m.to.forEach((t, j) => {
        cols.from_as_of.push(m.from_as_of ?? '');
        cols.to_as_of.push(m.to_as_of ?? '');
        cols.from.push(f);
        cols.to.push(t);
        cols.users.push(m.counts[i][j]);
        cols.share.push(m.shares[i][j]);
      }),
    );
  }
  const dated = ms.some((m) => m.from_as_of);
  const names = [...(dated ? ['from_as_of', 'to_as_of'] : []), 'from', 'to', 'users', 'share'];
  return { rows: cols.from.length, names, columns: { ...cols, users: Float64Array.from(cols.users), share: Float64Array.from(cols.share) } };
}

/** --model REF: between two stored snapshots of its history (or month over month with --monthly). */
async function fromHistory(args: Parameters<Command['run']>[0], ctx: Parameters<Command['run']>[1], by: string): Promise<(TransitionMatrix & { from_as_of: string; to_as_of: string })[]> {
  const { history } = await historyOf(args, ctx);
  if (bool(args, 'monthly')) {
    const ms = await monthlyTransitions(history, by);
    if (!ms.length) throw new CohortlabError('SNAPSHOT_NOT_FOUND', `month over month needs snapshots in at least two months; the history ${history.location} has ${(await history.list()).join(', ') || 'none'}.`);
    return ms;
  }
  const from = date(args, 'from');
  const to = date(args, 'to');
  if (!from || !to) throw new CohortlabError('BAD_ARGUMENT', 'with --model, give --from DATE and --to DATE (two snapshot dates of the history), or --monthly.');
  return [await historyTransitions(history, from, to, by)];
}

export const transitionsCommand: Command = {
  name: 'transitions',
  summary: 'segment transition matrix (playbook §9.2) between two rules outputs, or two snapshots of a model\'s history',
  usage: 'transitions (--from FILE --to FILE | --model REF (--from DATE --to DATE | --monthly)) [--by COLUMN] [--out FILE]',
  options: [
    { name: 'from', type: 'string', description: 'the earlier output of "cohortlab rules"; with --model, the earlier snapshot date', placeholder: 'FILE|DATE' },
    { name: 'to', type: 'string', description: 'the later output of "cohortlab rules"; with --model, the later snapshot date', placeholder: 'FILE|DATE' },
    { name: 'model', type: 'string', description: 'read the two snapshots from this model\'s history (cohortlab refresh)', placeholder: 'REF' },
    { name: 'monthly', type: 'boolean', description: 'with --model: month over month (the last snapshot of each month against the month before\'s)' },
    { name: 'by', type: 'string', description: 'segment column to compare (with --model also lifecycle_stage, cluster_label, a segment_* column, a tier)', placeholder: 'COLUMN', default: 'behavioral_segment' },
    { name: 'out', type: 'string', description: 'also write the matrix (.csv or .parquet, long form: from, to, users, share; from_as_of, to_as_of first with --model)', placeholder: 'FILE' },
    MODELS_DIR_OPTION,
  ],
  help: 'Rows are the segments of --from, columns those of --to; each row sums to 100%. Users missing from --to are counted in the "(gone)" column; users only in --to come from the "(new)" row.\nExamples: cohortlab transitions --from rules-2026-05-31.csv --to rules-2026-06-30.csv\n          cohortlab transitions --model default --from 2026-05-31 --to 2026-06-30 --by lifecycle_stage',
  async run(args, ctx) {
    const by = str(args, 'by') ?? 'behavioral_segment';
    let ms: (TransitionMatrix & { from_as_of?: string; to_as_of?: string })[];
    if (str(args, 'model') !== undefined) ms = await fromHistory(args, ctx, by);
    else {
      if (bool(args, 'monthly')) throw new CohortlabError('BAD_ARGUMENT', '--monthly reads a model\'s history: give --model REF.');
      const fromPath = str(args, 'from');
      const toPath = str(args, 'to');
      if (!fromPath || !toPath) throw new CohortlabError('BAD_ARGUMENT', 'give --from FILE --to FILE (two outputs of "cohortlab rules"), or --model REF --from DATE --to DATE.');
      const textColumns = ['user_id', by];
      ms = [transitionMatrix(snapshot(await readTable(fromPath, { textColumns }), fromPath, by), snapshot(await readTable(toPath, { textColumns }), toPath, by), by)];
    }
    ctx.out(ms.map((m) => `${m.from_as_of ? `${m.from_as_of} -> ${m.to_as_of}\n` : ''}${formatTransitions(m)}`).join('\n\n'));
    const out = str(args, 'out');
    if (out) {
      const t = longForm(ms);
      await writeTable(out, t);
      ctx.logger.info(`transitions: ${t.rows} cells -> ${out}`);
    }
    return 0;
  },
};
