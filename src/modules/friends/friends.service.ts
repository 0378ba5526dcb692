import { nullPublisher, type Publisher } from '../../platform/realtime/publisher.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { decodeCursor, decodeTimeIdCursor, encodeCursor, encodeTimeIdCursor, type Page } from '../../shared/pagination.js';
import { isoOrNull as iso } from '../../shared/time.js';
import { toUser, type UserRow, type UsersRepository } from '../users/index.js';
import type { FriendRequestRow, FriendsRepository } from './friends.repository.js';
import type { Blocked, Friend, FriendRequest, Presence, SendFriendRequestBody } from './friends.schemas.js';

/** Reads live presence; the realtime layer provides it. Without one everybody reads as offline. */
export interface PresenceReader {
  presenceOf(userIds: readonly string[]): Promise<Map<string, Presence['status']>>;
}

export interface FriendsServiceDeps {
  friends: FriendsRepository;
  users: UsersRepository;
  clock: Clock;
  presence?: PresenceReader;
  /** Tells the users' devices about requests and unfriending as they happen. */
  publisher?: Publisher;
  /** Users who are not people (the AI assistant): nobody would ever answer a request to them. */
  isBot?: (userId: string) => boolean;
  /** Told after a block or unblock between the two is committed, before it is answered (the policy's cached blocks). */
  onBlocksChanged?: (a: string, b: string) => Promise<void>;
}

const isAfterCursor = (value: unknown): value is { after: string } => typeof value === 'object' && value !== null && typeof (value as { after?: unknown }).after === 'string';

export function createFriendsService(deps: FriendsServiceDeps) {
  const { friends, users, clock } = deps;
  const publisher = deps.publisher ?? nullPublisher;

  /** The request as the API shows it, announced to `userIds`' devices. */
  function announce(request: FriendRequest, userIds: readonly string[]): FriendRequest {
    publisher.toUsers(userIds, 'friend_request', { request });
    return request;
  }

  /** `field` names the body field the id came from, so error details point at what the client sent. */
  async function requireOtherUser(actor: Actor, userId: string, field: string): Promise<UserRow> {
    if (userId === actor.userId) throw AppError.validation(field, 'must be another user');
    const user = await users.findById(userId);
    if (!user) throw new AppError('NOT_FOUND', 'user not found');
    return user;
  }

  async function usersById(ids: readonly string[]): Promise<Map<string, UserRow>> {
    const rows = await users.findByIds([...new Set(ids)]);
    return new Map(rows.map((row) => [row.id, row]));
  }

  function toRequest(row: FriendRequestRow, people: Map<string, UserRow>): FriendRequest {
    const from = people.get(row.from_user_id);
    const to = people.get(row.to_user_id);
    if (!from || !to) throw new AppError('NOT_FOUND', 'friend request not found');
    return {
      id: row.id,
      fromUser: toUser(from),
      toUser: toUser(to),
      message: row.message,
      status: row.status as FriendRequest['status'],
      createdAt: iso(Number(row.created_at)) as string,
      respondedAt: iso(row.responded_at),
    };
  }

  async function describe(row: FriendRequestRow): Promise<FriendRequest> {
    return toRequest(row, await usersById([row.from_user_id, row.to_user_id]));
  }

  function decodeAfter(cursor: string | undefined) {
    const position = decodeCursor(cursor, isAfterCursor);
    if (cursor && !position) throw AppError.validation('cursor', 'is not a cursor this list returned');
    return position?.after;
  }

  /** Loads a request addressed to the caller; anyone else's request is not found. */
  async function requireIncoming(actor: Actor, requestId: string): Promise<FriendRequestRow> {
    const request = await friends.findRequest(requestId);
    if (!request || (request.to_user_id !== actor.userId && request.from_user_id !== actor.userId)) {
      throw new AppError('NOT_FOUND', 'friend request not found');
    }
    if (request.to_user_id !== actor.userId) throw new AppError('FORBIDDEN', 'only the addressee can answer a friend request');
    if (request.status !== 'pending') throw new AppError('CONFLICT', `friend request is already ${request.status}`);
    return request;
  }

  return {
    /** The caller's friends with presence. */
    async listFriends(actor: Actor, cursor: string | undefined, limit: number): Promise<Page<Friend>> {
      const rows = await friends.listFriends(actor.userId, decodeAfter(cursor), limit + 1);
      const page = rows.slice(0, limit);
      const ids = page.map((row) => row.friend_id);
      const [people, presence] = await Promise.all([usersById(ids), deps.presence?.presenceOf(ids) ?? new Map<string, Presence['status']>()]);
      const items: Friend[] = [];
      for (const row of page) {
        const user = people.get(row.friend_id);
        if (!user) continue;
        items.push({
          user: toUser(user),
          since: iso(Number(row.created_at)) as string,
          presence: { status: presence.get(user.id) ?? 'offline', lastSeenAt: iso(user.last_seen_at) },
        });
      }
      const last = page.at(-1);
      return { items, nextCursor: rows.length > limit && last ? encodeCursor({ after: last.friend_id }) : null };
    },

    /** Unfriends on both sides. */
    async unfriend(actor: Actor, userId: string): Promise<void> {
      if (!(await friends.deleteFriendship(actor.userId, userId))) throw new AppError('NOT_FOUND', 'not friends with that user');
      publisher.toUsers([actor.userId], 'friend_removed', { userId });
      publisher.toUsers([userId], 'friend_removed', { userId: actor.userId });
    },

    /**
     * Sends a friend request. If the other user already asked the caller, the two become friends
     * at once and the (accepted) earlier request is returned with `201` all the same.
     */
    async sendRequest(actor: Actor, input: SendFriendRequestBody): Promise<FriendRequest> {
      const target = await requireOtherUser(actor, input.toUserId, 'toUserId');
      // Refused rather than left pending forever: a bot is written to directly, no friendship needed.
      if (deps.isBot?.(target.id))
        throw new AppError('FORBIDDEN', 'the assistant takes no friend requests: open a chat with it instead', [
          { field: 'toUserId', message: 'is the assistant: open a chat with it instead' },
        ]);
      const now = clock.now().getTime();
      const row: FriendRequestRow = {
        id: newId(),
        from_user_id: actor.userId,
        to_user_id: target.id,
        message: (input.message ?? '').trim(),
        status: 'pending',
        created_at: now,
        responded_at: null,
      };
      const filed = await friends.fileRequest(row);
      switch (filed.kind) {
        case 'blocked-by-addressee':
          throw new AppError('FORBIDDEN', 'this user does not accept requests from you');
        case 'blocked-by-sender':
          throw new AppError('FORBIDDEN', 'you have blocked this user; unblock them first');
        case 'already-friends':
          throw new AppError('CONFLICT', 'already friends');
        case 'already-pending':
          throw new AppError('CONFLICT', 'a request to this user is already pending');
        case 'accepted':
          return announce(await describe({ ...filed.request, status: 'accepted', responded_at: now }), [actor.userId, target.id]);
        case 'filed':
          return announce(await describe(row), [actor.userId, target.id]);
      }
    },

    async listRequests(actor: Actor, direction: 'incoming' | 'outgoing', cursor: string | undefined, limit: number): Promise<Page<FriendRequest>> {
      const rows = await friends.listPending(actor.userId, direction, decodeAfter(cursor), limit + 1);
      const page = rows.slice(0, limit);
      const people = await usersById(page.flatMap((row) => [row.from_user_id, row.to_user_id]));
      const last = page.at(-1);
      return { items: page.map((row) => toRequest(row, people)), nextCursor: rows.length > limit && last ? encodeCursor({ after: last.id }) : null };
    },

    async accept(actor: Actor, requestId: string): Promise<FriendRequest> {
      const request = await requireIncoming(actor, requestId);
      if (await friends.isBlocked(actor.userId, request.from_user_id)) throw new AppError('FORBIDDEN', 'you have blocked this user; unblock them first');
      const now = clock.now().getTime();
      if (!(await friends.answerRequest(request, 'accepted', now))) throw new AppError('CONFLICT', 'friend request was answered meanwhile');
      return announce(await describe({ ...request, status: 'accepted', responded_at: now }), [request.from_user_id, request.to_user_id]);
    },

    async reject(actor: Actor, requestId: string): Promise<FriendRequest> {
      const request = await requireIncoming(actor, requestId);
      const now = clock.now().getTime();
      if (!(await friends.answerRequest(request, 'rejected', now))) throw new AppError('CONFLICT', 'friend request was answered meanwhile');
      // Only the addressee's own devices hear of it: a rejection is not announced to the sender.
      return announce(await describe({ ...request, status: 'rejected', responded_at: now }), [request.to_user_id]);
    },

    /** Blocks a user: ends any friendship and pending request between the two. */
    async block(actor: Actor, userId: string): Promise<void> {
      const target = await requireOtherUser(actor, userId, 'userId');
      if (!(await friends.block(actor.userId, target.id, clock.now().getTime()))) throw new AppError('CONFLICT', 'already blocked');
      await deps.onBlocksChanged?.(actor.userId, target.id);
    },

    async unblock(actor: Actor, userId: string): Promise<void> {
      if (!(await friends.unblock(actor.userId, userId))) throw new AppError('NOT_FOUND', 'that user is not blocked');
      await deps.onBlocksChanged?.(actor.userId, userId);
    },

    /** Users the caller blocked, most recent first, a page at a time. */
    async listBlocked(actor: Actor, cursor: string | undefined, limit: number): Promise<Page<Blocked>> {
      const rows = await friends.listBlocked(actor.userId, decodeTimeIdCursor(cursor), limit + 1);
      const page = rows.slice(0, limit);
      const people = await usersById(page.map((row) => row.blocked_id));
      const items = page.flatMap((row) => {
        const user = people.get(row.blocked_id);
        return user ? [{ user: toUser(user), blockedAt: iso(Number(row.created_at)) as string }] : [];
      });
      const last = page.at(-1);
      return { items, nextCursor: rows.length > limit && last ? encodeTimeIdCursor({ at: Number(last.created_at), id: last.blocked_id }) : null };
    },

    friendIds: (userId: string) => friends.friendIds(userId),
  };
}

export type FriendsService = ReturnType<typeof createFriendsService>;
