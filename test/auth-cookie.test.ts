import { describe, expect, it } from 'vitest';
import { type ApiResponse, expectError, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const PASSWORD = 'correct horse battery';
const COOKIE_MODE = { 'x-parley-session': 'cookie' };

interface SetCookie {
  name: string;
  value: string;
  attributes: Map<string, string>;
}

/** The one Set-Cookie of the answer, split into its name, value and (lower-cased) attributes. */
function refreshCookieOf(res: ApiResponse): SetCookie {
  const all = res.headers.getSetCookie();
  expect(all).toHaveLength(1);
  const [pair, ...rest] = all[0]!.split(';').map((part) => part.trim());
  const at = pair!.indexOf('=');
  const attributes = new Map(
    rest.map((part) => {
      const [key, value = ''] = part.split('=');
      return [key!.toLowerCase(), value] as [string, string];
    }),
  );
  return { name: pair!.slice(0, at), value: pair!.slice(at + 1), attributes };
}

function expectSessionCookie(res: ApiResponse, secure = false): string {
  const cookie = refreshCookieOf(res);
  expect(cookie.name).toBe('parley_refresh');
  expect(cookie.value).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  expect(cookie.attributes.has('httponly')).toBe(true);
  expect(cookie.attributes.get('samesite')).toBe('Strict');
  expect(cookie.attributes.get('path')).toBe('/api/v1/auth');
  expect(Number(cookie.attributes.get('max-age'))).toBeGreaterThan(3600);
  expect(cookie.attributes.has('secure')).toBe(secure);
  // The token is in the cookie only: no page script ever reads it from an answer.
  expect(res.body.refreshToken).toBeUndefined();
  expect(res.body.accessToken).toEqual(expect.any(String));
  return cookie.value;
}

function expectCleared(res: ApiResponse): void {
  const cookie = refreshCookieOf(res);
  expect(cookie).toMatchObject({ name: 'parley_refresh', value: '' });
  expect(cookie.attributes.get('max-age')).toBe('0');
  expect(cookie.attributes.get('path')).toBe('/api/v1/auth');
}

describe(`auth in cookie mode (${storageLabel})`, () => {
  const suite = useTestServer();
  const { api } = suite;

  const cookieLogin = async () => {
    const username = uniqueName('ck');
    expect((await api('POST', '/auth/register', { body: { username, password: PASSWORD } })).status).toBe(201);
    const res = await api('POST', '/auth/login', { body: { username, password: PASSWORD }, headers: COOKIE_MODE });
    expect(res.status).toBe(200);
    return { username, cookie: expectSessionCookie(res), accessToken: res.body.accessToken as string };
  };
  const refreshWith = (cookie: string | undefined, headers: Record<string, string> = COOKIE_MODE) =>
    api('POST', '/auth/refresh', { headers: { ...headers, ...(cookie === undefined ? {} : { cookie: `theme=dark; parley_refresh=${cookie}` }) } });

  it('sets the refresh token in an httpOnly, SameSite=Strict cookie scoped to the auth routes on register, login and guest, and leaves it out of the body', async () => {
    const register = await api('POST', '/auth/register', { body: { username: uniqueName('ck'), password: PASSWORD }, headers: COOKIE_MODE });
    expect(register.status).toBe(201);
    expectSessionCookie(register);
    const guest = await api('POST', '/auth/guest', { headers: COOKIE_MODE });
    expect(guest.status).toBe(201);
    expectSessionCookie(guest);
    const { accessToken } = await cookieLogin();
    expect((await api('GET', '/users/me', { token: accessToken })).status).toBe(200);
  });

  it('upgrades a guest in cookie mode with a cookie for the new session', async () => {
    const guest = await api('POST', '/auth/guest', { headers: COOKIE_MODE });
    const old = expectSessionCookie(guest);
    const upgraded = await api('POST', '/auth/upgrade', { token: guest.body.accessToken, body: { username: uniqueName('up'), password: PASSWORD }, headers: COOKIE_MODE });
    expect(upgraded.status).toBe(200);
    const fresh = expectSessionCookie(upgraded);
    expect(fresh).not.toBe(old);
    expect((await refreshWith(fresh)).status).toBe(200);
  });

  it('keeps body mode exactly as before: no cookie is set, the refresh token is in the body', async () => {
    const username = uniqueName('bm');
    const res = await api('POST', '/auth/register', { body: { username, password: PASSWORD } });
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(res.body.refreshToken).toEqual(expect.any(String));
    const rotated = await api('POST', '/auth/refresh', { body: { refreshToken: res.body.refreshToken } });
    expect(rotated.status).toBe(200);
    expect(rotated.headers.getSetCookie()).toEqual([]);
    expect(rotated.body.refreshToken).toEqual(expect.any(String));
  });

  it('rotates the cookie on every refresh, and a spent cookie ends the session (reuse detection) and is cleared', async () => {
    const { cookie: first } = await cookieLogin();
    const once = await refreshWith(first);
    expect(once.status).toBe(200);
    const second = expectSessionCookie(once);
    expect(second).not.toBe(first);
    const twice = await refreshWith(second);
    const third = expectSessionCookie(twice);
    expect(third).not.toBe(second);
    expect((await api('GET', '/users/me', { token: twice.body.accessToken })).status).toBe(200);

    // An old cookie presented again (a stolen copy): the whole session ends, the latest cookie too.
    const reused = await refreshWith(first);
    expectError(reused, 401, 'UNAUTHORIZED');
    expectCleared(reused);
    expectError(await refreshWith(third), 401, 'UNAUTHORIZED');
    expectError(await api('GET', '/users/me', { token: twice.body.accessToken }), 401, 'UNAUTHORIZED');
  });

  it('never reads the cookie without the cookie-mode header (what a cross-site form would send), nor a body token in cookie mode', async () => {
    const { cookie } = await cookieLogin();
    // A form post carries the cookie (were SameSite not enforced) but cannot set the header.
    const forged = await api('POST', '/auth/refresh', { headers: { cookie: `parley_refresh=${cookie}`, 'content-type': 'application/x-www-form-urlencoded' }, rawBody: 'a=1' });
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(forged.headers.getSetCookie()).toEqual([]);
    const noHeader = await api('POST', '/auth/refresh', { headers: { cookie: `parley_refresh=${cookie}` }, body: {} });
    expectError(noHeader, 400, 'VALIDATION_FAILED');
    // In cookie mode only the cookie counts: a body token without a cookie is refused.
    expectError(await api('POST', '/auth/refresh', { headers: COOKIE_MODE, body: { refreshToken: cookie } }), 401, 'UNAUTHORIZED');
    expectError(await refreshWith(undefined), 401, 'UNAUTHORIZED');
    // None of those spent the token: the session is alive and rotates.
    expect((await refreshWith(cookie)).status).toBe(200);
  });

  it('clears the cookie on logout, and the cleared session no longer refreshes', async () => {
    const { cookie, accessToken } = await cookieLogin();
    const out = await api('POST', '/auth/logout', { token: accessToken, headers: { ...COOKIE_MODE, cookie: `parley_refresh=${cookie}` } });
    expect(out.status).toBe(204);
    expectCleared(out);
    expectError(await refreshWith(cookie), 401, 'UNAUTHORIZED');
  });
});

describe(`auth in cookie mode behind an HTTPS proxy (${storageLabel})`, () => {
  const { api } = useTestServer({ TRUST_PROXY: 'true' });

  it('marks the cookie Secure when the request came over HTTPS', async () => {
    const res = await api('POST', '/auth/guest', { headers: { ...COOKIE_MODE, 'x-forwarded-proto': 'https' } });
    expect(res.status).toBe(201);
    expectSessionCookie(res, true);
  });
});
