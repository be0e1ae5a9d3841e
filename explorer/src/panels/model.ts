import { chartBox, draw } from '../charts.js';
import type { Ctx, PanelView } from '../context.js';
import { byId, count, fill, h, interval, table } from '../dom.js';
import type { Spec } from '../layout.js';

type Metric = { value: number; lo: number; hi: number };
interface Candidate { kind: string; chosen: boolean; choiceLogLoss: number; test: Record<string, Metric> }
const METRICS = ['rocAuc', 'prAuc', 'liftTop10', 'captureTop10', 'liftTop20', 'captureTop20', 'precisionAtHighRiskShare', 'recallAtHighRiskShare', 'logLoss', 'brier'];

/** Model vs rule: the churn model against the §4.4 rule score and the other baselines on the same test users. */
export function modelPanel(ctx: Ctx): PanelView {
  return {
    id: 'model',
    label: 'Model vs rule',
    build(section) {
      fill(section,
        h('h2', {}, 'Churn model vs the rule churn-risk score'),
        h('p', { class: 'note', id: 'evaluation-date' }),
        h('p', {}, h('span', { id: 'verdict-kind', class: 'badge' }), ' ', h('span', { id: 'verdict' })),
        h('p', { class: 'note', id: 'evidence' }),
        h('ul', { id: 'verdict-warnings' }),
        h('div', { id: 'metrics-table' }),
        h('div', { class: 'grid3' }, ...['roc', 'pr', 'rel', 'lift', 'gain', 'imp'].map((n) => chartBox(`chart-${n}`))),
      );
    },
    async render() {
      const ev = ctx.report.evaluation;
      if (!ev) {
        fill(byId('evaluation-date'), 'This model version has no evaluation.');
        return;
      }
      fill(byId('evaluation-date'), `Test users of ${ev.as_of}, churn labelled over the ${ev.horizon_days ?? '-'} days after it.`);
      // The verdict as trained (docs/churn.md): its kind, the sentence, and the evidence it rests on.
      const v = ev.verdict as { kind?: string; text?: string; sentence?: string };
      const kind = v.kind ?? 'older version';
      const badge = byId('verdict-kind');
      badge.textContent = kind.replace('_', ' ');
      badge.className = `badge ${v.kind === 'better' ? 'ok' : 'warn'}`;
      fill(byId('verdict'), v.text ?? v.sentence ?? '');
      const e = ev.evidence as { test_users: number; test_churners: number; test_stayers: number; minimum: number } | null | undefined;
      fill(byId('evidence'), e ? `${count(e.test_users)} test users: ${count(e.test_churners)} churners, ${count(e.test_stayers)} stayers; a verdict needs at least ${e.minimum} of each.` : '');
      fill(byId('verdict-warnings'), ...((ev.warnings ?? []) as { code: string; message: string }[]).map((w) => h('li', { class: 'warn' }, `${w.code}: ${w.message}`)));
      const metrics = ev.metrics as Record<string, Record<string, Metric>>;
      const names = Object.keys(metrics);
      // every model kind train fitted (--model auto) on the same test users; the verdict is the chosen one's ("model")
      const candidates = (ev.candidates ?? []) as unknown as Candidate[];
      const chosen = candidates.find((c) => c.chosen);
      const others = candidates.filter((c) => !c.chosen);
      const heads = [...names.map((n) => (n === 'model' && chosen ? `model (${chosen.kind}, chosen)` : n)), ...others.map((c) => `${c.kind} (not chosen)`)];
      const rows = METRICS.filter((k) => names.some((n) => metrics[n][k])).map((k) => [k, ...names.map((n) => interval(metrics[n][k])), ...others.map((c) => interval(c.test[k]))]);
      if (chosen) rows.push(['validation log loss (choice)', ...names.map((n) => (n === 'model' ? chosen.choiceLogLoss.toFixed(4) : '')), ...others.map((c) => c.choiceLogLoss.toFixed(4))]);
      fill(byId('metrics-table'), table(['metric (95% CI)', ...heads], rows, { caption: 'Every scorer on the same test users' }));
      const c = (ctx.charts.evaluation ?? {}) as Record<string, Spec>;
      for (const [id, key] of [['roc', 'roc'], ['pr', 'pr'], ['rel', 'reliability'], ['lift', 'lift'], ['gain', 'gain'], ['imp', 'importance']]) await draw(byId(`chart-${id}`), c[key]);
    },
  };
}
