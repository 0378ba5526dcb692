import type { ClusterBus } from '../../platform/realtime/cluster-bus.js';
import { createProcessCache } from '../../platform/realtime/process-cache.js';
import { AppError } from '../../shared/errors.js';
import type { FriendsRepository } from '../friends/friends.repository.js';
import type { UsersRepository } from '../users/index.js';
import { type AccessPolicyDeps, createAccessPolicy } from './policy.access.js';

/**
 * Who may reach whom. Every module that lets one person reach another (messages, edits,
 * reactions, read receipts, typing, calls, group membership, presence) asks here, so a rule
 * changes in one place and a new feature cannot forget it. Rules (docs/architecture.md, "Trust"):
 *
 * - A block works both ways and beats everything: no message, event, call, invitation or
 *   presence crosses it, in a private chat or through a shared group.
 * - A user who accepts messages from friends only is reached directly by friends only.
 * - Nobody becomes a member of a group without consent: friends may be added (the friendship is
 *   the consent), anyone else is invited and joins by accepting.
 */
export type ContactVerdict = 'allowed' | 'blocked' | 'friends_only';

/** What one action is, in the words a refusal uses ("messages between you…", "calls from…"). */
export type ContactAction = 'message' | 'call';

export interface PolicyDeps extends AccessPolicyDeps {
  friends: Pick<FriendsRepository, 'isBlocked' | 'areFriends' | 'blockedEitherWay' | 'friendIds'>;
  users: Pick<UsersRepository, 'findProfile'>;
  /** Everyone sharing a group with the user (groups repository); with `groupsUpTo`, in groups of at most that many members. */
  coMemberIds: (userId: string, groupsUpTo?: number) => Promise<string[]>;
  /** The bots a user owns: their owner adds them to groups directly (the owner's consent is the bot's). */
  ownedBotIds?: (ownerId: string) => Promise<string[]>;
  /** Carries block changes to every process's copy of the blocks (cachedBlockedEitherWay); none: every call reads the database. */
  bus?: ClusterBus;
}

/** How long a process keeps a user's blocks; a change drops them everywhere at once, this bounds a missed notice (Redis away). */
const BLOCKS_TTL_MS = 60_000;
const BLOCKS_CACHED_USERS = 50_000;

/**
 * Live presence (`user_status`, `user_updated`) goes to friends and to co-members of groups of at
 * most this many members. Announcing every connect and disconnect to every co-member is quadratic
 * in a group's size: connecting the 2,000 members of one group took 86 s (4 million events), and a
 * stopping process could not say goodbye within its grace. In larger groups members still see each
 * other's presence when they look (member lists, profiles), as in other chat products' large rooms.
 */
export const LIVE_PRESENCE_MAX_GROUP = 200;

const PLURAL: Record<ContactAction, string> = { message: 'messages', call: 'calls' };

export function createPolicy(deps: PolicyDeps) {
  const { friends, users } = deps;

  async function isBlockedEitherWay(a: string, b: string): Promise<boolean> {
    const [ab, ba] = await Promise.all([friends.isBlocked(a, b), friends.isBlocked(b, a)]);
    return ab || ba;
  }

  /** May `from` reach `to` directly (private message, edit, reaction, read receipt, typing, call)? */
  async function contact(from: string, to: string): Promise<ContactVerdict> {
    if (from === to) return 'allowed';
    if (await isBlockedEitherWay(from, to)) return 'blocked';
    const profile = await users.findProfile(to);
    if (profile?.allow_messages_from === 'friends' && !(await friends.areFriends(from, to))) return 'friends_only';
    return 'allowed';
  }

  /**
   * Each user's blocks (either way) kept in this process, for the question every message asks: whom
   * does it not alert (`notify: false`, no push)? Without it that was a database statement (later a
   * Redis read) per message. A block or unblock, once committed, drops both users' entries in every
   * process and waits for each to confirm before it is answered (blocksChanged).
   */
  const blocksCache = deps.bus && createProcessCache<Set<string>>({ bus: deps.bus, topic: 'blocks-changed', ttlMs: BLOCKS_TTL_MS, maxEntries: BLOCKS_CACHED_USERS });
  function cachedBlockedEitherWay(userId: string): Promise<Set<string>> {
    if (!blocksCache) return friends.blockedEitherWay(userId);
    return blocksCache.get(userId, () => friends.blockedEitherWay(userId));
  }

  return {
    // Who may touch what (conversations, messages, files, uploads, calls, AI conversations).
    ...createAccessPolicy(deps),
    contact,
    isBlockedEitherWay,
    areFriends: (a: string, b: string) => friends.areFriends(a, b),

    /** Throws FORBIDDEN (nothing written yet) unless `from` may reach `to` with `action`. */
    async requireContact(from: string, to: string, action: ContactAction = 'message'): Promise<void> {
      const verdict = await contact(from, to);
      if (verdict === 'blocked') throw new AppError('FORBIDDEN', `${PLURAL[action]} between you and this user are blocked`);
      if (verdict === 'friends_only') throw new AppError('FORBIDDEN', `this user accepts ${PLURAL[action]} from friends only`);
    },

    /**
     * How `adderId` may bring each of `userIds` into a group: friends are added at once, anyone
     * else is invited (they join by accepting). Anyone blocked either way: FORBIDDEN for the
     * whole request, so a blocked user can neither add nor invite the person who blocked them;
     * the wording does not say who blocked whom. Two reads, whatever the number of users.
     */
    async groupEntry(adderId: string, userIds: readonly string[]): Promise<{ add: string[]; invite: string[] }> {
      const [blocked, friendIds, botIds] = await Promise.all([friends.blockedEitherWay(adderId), friends.friendIds(adderId), deps.ownedBotIds?.(adderId) ?? []]);
      const refused = userIds.filter((id) => blocked.has(id));
      if (refused.length > 0)
        throw new AppError(
          'FORBIDDEN',
          'some of these users cannot be added to a group by you',
          refused.map((id) => ({ field: 'userIds', message: `cannot add ${id}` })),
        );
      const isFriend = new Set([...friendIds, ...botIds]);
      return { add: userIds.filter((id) => isFriend.has(id)), invite: userIds.filter((id) => !isFriend.has(id)) };
    },

    /** `audience` without the users `userId` has blocked or who blocked `userId` (presence, member lists). */
    async withoutBlocked(userId: string, audience: readonly string[]): Promise<string[]> {
      if (audience.length === 0) return [];
      const blocked = await friends.blockedEitherWay(userId);
      return blocked.size === 0 ? [...audience] : audience.filter((id) => !blocked.has(id));
    },

    /**
     * Who is told live about `userId` (presence, last seen, profile changes): friends and co-members
     * of groups up to LIVE_PRESENCE_MAX_GROUP members, except anyone blocked either way (a shared
     * group does not carry them across a block).
     */
    async presenceAudience(userId: string): Promise<string[]> {
      const [friendIds, coMembers] = await Promise.all([friends.friendIds(userId), deps.coMemberIds(userId, LIVE_PRESENCE_MAX_GROUP)]);
      return this.withoutBlocked(userId, [...new Set([...friendIds, ...coMembers])]);
    },

    /** May `viewerId` see `userId`'s presence and last seen when they look? (Themself, friends and every group co-member, no block either way.) */
    async maySeePresence(viewerId: string, userId: string): Promise<boolean> {
      if (viewerId === userId) return true;
      const [friendIds, coMembers] = await Promise.all([friends.friendIds(userId), deps.coMemberIds(userId)]);
      if (!friendIds.includes(viewerId) && !coMembers.includes(viewerId)) return false;
      return !(await isBlockedEitherWay(viewerId, userId));
    },

    /** The users blocked either way with `userId`. */
    blockedEitherWay: (userId: string) => friends.blockedEitherWay(userId),

    /** blockedEitherWay through this process's copy (see above): for alerts; what lets someone reach a person reads the database. */
    cachedBlockedEitherWay,

    /** Called once a block or unblock between `a` and `b` is committed, before it is answered. */
    async blocksChanged(a: string, b: string): Promise<void> {
      await blocksCache?.invalidate([a, b]);
    },
  };
}

export type Policy = ReturnType<typeof createPolicy>;
