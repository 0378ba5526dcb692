import { AppError } from '../../shared/errors.js';

const GUEST_PREFIX = 'guest_';

/** NFC form (so visually equal names collide) and its lower-case key for uniqueness and search. */
export function normalizeUsername(raw: string, options: { allowGuestPrefix?: boolean } = {}): { username: string; lower: string } {
  const username = raw.normalize('NFC');
  const lower = username.toLowerCase();
  if (!options.allowGuestPrefix && lower.startsWith(GUEST_PREFIX)) {
    throw AppError.validation('username', `must not start with "${GUEST_PREFIX}" (reserved for guests)`);
  }
  return { username, lower };
}

/** Trims and checks a nickname: 1-64 characters after trimming, no control characters. */
export function normalizeNickname(raw: string): string {
  const nickname = raw.normalize('NFC').trim();
  const length = [...nickname].length;
  if (length < 1) throw AppError.validation('nickname', 'must not be blank');
  if (length > 64) throw AppError.validation('nickname', 'must NOT have more than 64 characters');
  if (/\p{Cc}/u.test(nickname)) throw AppError.validation('nickname', 'must not contain control characters');
  return nickname;
}

export function guestUsername(randomPart: string): string {
  return `${GUEST_PREFIX}${randomPart}`;
}

export function normalizeEmail(raw: string | undefined): { email: string; lower: string } | null {
  if (raw === undefined) return null;
  const email = raw.trim();
  return { email, lower: email.toLowerCase() };
}
