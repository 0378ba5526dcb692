import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { decodeCursor, encodeCursor, type Page } from '../../shared/pagination.js';
import type { UsersRepository } from './users.repository.js';
import { toMe, toUser } from './users.mapper.js';
import { normalizeNickname } from './users.rules.js';
import type { Me, UpdateProfileBody, User } from './users.schemas.js';

export interface UsersServiceDeps {
  users: UsersRepository;
  clock: Clock;
}

const isIdCursor = (value: unknown): value is { after: string } => typeof value === 'object' && value !== null && typeof (value as { after?: unknown }).after === 'string';

export function createUsersService({ users, clock }: UsersServiceDeps) {
  async function requireUser(id: string) {
    const row = await users.findById(id);
    if (!row) throw new AppError('NOT_FOUND', 'user not found');
    return row;
  }

  /** The caller's own account; gone (a purged guest) means its token no longer stands for anyone. */
  async function requireCaller(actor: Actor) {
    const row = await users.findById(actor.userId);
    if (!row) throw new AppError('UNAUTHORIZED', 'account no longer exists');
    return row;
  }

  return {
    /** The caller with profile. */
    async getMe(actor: Actor): Promise<Me> {
      const row = await requireCaller(actor);
      return toMe(row, await users.findProfile(actor.userId));
    },

    /** Updates the caller's profile fields; absent fields stay, `null` clears. */
    async updateProfile(actor: Actor, patch: UpdateProfileBody): Promise<Me> {
      await requireCaller(actor);
      const now = clock.now().getTime();
      const userPatch: { nickname?: string; nickname_lower?: string; bio?: string; updated_at: number } = { updated_at: now };
      if (patch.nickname !== undefined) {
        const nickname = normalizeNickname(patch.nickname);
        userPatch.nickname = nickname;
        userPatch.nickname_lower = nickname.toLowerCase();
      }
      if (patch.bio !== undefined) userPatch.bio = patch.bio.trim();
      const profilePatch: Record<string, string | null | number> = {};
      if (patch.gender !== undefined) profilePatch.gender = patch.gender;
      if (patch.birthday !== undefined) profilePatch.birthday = patch.birthday;
      if (patch.location !== undefined) profilePatch.location = patch.location?.trim() ?? null;
      if (patch.website !== undefined) profilePatch.website = patch.website;
      if (patch.statusText !== undefined) profilePatch.status_text = patch.statusText?.trim() ?? null;
      if (patch.allowMessagesFrom !== undefined) profilePatch.allow_messages_from = patch.allowMessagesFrom;
      if (patch.smartReplies !== undefined) profilePatch.smart_replies = patch.smartReplies ? 1 : 0;
      if (Object.keys(profilePatch).length > 0) profilePatch.updated_at = now;
      await users.updateWithProfile(actor.userId, userPatch, profilePatch);
      return this.getMe(actor);
    },

    /** Anyone's public profile. */
    async getPublic(_actor: Actor, userId: string): Promise<User> {
      return toUser(await requireUser(userId));
    },

    /** Users whose username or nickname starts with `q`, case-insensitively, in any script. */
    async search(_actor: Actor, q: string, cursor: string | undefined, limit: number): Promise<Page<User>> {
      const after = decodeCursor(cursor, isIdCursor);
      if (cursor && !after) throw AppError.validation('cursor', 'is not a cursor this list returned');
      const rows = await users.searchByPrefix(q.normalize('NFC').trim().toLowerCase(), after?.after, limit + 1);
      const items = rows.slice(0, limit).map(toUser);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > limit && last ? encodeCursor({ after: last.id }) : null };
    },

    /**
     * Removes guest accounts with no activity (creation, login or token refresh) for `idleDays`;
     * returns how many.
     * `beforeDelete` runs first with their ids, so their sessions can be ended everywhere.
     */
    async purgeIdleGuests(idleDays: number, beforeDelete?: (userIds: string[]) => Promise<void>): Promise<number> {
      const ids = await users.idleGuestIds(clock.now().getTime() - idleDays * 86_400_000);
      if (ids.length === 0) return 0;
      await beforeDelete?.(ids);
      return users.deleteUsers(ids);
    },

    findRows: (ids: readonly string[]) => users.findByIds(ids),
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
