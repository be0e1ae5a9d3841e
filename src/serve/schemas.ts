import { ERROR_CATALOGUE } from '../shared/errors.js';

/**
 * JSON schemas of every /v1 route. Fastify validates requests with them (no type coercion, unknown
 * properties rejected) and /v1/openapi.json is generated from the same objects.
 */
export const MAX_USERS_PER_REQUEST = 10_000;
export const BODY_LIMIT_BYTES = 32 * 1024 * 1024;

export const errorSchema = {
  type: 'object',
  required: ['code', 'message', 'path'],
  properties: {
    code: { type: 'string', enum: Object.keys(ERROR_CATALOGUE), description: 'stable error code (docs/errors.md; ERROR_CATALOGUE in src/shared/errors.ts)' },
    message: { type: 'string', description: 'what is wrong, where, and how to fix it' },
    path: { type: 'string', description: 'JSON path or parameter the error is about' },
  },
} as const;

export const modelRefSchema = {
  type: 'object',
  required: ['name', 'version'],
  properties: { name: { type: 'string' }, version: { type: 'integer' } },
} as const;

const reasonSchema = {
  type: 'object',
  required: ['feature', 'direction', 'contribution', 'value'],
  properties: {
    feature: { type: 'string' },
    direction: { type: 'string', enum: ['increases_risk', 'decreases_risk'] },
    contribution: { type: 'number', description: 'log-odds change against the training mean of the feature' },
    value: { type: 'number' },
  },
} as const;

export const predictionSchema = {
  type: 'object',
  // churn_probability for churn models; upgrade_probability or <event>_probability for `train --target` ones
  required: ['user_id', 'churn_risk_score', 'churn_risk_tier', 'engagement_score', 'engagement_tier', 'activation_score', 'expansion_readiness_score', 'behavioral_segment', 'lifecycle_stage', 'already_churned', 'cluster', 'cluster_label', 'reasons'],
  properties: {
    user_id: { type: 'string' },
    churn_probability: { type: 'number', description: 'calibrated probability of churn within the model horizon (churn models)' },
    upgrade_probability: { type: 'number', description: 'calibrated probability of a first upgrade within the model horizon (`train --target upgrade` models; users who upgraded before are not its population)' },
    churn_risk_score: { type: 'number', description: 'playbook 4.4 rule score, 0-100' },
    churn_risk_tier: { type: 'string' },
    engagement_score: { type: 'number' },
    engagement_tier: { type: 'string' },
    activation_score: { type: 'number' },
    activation_tier: { type: 'string' },
    expansion_readiness_score: { type: 'number' },
    expansion_readiness_tier: { type: 'string' },
    behavioral_segment: { type: 'string' },
    lifecycle_stage: { type: 'string', description: 'playbook 2.3 stage; "Churned" when already_churned is 1' },
    already_churned: { type: 'integer', enum: [0, 1], description: 'users given as events: 1 after an explicit churn event or when idle past the 3.4 inactivity threshold at the cutoff; users given as features: 1 when days_since_last_activity reaches that threshold. Their churn_risk_tier is "Churned" (the score is still computed)' },
    cluster: { type: 'integer' },
    cluster_label: { type: 'string' },
    reasons: { type: 'array', items: reasonSchema },
    as_of: { type: 'string', description: 'the cutoff date the features were computed at (users given as events; users given as features when their row has as_of)' },
    p_alive: { type: ['number', 'null'], description: 'BG/NBD probability that the customer is still alive at the cutoff (docs/ltv.md); null when the model version has no LTV model (ltv.json: a log without purchases), for users given as features (BG/NBD needs the purchase days), or for a user without a purchase before the cutoff' },
    expected_purchases: { type: ['number', 'null'], description: 'BG/NBD expected purchase days in the model horizon after the cutoff; null as p_alive' },
    clv: { type: ['number', 'null'], description: 'customer lifetime value over 12 months (monthly discount 0.01) from BG/NBD and Gamma-Gamma spend; null as p_alive, and when the log has no value column' },
  },
  // `train --target event:NAME` models: NAME in snake_case + _probability (e.g. add_friend_probability)
  patternProperties: { '^[a-z0-9_]+_probability$': { type: 'number' } },
} as const;

const rawEventSchema = {
  type: 'object',
  required: ['timestamp', 'event'],
  additionalProperties: false,
  properties: {
    timestamp: { type: ['string', 'number'], description: 'ISO 8601, epoch seconds or epoch milliseconds' },
    event: { type: 'string', minLength: 1 },
    session_id: { type: ['string', 'number'] },
    plan: { type: 'string' },
    value: { type: 'number' },
    signup: { type: ['string', 'number'] },
  },
} as const;

const DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';
// One schema per column (not oneOf): the 400 then says "must be equal to one of the allowed values" at its path.
const flag = { type: ['integer', 'boolean'], enum: [0, 1, true, false] } as const;

/**
 * The columns `cohortlab features` writes beside the features, so a row of its output posts as it is
 * (`{ user_id, features: row }`). Each is accepted and used or ignored as its description says; any other
 * name is still an unknown feature (400 naming it).
 */
export const FEATURE_ROW_EXTRAS = {
  user_id: { type: 'string', minLength: 1, description: "the row's user id: ignored when it equals the user's user_id, a 400 otherwise" },
  plan: { type: ['string', 'null'], description: 'latest plan before the cutoff: used by the plan rules (playbook §2.5); null or "" = unknown' },
  already_churned: { ...flag, description: 'used: 1 (or true) = already churned at the cutoff (lifecycle "Churned"); default 0' },
  churned: { type: ['integer', 'boolean', 'null'], enum: [0, 1, true, false, null], description: 'the label of a features file written with --horizon-days: ignored (it is what the model predicts)' },
  as_of: { type: 'string', pattern: DATE_PATTERN, description: "the cutoff date the features were computed at: echoed as the prediction's as_of" },
} as const;

/**
 * The body of POST /v1/predict/columns: the same users as feature rows, sent column by column (one array per
 * feature, each as long as user_id): no object per user to build or parse, for services that score in batches.
 */
export function predictColumnsBodySchema(featureNames: string[]) {
  const column = (items: object, description: string) => ({ type: 'array', maxItems: MAX_USERS_PER_REQUEST, items, description });
  const extras = {
    plan: column({ type: ['string', 'null'] }, FEATURE_ROW_EXTRAS.plan.description),
    already_churned: column(flag, FEATURE_ROW_EXTRAS.already_churned.description),
    as_of: column({ type: 'string', pattern: DATE_PATTERN }, FEATURE_ROW_EXTRAS.as_of.description),
  };
  return {
    type: 'object',
    required: ['user_id', 'columns'],
    additionalProperties: false,
    properties: {
      top_reasons: { type: 'integer', minimum: 0, maximum: 20, default: 3, description: 'reason codes per user (0 skips them: faster for large batches)' },
      user_id: { type: 'array', minItems: 1, maxItems: MAX_USERS_PER_REQUEST, items: { type: 'string', minLength: 1 }, description: 'the users, in the order of every column' },
      columns: {
        type: 'object',
        description: `one array per feature of the model (GET /v1/models lists them), each with one value per user_id; also accepted: ${Object.keys(extras).filter((k) => !featureNames.includes(k)).join(', ')}`,
        required: featureNames,
        additionalProperties: false,
        properties: { ...Object.fromEntries(Object.entries(extras).filter(([k]) => !featureNames.includes(k))), ...Object.fromEntries(featureNames.map((f) => [f, column({ type: 'number' }, `feature ${f}`)])) },
      },
    },
  } as const;
}

/** The body of POST /v1/predict for a model with these features. */
export function predictBodySchema(featureNames: string[]) {
  // A feature named like an extra column keeps its numeric schema (the model's features win).
  const extras = Object.fromEntries(Object.entries(FEATURE_ROW_EXTRAS).filter(([k]) => !featureNames.includes(k)));
  const features = {
    type: 'object',
    description: `every feature of the model (GET /v1/models lists them), as of the user's cutoff; also accepted, so a row of \`cohortlab features\` output posts as it is: ${Object.keys(extras).join(', ')}`,
    required: featureNames,
    additionalProperties: false,
    properties: { ...Object.fromEntries(featureNames.map((f) => [f, { type: 'number' }])), ...extras },
  };
  return {
    type: 'object',
    required: ['users'],
    additionalProperties: false,
    properties: {
      as_of: { type: 'string', pattern: DATE_PATTERN, description: 'cutoff date for users given as events (default: the day of the latest event)' },
      top_reasons: { type: 'integer', minimum: 0, maximum: 20, default: 3, description: 'reason codes per user (0 skips them: faster for large batches)' },
      users: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_USERS_PER_REQUEST,
        items: {
          type: 'object',
          required: ['user_id'],
          additionalProperties: false,
          properties: {
            user_id: { type: 'string', minLength: 1 },
            features,
            events: { type: 'array', minItems: 1, items: rawEventSchema },
          },
          oneOf: [{ required: ['features'] }, { required: ['events'] }],
        },
      },
    },
  } as const;
}

export const predictResponseSchema = {
  type: 'object',
  required: ['model', 'predictions'],
  properties: { model: modelRefSchema, predictions: { type: 'array', items: predictionSchema } },
} as const;

/** GET /v1/members and GET /v1/export select with the same query (src/serve/snapshot.ts selectMembers). */
export const selectionQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cluster: { type: 'integer', minimum: 0, description: 'a cluster id (combines with segment and q: all must hold)' },
    segment: { type: 'string', minLength: 1, description: 'a value of the `by` column, e.g. "At-Risk Users"' },
    by: { type: 'string', minLength: 1, description: 'the rule column `segment` refers to (default behavioral_segment)' },
    q: { type: 'string', maxLength: 200, description: 'a case-insensitive substring of user_id' },
    sort: { type: 'string', minLength: 1, description: 'any column of the snapshot but reasons (GET /v1/members lists them as `sortable`): numbers numerically, text by code points, NaN and null last; ties keep snapshot order. Absent: snapshot order' },
    order: { type: 'string', enum: ['asc', 'desc'], default: 'desc', description: 'the order of `sort`' },
  },
} as const;

export const membersQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...selectionQuerySchema.properties,
    page: { type: 'integer', minimum: 1, default: 1 },
    page_size: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  },
} as const;

export const anyObject = { type: 'object', additionalProperties: true } as const;

// null only for a version saved without the date (trained before snapshots were dated).
const asOf = (what: string) => ({ type: ['string', 'null'], pattern: DATE_PATTERN, description: `as-of date (cutoff, inclusive) of ${what}` }) as const;
// const type parameters: the required names and properties stay literal, so src/serve/response-types.ts derives exact types
const openObject = <const R extends readonly string[], const P extends Record<string, unknown>>(description: string, required: R, properties: P) => ({ type: 'object', description, required, additionalProperties: true, properties }) as const;

/**
 * GET /v1/clusters: two dated blocks, each counted on one table. `fit`: the users the clusters were fitted
 * and profiled on (the test cutoff: sizes, churn within the horizon, stability); `snapshot`: the scored
 * snapshot the server answers members and users from (its date, cluster sizes, mean churn probability).
 */
export const clustersResponseSchema = {
  type: 'object',
  required: ['model', 'k', 'labels', 'fit', 'snapshot'],
  additionalProperties: true,
  properties: {
    model: modelRefSchema,
    k: { type: 'integer' },
    features: { type: 'array', items: { type: 'string' } },
    labels: { type: 'array', items: { type: 'string' }, description: 'label of every cluster (index = cluster id)' },
    fit: openObject('the table the clusters were fitted and profiled on; every count here is as of fit.as_of', ['as_of', 'users', 'fitted_users', 'fitted_on', 'profiles'], {
      as_of: asOf('the fitted table (the test cutoff)'),
      horizon_days: { type: ['integer', 'null'], description: 'churnRate of a profile = churned within this many days after as_of' },
      users: { type: 'integer' },
      fitted_users: { type: 'integer', description: 'users k-means was fitted on' },
      already_churned: { type: 'integer', description: 'users already churned at as_of (assigned after the fit when fitted_on = "live")' },
      fitted_on: { type: 'string', enum: ['live', 'all'] },
      profiles: { type: 'array', items: anyObject },
    }),
    snapshot: openObject('the scored snapshot (what /v1/users, /v1/members and /v1/export answer from); every count here is as of snapshot.as_of', ['as_of', 'users', 'clusters'], {
      as_of: asOf('the scored snapshot'),
      users: { type: 'integer' },
      already_churned: { type: ['integer', 'null'], description: 'users already churned at snapshot.as_of (null when the snapshot has no already_churned column)' },
      clusters: {
        type: 'array',
        items: openObject('one cluster in the snapshot', ['cluster', 'label', 'users', 'share'], {
          cluster: { type: 'integer' }, label: { type: 'string' }, users: { type: 'integer' }, share: { type: 'number' },
          already_churned: { type: ['integer', 'null'] }, mean_churn_probability: { type: ['number', 'null'] },
        }),
      },
    }),
  },
} as const;

/** GET /v1/segments: the rule segment sizes of the snapshot and the §9.1 dashboard of the test cutoff, each dated. */
export const segmentsResponseSchema = {
  type: 'object',
  required: ['model', 'snapshot', 'dashboard'],
  additionalProperties: true,
  properties: {
    model: modelRefSchema,
    snapshot: openObject('sizes of every rule segment column in the scored snapshot; every count is as of snapshot.as_of', ['as_of', 'users', 'sizes'], {
      as_of: asOf('the scored snapshot'),
      users: { type: 'integer' },
      already_churned: { type: ['integer', 'null'] },
      sizes: { type: 'object', additionalProperties: { type: 'object', additionalProperties: { type: 'integer' } } },
    }),
    dashboard: {
      ...openObject('playbook §9.1 on the users of the test cutoff (their retention over the horizon is known) and the §10 warnings; every count is as of dashboard.as_of; null for a model without one', ['as_of', 'users', 'rows', 'warnings'], {
        as_of: asOf('the dashboard (the test cutoff)'),
        horizon_days: { type: ['integer', 'null'] },
        users: { type: 'integer' },
        rows: { type: 'array', items: anyObject },
        warnings: { type: 'array', items: anyObject },
      }),
      type: ['object', 'null'],
    },
    ltv: {
      ...openObject('playbook §9.1 "LTV" on the users of the test cutoff: per behavioral_segment, lifecycle_stage and cluster_label, users, customers, sum and mean of BG/NBD expected purchases over horizonDays and of 12-month CLV (null without a value column, then `note` says so); null for a version without a purchase log (docs/ltv.md)', ['asOf', 'horizonDays', 'tables'], {
        asOf: asOf('the LTV tables (the test cutoff)'),
        horizonDays: { type: 'integer' },
        clvMonths: { type: 'integer' },
        monthlyDiscount: { type: 'number' },
        note: { type: ['string', 'null'] },
        tables: { type: 'array', items: anyObject },
      }),
      type: ['object', 'null'],
    },
  },
} as const;

/** GET /v1/users/:id: the user's row of the scored snapshot, with the snapshot's date. */
export const userResponseSchema = openObject("the user's row of the scored snapshot (every column of `cohortlab score` output)", ['user_id', 'as_of'], {
  user_id: { type: 'string' },
  as_of: asOf('the scored snapshot this row belongs to'),
});

/** GET /v1/members: a page of the scored snapshot's members, with the snapshot's date and the selection as applied. */
export const membersResponseSchema = openObject('a page of members of the scored snapshot', ['as_of', 'total', 'page', 'page_size', 'pages', 'rows', 'filter', 'sort', 'order', 'sortable'], {
  as_of: asOf('the scored snapshot the rows belong to'),
  total: { type: 'integer', description: 'members over all pages (0 when the combination matches nobody)' },
  page: { type: 'integer' },
  page_size: { type: 'integer' },
  pages: { type: 'integer', description: 'at least 1' },
  rows: { type: 'array', items: openObject("a row of the scored snapshot (every column of `cohortlab score` output)", ['user_id'], { user_id: { type: 'string' } }) },
  filter: {
    type: 'object',
    required: ['cluster', 'by', 'segment', 'q'],
    additionalProperties: false,
    description: 'the filters applied (null: not given); `by` is null unless `segment` was given',
    properties: { cluster: { type: ['integer', 'null'] }, by: { type: ['string', 'null'] }, segment: { type: ['string', 'null'] }, q: { type: ['string', 'null'] } },
  },
  sort: { type: ['string', 'null'], description: 'the sort column (null: snapshot order)' },
  order: { type: 'string', enum: ['asc', 'desc'] },
  sortable: { type: 'array', items: { type: 'string' }, description: 'every column `sort` accepts' },
});

const distributionSchema = {
  type: 'object',
  required: ['n', 'mean', 'min', 'p05', 'q1', 'median', 'q3', 'p95', 'max'],
  additionalProperties: false,
  description: 'non-missing values, their mean and quantiles (linear interpolation, NumPy default); null when n = 0',
  properties: {
    n: { type: 'integer' }, mean: { type: ['number', 'null'] }, min: { type: ['number', 'null'] }, p05: { type: ['number', 'null'] }, q1: { type: ['number', 'null'] },
    median: { type: ['number', 'null'] }, q3: { type: ['number', 'null'] }, p95: { type: ['number', 'null'] }, max: { type: ['number', 'null'] },
  },
} as const;

const mixRowsSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['value', 'users', 'share', 'population_share'],
    additionalProperties: false,
    properties: { value: { type: 'string' }, users: { type: 'integer' }, share: { type: 'number', description: "of the cluster's users" }, population_share: { type: 'number', description: 'of all users of the snapshot' } },
  },
  description: 'every value of the column in the snapshot (users 0 included), most common in the population first',
} as const;

const clusterDetailSchema = {
  type: 'object',
  required: ['cluster', 'label', 'users', 'share', 'churn', 'mean_churn_probability', 'features', 'mix', 'reasons'],
  additionalProperties: false,
  properties: {
    cluster: { type: 'integer' },
    label: { type: 'string' },
    users: { type: 'integer', description: 'members in the scored snapshot' },
    share: { type: 'number', description: 'of the scored snapshot' },
    churn: {
      type: ['object', 'null'],
      required: ['as_of', 'users', 'churned', 'rate', 'lo', 'hi'],
      additionalProperties: false,
      description: "churn within the horizon after the test cutoff, from the fit profile: every user of the test cutoff's table assigned to the cluster, already churned ones included (as the profile counts); lo-hi is the 95% Wilson interval. Null for an unlabelled fit",
      properties: { as_of: asOf('the test cutoff'), users: { type: 'integer' }, churned: { type: 'integer' }, rate: { type: 'number' }, lo: { type: 'number' }, hi: { type: 'number' } },
    },
    mean_churn_probability: { type: ['number', 'null'], description: "mean churn_probability of the members in the snapshot (null for a version without that column)" },
    features: {
      type: 'array',
      description: "the clustered features with the largest |z| in the profile (6; with compare, the union of both clusters' top 6 in the same order for both), then those asked with `features=`; quantiles over the rows of the snapshot features (features_as_of). Empty for a version stored without them",
      items: {
        type: 'object',
        required: ['feature', 'z', 'scale', 'cluster', 'population'],
        additionalProperties: false,
        properties: {
          feature: { type: 'string' },
          z: { type: 'number', description: 'profile difference from the population in standard deviations (log1p scale for heavy-tailed counts)' },
          scale: { type: 'string', enum: ['linear', 'symlog'], description: 'symlog when the population has no negative value and p95 > 10 x median or max > 10 x p95 (a long right tail)' },
          cluster: distributionSchema,
          population: distributionSchema,
        },
      },
    },
    mix: { type: 'object', additionalProperties: mixRowsSchema, description: 'behavioral_segment and lifecycle_stage of the members in the snapshot' },
    reasons: {
      type: ['array', 'null'],
      description: 'the 8 reason codes (feature, direction) most members carry among their top reasons, in the snapshot; null when the snapshot has no reasons column',
      items: { type: 'object', required: ['feature', 'direction', 'users', 'share'], additionalProperties: false, properties: { feature: { type: 'string' }, direction: { type: 'string' }, users: { type: 'integer' }, share: { type: 'number' } } },
    },
  },
} as const;

export const clusterParamsSchema = {
  type: 'object',
  required: ['cluster'],
  additionalProperties: false,
  properties: { cluster: { type: 'integer', minimum: 0, description: 'a cluster id (GET /v1/clusters)' } },
} as const;

export const clusterDetailQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    compare: { type: 'integer', minimum: 0, description: 'another cluster to show side by side' },
    features: { type: 'string', minLength: 1, maxLength: 2000, description: 'comma-separated features to show after the top ones (any feature of the version\'s stored snapshot features, e.g. total_sessions,monetary_value)' },
  },
} as const;

/** GET /v1/clusters/:cluster: one cluster (and `compare`) in detail, with three vega-lite charts. */
export const clusterDetailResponseSchema = {
  type: 'object',
  required: ['model', 'as_of', 'features_as_of', 'test_cutoff', 'horizon_days', 'population', 'cluster', 'compare', 'charts'],
  additionalProperties: false,
  properties: {
    model: modelRefSchema,
    as_of: asOf('the scored snapshot (users, shares, mix, reasons, mean churn probability)'),
    features_as_of: asOf('the snapshot the feature quantiles are counted on: the training snapshot, which is as_of unless a refresh snapshot is served'),
    test_cutoff: asOf('the test cutoff (churn)'),
    horizon_days: { type: ['integer', 'null'], description: 'churn = churned within this many days after test_cutoff' },
    population: { type: 'object', required: ['users'], additionalProperties: false, properties: { users: { type: 'integer', description: 'users of the scored snapshot' } } },
    cluster: clusterDetailSchema,
    compare: { ...clusterDetailSchema, type: ['object', 'null'] },
    charts: {
      type: 'object',
      required: ['distributions', 'mix', 'reasons'],
      additionalProperties: false,
      properties: {
        distributions: { type: ['object', 'null'], additionalProperties: true, description: 'vega-lite vconcat, one row per feature: box plots (p05-p95, q1-q3, median) of the cluster, the compared one and all users; null without features' },
        mix: { ...anyObject, description: 'vega-lite: segment and lifecycle shares against the population' },
        reasons: { type: ['object', 'null'], additionalProperties: true, description: 'vega-lite: top reason codes by share of members, colored by direction; null without reasons' },
      },
    },
  },
} as const;

/** GET /v1/points: a sample of the scored snapshot on the PCA map, with its date. */
export const pointsResponseSchema = openObject('a seeded sample of the scored snapshot on the PCA map', ['as_of', 'users', 'points'], {
  as_of: asOf('the scored snapshot the points belong to'),
  users: { type: 'integer' },
  points: {
    type: 'array',
    items: { type: 'object', required: ['pc1', 'pc2', 'cluster', 'cluster_label'], additionalProperties: false, properties: { pc1: { type: 'number' }, pc2: { type: 'number' }, cluster: { type: 'integer' }, cluster_label: { type: 'string' } } },
  },
});

export const pointsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { sample: { type: 'integer', minimum: 1, maximum: 20000, default: 5000, description: 'at most this many points, every n/sample-th row' } },
} as const;

/** GET /v1/retention (src/retention/stored.ts): one view of the version's retention.json. */
export const retentionQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { by: { type: 'string', enum: ['all', 'segment', 'lifecycle', 'cluster'], default: 'segment', description: 'grouping: all users, §2.1 behavioral_segment, §2.3 lifecycle_stage, or the model\'s clusters' } },
} as const;

const curveStep = {
  type: 'object',
  required: ['t_days', 'at_risk', 'churned', 'survival', 'lower', 'upper'],
  additionalProperties: false,
  properties: { t_days: { type: 'number' }, at_risk: { type: 'number' }, churned: { type: 'number' }, survival: { type: 'number' }, lower: { type: 'number' }, upper: { type: 'number' } },
} as const;

export const retentionResponseSchema = {
  type: 'object',
  required: ['model', 'as_of', 'landmark', 'by', 'groups', 'log_rank', 'curves', 'warnings'],
  additionalProperties: true,
  properties: {
    model: modelRefSchema,
    as_of: asOf('the end of the observation: users still active are censored here (the snapshot date)'),
    landmark: { type: ['string', 'null'], description: 'groups assigned and time counted from this date (the test cutoff), among users live then; null = groups at as_of (warning GROUPS_FROM_OUTCOME)' },
    by: { type: 'string' },
    groups: { type: 'array', items: anyObject, description: 'per group: users, churned, censored, median_days, median_lower, median_upper (null = not reached / unbounded)' },
    log_rank: { type: ['object', 'null'], additionalProperties: true, description: '{ chi_square, df, p_value, groups, observed, expected }; null for one group' },
    curves: { type: 'array', items: { type: 'object', required: ['group', 'steps'], additionalProperties: false, properties: { group: { type: 'string' }, steps: { type: 'array', items: curveStep } } } },
    warnings: { type: 'array', items: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
  },
} as const;

/** The error answers of a route: 400, 401 (API key) and 500 always, and the route's own statuses. */
export function errorResponses(...statuses: number[]): Record<number, typeof errorSchema> {
  return Object.fromEntries([400, 401, ...statuses, 500].sort((a, b) => a - b).map((s) => [s, errorSchema]));
}

/** One scheduled refresh run (serve --refresh; src/serve/refresh.ts). */
const refreshRunSchema = {
  type: ['object', 'null'],
  required: ['started_at', 'finished_at', 'as_of', 'status', 'error', 'seconds', 'users', 'served'],
  additionalProperties: false,
  properties: {
    started_at: { type: 'string', description: 'ISO 8601' },
    finished_at: { type: 'string', description: 'ISO 8601' },
    as_of: asOf('the snapshot the run scored (null: it failed before choosing one)'),
    status: { type: 'string', enum: ['ok', 'error'] },
    error: { type: ['string', 'null'], description: 'why the run failed (the previous snapshot is still served); null when ok' },
    seconds: { type: 'number' },
    users: { type: ['integer', 'null'] },
    served: { type: 'boolean', description: 'the new snapshot is the one served (false: the run failed, or the loaded version changed during it)' },
  },
} as const;

/** The schedule of serve --refresh, or null when the server does not refresh. */
export const refreshStateSchema = {
  type: ['object', 'null'],
  required: ['cadence', 'interval_seconds', 'running', 'last', 'next_at', 'skipped'],
  additionalProperties: false,
  description: 'serve --refresh: the cadence, the last run (time, as-of, ok/error) and the next one; null when the server does not refresh',
  properties: {
    cadence: { type: 'string' },
    interval_seconds: { type: 'number' },
    running: { type: 'boolean' },
    last: refreshRunSchema,
    next_at: { type: ['string', 'null'], description: 'when the next run is due (ISO 8601)' },
    skipped: { type: 'integer', description: 'ticks skipped because the previous run was still going' },
  },
} as const;

/** The snapshot the server answers users, members, exports and sizes from. */
export const servedSnapshotSchema = {
  type: 'object',
  required: ['as_of', 'source'],
  additionalProperties: false,
  properties: {
    as_of: asOf('the served snapshot'),
    source: { type: 'string', enum: ['training', 'refresh'], description: "training: the version's scored snapshot; refresh: the newest snapshot of the model's history (cohortlab refresh, serve --refresh)" },
    users: { type: 'integer' },
  },
} as const;

export const healthResponseSchema = {
  type: 'object',
  required: ['status', 'model'],
  additionalProperties: false,
  properties: { status: { type: 'string', enum: ['ok'] }, model: modelRefSchema, snapshot: servedSnapshotSchema, refresh: refreshStateSchema },
} as const;

/** One span of a version in production, from the registry's audit trail (ProductionPeriod in src/registry/audit.ts). */
const productionPeriodSchema = {
  type: 'object',
  required: ['version', 'from', 'to', 'inferred'],
  additionalProperties: false,
  properties: {
    version: { type: 'integer' },
    from: { type: ['string', 'null'], description: 'when the version became production (ISO 8601 UTC); null when not even an inferred start is known' },
    to: { type: ['string', 'null'], description: 'when another version replaced it (ISO 8601 UTC); null: still in production' },
    inferred: { type: 'boolean', description: 'true: the promotion is not in the audit trail (made before the trail existed), so `from` is the production file\'s mtime, not a recorded time' },
  },
} as const;

/** GET /v1/models: the loaded version (its manifest's metrics and params), the promoted one, the features and the production history. */
export const modelsResponseSchema = {
  type: 'object',
  required: ['loaded', 'production', 'reference', 'features', 'production_history', 'warnings'],
  additionalProperties: false,
  properties: {
    loaded: {
      type: 'object',
      required: ['name', 'version', 'loadedAt'],
      additionalProperties: false,
      properties: {
        name: { type: 'string' },
        version: { type: 'integer' },
        createdAt: { type: 'string', description: 'when the version was trained (ISO 8601)' },
        loadedAt: { type: 'string', description: 'when this server loaded it (ISO 8601)' },
        metrics: { ...anyObject, description: "the manifest's metrics (test ROC-AUC of model and rule score, k, ...)" },
        params: { ...anyObject, description: "the manifest's training parameters (cutoffs, horizon, seed, ...)" },
      },
    },
    production: { type: ['integer', 'null'], description: 'the promoted version of this model name (null: none promoted)' },
    reference: { type: 'string', description: 'the REF the server was started with (serve --model)' },
    features: { type: 'array', items: { type: 'string' }, description: 'the features POST /v1/predict needs' },
    propensity: { type: ['object', 'null'], required: ['name', 'version'], additionalProperties: false, properties: { name: { type: 'string' }, version: { type: 'integer' } }, description: 'the upgrade model of serve --propensity-model (GET /v1/propensity); null without one' },
    snapshot: servedSnapshotSchema,
    refresh: refreshStateSchema,
    production_history: { type: 'array', items: productionPeriodSchema, description: 'which version of the loaded model name was in production over which dates, oldest first, from the registry audit trail (models/NAME/audit.jsonl; docs/registry.md)' },
    warnings: {
      type: 'array',
      description: 'about the production history: AUDIT_LINES_SKIPPED, AUDIT_INCONSISTENT, PRODUCTION_START_INFERRED (docs/errors.md)',
      items: { type: 'object', required: ['code', 'message'], additionalProperties: false, properties: { code: { type: 'string' }, message: { type: 'string' } } },
    },
  },
} as const;

const historyPointSchema = {
  type: 'object',
  required: ['as_of', 'model', 'users', 'already_churned', 'sizes', 'changes', 'drift'],
  additionalProperties: false,
  properties: {
    as_of: asOf('the snapshot'),
    model: modelRefSchema,
    users: { type: 'integer' },
    already_churned: { type: 'integer' },
    sizes: { type: 'object', description: 'column -> value -> users (rule segments, segment_* as in/out, lifecycle stage, cluster label, tiers)', additionalProperties: { type: 'object', additionalProperties: { type: 'integer' } } },
    changes: { type: ['integer', 'null'], description: 'users x tracked columns that changed since the previous snapshot (null for the first)' },
    drift: { type: ['object', 'null'], additionalProperties: false, required: ['text', 'retrain_advised', 'act', 'watch'], properties: { text: { type: 'string' }, retrain_advised: { type: 'boolean' }, act: { type: 'array', items: { type: 'string' } }, watch: { type: 'array', items: { type: 'string' } } } },
  },
} as const;

export const historyQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { column: { type: 'string', default: 'behavioral_segment', description: 'the column drawn in `chart` (any key of a point\'s sizes)' } },
} as const;

/** GET /v1/history: sizes of every tracked column over the snapshot dates (src/pipeline/history.ts historySizes). */
export const historyResponseSchema = {
  type: 'object',
  required: ['model', 'served_as_of', 'points', 'columns', 'column', 'chart', 'note'],
  additionalProperties: false,
  properties: {
    model: modelRefSchema,
    served_as_of: asOf('the snapshot the server answers from'),
    points: { type: 'array', items: historyPointSchema, description: 'one per snapshot, oldest first' },
    columns: { type: 'array', items: { type: 'string' }, description: 'the columns whose sizes the history holds' },
    column: { type: 'string' },
    chart: { type: ['object', 'null'], additionalProperties: true, description: 'vega-lite: sizes of `column` as stacked areas over the snapshot dates; null when the history is empty' },
    note: { type: ['string', 'null'], description: 'when the history is empty: how to fill it' },
  },
} as const;

export const transitionsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'string', pattern: DATE_PATTERN, description: 'snapshot date (with `to`)' },
    to: { type: 'string', pattern: DATE_PATTERN, description: 'a later snapshot date (with `from`)' },
    by: { type: 'string', default: 'behavioral_segment', description: 'behavioral_segment, lifecycle_stage, cluster_label, a segment_* column, ...' },
    monthly: { type: 'boolean', default: false, description: 'every month-over-month matrix (the last snapshot of each month against the month before\'s)' },
  },
} as const;

const transitionSchema = {
  type: 'object',
  required: ['from_as_of', 'to_as_of', 'by', 'from', 'to', 'counts', 'shares', 'matched', 'onlyInFrom', 'onlyInTo', 'chart'],
  additionalProperties: false,
  properties: {
    from_as_of: { type: 'string' },
    to_as_of: { type: 'string' },
    by: { type: 'string' },
    from: { type: 'array', items: { type: 'string' }, description: 'row labels; "(new)" for users only in the later snapshot' },
    to: { type: 'array', items: { type: 'string' }, description: 'column labels; "(gone)" for users only in the earlier snapshot' },
    counts: { type: 'array', items: { type: 'array', items: { type: 'integer' } } },
    shares: { type: 'array', items: { type: 'array', items: { type: 'number' } }, description: 'row shares (0-1)' },
    matched: { type: 'integer' },
    onlyInFrom: { type: 'integer' },
    onlyInTo: { type: 'integer' },
    chart: { ...anyObject, description: 'vega-lite heatmap: counts and row shares' },
  },
} as const;

/** GET /v1/transitions: the §9.2 matrix between two snapshots, or month over month. */
export const transitionsResponseSchema = {
  type: 'object',
  required: ['model', 'by', 'dates', 'matrices'],
  additionalProperties: false,
  properties: {
    model: modelRefSchema,
    by: { type: 'string' },
    dates: { type: 'array', items: { type: 'string' }, description: 'every snapshot date of the history' },
    matrices: { type: 'array', items: transitionSchema, description: 'from/to: that pair; monthly=true: every month-over-month pair; neither: the latest month-over-month pair (else the last two snapshots)' },
  },
} as const;

export const driftQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { as_of: { type: 'string', pattern: DATE_PATTERN, description: 'a snapshot date (default: the newest)' } },
} as const;

/** GET /v1/drift: the stored DriftReport of a refresh (src/evaluate/drift-report.ts). */
export const driftResponseSchema = {
  type: 'object',
  required: ['model', 'as_of', 'scored_by', 'report', 'chart'],
  additionalProperties: false,
  properties: {
    model: modelRefSchema,
    as_of: { type: 'string', description: 'the refresh the report belongs to' },
    scored_by: { ...modelRefSchema, description: 'the version that scored that snapshot (the reference is its training snapshot)' },
    dates: { type: 'array', items: { type: 'string' } },
    report: { ...anyObject, description: 'reference, current, thresholds (watch 0.1, act 0.25, min_sample, bins), features, prediction, rule_scores (each: psi, noise_bound, status, ks, bins), summary (act, watch, too_few, retrain_advised, text)' },
    chart: { ...anyObject, description: 'vega-lite (the report\'s own chart, evaluate driftChartSpec): PSI of the 25 largest variables as bars on a square-root scale with the 0.1 / 0.25 rules and each bar\'s noise bound' },
  },
} as const;

export const reloadResponseSchema = {
  type: 'object',
  required: ['previous', 'loaded'],
  additionalProperties: false,
  properties: { previous: modelRefSchema, loaded: modelRefSchema },
} as const;

const specMap = (description: string) => ({ type: 'object', description, additionalProperties: anyObject }) as const;

/** GET /v1/charts: vega-lite specs by panel (absent panels: the version has no clusters, evaluation or transitions). */
export const chartsResponseSchema = {
  type: 'object',
  required: ['retention'],
  additionalProperties: false,
  properties: {
    clusters: { type: 'object', description: 'cluster charts by panel (PCA map, sizes, churn, heat map, k selection, crosstabs), a list of specs each', additionalProperties: { type: 'array', items: anyObject } },
    evaluation: specMap('roc, pr, lift, gain, reliability, importance'),
    transitions: specMap('segments and clusters transition matrices (playbook §9.2)'),
    retention: specMap('one survival chart per stored grouping'),
  },
} as const;

/** GET /v1/report: the evaluation against the rule baselines, the backtest and the version's warnings. */
export const reportResponseSchema = {
  type: 'object',
  required: ['model', 'evaluation', 'backtest', 'snapshot_as_of', 'retention_views', 'warnings'],
  additionalProperties: false,
  properties: {
    model: modelRefSchema,
    evaluation: {
      type: ['object', 'null'],
      required: ['as_of', 'testUsers', 'testChurnRate', 'metrics', 'verdict'],
      additionalProperties: false,
      properties: {
        as_of: asOf('the test cutoff the evaluation is counted at'),
        horizon_days: { type: ['integer', 'null'] },
        title: { type: 'string' },
        testUsers: { type: 'integer' },
        testChurnRate: { type: 'number' },
        metrics: { type: 'object', additionalProperties: anyObject, description: 'by scorer (model, rule, majority, recency, ...): ROC-AUC, PR-AUC, Brier, ... with intervals' },
        differences: { type: 'array', items: anyObject },
        verdict: { ...anyObject, description: '{ kind, text, strongest_baseline } (docs/churn.md)' },
        evidence: { type: ['object', 'null'], additionalProperties: true, description: '{ test_users, test_churners, test_stayers, minimum }' },
        warnings: { type: 'array', items: anyObject },
        ceiling: { type: ['object', 'null'], additionalProperties: true, description: '{ truthAuc, modelGap } on synthetic data; null otherwise' },
        highRisk: { type: ['object', 'null'], additionalProperties: true, description: "{ threshold, share }: test users in the rule's high-risk tier" },
        candidates: { type: 'array', items: anyObject },
      },
    },
    backtest: { type: ['object', 'null'], additionalProperties: true },
    snapshot_as_of: asOf('the scored snapshot'),
    retention_views: { type: 'array', items: { type: 'string' }, description: 'the groupings GET /v1/retention answers for this version' },
    warnings: { type: 'array', items: { type: 'object', required: ['code', 'message'], additionalProperties: true, properties: { code: { type: 'string' }, message: { type: 'string' } } } },
  },
} as const;

export const openApiResponseSchema = {
  type: 'object',
  required: ['openapi', 'info', 'paths', 'components'],
  additionalProperties: false,
  properties: {
    openapi: { type: 'string' },
    info: { type: 'object', required: ['title', 'version'], additionalProperties: false, properties: { title: { type: 'string' }, version: { type: 'string' }, description: { type: 'string' } } },
    paths: anyObject,
    components: anyObject,
  },
} as const;

const rocInterval = { type: 'object', required: ['value', 'lo', 'hi'], additionalProperties: false, properties: { value: { type: 'number' }, lo: { type: 'number' }, hi: { type: 'number' } } } as const;

/** GET /v1/propensity: the upgrade (or event) model of serve --propensity-model, from its stored report (docs/propensity.md). */
export const propensityResponseSchema = {
  type: 'object',
  required: ['model', 'target', 'as_of', 'horizon_days', 'verdict', 'evidence', 'metrics', 'ceiling', 'charts'],
  additionalProperties: false,
  properties: {
    model: modelRefSchema,
    target: { type: 'object', required: ['kind', 'event'], additionalProperties: false, properties: { kind: { type: 'string', enum: ['upgrade', 'event'] }, event: { type: ['string', 'null'] } } },
    as_of: asOf('the test cutoff the report is counted at'),
    horizon_days: { type: ['integer', 'null'], description: 'label window after the test cutoff, days' },
    verdict: {
      type: 'object',
      required: ['kind', 'text', 'strongest_baseline'],
      additionalProperties: false,
      properties: { kind: { type: 'string', enum: ['better', 'not_better', 'insufficient_evidence', 'in_sample'] }, text: { type: 'string' }, strongest_baseline: { type: ['string', 'null'] } },
    },
    evidence: {
      type: ['object', 'null'],
      required: ['test_users', 'test_churners', 'test_stayers', 'minimum'],
      additionalProperties: false,
      description: 'test users, those who did the target (test_churners) and those who did not (test_stayers); the per-class minimum',
      properties: { test_users: { type: 'integer' }, test_churners: { type: 'integer' }, test_stayers: { type: 'integer' }, minimum: { type: 'integer' } },
    },
    metrics: { type: 'object', additionalProperties: rocInterval, description: 'ROC-AUC [95% bootstrap CI] by scorer on the same test users: model, rule (§4.3 expansion readiness), recency, rfm, majority' },
    ceiling: { type: ['number', 'null'], description: 'ROC-AUC of the true probability (synthetic data); null otherwise' },
    charts: { type: 'object', required: ['roc'], additionalProperties: false, properties: { roc: anyObject } },
  },
} as const;
