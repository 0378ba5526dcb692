import { describe, expect, it } from 'vitest';
import { expectError } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

describe(`platform endpoints (${storageLabel})`, () => {
  const suite = useTestServer({ CORS_ORIGINS: 'https://chat.example.com' });
  const { api } = suite;

  it('answers /healthz and /readyz with the database and cache checked', async () => {
    expect((await api('GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await api('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: 'ok', cache: 'ok' } });
  });

  it('serves OpenAPI generated from the route schemas, and the docs UI', async () => {
    const spec = await api('GET', '/openapi.json');
    expect(spec.status).toBe(200);
    expect(spec.body.openapi).toMatch(/^3\./);
    for (const route of ['/api/v1/auth/register', '/api/v1/auth/login', '/api/v1/users/me', '/api/v1/friend-requests', '/api/v1/blocks']) {
      expect(Object.keys(spec.body.paths)).toContain(route);
    }
    expect(spec.body.paths['/api/v1/auth/register'].post.requestBody.content['application/json'].schema.properties.username.maxLength).toBe(32);
    const docs = await fetch(`${suite.server.url}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
  });

  it('answers unknown routes with the error format', async () => {
    expectError(await api('GET', '/api/v1/nothing-here'), 404, 'NOT_FOUND');
    expectError(await api('DELETE', '/whatever'), 404, 'NOT_FOUND');
  });

  it('refuses malformed JSON, wrong content types and oversized bodies with the error format', async () => {
    expectError(await api('POST', '/auth/login', { rawBody: '{"username": ' }), 400, 'VALIDATION_FAILED');
    expectError(await api('POST', '/auth/login', { rawBody: 'username=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const huge = JSON.stringify({ username: 'x'.repeat(2_000_000), password: 'y' });
    expectError(await api('POST', '/auth/login', { rawBody: huge }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('validates bodies as sent: a number where a string belongs is refused, not coerced', async () => {
    const error = expectError(await api('POST', '/auth/register', { body: { username: 12345678, password: 'long enough pw' } }), 400, 'VALIDATION_FAILED');
    expect(error.details[0].field).toBe('username');
    expectError(await api('POST', '/auth/login', { body: { username: 'someone', password: ['long enough pw'] } }), 400, 'VALIDATION_FAILED');
  });

  it('puts a request id on every response and honours a sane incoming one', async () => {
    const res = await api('GET', '/healthz', { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-abc-123');
    const generated = await api('GET', '/healthz', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends security headers and CORS only to configured origins', async () => {
    const res = await fetch(`${suite.server.url}/healthz`, { headers: { origin: 'https://chat.example.com' } });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('access-control-allow-origin')).toBe('https://chat.example.com');
    const other = await fetch(`${suite.server.url}/healthz`, { headers: { origin: 'https://evil.example.net' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${suite.server.url}/api/v1/auth/login`, {
      method: 'OPTIONS',
      headers: { origin: 'https://chat.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://chat.example.com');
  });
});
