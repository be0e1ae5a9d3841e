// The cohortlab explorer: every chart is a vega-lite spec built by the server (GET /v1/charts, the
// same builders as the HTML reports) and embedded with vega-embed served from node_modules.
const state = { key: sessionStorage.getItem('cohortlab-key') || '', cluster: null, by: 'behavioral_segment', segment: null, page: 1, pages: 1 };
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const pct = (x) => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);
const num = (x, d = 1) => (x === null || x === undefined ? '-' : Number(x).toFixed(d));
window.cohortlab = { views: [], errors: [] };

async function api(path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (state.key) headers.authorization = `Bearer ${state.key}`;
  const res = await fetch(path, { ...opts, headers });
  if (res.status === 401) {
    $('keyform').hidden = false;
    throw new Error('an API key is required');
  }
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new Error(body.message || `${res.status} on ${path}`);
  }
  return res;
}
const json = async (path) => (await api(path)).json();

function showError(e) {
  $('error').hidden = false;
  $('error').textContent = e.message || String(e);
  window.cohortlab.errors.push(String(e.message || e));
}

async function embed(id, spec, onPick) {
  const el = $(id);
  if (!spec) {
    el.innerHTML = '<p class="note">Not available for this model.</p>';
    return;
  }
  // Charts with a fixed width stretch to their column; grids (heatmaps sized per cell) scroll inside it.
  if (typeof spec.width === 'number' && !spec.layer && !spec.hconcat && !spec.vconcat) spec = { ...spec, width: 'container', autosize: { type: 'fit-x', contains: 'padding' } };
  // The date of a chart on its own line, so a narrow column never cuts it off.
  if (typeof spec.title === 'string' && spec.title.includes(' (as of ')) spec = { ...spec, title: { text: spec.title.split(/ (?=\(as of )/) } };
  const result = await vegaEmbed(el, spec, { actions: { export: true, source: false, compiled: false, editor: false }, renderer: 'svg' });
  window.cohortlab.views.push({ id, view: result.view });
  if (onPick) {
    result.view.addEventListener('click', (_event, item) => {
      const d = item && item.datum;
      if (d && typeof d.cluster === 'string') {
        const k = parseInt(d.cluster, 10);
        if (!Number.isNaN(k)) onPick(k);
      }
    });
  }
}

function table(header, rows, opts = {}) {
  const th = header.map((h) => `<th scope="col">${esc(h)}</th>`).join('');
  const tr = rows
    .map((r, i) => `<tr${opts.pick ? ` class="pickable" data-pick="${esc(opts.pick[i])}" tabindex="0"` : ''}>${r.map((c, j) => `<td${j === 0 || typeof c === 'string' ? ' class="text"' : ''}>${esc(c)}</td>`).join('')}</tr>`)
    .join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

function pickCluster(k) {
  state.cluster = k;
  state.segment = null;
  state.page = 1;
  $('pick-cluster').value = String(k);
  $('pick-segment').value = '';
  loadMembers().catch(showError);
  $('members').scrollIntoView({ behavior: 'instant', block: 'start' });
}

function pickSegment(by, segment) {
  state.cluster = null;
  state.by = by;
  state.segment = segment;
  state.page = 1;
  $('pick-cluster').value = '';
  loadMembers().catch(showError);
}

function selectionQuery() {
  if (state.cluster !== null) return `cluster=${state.cluster}`;
  if (state.segment) return `segment=${encodeURIComponent(state.segment)}&by=${encodeURIComponent(state.by)}`;
  return null;
}

async function loadMembers() {
  const q = selectionQuery();
  if (!q) return;
  let r;
  try {
    r = await json(`/v1/members?${q}&page=${state.page}&page_size=50`);
  } catch (e) {
    // e.g. a model trained without user ids (the privacy default): say so where the members would be
    $('members-summary').textContent = e.message;
    $('members-table').innerHTML = '';
    $('page').textContent = '';
    for (const b of ['prev', 'next', 'export']) $(b).disabled = true;
    return;
  }
  $('export').disabled = false;
  state.pages = r.pages;
  const what = state.cluster !== null ? `cluster ${state.cluster}` : `${state.by} = ${state.segment}`;
  $('members-summary').textContent = `${r.total.toLocaleString('en-US')} users in ${what}${r.as_of ? ` (scored snapshot as of ${r.as_of})` : ''}`;
  const cols = ['user_id', 'churn_probability', 'churn_risk_score', 'churn_risk_tier', 'engagement_score', 'behavioral_segment', 'lifecycle_stage', 'cluster', 'cluster_label'];
  $('members-table').innerHTML = table(
    cols,
    r.rows.map((row) => cols.map((c) => (typeof row[c] === 'number' && c !== 'cluster' ? Number(row[c].toFixed(3)) : row[c]))),
  );
  $('page').textContent = `page ${r.page} of ${r.pages}`;
  $('prev').disabled = r.page <= 1;
  $('next').disabled = r.page >= r.pages;
}

async function exportCsv() {
  const q = selectionQuery();
  if (!q) return;
  // fetch + blob so the API key header goes along when one is set.
  const res = await api(`/v1/export?${q}`);
  const blob = await res.blob();
  const name = (res.headers.get('content-disposition') || '').match(/filename="([^"]+)"/)?.[1] || 'members.csv';
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

// Retention (docs/retention.md): the version's stored Kaplan-Meier curves, one grouping at a time.
async function loadRetention(by, specs) {
  const r = await json(`/v1/retention?by=${encodeURIComponent(by)}`);
  $('retention-date').textContent = r.landmark
    ? `Users live at the test cutoff ${r.landmark}, grouped then; time to churn from it, censored at the snapshot ${r.as_of}. Bands: 95% (Greenwood, log-log).`
    : `Groups as of ${r.as_of}, time from each user's first day, censored at ${r.as_of}. Bands: 95% (Greenwood, log-log).`;
  await embed('chart-retention', specs[by]);
  const ci = (g) => (g.median_lower === null ? '-' : `${g.median_lower} .. ${g.median_upper === null ? 'not reached' : g.median_upper}`);
  $('retention-table').innerHTML = table(
    ['group', 'users', 'churned', 'censored', 'median days', 'median 95% CI'],
    r.groups.map((g) => [g.group, g.users, g.churned, g.censored, g.median_days === null ? 'not reached' : g.median_days, ci(g)]),
  );
  const lr = r.log_rank;
  $('retention-logrank').textContent = lr ? `Log-rank test across the ${lr.groups.length} groups: chi-square ${lr.chi_square.toFixed(2)} on ${lr.df} df, p ${lr.p_value < 1e-300 ? '< 1e-300' : `= ${lr.p_value.toPrecision(3)}`}.` : 'One group: no log-rank test.';
  $('retention-warnings').innerHTML = (r.warnings || []).map((w) => `<li class="warn">${esc(w.code)}: ${esc(w.message)}</li>`).join('');
}

async function showRetentionPanel(report, specs) {
  const views = report.retention_views || [];
  if (!views.length) {
    $('retention-date').textContent = 'This model version stores no retention curves (versions trained before they were stored); cohortlab retention computes them from the events.';
    return;
  }
  $('retention-pick').hidden = false;
  $('retention-by').innerHTML = views.map((v) => `<option${v === 'segment' ? ' selected' : ''}>${esc(v)}</option>`).join('');
  $('retention-by').addEventListener('change', () => loadRetention($('retention-by').value, specs).catch(showError));
  await loadRetention($('retention-by').value, specs);
}

// The upgrade model of serve --propensity-model (GET /v1/propensity; docs/propensity.md): shown only when the
// server has one (GET /v1/models names it; asked first, so a server without one logs no 404 in the browser).
// DOM nodes and textContent only.
const UPGRADE_SCORERS = [['model', 'model'], ['rule', '§4.3 expansion readiness'], ['recency', 'recency (recent = likely)'], ['rfm', 'RFM value (§6.3)'], ['majority', 'majority']];
async function showUpgradePanel() {
  if (!(await json('/v1/models')).propensity) return;
  const p = await json('/v1/propensity');
  $('upgrade').hidden = false;
  $('nav-upgrade').hidden = false;
  const what = p.target.kind === 'upgrade' ? `upgrade (${p.target.event})` : `event ${p.target.event}`;
  $('upgrade-date').textContent = `Model ${p.model.name}@${p.model.version}: ${what} within ${p.horizon_days ?? '-'} days of the test cutoff ${p.as_of ?? '-'}, among users who had not done it and were not churned.`;
  $('upgrade-kind').textContent = p.verdict.kind.replace('_', ' ');
  $('upgrade-kind').className = `badge ${p.verdict.kind === 'better' ? 'ok' : 'warn'}`;
  $('upgrade-verdict').textContent = p.verdict.text;
  const e = p.evidence;
  $('upgrade-evidence').textContent = e ? `${e.test_users.toLocaleString('en-US')} test users: ${e.test_churners.toLocaleString('en-US')} did it, ${e.test_stayers.toLocaleString('en-US')} did not; a verdict needs at least ${e.minimum} of each.` : '';
  const rows = UPGRADE_SCORERS.filter(([k]) => p.metrics[k]).map(([k, label]) => [label, `${p.metrics[k].value.toFixed(3)} [${p.metrics[k].lo.toFixed(3)}, ${p.metrics[k].hi.toFixed(3)}]`]);
  for (const [k, m] of Object.entries(p.metrics)) if (!UPGRADE_SCORERS.some(([s]) => s === k)) rows.push([k, `${m.value.toFixed(3)} [${m.lo.toFixed(3)}, ${m.hi.toFixed(3)}]`]);
  if (p.ceiling !== null) rows.push(['truth (the ceiling)', p.ceiling.toFixed(3)]);
  const t = document.createElement('table');
  const head = t.createTHead().insertRow();
  for (const h of ['scorer', 'ROC-AUC [95% CI]']) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    head.appendChild(th);
  }
  const body = t.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const c of r) tr.insertCell().textContent = c;
  }
  $('upgrade-table').replaceChildren(t);
  await embed('chart-upgrade-roc', p.charts.roc);
}

// Over time and Drift (issue 21): the model's history of refresh snapshots (cohortlab refresh, serve --refresh).
// Sizes per snapshot date as stacked areas, the 9.2 matrix of a chosen pair of dates (month over month by
// default), and the drift report of a refresh. An empty history says how to fill it.
const options = (values, selected) => values.map((v) => `<option${v === selected ? ' selected' : ''}>${esc(v)}</option>`).join('');

async function loadHistoryChart(column) {
  const h = await json(`/v1/history?column=${encodeURIComponent(column)}`);
  await embed('chart-history', h.chart);
}

/** Bumped by every pick: an answer to an older pick (still in flight when the user picked again) is dropped. */
let transitionsPick = 0;

async function loadHistoryTransitions(query) {
  const pick = ++transitionsPick;
  let r;
  try {
    r = await json(`/v1/transitions?${query}`);
  } catch (e) {
    if (pick !== transitionsPick) return null;
    // e.g. one snapshot only, or a pair in the wrong order: said where the matrix would be
    $('history-trans-note').textContent = e.message;
    $('chart-history-trans').innerHTML = '';
    return null;
  }
  if (pick !== transitionsPick) return null;
  const m = r.matrices[0];
  $('history-trans-note').textContent = `${m.matched.toLocaleString('en-US')} users in both snapshots, ${m.onlyInTo.toLocaleString('en-US')} new, ${m.onlyInFrom.toLocaleString('en-US')} gone; each cell: users (row share).`;
  await embed('chart-history-trans', m.chart);
  return m;
}

async function showHistoryPanel() {
  const h = await json('/v1/history');
  if (!h.points.length) {
    $('history-note').textContent = `No refresh snapshot yet: ${h.note}`;
    $('drift-note').textContent = `No drift to show: ${h.note}`;
    return [];
  }
  const dates = h.points.map((p) => p.as_of);
  const last = h.points[h.points.length - 1];
  $('history-note').textContent = `${dates.length} snapshot(s) of ${h.model.name}, ${dates[0]} .. ${dates[dates.length - 1]} (the server answers from ${h.served_as_of}); the newest counts ${last.users.toLocaleString('en-US')} users, ${last.changes === null ? 'the first snapshot' : `${last.changes.toLocaleString('en-US')} changes since the one before`}.`;
  const trackable = h.columns.filter((c) => c === 'behavioral_segment' || c === 'lifecycle_stage' || c === 'cluster_label' || c.startsWith('segment_'));
  const columns = [...trackable, ...h.columns.filter((c) => !trackable.includes(c))];
  $('history-pick').hidden = false;
  $('history-column').innerHTML = options(columns, 'behavioral_segment');
  $('history-column').addEventListener('change', () => loadHistoryChart($('history-column').value).catch(showError));
  await embed('chart-history', h.chart);

  $('history-trans-by').innerHTML = options(trackable, 'behavioral_segment');
  $('history-trans-from').innerHTML = options(dates.slice(0, -1));
  $('history-trans-to').innerHTML = options(dates.slice(1), dates[dates.length - 1]);
  if (dates.length < 2) {
    $('history-trans-note').textContent = `One snapshot (${dates[0]}): a transition needs two; refresh a later date.`;
  } else {
    $('history-trans-pick').hidden = false;
    // month over month by default (the server picks the latest monthly pair, else the last two snapshots)
    const m = await loadHistoryTransitions('by=behavioral_segment');
    if (m) {
      $('history-trans-from').value = m.from_as_of;
      $('history-trans-to').value = m.to_as_of;
    }
    const pick = () => {
      const [from, to] = [$('history-trans-from').value, $('history-trans-to').value];
      if (from >= to) {
        transitionsPick++; // a matrix still loading for an earlier pick must not replace this note
        $('history-trans-note').textContent = `The first date (${from}) must be before the second (${to}).`;
        $('chart-history-trans').innerHTML = '';
        return;
      }
      const q = `from=${encodeURIComponent($('history-trans-from').value)}&to=${encodeURIComponent($('history-trans-to').value)}&by=${encodeURIComponent($('history-trans-by').value)}`;
      loadHistoryTransitions(q).catch(showError);
    };
    for (const id of ['history-trans-by', 'history-trans-from', 'history-trans-to']) $(id).addEventListener('change', pick);
  }
  return dates;
}

async function loadDrift(asOf) {
  let r;
  try {
    r = await json(`/v1/drift?as_of=${encodeURIComponent(asOf)}`);
  } catch (e) {
    // a snapshot scored by a version without a training sample has no report: say so in the panel
    $('drift-note').textContent = e.message;
    $('drift-kind').hidden = true;
    $('drift-verdict').textContent = '';
    $('chart-drift').innerHTML = '';
    $('drift-table').innerHTML = '';
    return;
  }
  const d = r.report;
  $('drift-note').textContent = `Refresh of ${d.current.as_of} (${d.current.users.toLocaleString('en-US')} users, scored by ${r.scored_by.name}@${r.scored_by.version}) against its training snapshot ${d.reference.as_of} (sample of ${d.reference.sample.toLocaleString('en-US')}). PSI over ${d.thresholds.bins} bins fixed at training: watch from ${d.thresholds.watch}, act from ${d.thresholds.act}, and only above the noise bound (the ${d.thresholds.noise_quantile} quantile of PSI between two samples of these sizes); fewer than ${d.thresholds.min_sample} users on a side: no verdict. The chart draws the 25 largest shifts; the table lists every variable.`;
  const kind = d.summary.retrain_advised ? 'retrain' : d.summary.watch.length ? 'watch' : 'stable';
  $('drift-kind').hidden = false;
  $('drift-kind').textContent = kind;
  $('drift-kind').className = `badge ${kind === 'stable' ? 'ok' : 'warn'}`;
  $('drift-verdict').textContent = d.summary.text;
  await embed('chart-drift', r.chart);
  const vars = [...(d.prediction ? [d.prediction] : []), ...d.features, ...d.rule_scores];
  $('drift-table').innerHTML = table(
    ['variable', 'kind', 'PSI', 'noise bound', 'KS', 'status', 'users (training / now)'],
    // a cumulative or calendar feature moves with the date itself: its shift is shown but advises nothing
    vars.map((v) => [v.name, v.kind.replace('_', ' '), num(v.psi, 4), num(v.noise_bound, 4), v.ks ? num(v.ks.statistic, 3) : '-', `${v.status.replace('_', ' ')}${v.not_advice ? ` (${v.not_advice}: not advice)` : ''}`, `${v.reference_n} / ${v.current_n}`]),
  );
}

async function showDriftPanel(dates) {
  if (!dates.length) return;
  $('drift-pick').hidden = false;
  $('drift-date').innerHTML = options([...dates].reverse(), dates[dates.length - 1]);
  $('drift-date').addEventListener('change', () => loadDrift($('drift-date').value).catch(showError));
  await loadDrift(dates[dates.length - 1]);
}

async function main() {
  const [report, charts, segments, clusters] = await Promise.all([json('/v1/report'), json('/v1/charts'), json('/v1/segments'), json('/v1/clusters').catch(() => null)]);
  // Two dates, said everywhere: the scored snapshot (users, members, segment sizes, the map) and the test cutoff
  // (cluster profiles, the 9.1 dashboard, the evaluation), whose churn is known over the horizon after it.
  const snap = segments.snapshot;
  const gone = snap.already_churned === null || snap.already_churned === undefined ? '' : `, ${snap.already_churned.toLocaleString('en-US')} of them already churned`;
  const cutoff = report.evaluation && report.evaluation.as_of ? `; profiles, dashboard and evaluation as of the test cutoff ${report.evaluation.as_of}` : '';
  $('model').textContent = `model ${report.model.name}@${report.model.version}; scored snapshot as of ${snap.as_of}: ${snap.users.toLocaleString('en-US')} users${gone}${cutoff}`;

  const c = charts.clusters || {};
  if (clusters) {
    await embed('chart-pca', c.pca && c.pca[0], pickCluster);
    await embed('chart-sizes', c.sizes && c.sizes[0], pickCluster);
    await embed('chart-churn', c.churn && c.churn[0], pickCluster);
    await embed('chart-heat', c.heat && c.heat[0], pickCluster);
    const fit = clusters.fit;
    const h = fit.horizon_days ? `${fit.horizon_days} d` : 'the horizon';
    $('clusters-date').textContent = `Fitted on ${fit.fitted_users.toLocaleString('en-US')} users ${fit.fitted_on === 'live' ? 'live' : '(all, churned ones included)'} at ${fit.as_of}; profiles, sizes and churn below are of the ${fit.users.toLocaleString('en-US')} users of ${fit.as_of} (${fit.already_churned.toLocaleString('en-US')} already churned then); "users now" counts the scored snapshot of ${clusters.snapshot.as_of}; the map shows the snapshot.`;
    $('k-reason').textContent = fit.kSelection.reason;
    await embed('chart-k-inertia', c.k && c.k[0]);
    await embed('chart-k-silhouette', c.k && c.k[1]);
    if (c.truth && c.truth.length) {
      $('truth-block').hidden = false;
      await embed('chart-truth', c.truth[0], pickCluster);
    }
    const cross = $('chart-cross');
    for (const [i, spec] of (c.cross || []).entries()) {
      const div = document.createElement('div');
      div.id = `chart-cross-${i}`;
      cross.appendChild(div);
      await embed(div.id, spec, pickCluster);
    }
    $('cluster-table').innerHTML = table(
      ['cluster', 'label', 'users', 'users', 'share', 'already churned', `churn within ${h}`, 'mean rule churn risk', 'sets it apart (z)'],
      fit.profiles.map((p) => [p.cluster, p.label, clusters.snapshot.clusters[p.cluster].users, p.size, pct(p.share), pct(p.alreadyChurnedRate), pct(p.churnRate), num(p.meanChurnRisk), p.top.map((t) => `${t.feature} ${t.z >= 0 ? '+' : ''}${t.z.toFixed(2)}`).join('; ')]),
      { pick: fit.profiles.map((p) => p.cluster) },
    );
    // A first header row says which date each column is counted at.
    $('cluster-table').querySelector('thead').insertAdjacentHTML('afterbegin', `<tr><th colspan="2"></th><th scope="colgroup" class="date">snapshot ${esc(clusters.snapshot.as_of)}</th><th scope="colgroup" colspan="6" class="date">test cutoff ${esc(fit.as_of)} (fitted ${fit.fitted_on === 'live' ? 'on live users' : 'on all users'})</th></tr>`);
    for (const p of fit.profiles) $('pick-cluster').insertAdjacentHTML('beforeend', `<option value="${p.cluster}">${p.cluster}: ${esc(p.label)}</option>`);
  } else {
    for (const id of ['chart-pca', 'chart-sizes', 'chart-churn', 'chart-heat']) await embed(id, null);
  }

  const d = segments.dashboard;
  if (d) {
    $('dashboard-date').textContent = `Users of the test cutoff ${d.as_of} (${d.users.toLocaleString('en-US')}), retention over the ${d.horizon_days ?? '-'} days after it; the members picker below lists the scored snapshot of ${snap.as_of}.`;
    $('dashboard-table').innerHTML = table(
      ['segment', 'users', 'share', `retention${d.retentionHorizonDays ? ` (${d.retentionHorizonDays} d)` : ''}`, 'paid conversion', 'avg revenue', 'action'],
      d.rows.map((r) => [r.segment, r.users, pct(r.share), pct(r.retention), pct(r.paidConversion), num(r.avgRevenue, 2), r.action]),
      { pick: d.rows.map((r) => r.segment) },
    );
    for (const row of $('dashboard-table').querySelectorAll('tr.pickable')) row.addEventListener('click', () => pickSegment('behavioral_segment', row.dataset.pick));
  }
  // §9.1 "LTV" per segment, lifecycle stage and cluster (GET /v1/segments ltv; docs/ltv.md).
  const ltv = segments.ltv;
  if (ltv) {
    $('ltv-note').textContent = `Users of the test cutoff ${ltv.asOf}: expected purchases over the ${ltv.horizonDays} days after it` + (ltv.note ? ` (${ltv.note}).` : `, CLV over ${ltv.clvMonths} months (monthly discount ${ltv.monthlyDiscount}).`);
    $('ltv-tables').innerHTML = ltv.tables
      .map((t) => table(
        [t.by, 'users', 'customers', 'exp. purchases sum', 'mean', ...(ltv.note ? [] : ['CLV sum', 'CLV mean'])],
        t.rows.map((r) => [r.group, r.users, r.customers, num(r.expectedPurchasesSum, 1), num(r.expectedPurchasesMean, 3), ...(ltv.note ? [] : [num(r.clvSum, 2), num(r.clvMean, 2)])]),
      ))
      .join('');
  } else {
    $('ltv-note').textContent = 'No LTV model in this version: its log has no purchases (docs/ltv.md, "Which events are purchases").';
  }
  $('warnings').innerHTML = ((d && d.warnings) || []).map((w) => `<li class="warn">${esc(w.message || w)}</li>`).join('');

  await showRetentionPanel(report, charts.retention || {});

  const t = charts.transitions || {};
  await embed('chart-trans-seg', t.segments);
  await embed('chart-trans-cl', t.clusters);

  await showDriftPanel(await showHistoryPanel());

  const ev = report.evaluation;
  if (ev) {
    $('evaluation-date').textContent = `Test users of ${ev.as_of}, churn labelled over the ${ev.horizon_days ?? '-'} days after it.`;
    // The verdict as trained (docs/churn.md): its kind, the sentence, and the evidence it rests on.
    const v = ev.verdict;
    const kind = v.kind || 'older version';
    $('verdict-kind').textContent = kind.replace('_', ' ');
    $('verdict-kind').className = `badge ${v.kind === 'better' ? 'ok' : 'warn'}`;
    $('verdict').textContent = v.text || v.sentence;
    const evd = ev.evidence;
    $('evidence').textContent = evd ? `${evd.test_users.toLocaleString('en-US')} test users: ${evd.test_churners.toLocaleString('en-US')} churners, ${evd.test_stayers.toLocaleString('en-US')} stayers; a verdict needs at least ${evd.minimum} of each.` : '';
    $('verdict-warnings').innerHTML = (ev.warnings || []).map((w) => `<li class="warn">${esc(w.code)}: ${esc(w.message)}</li>`).join('');
    const names = Object.keys(ev.metrics);
    const m = ['rocAuc', 'prAuc', 'liftTop10', 'captureTop10', 'liftTop20', 'captureTop20', 'precisionAtHighRiskShare', 'recallAtHighRiskShare', 'logLoss', 'brier'];
    const fmt = (x) => (x ? `${x.value.toFixed(3)} [${x.lo.toFixed(3)}, ${x.hi.toFixed(3)}]` : '-');
    // every model kind train fitted (--model auto: logistic, mlp, gbdt) on the same test users; the verdict is the chosen one's ("model")
    const cands = (ev.candidates || []).filter((c) => !c.chosen);
    const heads = [...names.map((n) => (n === 'model' && ev.candidates?.length ? `model (${ev.candidates.find((c) => c.chosen)?.kind ?? '?'}, chosen)` : n)), ...cands.map((c) => `${c.kind} (not chosen)`)];
    const value = (k) => [...names.map((n) => fmt(ev.metrics[n][k])), ...cands.map((c) => fmt(c.test[k]))];
    const rows = m.filter((k) => names.some((n) => ev.metrics[n][k])).map((k) => [k, ...value(k)]);
    if (ev.candidates?.length) rows.push(['validation log loss (choice)', ...names.map((n) => (n === 'model' ? ev.candidates.find((c) => c.chosen).choiceLogLoss.toFixed(4) : '')), ...cands.map((c) => c.choiceLogLoss.toFixed(4))]);
    $('metrics-table').innerHTML = table(['metric (95% CI)', ...heads], rows);
  }
  const e = charts.evaluation || {};
  await embed('chart-roc', e.roc);
  await embed('chart-pr', e.pr);
  await embed('chart-rel', e.reliability);
  await embed('chart-lift', e.lift);
  await embed('chart-gain', e.gain);
  await embed('chart-imp', e.importance);
  await showUpgradePanel();

  for (const row of $('cluster-table').querySelectorAll('tr.pickable')) {
    row.addEventListener('click', () => pickCluster(Number(row.dataset.pick)));
    row.addEventListener('keydown', (ev2) => ev2.key === 'Enter' && pickCluster(Number(row.dataset.pick)));
  }
  const refreshSegments = () => {
    const by = $('pick-by').value;
    const values = Object.keys((snap.sizes || {})[by] || {}).sort();
    $('pick-segment').innerHTML = '<option value="">-</option>' + values.map((v) => `<option>${esc(v)}</option>`).join('');
  };
  refreshSegments();
  $('pick-cluster').addEventListener('change', () => $('pick-cluster').value !== '' && pickCluster(Number($('pick-cluster').value)));
  $('pick-by').addEventListener('change', refreshSegments);
  $('pick-segment').addEventListener('change', () => $('pick-segment').value && pickSegment($('pick-by').value, $('pick-segment').value));
  $('prev').addEventListener('click', () => { state.page = Math.max(1, state.page - 1); loadMembers().catch(showError); });
  $('next').addEventListener('click', () => { state.page = Math.min(state.pages, state.page + 1); loadMembers().catch(showError); });
  $('export').addEventListener('click', () => exportCsv().catch(showError));
  window.cohortlab.ready = true;
}

$('keyform').addEventListener('submit', (e) => {
  e.preventDefault();
  state.key = $('apikey').value;
  sessionStorage.setItem('cohortlab-key', state.key);
  location.reload();
});
main().catch(showError);
