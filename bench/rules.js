// Bench of the rule stage (playbook §2-§7 models and the §6.1 rule files) on a synthetic feature table.
// Run after `npm run build`:  TZ=UTC node bench/rules.js [users]   (default 1,000,000 users)
// Prints users/second for every score, the segment ladders, the shipped rule files and the whole applyRules.
import {
  BASE_FEATURES, MILESTONE_PREFIX, SYNTHETIC_PRESET, activationScore, applyRules, atRiskSignals, behavioralSegments,
  churnRiskScore, defaultRulesDir, engagementScore, evaluateSegment, expansionReadinessScore, lifecycleStages,
  loadSegmentRules, rfm, segmentDashboard, createRng
} from 'cohortlab';

const n = Number(process.argv[2] ?? 1_000_000);
const config = SYNTHETIC_PRESET;
const rng = createRng(7);

// A plausible synthetic table: heavy-tailed counts, ratios in [0, 1], whole days.
function column(name) {
  const c = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    switch (name) {
      case 'feature_breadth_30d': case 'dau_mau': case 'dau_wau': case 'wau_mau': case 'usage_decline': c[i] = u; break;
      case 'usage_pct_of_limit': c[i] = 1.2 * u; break;
      case 'wow_trend': c[i] = 2 * u - 1; break;
      case 'is_paid': case 'ever_paid': c[i] = u < 0.3 ? 1 : 0; break;
      case 'days_since_last_activity': c[i] = Math.floor(-10 * Math.log(1 - u)); break;
      case 'tenure_days': c[i] = Math.floor(365 * u); break;
      case 'avg_session_minutes_30d': c[i] = 40 * u; break;
      case 'typical_gap_days': c[i] = 0.5 + 6 * u; break;
      case 'team_size': c[i] = 1 + Math.floor(-2 * Math.log(1 - u)); break;
      default: c[i] = Math.floor(-3 * Math.log(1 - u));
    }
  }
  return c;
}
const columns = {};
for (const f of BASE_FEATURES) columns[f.name] = column(f.name);
for (const m of config.activation.milestones) {
  const c = new Float64Array(n);
  for (let i = 0; i < n; i++) c[i] = rng.next() < 0.5 ? 1 : 0;
  columns[MILESTONE_PREFIX + m.name] = c;
}
const plans = ['free', 'trial', 'basic', 'pro', 'enterprise'];
const table = {
  asOf: '2026-06-30', cutoffMs: Date.UTC(2026, 6, 1), userIds: Array.from({ length: n }, (_, i) => `u${i}`), columns,
  plan: Array.from({ length: n }, () => plans[rng.int(plans.length)]), alreadyChurned: new Uint8Array(n),
};
const segments = await loadSegmentRules(defaultRulesDir());

function time(label, fn, reps = 3) {
  fn(); // warm-up
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`${label.padEnd(38)} ${best.toFixed(1).padStart(8)} ms  ${Math.round(n / (best / 1000)).toLocaleString('en-US').padStart(14)} users/s`);
  return best;
}

console.log(`rules bench: ${n.toLocaleString('en-US')} users, ${Object.keys(columns).length} feature columns, node ${process.version}`);
const eng = engagementScore(table).score;
time('§4.1 engagement score + tier', () => engagementScore(table));
time('§4.2 activation score + tier', () => activationScore(table, config));
time('§4.3 expansion readiness score + tier', () => expansionReadinessScore(table, eng));
time('§4.4 churn risk score + tier', () => churnRiskScore(table));
const ar = atRiskSignals(table);
const act = activationScore(table, config).score;
time('§3.3 at-risk signals', () => atRiskSignals(table));
time('§2.1 behavioral segments', () => behavioralSegments(table));
time('§2.3 lifecycle stages (incl. top-10% sort)', () => lifecycleStages(table, config, ar.count, act));
time('§6.3 RFM scores, codes, segments', () => rfm(table, config));
const ctx = { table, config, scores: { engagement: eng } };
for (const s of segments) time(`§6.1 rule file "${s.name}"`, () => evaluateSegment(ctx, s));
const all = time('applyRules (everything)', () => applyRules(table, config, { segments }), 2);
const out = applyRules(table, config, { segments });
time('§9.1 dashboard', () => segmentDashboard(table, out, { segments }));
console.log(`applyRules computes ${Object.keys(out.columns).length} columns; ${(all / 1000).toFixed(2)} s for ${n.toLocaleString('en-US')} users`);
