/**
 * Cookie mode of the auth routes (docs/api.md, Authentication): the refresh token of a browser app
 * lives in an httpOnly cookie that page scripts cannot read, instead of the answer's body.
 *
 * Hand-written rather than @fastify/cookie or `cookie`: this is one cookie, set and read by two
 * routes, whose value is a JWT (base64url and dots, never in need of encoding); the `cookie` release
 * already in the tree requires Node 22, and a plugin on every route would parse cookies nothing else reads.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_PREFIX, REFRESH_COOKIE, SESSION_MODE_HEADER } from '../../contract/api.js';
import type { AuthResult } from './auth.schemas.js';

/**
 * The cookie goes back only to the auth routes (refresh and logout need it), not to every request.
 * SameSite=Strict keeps it off every cross-site request; the custom header keeps a cross-site form
 * (which cannot set headers) from using it even where SameSite is not enforced.
 */
const COOKIE_PATH = `${API_PREFIX}/auth`;

/** The client asked for cookie mode; without the header the cookie is never read nor set. */
export function isCookieMode(request: FastifyRequest): boolean {
  return request.headers[SESSION_MODE_HEADER] === 'cookie';
}

function setRefreshCookie(request: FastifyRequest, reply: FastifyReply, value: string, maxAgeSec: number): void {
  const attributes = [`${REFRESH_COOKIE}=${value}`, `Max-Age=${maxAgeSec}`, `Path=${COOKIE_PATH}`, 'HttpOnly', 'SameSite=Strict'];
  // Secure only over HTTPS (request.protocol follows X-Forwarded-Proto behind a trusted proxy): a
  // browser refuses a Secure cookie set over plain http, which would break an install on a LAN address.
  if (request.protocol === 'https') attributes.push('Secure');
  reply.header('set-cookie', attributes.join('; '));
}

/** Only a value a token could be is taken; anything else counts as no cookie. */
const TOKEN_VALUE = /^[A-Za-z0-9._-]{1,4096}$/;

export function readRefreshCookie(request: FastifyRequest): string | undefined {
  for (const pair of (request.headers.cookie ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at < 0 || pair.slice(0, at).trim() !== REFRESH_COOKIE) continue;
    const value = pair.slice(at + 1).trim();
    if (TOKEN_VALUE.test(value)) return value;
  }
  return undefined;
}

export function clearRefreshCookie(request: FastifyRequest, reply: FastifyReply): void {
  setRefreshCookie(request, reply, '', 0);
}

/**
 * The answer of register, login, guest, upgrade and refresh: as is in body mode; in cookie mode the
 * refresh token goes into the cookie and out of the body, so no page script ever holds it.
 */
export function deliverTokens(request: FastifyRequest, reply: FastifyReply, result: AuthResult, refreshTtlSec: number): AuthResult {
  if (!isCookieMode(request) || result.refreshToken === undefined) return result;
  setRefreshCookie(request, reply, result.refreshToken, refreshTtlSec);
  const { refreshToken: _inCookie, ...rest } = result;
  return rest;
}
