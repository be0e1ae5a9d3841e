import { formatTransitions, transitionMatrix } from '../rules/index.js';
import { CohortlabError } from '../shared/errors.js';
import { readTable, writeTable, type ColumnTable } from '../shared/table-io.js';
import { str } from './args.js';
import type { Command } from './command.js';

function snapshot(t: ColumnTable, path: string, by: string): { userIds: string[]; labels: string[] } {
  const ids = t.columns.user_id;
  if (!ids) throw new CohortlabError('MISSING_COLUMN', `"${path}" has no user_id column; give two outputs of "cohortlab rules".`, { path });
  const c = t.columns[by];
  if (!c) throw new CohortlabError('MISSING_COLUMN', `"${path}" has no column "${by}" for --by; its columns are: ${t.names.join(', ')}.`, { path });
  const userIds = Array.isArray(ids) ? ids : Array.from(ids, (v) => String(v));
  const labels = Array.isArray(c) ? c : Array.from(c as ArrayLike<number>, (v) => (Number.isNaN(v) ? '' : String(v)));
  return { userIds, labels };
}

export const transitionsCommand: Command = {
  name: 'transitions',
  summary: 'segment transition matrix (playbook §9.2) between two rules outputs',
  usage: 'transitions --from FILE --to FILE [--by COLUMN] [--out FILE]',
  options: [
    { name: 'from', type: 'string', description: 'the earlier output of "cohortlab rules"', placeholder: 'FILE', required: true },
    { name: 'to', type: 'string', description: 'the later output of "cohortlab rules"', placeholder: 'FILE', required: true },
    { name: 'by', type: 'string', description: 'segment column to compare', placeholder: 'COLUMN', default: 'behavioral_segment' },
    { name: 'out', type: 'string', description: 'also write the matrix (.csv or .parquet, long form: from, to, users, share)', placeholder: 'FILE' },
  ],
  help: 'Rows are the segments of --from, columns those of --to; each row sums to 100%. Users missing from --to are counted in the "(gone)" column; users only in --to come from the "(new)" row.\nExample: cohortlab transitions --from rules-2026-05-31.csv --to rules-2026-06-30.csv',
  async run(args, ctx) {
    const by = str(args, 'by') ?? 'behavioral_segment';
    const fromPath = str(args, 'from')!;
    const toPath = str(args, 'to')!;
    const textColumns = ['user_id', by];
    const m = transitionMatrix(snapshot(await readTable(fromPath, { textColumns }), fromPath, by), snapshot(await readTable(toPath, { textColumns }), toPath, by), by);
    ctx.out(formatTransitions(m));
    const out = str(args, 'out');
    if (out) {
      const from: string[] = [];
      const to: string[] = [];
      const users: number[] = [];
      const share: number[] = [];
      m.from.forEach((f, i) =>
        m.to.forEach((t, j) => {
          from.push(f);
          to.push(t);
          users.push(m.counts[i][j]);
          share.push(m.shares[i][j]);
        }),
      );
      await writeTable(out, { rows: from.length, names: ['from', 'to', 'users', 'share'], columns: { from, to, users: Float64Array.from(users), share: Float64Array.from(share) } });
      ctx.logger.info(`transitions: ${from.length} cells -> ${out}`);
    }
    return 0;
  },
};
