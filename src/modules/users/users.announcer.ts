import type { Cache } from '../../platform/cache/cache.js';
import type { Publisher } from '../../platform/realtime/publisher.js';
import { AppError } from '../../shared/errors.js';
import { toPublicProfile } from './users.mapper.js';
import type { UsersRepository } from './users.repository.js';

/**
 * Changes of what others see of a user (nickname, avatar, bio, status line) reach everyone who may
 * see them as `user_updated`. Each one goes to the whole presence audience, so a script flipping its
 * nickname would flood every friend and co-member: changes are counted per user in the shared cache
 * (across processes) and refused past the budget before anything is written.
 */
export const PROFILE_CHANGES_PER_MINUTE = 10;
const WINDOW_MS = 60_000;

export interface ProfileAnnouncerDeps {
  users: Pick<UsersRepository, 'findById' | 'findProfile'>;
  publisher: Publisher;
  cache: Cache;
  /** Who hears about the user: the policy's presence audience (no one across a block). */
  audienceOf(userId: string): Promise<string[]>;
}

export function createProfileAnnouncer({ users, publisher, cache, audienceOf }: ProfileAnnouncerDeps) {
  return {
    /** Counts one visible change; RATE_LIMITED (with retryAfterSec in details) past the budget. */
    async spend(userId: string): Promise<void> {
      const { count, ttlMs } = await cache.incr(`profile-changes:${userId}`, WINDOW_MS);
      if (count > PROFILE_CHANGES_PER_MINUTE) {
        const retryAfterSec = Math.max(1, Math.ceil(ttlMs / 1000));
        throw new AppError('RATE_LIMITED', `at most ${PROFILE_CHANGES_PER_MINUTE} profile changes a minute`, { retryAfterSec }, retryAfterSec);
      }
    },

    /** Sends the user's public profile, as stored now, to their own devices and their audience. */
    async announce(userId: string): Promise<void> {
      const [row, profile, audience] = await Promise.all([users.findById(userId), users.findProfile(userId), audienceOf(userId)]);
      if (!row) return;
      publisher.toUsers([userId, ...audience], 'user_updated', { user: toPublicProfile(row, profile) });
    },
  };
}

export type ProfileAnnouncer = ReturnType<typeof createProfileAnnouncer>;
