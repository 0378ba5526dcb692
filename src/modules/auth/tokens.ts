import { createSecretKey } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Actor } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';

const ISSUER = 'parley';

/** Verified access tokens remembered at most (about 4 MB at this size). */
const VERIFIED_CACHE_SIZE = 10_000;

export interface RefreshClaims {
  userId: string;
  sessionId: string;
  generation: number;
}

/**
 * Access tokens are short-lived HS256 JWTs naming the user and session. Refresh tokens are JWTs
 * too, carrying the session's refresh generation: the server keeps only the current generation,
 * so a spent token is recognisable (older generation) and its reuse revokes the session.
 */
export function createTokenIssuer(secret: string, accessTtlSec: number) {
  // A KeyObject made once: given raw bytes, jose would import the key again on every sign and verify.
  const key = createSecretKey(Buffer.from(secret, 'utf8'));

  async function verify(token: string, type: 'access' | 'refresh') {
    try {
      const { payload } = await jwtVerify(token, key, { issuer: ISSUER, algorithms: ['HS256'] });
      if (payload.typ !== type || typeof payload.sub !== 'string' || typeof payload.sid !== 'string') throw new Error('wrong token type');
      return payload;
    } catch (error) {
      const expired = error instanceof errors.JWTExpired;
      throw new AppError('UNAUTHORIZED', expired ? `${type} token expired` : `invalid ${type} token`);
    }
  }

  /**
   * Access tokens already verified, until they expire. A client sends the same token with every
   * request and socket handshake for its whole lifetime, and an HMAC check through WebCrypto costs
   * about 125 µs each time: more than the rest of a history page. Only tokens that verified are
   * kept (so a flood of garbage tokens cannot fill it), and expiry is checked on every use exactly
   * as jose does. Revocation is not the token's business: callers check the session every time.
   */
  const verified = new Map<string, { actor: Actor; expiresAt: number }>();

  async function verifyAccessWithExpiry(token: string): Promise<{ actor: Actor; expiresAt: number }> {
    const known = verified.get(token);
    if (known) {
      // jose's rule: expired once `exp` (whole seconds) is not after the current whole second.
      if (known.expiresAt / 1000 > Math.floor(Date.now() / 1000)) return { actor: { ...known.actor }, expiresAt: known.expiresAt };
      verified.delete(token);
      throw new AppError('UNAUTHORIZED', 'access token expired');
    }
    const payload = await verify(token, 'access');
    const entry = {
      actor: { userId: payload.sub as string, sessionId: payload.sid as string, isGuest: payload.guest === true },
      expiresAt: (payload.exp ?? 0) * 1000,
    };
    // Oldest first out: Map keeps insertion order.
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value as string);
    verified.set(token, entry);
    return entry;
  }

  return {
    accessTtlSec,

    issueAccess(actor: Actor): Promise<string> {
      return new SignJWT({ typ: 'access', sid: actor.sessionId, guest: actor.isGuest })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISSUER)
        .setSubject(actor.userId)
        .setIssuedAt()
        .setExpirationTime(`${accessTtlSec}s`)
        .sign(key);
    },

    issueRefresh(claims: RefreshClaims, expiresAtMs: number): Promise<string> {
      return new SignJWT({ typ: 'refresh', sid: claims.sessionId, gen: claims.generation })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISSUER)
        .setSubject(claims.userId)
        .setIssuedAt()
        .setExpirationTime(Math.floor(expiresAtMs / 1000))
        .sign(key);
    },

    async verifyAccess(token: string): Promise<Actor> {
      return (await verifyAccessWithExpiry(token)).actor;
    },

    verifyAccessWithExpiry,

    async verifyRefresh(token: string): Promise<RefreshClaims> {
      const payload = await verify(token, 'refresh');
      if (typeof payload.gen !== 'number') throw new AppError('UNAUTHORIZED', 'invalid refresh token');
      return { userId: payload.sub as string, sessionId: payload.sid as string, generation: payload.gen };
    },
  };
}

export type TokenIssuer = ReturnType<typeof createTokenIssuer>;
