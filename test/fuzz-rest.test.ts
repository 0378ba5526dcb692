import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatorCompiler } from '../src/platform/http/validation.js';
import { type Api, apiClient, newUser, type TestUser, uniqueName } from './support/http.js';
import { documentedOperations, type Operation, type Parameter } from './support/openapi.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * Every REST operation the running server documents in /openapi.json (so routes added later are
 * covered without touching this file) is sent random and boundary path parameters, query strings
 * and bodies by fast-check. The answer is never a 5xx, always the API's error format, and exactly
 * 400 VALIDATION_FAILED whenever the request breaks the route's own schema (judged by the same
 * validator compiler the server uses).
 */

const SEED = 20_251_125;
const RUNS_PER_OPERATION = 40;

type Check = (value: unknown) => boolean;

function checker(schema: Record<string, unknown>, httpPart: 'body' | 'params' | 'querystring'): Check {
  const validate = validatorCompiler({ schema, httpPart, method: 'GET', url: '/' }) as (value: unknown) => boolean;
  // The server's ajv fills defaults: judge a copy.
  return (value) => Boolean(validate(value === undefined ? undefined : structuredClone(value)));
}

function objectSchema(parameters: Parameter[]): Record<string, unknown> {
  return {
    type: 'object',
    properties: Object.fromEntries(parameters.map((p) => [p.name, p.schema ?? {}])),
    required: parameters.filter((p) => p.required).map((p) => p.name),
  };
}

// ---- values ----

const EDGE_TEXT = [
  '',
  ' ',
  '0',
  '-1',
  '1.5',
  '1e309',
  '99999999999999999999999',
  'null',
  'undefined',
  'true',
  '%00',
  '\u0000',
  '../../etc/passwd',
  '..%2F..',
  '🙂',
  '\u202e',
  'a'.repeat(300),
  "' OR 1=1 --",
  '<script>',
  '__proto__',
  'constructor',
  '{}',
  '[]',
  'é'.normalize('NFD'),
];

const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_TEXT) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.bigInt({ min: -10n, max: 10n ** 20n }).map(String) },
  { weight: 1, arbitrary: fc.uuid() },
);

function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 3, arbitrary: text },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, 2 ** 31, Number.MAX_SAFE_INTEGER, 1e308, true, false, null, [], {}) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(70_000), '😀'.repeat(20_000)) },
  { weight: 1, arbitrary: fc.integer({ min: 10, max: 200 }).map(nested) },
);

/** A body built on the route's schema: its own property names with wrong, boundary or random values. */
function bodyFor(schema: Record<string, unknown> | undefined): fc.Arbitrary<unknown> {
  const properties = Object.keys((schema?.properties as Record<string, unknown> | undefined) ?? {});
  const shaped =
    properties.length === 0
      ? fc.dictionary(fc.string({ maxLength: 10 }), anyJson, { maxKeys: 4 })
      : fc
          .record(Object.fromEntries(properties.map((name) => [name, anyJson])), { requiredKeys: [] })
          .chain((record) =>
            fc.option(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), anyJson), { nil: undefined }).map((extra) => (extra ? { ...record, [extra[0]]: extra[1] } : record)),
          );
  return fc.oneof({ weight: 5, arbitrary: shaped }, { weight: 2, arbitrary: anyJson });
}

interface Case {
  params: Record<string, string>;
  query: Record<string, string>;
  /** undefined: no body; a string: sent as is (malformed JSON). */
  body: { json: unknown } | { raw: string } | undefined;
}

function casesFor(operation: Operation): fc.Arbitrary<Case> {
  const pathParams = operation.parameters.filter((p) => p.in === 'path');
  const queryParams = operation.parameters.filter((p) => p.in === 'query');
  const params = fc.record(Object.fromEntries(pathParams.map((p) => [p.name, text.filter((value) => value.length > 0)])) as Record<string, fc.Arbitrary<string>>);
  const query = fc
    .record(Object.fromEntries(queryParams.map((p) => [p.name, text])) as Record<string, fc.Arbitrary<string>>, { requiredKeys: [] })
    .map((picked) => Object.fromEntries(Object.entries(picked).filter((entry): entry is [string, string] => entry[1] !== undefined)));
  const takesBody = operation.hasBody || operation.method !== 'GET';
  const body: fc.Arbitrary<Case['body']> = takesBody
    ? fc.oneof(
        { weight: 6, arbitrary: bodyFor(operation.jsonBody).map((json) => ({ json })) },
        { weight: 1, arbitrary: fc.constantFrom('{', '{"a":', 'nul', '[1,]', '{"a":1}{', '\u0000', "{'a':1}").map((raw) => ({ raw })) },
        { weight: 1, arbitrary: fc.constant(undefined) },
      )
    : fc.constant(undefined);
  return fc.record({ params, query, body });
}

// ---- the suite ----

describe(`REST fuzzing of every documented route (${storageLabel})`, () => {
  const FUZZ_ADMIN = uniqueName('fuzzadmin');
  const suite = useTestServer({ ADMIN_USERNAMES: FUZZ_ADMIN });
  let operations: Operation[] = [];
  let root: TestUser | undefined;

  /**
   * A fresh user; for the /admin routes one an admin granted the role to, so their validation is
   * fuzzed (anyone else gets 404 before validation, see the access matrix).
   */
  async function userFor(api: Api, operation: Operation): Promise<TestUser> {
    const user = await newUser(api);
    if (!operation.path.startsWith('/api/v1/admin/')) return user;
    root ??= await newUser(api, { username: FUZZ_ADMIN });
    const granted = await api('PUT', `/admin/users/${user.id}/admin`, { token: root.accessToken });
    expect(granted.status).toBe(200);
    return user;
  }
  let totalCases = 0;

  beforeAll(async () => {
    operations = await documentedOperations(suite.server.url);
  });
  afterAll(() => {
    console.log(`REST fuzz: ${operations.length} operations, ${totalCases} requests`);
  });

  it('finds the documented routes of every module', () => {
    const prefixes = new Set(operations.map((o) => o.path.split('/')[3]));
    for (const area of ['auth', 'users', 'friends', 'friend-requests', 'groups', 'invites', 'conversations', 'messages']) expect(prefixes).toContain(area);
    expect(operations.length).toBeGreaterThan(40);
  });

  it(`answers ${RUNS_PER_OPERATION} random requests per route without a 5xx, in the error format, refusing schema breaks with 400`, { timeout: 600_000 }, async () => {
    const api = apiClient(suite.server.url);
    const perRoute: string[] = [];
    for (const operation of operations) {
      let user: TestUser = await userFor(api, operation);
      const checkParams = checker(objectSchema(operation.parameters.filter((p) => p.in === 'path')), 'params');
      const checkQuery = checker(objectSchema(operation.parameters.filter((p) => p.in === 'query')), 'querystring');
      const checkBody = operation.jsonBody ? checker(operation.jsonBody, 'body') : () => true;
      let runs = 0;
      const baseline = await api(operation.method, operation.path.replace(/\{(\w+)\}/g, '1'), { token: user.accessToken });
      const unconfigured = baseline.status === 503 && baseline.body?.error?.code === 'UNAVAILABLE';
      await fc.assert(
        fc.asyncProperty(casesFor(operation), async (c) => {
          runs++;
          const url = operation.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(c.params[name] ?? 'x'));
          const search = new URLSearchParams(c.query).toString();
          const options = c.body === undefined ? {} : 'raw' in c.body ? { rawBody: c.body.raw } : { rawBody: JSON.stringify(c.body.json) ?? 'null' };
          const res = await api(operation.method, `${url}${search ? `?${search}` : ''}`, { token: user.accessToken, ...options });
          const shown = `${operation.method} ${url}?${search} ${JSON.stringify(c.body)?.slice(0, 200)} → ${res.status} ${JSON.stringify(res.body)?.slice(0, 200)}`;
          // A feature this server has not configured (AI without providers) answers 503 UNAVAILABLE to anything.
          if (unconfigured && res.status === 503 && res.body?.error?.code === 'UNAVAILABLE') return;
          expect(res.status, shown).toBeLessThan(500);
          if (res.status >= 400) {
            expect(typeof res.body?.error?.code, shown).toBe('string');
            expect(typeof res.body?.error?.message, shown).toBe('string');
          }
          if (res.status === 401) {
            // The case logged the user out (or deleted them): carry on with a fresh one.
            user = await userFor(api, operation);
            return;
          }
          const paramsBroken = !checkParams(c.params);
          const queryBroken = !checkQuery(c.query);
          const bodyBroken = operation.jsonBody !== undefined && c.body !== undefined && ('raw' in c.body || !checkBody(c.body.json));
          if (paramsBroken || queryBroken || bodyBroken) {
            expect([400, 413, 415], shown).toContain(res.status);
            if (res.status === 400) expect(res.body.error.code, shown).toBe('VALIDATION_FAILED');
          }
        }),
        { seed: SEED, numRuns: RUNS_PER_OPERATION, endOnFailure: true },
      );
      totalCases += runs;
      perRoute.push(`${operation.method} ${operation.path}: ${runs}`);
    }
    console.log(`REST fuzz cases per route:\n  ${perRoute.join('\n  ')}`);
    expect((await api('GET', '/healthz')).status).toBe(200);
  });

  it('refuses every secured route without a token with 401, and none answers 5xx', async () => {
    const api = apiClient(suite.server.url);
    for (const operation of operations) {
      const url = operation.path.replace(/\{(\w+)\}/g, '1');
      const res = await api(operation.method, url, operation.method === 'GET' ? {} : { body: {} });
      totalCases++;
      if (operation.secured) expect(res.status, `${operation.method} ${url}`).not.toBe(500);
      else expect(res.status, `${operation.method} ${url}`).toBeLessThan(500);
      if (operation.secured) expect(res.status, `${operation.method} ${url}`).toBe(401);
    }
  });
});
