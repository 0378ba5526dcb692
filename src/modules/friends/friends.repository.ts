import type { Kysely, Selectable } from 'kysely';
import type { Database, FriendRequestsTable } from '../../platform/db/schema.js';
import type { TimeIdPosition } from '../../shared/pagination.js';

export type FriendRequestRow = Selectable<FriendRequestsTable>;

export function createFriendsRepository(db: Kysely<Database>) {
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

    findPending(fromUserId: string, toUserId: string): Promise<FriendRequestRow | undefined> {
      return db
        .selectFrom('friend_requests')
        .selectAll()
        .where('from_user_id', '=', fromUserId)
        .where('to_user_id', '=', toUserId)
        .where('status', '=', 'pending')
        .executeTakeFirst();
    },

    async insertRequest(row: FriendRequestRow): Promise<void> {
      await db.insertInto('friend_requests').values(row).execute();
    },

    /**
     * Answers a pending request and, when accepted, records the friendship both ways, in one
     * transaction. Returns false when the request was no longer pending.
     */
    async answerRequest(request: FriendRequestRow, status: 'accepted' | 'rejected', now: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
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

    /** Records a block and drops the friendship and pending requests between the two. */
    async block(blockerId: string, blockedId: string, now: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
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
          .where((eb) =>
            eb.or([eb.and([eb('from_user_id', '=', blockerId), eb('to_user_id', '=', blockedId)]), eb.and([eb('from_user_id', '=', blockedId), eb('to_user_id', '=', blockerId)])]),
          )
          .execute();
        // Invitations to groups cross no block either: pending ones between the two go too.
        await trx
          .deleteFrom('group_invitations')
          .where('state', '=', 'pending')
          .where((eb) =>
            eb.or([eb.and([eb('inviter_id', '=', blockerId), eb('invitee_id', '=', blockedId)]), eb.and([eb('inviter_id', '=', blockedId), eb('invitee_id', '=', blockerId)])]),
          )
          .execute();
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
