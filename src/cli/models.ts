import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  clusterMovement, compareMetrics, formatRef, pairedComparison, type TestPredictions, listNames, listVersions, productionVersion, promote, readManifest, removeVersion,
  resolveModelsDir, resolveVersion,
} from '../registry/index.js';
import type { MetricInterval, ReportWarning } from '../evaluate/index.js';
import { CohortlabError } from '../shared/errors.js';
import { readTable } from '../shared/table-io.js';
import { bool, str, MODELS_DIR_OPTION } from './args.js';
import type { Command, CommandContext } from './command.js';

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(header), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(line)].join('\n');
}

const f3 = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : '-');
const iv = (x: MetricInterval | null) => (x ? `${x.value.toFixed(3)} [${x.lo.toFixed(3)}, ${x.hi.toFixed(3)}]` : '-');

async function list(modelsDir: string, only: string | undefined, ctx: CommandContext, asJson: boolean): Promise<void> {
  const names = only ? [only] : await listNames(modelsDir);
  const rows: string[][] = [];
  const json: Record<string, unknown>[] = [];
  const warnings: ReportWarning[] = [];
  for (const name of names) {
    const prod = await productionVersion(modelsDir, name);
    for (const v of await listVersions(modelsDir, name)) {
      const m = await readManifest(join(modelsDir, name, String(v)), formatRef(name, v)).catch((e: Error) => {
        // listed with unknown fields rather than failing the whole list; said so, with the reason
        warnings.push({ code: 'MODEL_MANIFEST_UNREADABLE', message: e.message });
        return null;
      });
      const metrics = (m?.metrics ?? {}) as Record<string, unknown>;
      const auc = (metrics.aucModelInterval ?? null) as MetricInterval | null;
      // a `train --target` version counts its positives as what they did, and its source names the target
      const target = ((m?.params as Record<string, unknown> | undefined)?.target ?? null) as { kind: string; event: string | null } | null;
      const propensity = target && target.kind !== 'churn' ? target : null;
      const did = propensity ? (propensity.kind === 'upgrade' ? 'upgraded' : `did ${propensity.event}`) : 'churned';
      rows.push([
        `${formatRef(name, v)}${prod === v ? ' *' : ''}`,
        String(m?.createdAt ?? '?').replace('T', ' ').slice(0, 19),
        String(metrics.verdictKind ?? '(older version)'),
        auc ? iv(auc) : f3(metrics.aucModel),
        f3(metrics.aucRule),
        typeof metrics.testUsers === 'number' ? `${metrics.testUsers.toLocaleString('en-US')}${typeof metrics.testChurners === 'number' ? ` (${metrics.testChurners.toLocaleString('en-US')} ${did})` : ''}` : '-',
        metrics.k === null || metrics.k === undefined ? '-' : String(metrics.k),
        `${String((m?.params as Record<string, unknown> | undefined)?.source ?? '?')}${propensity ? ` (target ${propensity.kind === 'upgrade' ? 'upgrade' : `event:${propensity.event}`})` : ''}`,
      ]);
      json.push({ ref: formatRef(name, v), production: prod === v, createdAt: m?.createdAt ?? null, verdict: metrics.verdictKind ?? null, aucModel: auc, aucRule: metrics.aucRule ?? null, testUsers: metrics.testUsers ?? null, testChurners: metrics.testChurners ?? null, k: metrics.k ?? null, source: (m?.params as Record<string, unknown> | undefined)?.source ?? null, target: propensity ? { kind: propensity.kind, event: propensity.event } : { kind: 'churn', event: null } });
    }
  }
  if (asJson) {
    ctx.out(JSON.stringify({ models: json, warnings }));
    return;
  }
  for (const w of warnings) ctx.logger.warn(`${w.code}: ${w.message}`);
  if (rows.length === 0) {
    ctx.out(`no models in ${modelsDir}; train one with "cohortlab train".`);
    return;
  }
  ctx.out(table(['version', 'created (UTC)', 'verdict', 'ROC-AUC model [95% CI]', 'AUC rule', 'test users', 'k', 'source'], rows));
  ctx.out('* = production');
}

async function evaluationMetrics(dir: string): Promise<{ metrics: Record<string, MetricInterval | null>; report: Record<string, unknown> }> {
  const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as Record<string, unknown>;
  const ev = report.evaluation as { metrics: Record<string, Record<string, MetricInterval | null>> } | undefined;
  const out: Record<string, MetricInterval | null> = {};
  for (const [scorer, ms] of Object.entries(ev?.metrics ?? {})) {
    if (scorer !== 'model' && scorer !== 'rule') continue;
    for (const [k, v] of Object.entries(ms)) out[`${scorer} ${k}`] = v;
  }
  return { metrics: out, report };
}

async function testPredictions(dir: string): Promise<TestPredictions | null> {
  const t = await readTable(join(dir, 'test-predictions.parquet')).catch(() => null);
  if (!t) return null;
  const m = await readManifest(dir, dir);
  return { testSet: String(((m.metrics ?? {}) as Record<string, unknown>).testSet ?? '') || null, churned: t.columns.churned as Float64Array, probability: t.columns.churn_probability as Float64Array };
}

export const modelsCommand: Command = {
  name: 'models',
  summary: 'the registry: list, show, promote, compare and remove versions',
  usage: 'models (list [NAME] | show REF | promote REF | compare REF REF | rm REF) [--models-dir DIR]',
  options: [
    MODELS_DIR_OPTION,
    { name: 'force', type: 'boolean', description: 'promote: also a version whose verdict is insufficient_evidence or in_sample' },
    { name: 'json', type: 'boolean', description: 'list, show, compare: one JSON document on stdout' },
  ],
  positionals: { max: 3, what: 'a subcommand (list, show, promote, compare, rm) and at most two model references' },
  help: 'REF is NAME (production, or the latest), NAME@VERSION or NAME@production.\n  list          versions with created time, verdict kind, ROC-AUC of the model (95% CI) and of the rule, test users and churners, k (* = production)\n  show REF      the manifest and summary metrics\n  promote REF   make REF the production version (atomic switch)\n  compare A B   metrics side by side, a paired bootstrap test of the ROC-AUC difference when both were tested on the same users (with the evidence minimum), and the cluster transition matrix of the users both scored\n  rm REF        delete a version (never the production one)',
  async run(args, ctx) {
    const modelsDir = resolveModelsDir(ctx.cwd, ctx.env, str(args, 'models-dir'));
    const [sub, ...refs] = args.positionals;
    const need = (n: number) => {
      if (refs.length !== n) throw new CohortlabError('BAD_ARGUMENT', `"cohortlab models ${sub}" takes ${n} model reference${n > 1 ? 's' : ''} (NAME, NAME@VERSION or NAME@production), got ${refs.length}.`);
    };
    switch (sub) {
      case undefined:
      case 'list':
        if (refs.length > 1) throw new CohortlabError('BAD_ARGUMENT', `"cohortlab models list" takes at most one model name, got ${refs.length}: ${refs.map((r) => `"${r}"`).join(', ')}.`);
        await list(modelsDir, refs[0], ctx, bool(args, 'json'));
        return 0;
      case 'show': {
        need(1);
        const v = await resolveVersion(modelsDir, refs[0]);
        const m = await readManifest(v.dir, formatRef(v.name, v.version));
        const { files, ...rest } = m as Record<string, unknown> & { files?: Record<string, unknown> };
        // --json: the training report's warnings (report.json) ride along, as in every --json output
        const report = bool(args, 'json') ? await readFile(join(v.dir, 'report.json'), 'utf8').then((t) => JSON.parse(t) as { warnings?: ReportWarning[] }, () => null) : null;
        const show = { ...rest, dir: v.dir, production: (await productionVersion(modelsDir, v.name)) === v.version, files: Object.keys(files ?? {}), ...(report ? { warnings: report.warnings ?? [] } : {}) };
        ctx.out(bool(args, 'json') ? JSON.stringify(show) : JSON.stringify(show, null, 2));
        return 0;
      }
      case 'promote': {
        need(1);
        const p = await promote(modelsDir, refs[0], { force: bool(args, 'force') });
        ctx.out(`${formatRef(p.name, p.version)} is now production${p.previous ? ` (was ${formatRef(p.name, p.previous)})` : ''}`);
        return 0;
      }
      case 'rm': {
        need(1);
        const r = await removeVersion(modelsDir, refs[0]);
        ctx.out(`removed ${formatRef(r.name, r.version)}`);
        return 0;
      }
      case 'compare': {
        need(2);
        const [a, b] = await Promise.all(refs.map((r) => resolveVersion(modelsDir, r)));
        const la = formatRef(a.name, a.version);
        const lb = formatRef(b.name, b.version);
        const [ma, mb] = await Promise.all([evaluationMetrics(a.dir), evaluationMetrics(b.dir)]);
        const cmp = compareMetrics(ma.metrics, mb.metrics);
        const [pa, pb] = await Promise.all([a, b].map((v) => testPredictions(v.dir)));
        const paired = pa && pb ? pairedComparison(la, pa, lb, pb, { seed: 0 }) : { kind: 'different_users' as const, text: `${pa ? lb : la} stores no test predictions (trained by an older cohortlab), so no paired test is possible.` };
        if (bool(args, 'json')) {
          const warnings: ReportWarning[] = paired.kind === 'different_users' ? [{ code: 'NO_PAIRED_TEST', message: paired.text }] : paired.kind === 'insufficient_evidence' ? [{ code: 'INSUFFICIENT_EVIDENCE', message: paired.text }] : [];
          ctx.out(JSON.stringify({ a: la, b: lb, paired, metrics: cmp, verdicts: { [la]: ma.report.verdict ?? null, [lb]: mb.report.verdict ?? null }, warnings }));
          return 0;
        }
        ctx.out(table(['metric', la, lb, `difference (${lb} - ${la})`], cmp.map((c) => [c.metric, iv(c.a), iv(c.b), c.difference === null ? '-' : (c.difference >= 0 ? '+' : '') + c.difference.toFixed(3)])));
        ctx.out(`\n${paired.kind}: ${paired.text}`);
        const [sa, sb] = await Promise.all([a, b].map((v) => readTable(join(v.dir, 'scores.parquet')).catch(() => null)));
        if (sa?.columns.cluster && sb?.columns.cluster && !(sa.columns.user_id && sb.columns.user_id)) {
          ctx.out('\nclusters: users cannot be followed between these versions: one stores no user ids (train with --keep-user-ids, or --pseudonymize with the same salt).');
        } else if (sa?.columns.cluster && sb?.columns.cluster) {
          const mv = clusterMovement(sa.columns.user_id as string[], Array.from(sa.columns.cluster as Float64Array, String), sb.columns.user_id as string[], Array.from(sb.columns.cluster as Float64Array, String));
          ctx.out(`\nclusters: ${mv.common.toLocaleString('en-US')} users scored by both; ${(100 * mv.movedShare).toFixed(1)}% moved to a cluster other than the match of their old one`);
          ctx.out(table([`${la} \\ ${lb}`, ...mv.toClusters.map((c) => `c${c}`), 'matched to', 'kept'], mv.fromClusters.map((c, i) => [`c${c}`, ...mv.counts[i].map((x) => x.toLocaleString('en-US')), `c${mv.matches[i].to}`, `${(100 * mv.matches[i].share).toFixed(1)}%`])));
        } else ctx.out('\nclusters: one of the versions has no clusters (a per-user table model).');
        return 0;
      }
      default:
        throw new CohortlabError('BAD_ARGUMENT', `unknown models subcommand "${sub}"; use list, show, promote, compare or rm.`);
    }
  },
};
