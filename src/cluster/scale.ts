import { BASE_FEATURES } from '../features/dictionary.js';
import { CohortlabError } from '../shared/errors.js';
import { closestName } from '../shared/names.js';
import { fitFeatureColumn } from '../shared/preprocess.js';
import type { DenseMatrix } from '../shared/matrix.js';
import { MIN_ROWS_FOR_THREADS } from './lloyd.js';
import type { ScalerKind, ScalerState } from './types.js';

/**
 * Preparation of the feature table for k-means (playbook §6.2: clustering on behavioural data).
 *
 *   raw column -> impute NaN with the training median -> log1p (heavy-tailed counts) -> (x - center) / scale
 *
 * Default features: the behavioural dimensions of playbook §2.1 (usage frequency, feature breadth,
 * engagement depth, collaboration, decline signals), intent (§2.4) and cadence/recency (§3.3, §3.4),
 * with no dimension counted twice by an exact rescaling: dau_mau = active_days_30d / 30, dau_wau,
 * features_used_30d = breadth x core features and team_size = 1 + invites_total are left out. Also left
 * out: plan and billing columns (is_paid, ever_paid, monetary_value, failed payments: plan segments are
 * rules, §2.5), activation milestone flags (lifecycle, §4.2) and tenure (signup cohort, not behaviour).
 * The §4.4 decline alarms (tickets, cancel-page views) are in: on the synthetic product they are what
 * sets declining users apart from regular ones (measured: ARI 0.77 -> 0.88, docs/cluster.md).
 * downgrades_30d is out: a rare 0/1 event that, once scaled, splits off clusters of a few dozen users
 * at every k >= 6, which the §10 size rule then rejects (measured on the stationary generator: without
 * it k = auto picks 6-8 with ARI 0.81-0.86 on three seeds; with it k = 3-5, ARI 0.36-0.70).
 * A default that is constant or missing in a table (a log without downgrade events) is skipped with a
 * note; a feature asked for by name must be usable, or the run stops naming it.
 */
export const DEFAULT_CLUSTER_FEATURES: readonly string[] = [
  'sessions_7d', // frequency, this week (§2.1)
  'avg_weekly_sessions_28d', // frequency, 4-week baseline (§2.1, §4.1)
  'total_sessions', // lifetime usage (§2.1; §3.4 dormant = 3+ sessions before)
  'active_days_30d', // stickiness (§2.1 DAU/MAU)
  'wau_mau', // regularity: active weeks of the last 4 (§2.1)
  'feature_breadth_30d', // breadth (§2.1, §4.1)
  'avg_session_minutes_30d', // depth: time (§2.1)
  'actions_per_session_30d', // depth: actions (§2.1)
  'invites_14d', // collaboration (§2.1, §3.2)
  'shares_14d', // collaboration (§2.1, §3.2)
  'pricing_views_14d', // intent (§2.4)
  'locked_clicks_14d', // intent, hitting the plan's limits (§2.4, §4.3)
  'days_since_last_activity', // recency (§3.4, §6.3)
  'typical_gap_days', // cadence (§3.3, §4.4)
  'usage_decline', // decline: sessions vs own baseline (§4.4)
  'support_tickets_30d', // decline alarm (§4.4)
  'cancel_page_views_30d', // decline alarm (§4.4)
];

const HEAVY_TAILED = new Set(BASE_FEATURES.filter((f) => f.heavyTailed).map((f) => f.name));

/** Whether the dictionary marks a feature heavy-tailed (log1p before scaling). Unknown names: no. */
export function isHeavyTailed(name: string): boolean {
  return HEAVY_TAILED.has(name);
}

/**
 * The features to cluster on: `requested` (every name must exist) or the defaults present in the table
 * (a default the table lacks, e.g. invites in a CDNOW purchase log, is skipped and reported).
 */
export function selectFeatures(available: readonly string[], requested?: readonly string[]): { features: string[]; skipped: string[] } {
  const have = new Set(available);
  if (requested && requested.length > 0) {
    const seen = new Set<string>();
    for (const name of requested) {
      if (!have.has(name)) {
        const guess = closestName(name, available);
        throw new CohortlabError('MISSING_COLUMN', `cluster feature "${name}" is not a column of the feature table${guess ? `; did you mean "${guess}"?` : ''} Available: ${available.join(', ')}.`);
      }
      if (seen.has(name)) throw new CohortlabError('BAD_ARGUMENT', `cluster feature "${name}" is listed twice in the feature list; list each feature once.`);
      seen.add(name);
    }
    return { features: [...requested], skipped: [] };
  }
  const features = DEFAULT_CLUSTER_FEATURES.filter((f) => have.has(f));
  const skipped = DEFAULT_CLUSTER_FEATURES.filter((f) => !have.has(f));
  if (features.length < 2) {
    throw new CohortlabError('MISSING_COLUMN', `the feature table has ${features.length} of the default cluster features (${DEFAULT_CLUSTER_FEATURES.join(', ')}); choose at least 2 numeric columns with --features-list a,b,c. Available: ${available.join(', ')}.`);
  }
  return { features, skipped };
}

export interface ScalerParams {
  kind: ScalerKind;
  features: string[];
  /** Features to log1p; default: those the dictionary marks heavy-tailed. */
  log1p?: string[];
}

export interface ScaleReport {
  /** Missing (NaN) raw values replaced by the training median, per feature (only features with any). */
  imputed: Record<string, number>;
}

/**
 * Fits and applies the preparation. Estimator contract: params as given, fit validates and replaces
 * state, toJSON/fromJSON round-trip (the cluster model embeds it, so the server and notebooks scale new
 * users exactly like the training users).
 */
export class FeatureScaler {
  readonly params: ScalerParams;
  state: ScalerState | undefined;

  constructor(params: ScalerParams) {
    this.params = params;
  }

  fit(columns: Record<string, Float64Array>): this {
    const { kind, features } = this.params;
    if (kind !== 'standard' && kind !== 'robust') throw new CohortlabError('BAD_ARGUMENT', `scaler must be "standard" or "robust", got "${String(kind)}".`);
    if (features.length === 0) throw new CohortlabError('BAD_ARGUMENT', 'no features to scale; give at least one feature.');
    const logSet = new Set(this.params.log1p ?? features.filter(isHeavyTailed));
    const state: ScalerState = { features: [...features], log1p: [], impute: [], center: [], scale: [] };
    for (const name of features) {
      const col = columns[name];
      if (!col) throw new CohortlabError('MISSING_COLUMN', `feature "${name}" is not in the table to scale; available: ${Object.keys(columns).join(', ')}.`);
      const useLog = logSet.has(name);
      const { impute, center, scale } = fitFeatureColumn(col, name, useLog, kind);
      state.log1p.push(useLog ? 1 : 0);
      state.impute.push(impute);
      state.center.push(center);
      state.scale.push(scale);
    }
    this.state = state;
    return this;
  }

  /** Row-major matrix of the scaled features (n x d), and how many NaNs were imputed per feature. */
  transform(columns: Record<string, Float64Array>): DenseMatrix & ScaleReport {
    const s = this.state;
    if (!s) throw new CohortlabError('NOT_FITTED', 'the feature scaler was used before fit; fit it on the training table or load it from a cluster model.');
    return scaleColumns(s, columns);
  }

  toJSON(): { kind: 'feature-scaler'; version: 1; params: ScalerParams; state: ScalerState } {
    if (!this.state) throw new CohortlabError('NOT_FITTED', 'the feature scaler has no state to save; fit it first.');
    return { kind: 'feature-scaler', version: 1, params: this.params, state: this.state };
  }

  static fromJSON(json: { kind: string; version: number; params: ScalerParams; state: ScalerState }): FeatureScaler {
    if (json.kind !== 'feature-scaler' || json.version !== 1) throw new CohortlabError('MODEL_INCOMPATIBLE', `expected a feature-scaler of version 1, got kind "${json.kind}" version ${json.version}.`);
    const f = new FeatureScaler(json.params);
    f.state = json.state;
    return f;
  }
}

/** Applies a fitted scaler state to columns (pure; also used by assignClusters on new users). */
export function scaleColumns(s: ScalerState, columns: Record<string, Float64Array>): DenseMatrix & ScaleReport {
  const d = s.features.length;
  let n = -1;
  const cols: Float64Array[] = [];
  for (const name of s.features) {
    const c = columns[name];
    if (!c) {
      const guess = closestName(name, Object.keys(columns));
      throw new CohortlabError('MISSING_COLUMN', `the cluster model needs feature "${name}", which the input lacks${guess ? ` (did you mean "${guess}"?)` : ''}; it was fitted on: ${s.features.join(', ')}.`);
    }
    if (n >= 0 && c.length !== n) throw new CohortlabError('BAD_FEATURE', `feature "${name}" has ${c.length} values but "${s.features[0]}" has ${n}; every column needs one value per user.`);
    n = c.length;
    cols.push(c);
  }
  // large matrices go to shared memory so k-means can split its passes over threads without a copy
  const data = n >= MIN_ROWS_FOR_THREADS ? new Float64Array(new SharedArrayBuffer(n * d * 8)) : new Float64Array(n * d);
  const imputed: Record<string, number> = {};
  for (let j = 0; j < d; j++) {
    const c = cols[j];
    const log = s.log1p[j] === 1;
    const center = s.center[j];
    const scale = s.scale[j];
    const fill = s.impute[j];
    let missing = 0;
    for (let i = 0; i < n; i++) {
      let v = c[i];
      if (Number.isNaN(v)) {
        v = fill;
        missing++;
      }
      if (log) v = Math.log1p(v > -1 ? v : 0); // a new user's impossible negative count is read as 0
      data[i * d + j] = (v - center) / scale;
    }
    if (missing > 0) imputed[s.features[j]] = missing;
  }
  return { data, rows: n, cols: d, imputed };
}

/** Back from standard units to the raw feature (inverse of scaleColumns for one value). */
export function unscaleValue(s: ScalerState, j: number, z: number): number {
  const t = z * s.scale[j] + s.center[j];
  return s.log1p[j] === 1 ? Math.expm1(t) : t;
}
