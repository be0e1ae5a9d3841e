import { dirname } from 'node:path';
import { loadEvents, resolveConfigFor } from '../ingest/index.js';
import { horizonCoverage } from '../features/index.js';
import { bootstrapMetrics, type BootstrapResult } from '../evaluate/index.js';
import { defaultHorizonDays, fitLtv, holdoutOutcomes, ltvParams, purchaseSummary, scoreLtv, type HoldoutOutcomes, type LtvScores, type LtvWarning, type RfmSummary } from '../ltv/index.js';
import { makeDir, writeFileAtomic } from '../shared/atomic.js';
import { CohortlabError } from '../shared/errors.js';
import { writeTable, type Column } from '../shared/table-io.js';
import { bool, date, int, list, str, STRICT_OPTION } from './args.js';
import type { Command } from './command.js';

function positiveNumber(v: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new CohortlabError('BAD_ARGUMENT', `--${name} must be a number between ${min} and ${max}, got "${v}".`);
  return n;
}

export interface HoldoutCheck {
  from: string;
  to: string;
  horizonDays: number;
  customers: number;
  /** Customers without a purchase in the horizon (the churn label). */
  churners: number;
  /** Sum of expected_purchases vs purchase days actually made in the horizon. */
  expectedPurchases: number;
  actualPurchases: number;
  /** ROC-AUC etc. of `1 - p_alive`, `p_no_purchase` and `recency` (time since the last purchase, T - t_x) against the label, with paired bootstrap intervals. */
  metrics: BootstrapResult;
}

/** P(alive) as a churn score on the time-based holdout, beside the naive recency baseline on the same customers. */
export function holdoutCheck(s: RfmSummary, scores: LtvScores, h: HoldoutOutcomes, opts: { seed: number; resamples?: number }): HoldoutCheck {
  const n = s.userIds.length;
  const churners = h.churned.reduce((a, v) => a + v, 0);
  if (churners === 0 || churners === n) {
    throw new CohortlabError('ONE_CLASS', `holdout ${h.from}..${h.to}: ${churners} of ${n} customers made no purchase; no ranking can be measured. Pick another --as-of or --horizon-days.`);
  }
  const metrics = bootstrapMetrics(
    h.churned,
    [
      { name: '1 - p_alive', scores: scores.p_alive.map((p) => 1 - p), isProbability: false },
      { name: 'p_no_purchase', scores: scores.p_no_purchase, isProbability: true },
      { name: 'recency', scores: s.T.map((T, i) => T - s.recency[i]), isProbability: false },
    ],
    { seed: opts.seed, resamples: opts.resamples ?? 1000, highRiskShare: 0, differences: [['p_no_purchase', '1 - p_alive'], ['p_no_purchase', 'recency']] },
  );
  return {
    from: h.from,
    to: h.to,
    horizonDays: h.horizonDays,
    customers: n,
    churners,
    expectedPurchases: scores.expected_purchases.reduce((a, v) => a + v, 0),
    actualPurchases: h.purchaseDays.reduce((a, v) => a + v, 0),
    metrics,
  };
}

const fmtIv = (x: { value: number; lo: number; hi: number } | null | undefined) => (x ? `${x.value.toFixed(3)} [${x.lo.toFixed(3)}, ${x.hi.toFixed(3)}]` : 'n/a');

/** The holdout check in one line: both churn scores' ROC-AUC with intervals, and predicted vs actual purchases. */
export function holdoutLine(h: HoldoutCheck): string {
  const m = h.metrics.scorers;
  const d = h.metrics.differences.find((x) => x.metric === 'rocAuc' && x.b === 'recency');
  return (
    `holdout ${h.from}..${h.to}: ${h.churners.toLocaleString('en-US')} of ${h.customers.toLocaleString('en-US')} customers made no purchase (${((100 * h.churners) / h.customers).toFixed(1)}%); ` +
    `ROC-AUC of p_no_purchase ${fmtIv(m.p_no_purchase?.rocAuc)}, of 1 - p_alive ${fmtIv(m['1 - p_alive']?.rocAuc)}, of recency (time since the last purchase) ${fmtIv(m.recency?.rocAuc)}` +
    (d ? ` (p_no_purchase - recency ${d.value.toFixed(3)} [${d.lo.toFixed(3)}, ${d.hi.toFixed(3)}])` : '') +
    `; purchase days expected ${h.expectedPurchases.toFixed(0)}, made ${h.actualPurchases}`
  );
}

export const ltvCommand: Command = {
  name: 'ltv',
  summary: 'buy-till-you-die: BG/NBD (P(alive), expected purchases) and Gamma-Gamma spend, CLV per customer',
  usage: 'ltv --events FILE... (--config F | --preset NAME) --as-of DATE [--horizon-days H] --out FILE [--params FILE]',
  options: [
    { name: 'events', type: 'list', description: 'event files: CSV, NDJSON, Parquet, whitespace text, gzip ok', placeholder: 'FILE...', required: true },
    { name: 'config', type: 'string', description: 'mapping + taxonomy JSON', default: 'cohortlab.config.json next to the events', placeholder: 'FILE' },
    { name: 'preset', type: 'string', description: 'built-in mapping: synthetic, sparkify, cdnow', placeholder: 'NAME' },
    { name: 'as-of', type: 'string', description: 'end of the calibration period, inclusive: purchases before the next midnight UTC', placeholder: 'YYYY-MM-DD', required: true },
    { name: 'horizon-days', type: 'string', description: 'expected_purchases and p_no_purchase over the H days after the as-of date', default: "the config's inactivity threshold (cdnow: 273)", placeholder: 'H' },
    { name: 'out', type: 'string', description: 'per-customer table (.csv or .parquet)', placeholder: 'FILE', required: true },
    { name: 'params', type: 'string', description: 'write the fitted parameters as JSON ({ model, r, alpha, a, b, time_unit_days, log_likelihood, p, q, v, ... })', placeholder: 'FILE' },
    { name: 'time-unit-days', type: 'string', description: 'unit of recency and T, in days', default: '7 (weeks, as in the literature)', placeholder: 'DAYS' },
    { name: 'purchase-events', type: 'list', description: 'event names that are purchases', default: 'every event, for a log without an event column (cdnow)', placeholder: 'NAME...' },
    { name: 'clv-months', type: 'string', description: 'CLV horizon in months', default: '12', placeholder: 'N' },
    { name: 'discount-rate', type: 'string', description: 'monthly discount rate of the CLV', default: '0.01', placeholder: 'RATE' },
    { name: 'seed', type: 'string', description: 'seed of the holdout bootstrap', default: '42', placeholder: 'N' },
    { name: 'json', type: 'boolean', description: 'print one JSON document on stdout: the parameters, the holdout check and the warnings' },
    STRICT_OPTION,
  ],
  help:
    'Frequency = repeat purchase days, recency = last - first purchase day, T = as-of day - first purchase day (docs/ltv.md).\n' +
    'Output columns: user_id, frequency, recency, T, p_alive, expected_purchases, p_no_purchase, and with a value column monetary, expected_spend, clv.\n' +
    'When the log runs past the horizon, prints the ROC-AUC of 1 - p_alive and of p_no_purchase against "no purchase in the horizon" with bootstrap intervals.\n' +
    'Warning codes (docs/errors.md): LTV_NOT_CONVERGED, LTV_NO_VALUE_COLUMN, LTV_SPEND_INFINITE_MEAN, LTV_SPEND_DEPENDS_ON_FREQUENCY, LTV_FEW_REPEAT_CUSTOMERS, LTV_NO_DROPOUT, LTV_HOLDOUT_NOT_COVERED.\n' +
    'Example: cohortlab ltv --events ../shared/datasets/cdnow/CDNOW_master.txt.gz --preset cdnow --as-of 1997-09-30 --out cdnow-ltv.csv --params cdnow-ltv.json',
  async run(args, ctx) {
    const events = list(args, 'events');
    const config = await resolveConfigFor(events, { config: str(args, 'config'), preset: str(args, 'preset') }, ctx.logger);
    const asOf = date(args, 'as-of')!;
    const out = str(args, 'out')!;
    const paramsPath = str(args, 'params');
    const horizonDays = int(args, 'horizon-days', defaultHorizonDays(config), 1, 3650);
    const timeUnitDays = positiveNumber(str(args, 'time-unit-days'), 'time-unit-days', 7, 1 / 24, 365);
    const clvMonths = int(args, 'clv-months', 12, 1, 600);
    const monthlyDiscount = positiveNumber(str(args, 'discount-rate'), 'discount-rate', 0.01, 0, 1);
    const seed = int(args, 'seed', 42, 0, 2 ** 31 - 1);
    const named = list(args, 'purchase-events');
    if (named.length === 0 && config.columns.event) {
      throw new CohortlabError('BAD_ARGUMENT', `the config "${config.name}" maps an event column ("${config.columns.event}"), so not every event is a purchase; name the purchase events with --purchase-events NAME...`);
    }
    const purchaseEvents = named.length ? named : null;
    const started = performance.now();
    const store = await loadEvents(events, config, { strict: bool(args, 'strict'), logger: ctx.logger });
    try {
      const summary = await purchaseSummary(store, { asOf, timeUnitDays, purchaseEvents });
      const fitStarted = performance.now();
      const model = fitLtv(summary);
      const fitSeconds = (performance.now() - fitStarted) / 1000;
      const bg = model.bgnbd.fitted;
      const gg = model.gammaGamma?.fitted;
      ctx.logger.info(
        `ltv: ${bg.customers.toLocaleString('en-US')} customers (${bg.repeat_customers.toLocaleString('en-US')} repeat) as of ${asOf}; BG/NBD r ${bg.r.toFixed(4)}, alpha ${bg.alpha.toFixed(4)}, a ${bg.a.toFixed(4)}, b ${bg.b.toFixed(4)}, ` +
          `log-likelihood ${bg.log_likelihood.toFixed(4)} (BFGS ${bg.optimizer.iterations} iterations, ${bg.optimizer.stop})` +
          (gg ? `; Gamma-Gamma p ${gg.p.toFixed(4)}, q ${gg.q.toFixed(4)}, v ${gg.v.toFixed(4)} on ${gg.customers.toLocaleString('en-US')} customers` : '') +
          `; fitted in ${fitSeconds.toFixed(2)} s`,
      );
      const scores = scoreLtv(model, summary, { horizonDays, clvMonths, monthlyDiscount });
      const warnings: LtvWarning[] = [...model.warnings];
      let holdout: HoldoutCheck | null = null;
      const cov = horizonCoverage(asOf, horizonDays, store.report.lastEventMs, horizonDays);
      if (cov.covered) holdout = holdoutCheck(summary, scores, await holdoutOutcomes(store, summary, { asOf, horizonDays, purchaseEvents }), { seed });
      else {
        warnings.push({ code: 'LTV_HOLDOUT_NOT_COVERED', message: `the log ends ${new Date(store.report.lastEventMs).toISOString().slice(0, 10)}, before the ${horizonDays}-day horizon after ${asOf}: no holdout check of the predictions (fit on an earlier --as-of to get one).` });
      }
      for (const w of warnings) ctx.logger.warn(`${w.code}: ${w.message}`);
      if (holdout) ctx.logger.info(holdoutLine(holdout));

      const names = ['user_id', 'frequency', 'recency', 'T', 'p_alive', 'expected_purchases', 'p_no_purchase'];
      const columns: Record<string, Column> = {
        user_id: summary.userIds,
        frequency: summary.frequency,
        recency: summary.recency,
        T: summary.T,
        p_alive: scores.p_alive,
        expected_purchases: scores.expected_purchases,
        p_no_purchase: scores.p_no_purchase,
      };
      if (summary.monetary) {
        names.push('monetary');
        columns.monetary = summary.monetary;
      }
      if (scores.expected_spend && scores.clv) {
        names.push('expected_spend', 'clv');
        columns.expected_spend = scores.expected_spend;
        columns.clv = scores.clv;
      }
      await makeDir(dirname(out));
      await writeTable(out, { rows: summary.userIds.length, names, columns });
      const params = { ...ltvParams(model, asOf), horizon_days: horizonDays, clv_months: clvMonths, monthly_discount: monthlyDiscount, fit_seconds: fitSeconds, warnings };
      if (paramsPath) {
        await makeDir(dirname(paramsPath));
        await writeFileAtomic(paramsPath, `${JSON.stringify(params, null, 2)}\n`);
      }
      if (bool(args, 'json')) ctx.out(JSON.stringify({ ...params, holdout }));
      ctx.logger.info(`done: ${summary.userIds.length.toLocaleString('en-US')} customers -> ${out}${paramsPath ? `, parameters -> ${paramsPath}` : ''} in ${((performance.now() - started) / 1000).toFixed(2)} s`);
    } finally {
      store.close();
    }
    return 0;
  },
};
