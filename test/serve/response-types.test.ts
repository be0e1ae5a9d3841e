import { describe, expectTypeOf, it } from 'vitest';
import type { ClusterDetailResponse, ClustersResponse, FromSchema, HistoryResponse, MembersResponse, PropensityResponse, ReportResponse } from '../../src/serve/response-types.js';

// Checked by `tsc --noEmit` (the first half of npm test): a schema change that breaks these types breaks the build.
describe('response types derived from the route schemas', () => {
  it('maps types, enums, nullable types, required and optional properties', () => {
    const schema = {
      type: 'object',
      required: ['id', 'kind'],
      additionalProperties: false,
      properties: { id: { type: 'string' }, kind: { type: 'string', enum: ['a', 'b'] }, n: { type: ['integer', 'null'] }, tags: { type: 'array', items: { type: 'string' } } },
    } as const;
    expectTypeOf<FromSchema<typeof schema>>().toEqualTypeOf<{ id: string; kind: 'a' | 'b'; n?: number | null; tags?: string[] }>();
    expectTypeOf<FromSchema<{ type: 'object'; additionalProperties: { type: 'number' } }>>().toEqualTypeOf<{ [key: string]: number }>();
  });

  it('types the answers the explorer reads', () => {
    expectTypeOf<ClustersResponse['fit']['fitted_on']>().toEqualTypeOf<'live' | 'all'>();
    expectTypeOf<ClustersResponse['snapshot']['clusters'][number]['users']>().toEqualTypeOf<number>();
    expectTypeOf<MembersResponse['rows'][number]['user_id']>().toEqualTypeOf<string>();
    expectTypeOf<MembersResponse['filter']['cluster']>().toEqualTypeOf<number | null>();
    expectTypeOf<MembersResponse['order']>().toEqualTypeOf<'asc' | 'desc'>();
    expectTypeOf<ClusterDetailResponse['cluster']['features'][number]['scale']>().toEqualTypeOf<'linear' | 'symlog'>();
    expectTypeOf<ClusterDetailResponse['cluster']['features'][number]['cluster']['median']>().toEqualTypeOf<number | null>();
    expectTypeOf<NonNullable<ClusterDetailResponse['compare']>['churn']>().toEqualTypeOf<{ as_of: string | null; users: number; churned: number; rate: number; lo: number; hi: number } | null>();
    expectTypeOf<HistoryResponse['points'][number]['as_of']>().toEqualTypeOf<string | null>();
    expectTypeOf<NonNullable<ReportResponse['evaluation']>['testUsers']>().toEqualTypeOf<number>();
    expectTypeOf<PropensityResponse['verdict']['kind']>().toEqualTypeOf<'better' | 'not_better' | 'insufficient_evidence' | 'in_sample'>();
  });
});
