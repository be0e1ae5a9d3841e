import {
  clusterMovement, compareInputs, compareMetrics, formatRef, openModelStore, pairedComparison, promote, readProductionHistory, removeVersion, REPORT_FILE, resolveModelsDir, resolveVersion,
  type ModelStore, type NameProductionHistory,
} from '../registry/index.js';
import type { MetricInterval, ReportWarning } from '../evaluate/index.js';
import { CohortlabError } from '../shared/errors.js';
import { bool, str, MODELS_DIR_OPTION } from './args.js';
import type { Command, CommandContext } from './command.js';

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(header), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(line)].join('\n');
}

const f3 = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : '-');
const iv = (x: MetricInterval | null) => (x ? `${x.value.toFixed(3)} [${x.lo.toFixed(3)}, ${x.hi.toFixed(3)}]` : '-');

async function list(store: ModelStore, only: string | undefined, ctx: CommandContext, asJson: boolean): Promise<void> {
  const names = only ? [only] : await store.listNames();
  const rows: string[][] = [];
  const json: Record<string, unknown>[] = [];
  const warnings: ReportWarning[] = [];
  for (const name of names) {
    const prod = await store.productionVersion(name);
    for (const v of await store.listVersions(name)) {
      // a version whose manifest cannot be read is still listed (with "?"), so it can be found and removed; said so, with the reason
      const m = await store.readManifest({ name, version: v }).catch((e: Error) => {
        warnings.push({ code: 'MODEL_MANIFEST_UNREADABLE', message: e.message });
        return null;
      });
      const metrics = m?.metrics;
      const auc = metrics?.aucModelInterval ?? null;
      // a `train --target` version counts its positives as what they did, and its source names the target
      const target = m?.params.source === 'events' ? (m.params.target ?? null) : null;
      const propensity = target && target.kind !== 'churn' ? target : null;
      const did = propensity ? (propensity.kind === 'upgrade' ? 'upgraded' : `did ${propensity.event}`) : 'churned';
      rows.push([
        `${formatRef(name, v)}${prod === v ? ' *' : ''}`,
        String(m?.createdAt ?? '?').replace('T', ' ').slice(0, 19),
        String(metrics?.verdictKind ?? '(older version)'),
        auc ? iv(auc) : f3(metrics?.aucModel),
        f3(metrics?.aucRule),
        typeof metrics?.testUsers === 'number' ? `${metrics.testUsers.toLocaleString('en-US')}${typeof metrics.testChurners === 'number' ? ` (${metrics.testChurners.toLocaleString('en-US')} ${did})` : ''}` : '-',
        metrics?.k === null || metrics?.k === undefined ? '-' : String(metrics.k),
        `${String(m?.params.source ?? '?')}${propensity ? ` (target ${propensity.kind === 'upgrade' ? 'upgrade' : `event:${propensity.event}`})` : ''}`,
      ]);
      json.push({ ref: formatRef(name, v), production: prod === v, createdAt: m?.createdAt ?? null, verdict: metrics?.verdictKind ?? null, aucModel: auc, aucRule: metrics?.aucRule ?? null, testUsers: metrics?.testUsers ?? null, testChurners: metrics?.testChurners ?? null, k: metrics?.k ?? null, source: m?.params.source ?? null, target: propensity ? { kind: propensity.kind, event: propensity.event } : { kind: 'churn', event: null } });
    }
  }
  if (asJson) {
    ctx.out(JSON.stringify({ models: json, warnings }));
    return;
  }
  for (const w of warnings) ctx.logger.warn(`${w.code}: ${w.message}`);
  if (rows.length === 0) {
    ctx.out(`no models in ${store.location}; train one with "cohortlab train".`);
    return;
  }
  ctx.out(table(['version', 'created (UTC)', 'verdict', 'ROC-AUC model [95% CI]', 'AUC rule', 'test users', 'k', 'source'], rows));
  ctx.out('* = production');
}

/** "2026-12-06 18:03:00" from an ISO time (UTC, to the second). */
const when = (iso: string | null) => (iso === null ? '?' : iso.replace('T', ' ').slice(0, 19));

/** A table with every column left-aligned (times and names; `table` right-aligns numbers). */
function leftTable(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  return [line(header), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(line)].join('\n');
}

/** `models show`: which version was in production over which dates, then the trail it comes from. */
function historyText(name: string, h: NameProductionHistory): string {
  const out: string[] = [];
  if (h.periods.length === 0) out.push(`\nproduction history of "${name}": no version has been promoted.`);
  else {
    out.push(`\nproduction history of "${name}" (UTC):`);
    out.push(leftTable(['version', 'from', 'to', 'start'], h.periods.map((p) => [formatRef(name, p.version), when(p.from), p.to === null ? 'now' : when(p.to), p.inferred ? 'inferred: not in the audit trail (production file mtime)' : 'recorded'])));
  }
  if (h.trail.length === 0) out.push(`\naudit trail (${h.trailLocation}): empty (this release records every register, promote and remove).`);
  else {
    out.push(`\naudit trail (${h.trailLocation}):`);
    out.push(leftTable(['when (UTC)', 'action', 'version', 'previous production'], h.trail.map((r) => [when(r.at), r.action, formatRef(name, r.version), r.action === 'promote' ? (r.previous === null ? 'none' : formatRef(name, r.previous)) : '-'])));
  }
  return out.join('\n');
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
  help: 'REF is NAME (production, or the latest), NAME@VERSION or NAME@production.\n  list          versions with created time, verdict kind, ROC-AUC of the model (95% CI) and of the rule, test users and churners, k (* = production)\n  show REF      the manifest and summary metrics, then which version of the name was in production over which dates and the audit trail it comes from (models/NAME/audit.jsonl: every register, promote and remove, in UTC; a version promoted before the trail existed starts at the production file\'s mtime, marked inferred)\n  promote REF   make REF the production version (atomic switch)\n  compare A B   metrics side by side, a paired bootstrap test of the ROC-AUC difference when both were tested on the same users (with the evidence minimum), and the cluster transition matrix of the users both scored\n  rm REF        delete a version (never the production one)',
  async run(args, ctx) {
    const store = openModelStore(resolveModelsDir(ctx.cwd, ctx.env, str(args, 'models-dir')));
    const [sub, ...refs] = args.positionals;
    const need = (n: number) => {
      if (refs.length !== n) throw new CohortlabError('BAD_ARGUMENT', `"cohortlab models ${sub}" takes ${n} model reference${n > 1 ? 's' : ''} (NAME, NAME@VERSION or NAME@production), got ${refs.length}.`);
    };
    switch (sub) {
      case undefined:
      case 'list':
        if (refs.length > 1) throw new CohortlabError('BAD_ARGUMENT', `"cohortlab models list" takes at most one model name, got ${refs.length}: ${refs.map((r) => `"${r}"`).join(', ')}.`);
        await list(store, refs[0], ctx, bool(args, 'json'));
        return 0;
      case 'show': {
        need(1);
        const v = await resolveVersion(store, refs[0]);
        const { files, ...rest } = await store.readManifest(v);
        // --json: the training report's warnings (report.json) ride along, as in every --json output
        const report = bool(args, 'json')
          ? await store.readArtifact(v, REPORT_FILE).then((b) => (b ? (JSON.parse(Buffer.from(b).toString('utf8')) as { warnings?: ReportWarning[] }) : null), () => null)
          : null;
        const history = await readProductionHistory(store, v.name);
        const base = { ...rest, dir: v.dir, production: (await store.productionVersion(v.name)) === v.version, files: Object.keys(files) };
        if (bool(args, 'json')) {
          // the name's production history and trail (whatever version REF names); its warnings after the report's
          ctx.out(JSON.stringify({ ...base, production_history: history.periods, audit_trail: history.trail, warnings: [...(report?.warnings ?? []), ...history.warnings] }));
          return 0;
        }
        for (const w of history.warnings) ctx.logger.warn(`${w.code}: ${w.message}`);
        ctx.out(JSON.stringify(base, null, 2));
        ctx.out(historyText(v.name, history));
        return 0;
      }
      case 'promote': {
        need(1);
        const p = await promote(store, refs[0], { force: bool(args, 'force') });
        ctx.out(`${formatRef(p.name, p.version)} is now production${p.previous ? ` (was ${formatRef(p.name, p.previous)})` : ''}`);
        return 0;
      }
      case 'rm': {
        need(1);
        const r = await removeVersion(store, refs[0]);
        ctx.out(`removed ${formatRef(r.name, r.version)}`);
        return 0;
      }
      case 'compare': {
        need(2);
        const [a, b] = await Promise.all(refs.map((r) => compareInputs(store, r)));
        const [la, lb] = [a.label, b.label];
        const cmp = compareMetrics(a.metrics, b.metrics);
        const [pa, pb] = [a.testPredictions, b.testPredictions];
        const paired = pa && pb ? pairedComparison(la, pa, lb, pb, { seed: 0 }) : { kind: 'different_users' as const, text: `${pa ? lb : la} stores no test predictions (trained by an older cohortlab), so no paired test is possible.` };
        if (bool(args, 'json')) {
          const warnings: ReportWarning[] = paired.kind === 'different_users' ? [{ code: 'NO_PAIRED_TEST', message: paired.text }] : paired.kind === 'insufficient_evidence' ? [{ code: 'INSUFFICIENT_EVIDENCE', message: paired.text }] : [];
          ctx.out(JSON.stringify({ a: la, b: lb, paired, metrics: cmp, verdicts: { [la]: a.report.verdict ?? null, [lb]: b.report.verdict ?? null }, warnings }));
          return 0;
        }
        ctx.out(table(['metric', la, lb, `difference (${lb} - ${la})`], cmp.map((c) => [c.metric, iv(c.a), iv(c.b), c.difference === null ? '-' : (c.difference >= 0 ? '+' : '') + c.difference.toFixed(3)])));
        ctx.out(`\n${paired.kind}: ${paired.text}`);
        const [sa, sb] = await Promise.all([a.scores(), b.scores()]);
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
