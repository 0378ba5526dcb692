import type { PresenceStatus } from '../../contract/presence.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { decodeCursor, encodeCursor, type Page } from '../../shared/pagination.js';
import type { ProfileAnnouncer } from './users.announcer.js';
import { toMe, toPublicProfile, toUser } from './users.mapper.js';
import type { UsersRepository } from './users.repository.js';
import { normalizeNickname } from './users.rules.js';
import type { Me, PublicProfile, UpdateProfileBody, User, UserProfile } from './users.schemas.js';

export interface UsersServiceDeps {
  users: UsersRepository;
  clock: Clock;
  /** Tells the people who may see the user about changes to their public profile (and limits them). */
  announcer: ProfileAnnouncer;
  /** The policy's answer to "may this viewer see this user's presence and last seen". */
  maySeePresence(viewerId: string, userId: string): Promise<boolean>;
  /** What others see of users' connections (presence service). */
  presenceOf(userIds: readonly string[]): Promise<Map<string, PresenceStatus>>;
  /** Whether the user holds the instance admin role (the admin policy); false when not wired. */
  isAdmin?(userId: string): Promise<boolean>;
}

const samePublic = (a: PublicProfile, b: PublicProfile) => a.nickname === b.nickname && a.bio === b.bio && a.statusText === b.statusText && a.avatarUrl === b.avatarUrl;

const isIdCursor = (value: unknown): value is { after: string } => typeof value === 'object' && value !== null && typeof (value as { after?: unknown }).after === 'string';

export function createUsersService({ users, clock, announcer, maySeePresence, presenceOf, isAdmin }: UsersServiceDeps) {
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
      const [profile, admin] = await Promise.all([users.findProfile(actor.userId), isAdmin?.(actor.userId) ?? false]);
      return toMe(row, profile, admin);
    },

    /**
     * Updates the caller's profile fields; absent fields stay, `null` clears. A change others can see
     * (nickname, bio, status line) counts against the profile-change budget and goes out as `user_updated`.
     */
    async updateProfile(actor: Actor, patch: UpdateProfileBody): Promise<Me> {
      const before = toPublicProfile(await requireCaller(actor), await users.findProfile(actor.userId));
      const visible = {
        ...before,
        ...(patch.nickname !== undefined ? { nickname: normalizeNickname(patch.nickname) } : {}),
        ...(patch.bio !== undefined ? { bio: patch.bio.trim() } : {}),
        ...(patch.statusText !== undefined ? { statusText: patch.statusText?.trim() ?? null } : {}),
      };
      const announced = !samePublic(before, visible);
      if (announced) await announcer.spend(actor.userId);
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
      if (announced) await announcer.announce(actor.userId);
      return this.getMe(actor);
    },

    /** Anyone's public profile; presence and last seen only for those the policy lets see them. */
    async getPublic(actor: Actor, userId: string): Promise<UserProfile> {
      const row = await requireUser(userId);
      const [profile, maySee] = await Promise.all([users.findProfile(userId), maySeePresence(actor.userId, userId)]);
      const status = maySee ? ((await presenceOf([userId])).get(userId) ?? 'offline') : null;
      const lastSeenAt = row.last_seen_at === null ? null : new Date(Number(row.last_seen_at)).toISOString();
      return { ...toPublicProfile(row, profile), presence: status === null ? null : { status, lastSeenAt } };
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
