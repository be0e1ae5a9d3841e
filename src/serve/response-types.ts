import type {
  chartsResponseSchema,
  clusterDetailResponseSchema,
  clustersResponseSchema,
  driftResponseSchema,
  historyResponseSchema,
  membersResponseSchema,
  modelsResponseSchema,
  propensityResponseSchema,
  reportResponseSchema,
  retentionResponseSchema,
  segmentsResponseSchema,
  transitionsResponseSchema,
} from './schemas.js';

/**
 * TypeScript types of the /v1 answers, derived from the JSON schemas fastify validates them with
 * (src/serve/schemas.ts), so the explorer (explorer/src) and any typed client read exactly what the
 * server promises. Covers the JSON Schema the schemas use: type (one or a list), enum, properties with
 * required, items, additionalProperties (true, false or a schema). Anything looser reads as unknown.
 */
export type FromSchema<S> = S extends { enum: readonly (infer E)[] }
  ? E
  : S extends { type: readonly (infer T)[] }
    ? OfType<S, T>
    : S extends { type: infer T }
      ? OfType<S, T>
      : unknown;

type OfType<S, T> = T extends 'object'
  ? ObjectOf<S>
  : T extends 'array'
    ? S extends { items: infer I }
      ? FromSchema<I>[]
      : unknown[]
    : T extends 'string'
      ? string
      : T extends 'number' | 'integer'
        ? number
        : T extends 'boolean'
          ? boolean
          : T extends 'null'
            ? null
            : unknown;

type PropsOf<S> = S extends { properties: infer P } ? P : {};
type RequiredOf<S> = S extends { required: readonly (infer R)[] } ? R : never;
type Extra<S> = S extends { additionalProperties: false }
  ? {}
  : S extends { additionalProperties: true }
    ? { [key: string]: unknown }
    : S extends { additionalProperties: infer A }
      ? { [key: string]: FromSchema<A> }
      : { [key: string]: unknown };
type ObjectOf<S> = Flat<
  { -readonly [K in keyof PropsOf<S> as K extends RequiredOf<S> ? K : never]: FromSchema<PropsOf<S>[K]> } & {
    -readonly [K in keyof PropsOf<S> as K extends RequiredOf<S> ? never : K]?: FromSchema<PropsOf<S>[K]>;
  } & Extra<S>
>;
type Flat<T> = { [K in keyof T]: T[K] };

export type ClustersResponse = FromSchema<typeof clustersResponseSchema>;
export type ClusterDetailResponse = FromSchema<typeof clusterDetailResponseSchema>;
export type SegmentsResponse = FromSchema<typeof segmentsResponseSchema>;
export type MembersResponse = FromSchema<typeof membersResponseSchema>;
export type ReportResponse = FromSchema<typeof reportResponseSchema>;
export type ChartsResponse = FromSchema<typeof chartsResponseSchema>;
export type RetentionResponse = FromSchema<typeof retentionResponseSchema>;
export type HistoryResponse = FromSchema<typeof historyResponseSchema>;
export type TransitionsResponse = FromSchema<typeof transitionsResponseSchema>;
export type DriftResponse = FromSchema<typeof driftResponseSchema>;
export type ModelsResponse = FromSchema<typeof modelsResponseSchema>;
export type PropensityResponse = FromSchema<typeof propensityResponseSchema>;
