import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuardedFetch, OUTBOUND_USER_AGENT, OutboundError, type Resolver } from '../../src/platform/outbound/index.js';
import { type LinkSite, startLinkSite } from '../support/link-site.js';

/** 127.0.0.1 plays the public internet; 127.0.0.2 a private network. */
const PUBLIC = '127.0.0.1';

async function failure(promise: Promise<unknown>): Promise<OutboundError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OutboundError) return error;
    throw error;
  }
  throw new Error('the request succeeded');
}

describe('guarded fetch', () => {
  let site: LinkSite;
  let internal: LinkSite;
  const seen: Array<{ path: string; headers: Record<string, unknown> }> = [];
  beforeAll(async () => {
    site = await startLinkSite(PUBLIC);
    internal = await startLinkSite('127.0.0.2');
    site.page('/echo', (request, response) => {
      seen.push({ path: '/echo', headers: request.headers });
      response.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': 'session=abc' });
      response.end('hello');
    });
    site.page('/to-echo', (request, response) => {
      seen.push({ path: '/to-echo', headers: request.headers });
      response.writeHead(302, { location: '/echo', 'set-cookie': 'session=abc' }).end();
    });
    internal.page('/private', (_request, response) => response.end('private'));
  });
  afterAll(async () => {
    await site.close();
    await internal.close();
  });

  it('connects to the address it checked: a name that resolves elsewhere a moment later (DNS rebinding) changes nothing', async () => {
    let lookups = 0;
    // The first answer is public; any later one would be private.
    const rebinding: Resolver = async () => [{ address: lookups++ === 0 ? PUBLIC : '127.0.0.2', family: 4 }];
    const fetch = createGuardedFetch({ allowPrivate: false, resolve: rebinding, addressAllowed: (address) => address === PUBLIC });
    const response = await fetch({ url: `http://rebind.example:${site.port}/echo`, maxBytes: 1000, timeoutMs: 5000 });
    expect(response.body.toString()).toBe('hello');
    expect(lookups).toBe(1);
    const second = await failure(fetch({ url: `http://rebind.example:${internal.port}/private`, maxBytes: 1000, timeoutMs: 5000 }));
    expect(second.reason).toBe('address');
  });

  it('sends a fixed User-Agent, no cookie (not even one the site set on a redirect) and no compression', async () => {
    seen.length = 0;
    const fetch = createGuardedFetch({ allowPrivate: true });
    const response = await fetch({ url: `${site.origin}/to-echo`, headers: { accept: 'text/plain' }, maxBytes: 1000, timeoutMs: 5000 });
    expect(response.url).toBe(`${site.origin}/echo`);
    expect(seen.map((s) => s.path)).toEqual(['/to-echo', '/echo']);
    for (const { headers } of seen) {
      expect(headers['user-agent']).toBe(OUTBOUND_USER_AGENT);
      expect(headers.cookie).toBeUndefined();
      expect(headers.authorization).toBeUndefined();
      expect(headers['accept-encoding']).toBe('identity');
    }
  });

  it('refuses other schemes and URLs carrying credentials before any connection', async () => {
    const fetch = createGuardedFetch({ allowPrivate: true });
    expect((await failure(fetch({ url: 'file:///etc/passwd', maxBytes: 1000, timeoutMs: 1000 }))).reason).toBe('scheme');
    expect((await failure(fetch({ url: 'gopher://example.com/', maxBytes: 1000, timeoutMs: 1000 }))).reason).toBe('scheme');
    expect((await failure(fetch({ url: `http://user:secret@127.0.0.1:${site.port}/echo`, maxBytes: 1000, timeoutMs: 1000 }))).reason).toBe('credentials');
    expect((await failure(fetch({ url: 'not a url', maxBytes: 1000, timeoutMs: 1000 }))).reason).toBe('invalid_url');
  });

  it('refuses a redirect to another scheme, and does not follow redirects of a POST', async () => {
    site.page('/to-file', (_request, response) => response.writeHead(301, { location: 'file:///etc/passwd' }).end());
    const fetch = createGuardedFetch({ allowPrivate: true });
    expect((await failure(fetch({ url: `${site.origin}/to-file`, maxBytes: 1000, timeoutMs: 5000 }))).reason).toBe('scheme');
    seen.length = 0;
    const posted = await fetch({ url: `${site.origin}/to-echo`, method: 'POST', body: '{}', maxBytes: 1000, timeoutMs: 5000 });
    expect(posted.status).toBe(302);
    expect(seen.map((s) => s.path)).toEqual(['/to-echo']);
  });

  it('by default refuses loopback, also by name', async () => {
    const fetch = createGuardedFetch({ allowPrivate: false });
    expect((await failure(fetch({ url: `${site.origin}/echo`, maxBytes: 1000, timeoutMs: 5000 }))).reason).toBe('address');
    expect((await failure(fetch({ url: `http://localhost:${site.port}/echo`, maxBytes: 1000, timeoutMs: 5000 }))).reason).toBe('address');
  });
});
