#!/usr/bin/env node
// The BG/NBD churn scores beside the project's baselines on the same users and label: joins the outputs of
// `cohortlab features --horizon-days H` (label `churned`, `already_churned`, `days_since_last_activity`),
// `cohortlab rules` (§4.4 churn_risk_score, §6.3 rfm_recency/frequency/monetary, scored as train's rfmRisk:
// 15 - R - F - M) and `cohortlab ltv` (p_no_purchase, p_alive) by user_id, keeps the users live at the cutoff
// (what train tests on), and prints every ROC-AUC with a 95% paired-bootstrap interval (1,000 resamples, seed 42)
// and p_no_purchase minus each baseline. Commands for CDNOW's classic split: docs/ltv.md.
// Usage (after npm run build): node scripts/ltv-vs-baselines.js FEATURES RULES LTV
import { readTable, bootstrapMetrics } from 'cohortlab';

const [featuresPath, rulesPath, ltvPath] = process.argv.slice(2);
if (!ltvPath) {
  console.error('usage: node scripts/ltv-vs-baselines.js FEATURES RULES LTV');
  process.exit(2);
}
const text = { textColumns: ['user_id'] };
const [f, r, l] = await Promise.all([readTable(featuresPath, text), readTable(rulesPath, text), readTable(ltvPath, text)]);
const index = (t) => new Map(t.columns.user_id.map((u, i) => [u, i]));
const fi = index(f);
const ri = index(r);
const li = index(l);
const users = l.columns.user_id.filter((u) => fi.has(u) && ri.has(u) && f.columns.already_churned[fi.get(u)] === 0);
const col = (t, at, name, fn = (v) => v) => Float64Array.from(users, (u) => fn(t.columns[name][at.get(u)]));
const y = Uint8Array.from(users, (u) => f.columns.churned[fi.get(u)]);
const churners = y.reduce((a, v) => a + v, 0);
console.log(`${users.length.toLocaleString('en-US')} users live at the cutoff (of ${l.rows.toLocaleString('en-US')} in the ltv output), ${churners.toLocaleString('en-US')} churned in the horizon`);
const rfm = Float64Array.from(users, (u) => 15 - r.columns.rfm_recency[ri.get(u)] - r.columns.rfm_frequency[ri.get(u)] - r.columns.rfm_monetary[ri.get(u)]);
const scorers = [
  { name: 'p_no_purchase (BG/NBD)', scores: col(l, li, 'p_no_purchase'), isProbability: true },
  { name: '1 - p_alive (BG/NBD)', scores: col(l, li, 'p_alive', (p) => 1 - p), isProbability: false },
  { name: 'RFM (6.3)', scores: rfm, isProbability: false },
  { name: 'rule churn-risk (4.4)', scores: col(r, ri, 'churn_risk_score'), isProbability: false },
  { name: 'recency', scores: col(f, fi, 'days_since_last_activity'), isProbability: false },
];
const b = bootstrapMetrics(y, scorers, { seed: 42, resamples: 1000, highRiskShare: 0, differences: scorers.slice(1).map((s) => [scorers[0].name, s.name]) });
const iv = (x) => `${x.value.toFixed(3)} [${x.lo.toFixed(3)}, ${x.hi.toFixed(3)}]`;
for (const s of scorers) console.log(`  ROC-AUC ${s.name}: ${iv(b.scorers[s.name].rocAuc)}`);
for (const d of b.differences.filter((d) => d.metric === 'rocAuc')) console.log(`  ${d.a} - ${d.b}: ${iv(d)}`);
