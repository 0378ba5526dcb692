import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from './logger.js';

/**
 * The JWT signing secret: `JWT_SECRET` when set, otherwise one generated on first start and kept in
 * `DATA_DIR/jwt-secret` so tokens survive restarts. Several processes must share one: set it.
 */
export function resolveJwtSecret(configured: string | undefined, dataDir: string, log: Logger): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'jwt-secret');
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length >= 32) return existing;
  } catch {
    // not created yet
  }
  // 0700: the data directory holds the database, uploads and the JWT secret.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(48).toString('base64url');
  // 'wx' fails if another process created it meanwhile; then read theirs.
  try {
    writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
    log.warn({ file }, 'JWT_SECRET is not set: generated one and stored it in DATA_DIR; set JWT_SECRET when running several processes');
    return secret;
  } catch {
    return readFileSync(file, 'utf8').trim();
  }
}
