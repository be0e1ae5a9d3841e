import type { ChartsResponse, ClustersResponse, ModelsResponse, ReportResponse, SegmentsResponse } from '../../src/serve/response-types.js';
import type { Spec } from './layout.js';
import type { Panel, ViewState } from './state.js';

/** What every panel gets: the answers loaded once at start, the current view state and navigation. */
export interface Ctx {
  report: ReportResponse;
  segments: SegmentsResponse;
  clusters: ClustersResponse | null;
  charts: ChartsResponse;
  models: ModelsResponse;
  state(): ViewState;
  /** Changes the view (a new history entry, or replacing the current one for typing) and draws it. */
  go(patch: Partial<ViewState>, opts?: { replace?: boolean }): void;
  /** Shows an error in the page's alert line. */
  error(e: unknown): void;
}

export interface PanelView {
  id: Panel;
  label: string;
  /** Builds the panel's DOM into its section (once, the first time it is shown). */
  build(section: HTMLElement): void;
  /** Draws the state (called when the panel is shown and when a key it reads changed). */
  render(s: ViewState): Promise<void>;
}

/** A cluster's profile at the test cutoff (GET /v1/clusters fit.profiles; src/cluster ClusterProfile). */
export interface Profile {
  cluster: number;
  label: string;
  size: number;
  share: number;
  z: Record<string, number>;
  top: { feature: string; z: number }[];
  churnRate: number | null;
  alreadyChurnedRate: number;
  meanChurnRisk: number | null;
}

export interface Crosstab {
  column: string;
  values: string[];
  counts: number[][];
  ari: number;
}

export const profilesOf = (c: ClustersResponse): Profile[] => c.fit.profiles as unknown as Profile[];
export const crosstabsOf = (c: ClustersResponse): Crosstab[] => (c.fit.crosstabs ?? []) as Crosstab[];
export const clusterSpecs = (ctx: Ctx, name: string): Spec[] => ((ctx.charts.clusters ?? {})[name] ?? []) as Spec[];
export const clusterName = (p: { cluster: number; label: string }): string => `${p.cluster}: ${p.label}`;
