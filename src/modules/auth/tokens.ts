import { createSecretKey } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Actor } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';

const ISSUER = 'parley';

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
      const payload = await verify(token, 'access');
      return { userId: payload.sub as string, sessionId: payload.sid as string, isGuest: payload.guest === true };
    },

    async verifyAccessWithExpiry(token: string): Promise<{ actor: Actor; expiresAt: number }> {
      const payload = await verify(token, 'access');
      return {
        actor: { userId: payload.sub as string, sessionId: payload.sid as string, isGuest: payload.guest === true },
        expiresAt: (payload.exp ?? 0) * 1000,
      };
    },

    async verifyRefresh(token: string): Promise<RefreshClaims> {
      const payload = await verify(token, 'refresh');
      if (typeof payload.gen !== 'number') throw new AppError('UNAUTHORIZED', 'invalid refresh token');
      return { userId: payload.sub as string, sessionId: payload.sid as string, generation: payload.gen };
    },
  };
}

export type TokenIssuer = ReturnType<typeof createTokenIssuer>;
