import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { ProfileAnnouncer, UsersRepository } from '../users/index.js';
import { renderAvatar } from './avatars.images.js';
import { AVATAR_SIZES, type AvatarSize, fileName, isAvatarFileName, keyFromUrl, newAvatarKey } from './avatars.names.js';
import type { AvatarUrls } from './avatars.schemas.js';
import type { AvatarStore } from './avatars.storage.js';

/** What the service reports when an old avatar's files could not be removed (the upload still succeeded). */
export interface CleanupLog {
  warn(fields: object, message: string): void;
}

export interface AvatarsServiceDeps {
  users: Pick<UsersRepository, 'findById' | 'update'>;
  store: AvatarStore;
  clock: Clock;
  /** URL path the files are served under, without a trailing slash, e.g. `/api/v1/avatars`. */
  publicPath: string;
  log: CleanupLog;
  /** A new or removed avatar is a visible profile change: limited, then sent as `user_updated`. */
  announcer: Pick<ProfileAnnouncer, 'spend' | 'announce'>;
}

export function createAvatarsService({ users, store, clock, publicPath, log, announcer }: AvatarsServiceDeps) {
  const urlOf = (key: string, size: AvatarSize) => `${publicPath}/${fileName(key, size)}`;
  const filesOf = (key: string) => AVATAR_SIZES.map((size) => fileName(key, size));

  async function requireCaller(actor: Actor) {
    const row = await users.findById(actor.userId);
    if (!row) throw new AppError('UNAUTHORIZED', 'account no longer exists');
    return row;
  }

  /**
   * Best effort: the user row already points elsewhere, so a failure here leaves an unreferenced file,
   * never a broken avatar. (Two uploads racing for one user can also leave one, for the same reason.)
   */
  async function removeFiles(userId: string, key: string | null): Promise<void> {
    if (!key) return;
    await store.remove(filesOf(key)).catch((error: unknown) => log.warn({ err: error, userId }, 'old avatar files not removed'));
  }

  return {
    /**
     * Makes `image` (the uploaded bytes) the caller's avatar: checks its real type, renders 256 and
     * 64 pixel WebP versions, points the user at them and removes the previous ones.
     */
    async setFromUpload(actor: Actor, image: Buffer): Promise<AvatarUrls> {
      await requireCaller(actor);
      await announcer.spend(actor.userId);
      const rendered = await renderAvatar(image, AVATAR_SIZES);
      const key = newAvatarKey(actor.userId);
      await store.write(rendered.map(({ size, bytes }) => ({ name: fileName(key, size), bytes })));
      let previous: string | null;
      try {
        // Read the previous avatar as late as possible, right before replacing it.
        previous = keyFromUrl((await requireCaller(actor)).avatar_url);
        await users.update(actor.userId, { avatar_url: urlOf(key, 256), updated_at: clock.now().getTime() });
      } catch (error) {
        await removeFiles(actor.userId, key);
        throw error;
      }
      await removeFiles(actor.userId, previous);
      await announcer.announce(actor.userId);
      return { avatarUrl: urlOf(key, 256), avatarSmallUrl: urlOf(key, 64) };
    },

    /** Clears the caller's avatar and removes its files; clearing none is fine. */
    async remove(actor: Actor): Promise<void> {
      const current = (await requireCaller(actor)).avatar_url;
      // Clearing no avatar changes nothing anyone sees: no budget spent, nothing announced.
      if (current === null) return;
      const previous = keyFromUrl(current);
      await announcer.spend(actor.userId);
      await users.update(actor.userId, { avatar_url: null, updated_at: clock.now().getTime() });
      await removeFiles(actor.userId, previous);
      await announcer.announce(actor.userId);
    },

    /** Users are being deleted: every avatar file of theirs goes (the rows go with the accounts). */
    async removeAllOf(userIds: readonly string[]): Promise<void> {
      for (const userId of userIds) await store.removeAllOf(userId);
    },

    /** A stored avatar file (WebP) by its public name; anyone may read avatars. */
    async read(name: string): Promise<Buffer> {
      const bytes = isAvatarFileName(name) ? await store.read(name) : null;
      if (!bytes) throw new AppError('NOT_FOUND', 'no such avatar');
      return bytes;
    },
  };
}

export type AvatarsService = ReturnType<typeof createAvatarsService>;
