import { createHmac } from 'node:crypto';

/**
 * Time-limited TURN credentials in the TURN REST API scheme that coturn implements with
 * `use-auth-secret` / `static-auth-secret`: the username is `expiry:userId` (expiry in Unix
 * seconds) and the password is base64(HMAC-SHA1(secret, username)). coturn recomputes the HMAC
 * and refuses the allocation once `expiry` has passed.
 */
export function turnCredential(secret: string, userId: string, expiresAtSec: number): { username: string; credential: string } {
  const username = `${expiresAtSec}:${userId}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}
