import { randomBytes } from 'node:crypto';

/** The two renditions every avatar upload produces, by edge length in pixels. */
export const AVATAR_SIZES = [256, 64] as const;
export type AvatarSize = (typeof AVATAR_SIZES)[number];

/**
 * File names are made by the server only: `<userId>-<24 hex>-<size>.webp`. The user id (a UUID)
 * groups a user's files; the random part makes each upload's URL unique, so it can be cached forever.
 * Anything that does not match this pattern exactly is never looked up on disk (no path traversal).
 */
export const AVATAR_FILE_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[0-9a-f]{24}-(?:256|64)\.webp$/;
const AVATAR_KEY = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[0-9a-f]{24})-256\.webp$/;

/** A fresh key for one upload of `userId`'s avatar; its files are `fileName(key, size)`. */
export function newAvatarKey(userId: string): string {
  return `${userId.toLowerCase()}-${randomBytes(12).toString('hex')}`;
}

export function fileName(key: string, size: AvatarSize): string {
  return `${key}-${size}.webp`;
}

export function isAvatarFileName(name: string): boolean {
  return AVATAR_FILE_NAME.test(name);
}

/** The key of an avatar URL this module made (`…/<key>-256.webp`), or null for anything else. */
export function keyFromUrl(url: string | null): string | null {
  if (!url) return null;
  const last = url.slice(url.lastIndexOf('/') + 1);
  return AVATAR_KEY.exec(last)?.[1] ?? null;
}
