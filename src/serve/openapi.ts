/**
 * The OpenAPI 3.1 document of the server, generated from the JSON schemas the routes are declared
 * with (collected by the app's onRoute hook), so the document cannot drift from what is validated.
 */
export interface RouteDoc {
  method: string;
  url: string;
  summary?: string;
  schema: {
    params?: { properties?: Record<string, unknown>; required?: string[] };
    querystring?: { properties?: Record<string, unknown>; required?: string[] };
    body?: unknown;
    response?: Record<string, unknown>;
  };
  produces?: string;
}

const STATUS_TEXT: Record<string, string> = {
  '200': 'OK',
  '400': 'Bad request',
  '401': 'Missing or wrong API key',
  '404': 'Not found',
  '409': 'The model stores no user ids',
  '413': 'Body too large',
  '415': 'Not JSON',
  '422': 'Cannot be processed',
  '500': 'Internal error (generic; details in the server log under the request id)',
  '503': 'The model version on disk is damaged; the loaded one keeps serving',
};

export function openApiDocument(routes: RouteDoc[], info: { title: string; version: string; description: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters = [
      ...Object.entries(r.schema.params?.properties ?? {}).map(([name, schema]) => ({ name, in: 'path', required: true, schema })),
      ...Object.entries(r.schema.querystring?.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: (r.schema.querystring?.required ?? []).includes(name), schema })),
    ];
    const responses: Record<string, unknown> = {};
    for (const [code, schema] of Object.entries(r.schema.response ?? {})) {
      const type = code === '200' && r.produces ? r.produces : 'application/json';
      responses[code] = { description: STATUS_TEXT[code] ?? code, content: { [type]: { schema } } };
    }
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary ?? `${r.method} ${r.url}`,
      operationId: `${r.method.toLowerCase()}${r.url.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      ...(parameters.length ? { parameters } : {}),
      ...(r.schema.body ? { requestBody: { required: true, content: { 'application/json': { schema: r.schema.body } } } } : {}),
      responses,
      ...(r.url === '/v1/health' || !r.url.startsWith('/v1') ? {} : { security: [{ bearer: [] }] }),
    };
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'required when the server runs with COHORTLAB_API_KEY set' } } },
  };
}
