import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import webpush from 'web-push';
import type { Logger } from '../../platform/logger.js';

export interface VapidKeys {
  /** Uncompressed P-256 point, base64url. */
  publicKey: string;
  /** P-256 private scalar, base64url. */
  privateKey: string;
}

const KEY_FILE = 'vapid-keys.json';

function readKeys(file: string): VapidKeys | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<VapidKeys>;
    if (
      typeof parsed.publicKey === 'string' &&
      typeof parsed.privateKey === 'string' &&
      /^[A-Za-z0-9_-]{87}$/.test(parsed.publicKey) &&
      /^[A-Za-z0-9_-]{43}$/.test(parsed.privateKey)
    )
      return { publicKey: parsed.publicKey, privateKey: parsed.privateKey };
  } catch {
    // not created yet
  }
  return undefined;
}

/**
 * The VAPID key pair (RFC 8292) push requests are signed with: VAPID_PUBLIC_KEY/VAPID_PRIVATE_KEY
 * when set, otherwise generated on first start into `DATA_DIR/vapid-keys.json` (0600) and reused,
 * because browsers bind every subscription to the key it was made with: a new key would silently
 * orphan them all. Several processes must share one pair: set the variables, or share DATA_DIR.
 */
export function resolveVapidKeys(configured: VapidKeys | undefined, dataDir: string, log: Logger): VapidKeys {
  if (configured) return configured;
  const file = path.join(dataDir, KEY_FILE);
  const existing = readKeys(file);
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const generated = webpush.generateVAPIDKeys();
  // 'wx' fails if another process created it meanwhile; then read theirs.
  try {
    writeFileSync(file, JSON.stringify({ publicKey: generated.publicKey, privateKey: generated.privateKey }), { mode: 0o600, flag: 'wx' });
    log.info({ file }, 'VAPID keys for Web Push generated and stored in DATA_DIR');
    return generated;
  } catch {
    const theirs = readKeys(file);
    if (!theirs) throw new Error(`${file} holds no usable VAPID keys; remove it or set VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY`);
    return theirs;
  }
}
