import { Ajv } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { Ack, ParleySocket } from '../src/client/index.js';
import { CLIENT_EVENTS } from '../src/contract/events.js';
import { registeredEventSchemas } from '../src/platform/realtime/handlers.js';
import { type ApiResponse, expectError, newUser } from './support/http.js';
import { connectedUser } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * The conventions every route of the contract keeps, proven over the routes the running server
 * documents in /openapi.json (so a route added later is covered without touching this file):
 * an unknown query parameter or body field is refused with 400 VALIDATION_FAILED naming it.
 */

interface Parameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
  required?: boolean;
  schema?: Record<string, unknown>;
}

interface Operation {
  method: string;
  /** OpenAPI path with `{name}` placeholders. */
  path: string;
  parameters: Parameter[];
  jsonBody?: Record<string, unknown>;
}

type JsonSchema = Record<string, unknown>;

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
type AddFormats = (ajv: Ajv) => Ajv;
const formatsModule = ajvFormats as unknown as { default: AddFormats | { default: AddFormats } };
const addFormats: AddFormats = typeof formatsModule.default === 'function' ? formatsModule.default : formatsModule.default.default;
const ajv = addFormats(new Ajv({ strict: false, coerceTypes: false }));

const CANDIDATE_TEXT = ['x1', '1', 'abc', 'a@example.com', '2020-01-02', '2020-01-02T03:04:05Z', 'https://example.com/', 'text'];

/** A value `schema` accepts (the first candidate that passes), so only the field under test is wrong. */
function validValue(schema: JsonSchema | undefined): unknown {
  if (!schema) return 'x1';
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if ('default' in schema) return schema.default;
  const branches = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (branches) return validValue(branches.find((branch) => branch.type !== 'null') ?? branches[0]);
  const check = ajv.compile(schema);
  switch (schema.type) {
    case 'object':
      return validBody(schema);
    case 'array':
      return Array.from({ length: Number(schema.minItems ?? 0) }, (_, i) => (i === 0 ? validValue(schema.items as JsonSchema) : `${String(validValue(schema.items as JsonSchema))}${i}`));
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return false;
    default: {
      const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
      const found = [...CANDIDATE_TEXT, 'x'.repeat(Math.max(1, minLength))].find((text) => check(text));
      if (found === undefined) throw new Error(`no candidate value fits ${JSON.stringify(schema)}`);
      return found;
    }
  }
}

/** An object with a valid value for each required property of `schema` (and enough others for minProperties). */
function validBody(schema: JsonSchema): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const names = [...((schema.required ?? []) as string[])];
  for (const name of Object.keys(properties)) if (names.length < Number(schema.minProperties ?? 0) && !names.includes(name)) names.push(name);
  return Object.fromEntries(names.map((name) => [name, validValue(properties[name])]));
}

/** Fills `{name}` placeholders with values the path parameter's schema accepts. */
function concretePath(operation: Operation): string {
  return operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const parameter = operation.parameters.find((p) => p.in === 'path' && p.name === name);
    return encodeURIComponent(String(validValue(parameter?.schema)));
  });
}

/** The required query parameters with valid values, as a query string prefix (`?a=1&`). */
function requiredQuery(operation: Operation): string {
  const required = operation.parameters.filter((p) => p.in === 'query' && p.required);
  return `?${required.map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(String(validValue(p.schema)))}&`).join('')}`;
}

/** Emits any event name with any payload (the typed SDK socket allows only the contract's). */
function send(socket: ParleySocket, event: string, payload: unknown): Promise<Ack<unknown>> {
  return (socket.timeout(10_000) as unknown as { emitWithAck(event: string, payload: unknown): Promise<Ack<unknown>> }).emitWithAck(event, payload);
}

function expectUnknownRefused(res: ApiResponse, field: string, shown: string): void {
  expect(res.status, shown).toBe(400);
  expect(res.body?.error?.code, shown).toBe('VALIDATION_FAILED');
  expect(res.body?.error?.details, shown).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  expect(res.body?.error?.message, shown).toContain(field);
}

describe(`contract conventions (${storageLabel})`, () => {
  // An AI provider is configured so the AI routes validate their input (none is ever called).
  const t = useTestServer({ DEEPSEEK_API_KEY: 'unused', DEEPSEEK_BASE_URL: 'http://127.0.0.1:9/v1' });

  async function documentedOperations(): Promise<Operation[]> {
    const doc = (await t.api('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
    };
    return Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, spec]) => ({
        method: method.toUpperCase(),
        path,
        parameters: spec.parameters ?? [],
        jsonBody: spec.requestBody?.content?.['application/json']?.schema,
      })),
    );
  }

  describe('unknown fields', () => {
    it('refuses an unknown query parameter on every documented route, naming it', async () => {
      const user = await newUser(t.api);
      const operations = await documentedOperations();
      expect(operations.length).toBeGreaterThan(40);
      for (const operation of operations) {
        const url = `${concretePath(operation)}${requiredQuery(operation)}colour=blue`;
        const body = operation.jsonBody ? validBody(operation.jsonBody) : undefined;
        const res = await t.api(operation.method, url, { token: user.accessToken, ...(body ? { body } : {}) });
        expectUnknownRefused(res, 'colour', `${operation.method} ${url} → ${res.status} ${JSON.stringify(res.body)}`);
      }
    });

    it('refuses an unknown body field on every documented route taking JSON, naming it', async () => {
      const user = await newUser(t.api);
      const operations = (await documentedOperations()).filter((operation) => operation.jsonBody);
      expect(operations.length).toBeGreaterThan(10);
      for (const operation of operations) {
        const url = `${concretePath(operation)}${requiredQuery(operation)}`;
        const body = { ...validBody(operation.jsonBody as JsonSchema), colour: 'blue' };
        const res = await t.api(operation.method, url, { token: user.accessToken, body });
        expectUnknownRefused(res, 'colour', `${operation.method} ${url} ${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.body)}`);
      }
    });

    it('refuses a misplaced profile object on PATCH /users/me instead of answering 200', async () => {
      const user = await newUser(t.api);
      const res = await t.api('PATCH', '/users/me', { token: user.accessToken, body: { profile: { location: 'Paris' } } });
      const error = expectError(res, 400, 'VALIDATION_FAILED');
      expect(error.details).toEqual([{ field: 'profile', message: 'is not a known field' }]);
    });

    it('refuses unknown fields nested in a body, naming their path', async () => {
      const user = await newUser(t.api);
      const conversation = (await t.api('POST', '/conversations', { token: user.accessToken, body: { peerId: user.id } })).body;
      const res = await t.api('POST', `/conversations/${conversation.id}/messages`, {
        token: user.accessToken,
        body: { type: 'file', content: 'a', clientMsgId: 'c1', attachments: [{ fileId: 'f1', colour: 'blue' }] },
      });
      const error = expectError(res, 400, 'VALIDATION_FAILED');
      expect(error.details).toEqual([{ field: 'attachments.0.colour', message: 'is not a known field' }]);
    });

    it('refuses an unknown field in every client event payload, naming it', async () => {
      const { socket, client } = await connectedUser(t.server.url);
      try {
        for (const event of CLIENT_EVENTS) {
          const schema = registeredEventSchemas().get(event) as unknown as JsonSchema;
          const payload = { ...validBody(schema), colour: 'blue' };
          const ack = await send(socket, event, payload);
          const shown = `${event} ${JSON.stringify(payload)} → ${JSON.stringify(ack)}`;
          expect(ack.ok, shown).toBe(false);
          if (!ack.ok) expect(ack.error, shown).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'colour', message: 'is not a known field' }] });
        }
        const nested = await send(socket, 'chat', {
          conversationId: 'x1',
          type: 'file',
          content: 'a',
          clientMsgId: 'c1',
          attachments: [{ fileId: 'f1', colour: 'blue' }],
        });
        expect(nested).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', details: [{ field: 'attachments.0.colour' }] } });
      } finally {
        client.disconnect();
      }
    });

    it('refuses an unknown query parameter on the tus upload routes, leaving their headers alone', async () => {
      const user = await newUser(t.api);
      const created = await t.api('POST', '/uploads?colour=blue', {
        token: user.accessToken,
        headers: { 'tus-resumable': '1.0.0', 'upload-length': '3', 'upload-metadata': `filename ${Buffer.from('a.txt').toString('base64')}` },
      });
      expectUnknownRefused(created, 'colour', JSON.stringify(created.body));
      const upload = await t.api('POST', '/uploads', {
        token: user.accessToken,
        headers: { 'tus-resumable': '1.0.0', 'upload-length': '3', 'upload-metadata': `filename ${Buffer.from('a.txt').toString('base64')}` },
      });
      expect(upload.status).toBe(201);
      const location = upload.headers.get('location') ?? '';
      const path = new URL(location, 'http://x').pathname;
      const head = await t.api('HEAD', `${path}?colour=blue`, { token: user.accessToken, headers: { 'tus-resumable': '1.0.0' } });
      expect(head.status).toBe(400);
      const headOk = await t.api('HEAD', path, { token: user.accessToken, headers: { 'tus-resumable': '1.0.0' } });
      expect(headOk.status).toBe(200);
    });
  });
});
