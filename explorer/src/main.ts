import type { ChartsResponse, ClustersResponse, ModelsResponse, ReportResponse, SegmentsResponse } from '../../src/serve/response-types.js';
import { json, NeedsKey, setApiKey } from './api.js';
import type { Ctx, PanelView } from './context.js';
import { byId, count, fill, h } from './dom.js';
import { clustersPanel } from './panels/clusters.js';
import { crosstabPanel } from './panels/crosstab.js';
import { detailPanel } from './panels/detail.js';
import { driftPanel } from './panels/drift.js';
import { membersPanel } from './panels/members.js';
import { modelPanel } from './panels/model.js';
import { retentionPanel } from './panels/retention.js';
import { segmentsPanel } from './panels/segments.js';
import { timePanel } from './panels/time.js';
import { upgradePanel } from './panels/upgrade.js';
import { panelKey, parseState, stateQuery, type Panel, type ViewState } from './state.js';

/**
 * The cohortlab explorer: one panel per question, switched by tabs; the view lives in the URL (panel,
 * picks, member filter), so back/forward and shared links work. Every chart is a vega-lite spec built by
 * the server from the same tested builders as the HTML reports, fitted to its panel here (layout.ts).
 */
let state: ViewState = parseState(location.search);
const built = new Map<Panel, string | null>();

function showError(e: unknown): void {
  const el = byId('error');
  el.hidden = false;
  const message = e instanceof Error ? e.message : String(e);
  el.textContent = message;
  window.cohortlab.errors.push(message);
}

async function boot(): Promise<void> {
  const [report, segments, clusters, charts, models] = await Promise.all([
    json<ReportResponse>('/v1/report'),
    json<SegmentsResponse>('/v1/segments'),
    json<ClustersResponse>('/v1/clusters').catch(() => null),
    json<ChartsResponse>('/v1/charts'),
    json<ModelsResponse>('/v1/models'),
  ]);
  const ctx: Ctx = { report, segments, clusters, charts, models, state: () => state, go, error: showError };
  // Two dates, said everywhere: the scored snapshot (users, members, sizes, the map) and the test cutoff
  // (profiles, the 9.1 dashboard, the evaluation), whose churn is known over the horizon after it.
  const snap = segments.snapshot;
  const gone = snap.already_churned === null || snap.already_churned === undefined ? '' : `, ${count(snap.already_churned)} of them already churned`;
  const cutoff = report.evaluation?.as_of ? `; profiles, dashboard and evaluation as of the test cutoff ${report.evaluation.as_of}` : '';
  fill(byId('model'), `model ${report.model.name}@${report.model.version}; scored snapshot as of ${snap.as_of}: ${count(snap.users)} users${gone}${cutoff}`);

  const panels: PanelView[] = [clustersPanel(ctx), detailPanel(ctx), crosstabPanel(ctx), segmentsPanel(ctx), retentionPanel(ctx), timePanel(ctx), driftPanel(ctx), modelPanel(ctx), ...(models.propensity ? [upgradePanel(ctx)] : []), membersPanel(ctx)];
  const byPanel = new Map(panels.map((p) => [p.id, p]));
  const tablist = byId('tabs');
  const main = byId('panels');
  for (const p of panels) {
    tablist.append(h('button', { type: 'button', role: 'tab', id: `tab-${p.id}`, 'aria-controls': `panel-${p.id}`, 'aria-selected': 'false', tabindex: '-1', onclick: () => go({ panel: p.id }) }, p.label));
    main.append(h('section', { id: `panel-${p.id}`, role: 'tabpanel', 'aria-labelledby': `tab-${p.id}`, tabindex: '0', hidden: true }));
  }
  // Arrow keys, Home and End move between tabs (the WAI-ARIA tabs pattern); Enter or a click opens one.
  tablist.addEventListener('keydown', (e) => {
    const tabs = [...tablist.querySelectorAll<HTMLButtonElement>('[role=tab]')];
    const i = tabs.indexOf(document.activeElement as HTMLButtonElement);
    if (i < 0) return;
    const next = e.key === 'ArrowRight' ? (i + 1) % tabs.length : e.key === 'ArrowLeft' ? (i - 1 + tabs.length) % tabs.length : e.key === 'Home' ? 0 : e.key === 'End' ? tabs.length - 1 : -1;
    if (next < 0) return;
    e.preventDefault();
    tabs[next].focus();
    tabs[next].click();
  });

  async function show(s: ViewState): Promise<void> {
    const id = byPanel.has(s.panel) ? s.panel : 'clusters';
    for (const p of panels) {
      const on = p.id === id;
      byId(`panel-${p.id}`).hidden = !on;
      const tab = byId(`tab-${p.id}`);
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    const panel = byPanel.get(id)!;
    const section = byId(`panel-${id}`);
    if (!built.has(id)) {
      panel.build(section);
      built.set(id, null);
    }
    const key = panelKey(s, id);
    if (built.get(id) === key) return;
    built.set(id, key);
    document.title = `${panel.label} - cohortlab explorer`;
    await panel.render(s);
  }

  async function render(): Promise<void> {
    window.cohortlab.pending++;
    try {
      await show(state);
    } catch (e) {
      if (e instanceof NeedsKey) byId('keyform').hidden = false;
      showError(e);
    } finally {
      window.cohortlab.pending--;
    }
  }

  function go(patch: Partial<ViewState>, opts: { replace?: boolean } = {}): void {
    state = { ...state, ...patch };
    const url = `${location.pathname}${stateQuery(state)}`;
    if (opts.replace) history.replaceState(null, '', url);
    else if (url !== `${location.pathname}${location.search}`) history.pushState(null, '', url);
    void render();
  }

  window.addEventListener('popstate', () => {
    state = parseState(location.search);
    void render();
  });
  await render();
  window.cohortlab.firstPaintMs = Math.round(performance.now());
}

byId('keyform').addEventListener('submit', (e) => {
  e.preventDefault();
  setApiKey(byId<HTMLInputElement>('apikey').value);
  location.reload();
});

boot()
  .catch((e) => {
    if (e instanceof NeedsKey) byId('keyform').hidden = false;
    showError(e);
  })
  .finally(() => {
    window.cohortlab.ready = true;
  });
