/** One parameter of an operation, as /openapi.json documents it. */
export interface Parameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
  required?: boolean;
  schema?: Record<string, unknown>;
}

/** One REST operation the running server documents. */
export interface Operation {
  method: string;
  /** OpenAPI path with `{name}` placeholders. */
  path: string;
  parameters: Parameter[];
  jsonBody?: Record<string, unknown>;
  /** The route takes a body, in JSON or another media type. */
  hasBody: boolean;
  secured: boolean;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content?: Record<string, { schema?: Record<string, unknown> }> }; security?: unknown[] }>>;
}

/**
 * Every operation of the server's live /openapi.json, so suites that walk the API (fuzzing, the
 * contract's conventions) cover routes added later without being edited.
 */
export async function documentedOperations(baseUrl: string): Promise<Operation[]> {
  const doc = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as OpenApiDocument;
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, spec]) => {
      const content = spec.requestBody?.content ?? {};
      return {
        method: method.toUpperCase(),
        path,
        parameters: spec.parameters ?? [],
        jsonBody: content['application/json']?.schema,
        hasBody: Object.keys(content).length > 0,
        secured: (spec.security ?? []).length > 0,
      };
    }),
  );
}
