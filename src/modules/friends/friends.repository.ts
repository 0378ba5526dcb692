import type { ExpressionBuilder, Kysely, Selectable, Transaction } from 'kysely';
import { lockRowsById } from '../../platform/db/locks.js';
import type { Database, FriendRequestsTable } from '../../platform/db/schema.js';
import type { TimeIdPosition } from '../../shared/pagination.js';

export type FriendRequestRow = Selectable<FriendRequestsTable>;

/** What filing a friend request did, decided against everything committed between the two before it. */
export type FiledRequest =
  | { kind: 'filed' }
  /** The addressee had asked first: their request is accepted and the two are friends. */
  | { kind: 'accepted'; request: FriendRequestRow }
  | { kind: 'blocked-by-addressee' }
  | { kind: 'blocked-by-sender' }
  | { kind: 'already-friends' }
  | { kind: 'already-pending' };

/** Requests between the two users, in either direction. */
const requestsBetween = (a: string, b: string) => (eb: ExpressionBuilder<Database, 'friend_requests'>) =>
  eb.or([eb.and([eb('from_user_id', '=', a), eb('to_user_id', '=', b)]), eb.and([eb('from_user_id', '=', b), eb('to_user_id', '=', a)])]);

/** Blocks between the two users, by either of them. */
const blocksBetween = (a: string, b: string) => (eb: ExpressionBuilder<Database, 'blocks'>) =>
  eb.or([eb.and([eb('blocker_id', '=', a), eb('blocked_id', '=', b)]), eb.and([eb('blocker_id', '=', b), eb('blocked_id', '=', a)])]);

export function createFriendsRepository(db: Kysely<Database>) {
  /**
   * Requests, answers and blocks between two people hold both users' rows (see lockRowsById): decided
   * by reads before the write, two identical requests both found nothing pending, two crossing
   * requests both stayed pending, and a request read "not blocked" just before a block committed.
   */
  const lockPair = (trx: Transaction<Database>, a: string, b: string) => lockRowsById(trx, 'users', [a, b]);

  /** Answers a pending request inside a transaction holding the pair; false when it was no longer pending. */
  async function answerLocked(trx: Transaction<Database>, request: FriendRequestRow, status: 'accepted' | 'rejected', now: number): Promise<boolean> {
    const result = await trx.updateTable('friend_requests').set({ status, responded_at: now }).where('id', '=', request.id).where('status', '=', 'pending').executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return false;
    if (status === 'accepted') {
      const a = request.from_user_id;
      const b = request.to_user_id;
      const existing = await trx.selectFrom('friendships').select('user_id').where('user_id', '=', a).where('friend_id', '=', b).executeTakeFirst();
      if (!existing) {
        await trx
          .insertInto('friendships')
          .values([
            { user_id: a, friend_id: b, created_at: now },
            { user_id: b, friend_id: a, created_at: now },
          ])
          .execute();
      }
    }
    return true;
  }

  return {
    async areFriends(userId: string, otherId: string): Promise<boolean> {
      const row = await db.selectFrom('friendships').select('user_id').where('user_id', '=', userId).where('friend_id', '=', otherId).executeTakeFirst();
      return row !== undefined;
    },

    /** Friend ids with the time they became friends, ordered by id; `afterId` pages. */
    listFriends(userId: string, afterId: string | undefined, limit: number) {
      let query = db.selectFrom('friendships').select(['friend_id', 'created_at']).where('user_id', '=', userId);
      if (afterId) query = query.where('friend_id', '>', afterId);
      return query.orderBy('friend_id').limit(limit).execute();
    },

    async friendIds(userId: string): Promise<string[]> {
      const rows = await db.selectFrom('friendships').select('friend_id').where('user_id', '=', userId).execute();
      return rows.map((row) => row.friend_id);
    },

    /** Deletes a friendship in both directions; returns whether there was one. */
    async deleteFriendship(userId: string, otherId: string): Promise<boolean> {
      const result = await db
        .deleteFrom('friendships')
        .where((eb) => eb.or([eb.and([eb('user_id', '=', userId), eb('friend_id', '=', otherId)]), eb.and([eb('user_id', '=', otherId), eb('friend_id', '=', userId)])]))
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    findRequest(id: string): Promise<FriendRequestRow | undefined> {
      return db.selectFrom('friend_requests').selectAll().where('id', '=', id).executeTakeFirst();
    },

    /**
     * Files a friend request, or accepts the addressee's own pending request to the sender (the two
     * asked each other), unless a block either way, a friendship or the same pending request stands.
     */
    async fileRequest(row: FriendRequestRow): Promise<FiledRequest> {
      return db.transaction().execute(async (trx): Promise<FiledRequest> => {
        const from = row.from_user_id;
        const to = row.to_user_id;
        await lockPair(trx, from, to);
        const blockers = await trx.selectFrom('blocks').select('blocker_id').where(blocksBetween(from, to)).execute();
        if (blockers.some((block) => block.blocker_id === to)) return { kind: 'blocked-by-addressee' };
        if (blockers.length > 0) return { kind: 'blocked-by-sender' };
        const friendship = await trx.selectFrom('friendships').select('user_id').where('user_id', '=', from).where('friend_id', '=', to).executeTakeFirst();
        if (friendship) return { kind: 'already-friends' };
        const pending = await trx.selectFrom('friend_requests').selectAll().where('status', '=', 'pending').where(requestsBetween(from, to)).execute();
        if (pending.some((request) => request.from_user_id === from)) return { kind: 'already-pending' };
        const crossing = pending.find((request) => request.from_user_id === to);
        if (crossing) {
          await answerLocked(trx, crossing, 'accepted', row.created_at);
          return { kind: 'accepted', request: crossing };
        }
        await trx.insertInto('friend_requests').values(row).execute();
        return { kind: 'filed' };
      });
    },

    /**
     * Answers a pending request and, when accepted, records the friendship both ways, in one
     * transaction. Returns false when the request was no longer pending.
     */
    answerRequest(request: FriendRequestRow, status: 'accepted' | 'rejected', now: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        await lockPair(trx, request.from_user_id, request.to_user_id);
        return answerLocked(trx, request, status, now);
      });
    },

    listPending(userId: string, direction: 'incoming' | 'outgoing', afterId: string | undefined, limit: number): Promise<FriendRequestRow[]> {
      let query = db
        .selectFrom('friend_requests')
        .selectAll()
        .where(direction === 'incoming' ? 'to_user_id' : 'from_user_id', '=', userId)
        .where('status', '=', 'pending');
      if (afterId) query = query.where('id', '>', afterId);
      return query.orderBy('id').limit(limit).execute();
    },

    async isBlocked(blockerId: string, blockedId: string): Promise<boolean> {
      const row = await db.selectFrom('blocks').select('blocker_id').where('blocker_id', '=', blockerId).where('blocked_id', '=', blockedId).executeTakeFirst();
      return row !== undefined;
    },

    /**
     * Everyone `userId` blocked or was blocked by (small: people block a handful of users). One
     * statement (a UNION ALL, each half on its own index): every message sent asks this once.
     */
    async blockedEitherWay(userId: string): Promise<Set<string>> {
      const rows = await db
        .selectFrom('blocks')
        .select('blocked_id as id')
        .where('blocker_id', '=', userId)
        .unionAll(db.selectFrom('blocks').select('blocker_id as id').where('blocked_id', '=', userId))
        .execute();
      return new Set(rows.map((row) => row.id));
    },

    /** Records a block and drops the friendship and pending requests between the two; false when it was already recorded. */
    async block(blockerId: string, blockedId: string, now: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        await lockPair(trx, blockerId, blockedId);
        // Under the pair's lock, so two identical blocks at once find the first one here.
        const existing = await trx.selectFrom('blocks').select('blocker_id').where('blocker_id', '=', blockerId).where('blocked_id', '=', blockedId).executeTakeFirst();
        if (existing) return false;
        await trx.insertInto('blocks').values({ blocker_id: blockerId, blocked_id: blockedId, created_at: now }).execute();
        await trx
          .deleteFrom('friendships')
          .where((eb) =>
            eb.or([eb.and([eb('user_id', '=', blockerId), eb('friend_id', '=', blockedId)]), eb.and([eb('user_id', '=', blockedId), eb('friend_id', '=', blockerId)])]),
          )
          .execute();
        await trx
          .updateTable('friend_requests')
          .set({ status: 'cancelled', responded_at: now })
          .where('status', '=', 'pending')
          .where(requestsBetween(blockerId, blockedId))
          .execute();
        // Invitations to groups cross no block either: pending ones between the two go too.
        await trx
          .deleteFrom('group_invitations')
          .where('state', '=', 'pending')
          .where((eb) =>
            eb.or([eb.and([eb('inviter_id', '=', blockerId), eb('invitee_id', '=', blockedId)]), eb.and([eb('inviter_id', '=', blockedId), eb('invitee_id', '=', blockerId)])]),
          )
          .execute();
        return true;
      });
    },

    async unblock(blockerId: string, blockedId: string): Promise<boolean> {
      const result = await db.deleteFrom('blocks').where('blocker_id', '=', blockerId).where('blocked_id', '=', blockedId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /** Who `blockerId` blocked, most recent first, below `before` (time, blocked id). */
    listBlocked(blockerId: string, before: TimeIdPosition | undefined, limit: number) {
      let query = db.selectFrom('blocks').select(['blocked_id', 'created_at']).where('blocker_id', '=', blockerId);
      if (before) {
        query = query.where((eb) => eb.or([eb('created_at', '<', before.at), eb.and([eb('created_at', '=', before.at), eb('blocked_id', '<', before.id)])]));
      }
      return query.orderBy('created_at', 'desc').orderBy('blocked_id', 'desc').limit(limit).execute();
    },
  };
}

export type FriendsRepository = ReturnType<typeof createFriendsRepository>;
