/**
 * JSON schemas of every /v1 route. Fastify validates requests with them (no type coercion, unknown
 * properties rejected) and /v1/openapi.json is generated from the same objects.
 */
export const MAX_USERS_PER_REQUEST = 10_000;
export const MAX_EVENTS_PER_REQUEST = 200_000;
export const BODY_LIMIT_BYTES = 32 * 1024 * 1024;

export const errorSchema = {
  type: 'object',
  required: ['code', 'message', 'path'],
  properties: {
    code: { type: 'string', description: 'stable error code (docs/errors.md)' },
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
  required: ['user_id', 'churn_probability', 'churn_risk_score', 'churn_risk_tier', 'engagement_score', 'engagement_tier', 'activation_score', 'expansion_readiness_score', 'behavioral_segment', 'lifecycle_stage', 'already_churned', 'cluster', 'cluster_label', 'reasons'],
  properties: {
    user_id: { type: 'string' },
    churn_probability: { type: 'number', description: 'calibrated probability of churn within the model horizon' },
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
    as_of: { type: 'string', description: 'the cutoff date the features were computed at (events input only)' },
  },
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

/** The body of POST /v1/predict for a model with these features. */
export function predictBodySchema(featureNames: string[]) {
  const features = {
    type: 'object',
    description: 'every feature of the model (GET /v1/models lists them), as of the user\'s cutoff; plan is optional',
    required: featureNames,
    additionalProperties: false,
    properties: { ...Object.fromEntries(featureNames.map((f) => [f, { type: 'number' }])), plan: { type: 'string' } },
  };
  return {
    type: 'object',
    required: ['users'],
    additionalProperties: false,
    properties: {
      as_of: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'cutoff date for users given as events (default: the day of the latest event)' },
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

export const selectionQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cluster: { type: 'integer', minimum: 0, description: 'a cluster id' },
    segment: { type: 'string', minLength: 1, description: 'a value of the `by` column, e.g. "At-Risk Users"' },
    by: { type: 'string', default: 'behavioral_segment', description: 'the rule column `segment` refers to' },
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
