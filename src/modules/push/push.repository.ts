import type { Kysely, Selectable } from 'kysely';
import { isUniqueViolation } from '../../platform/db/errors.js';
import type { Database, PushSubscriptionsTable } from '../../platform/db/schema.js';

export type PushSubscriptionRow = Selectable<PushSubscriptionsTable>;

/** What storing a subscription did: the row as stored, and whose row for that endpoint it replaced. */
export interface StoredSubscription {
  row: PushSubscriptionRow;
  /** The user whose row the endpoint had before (the caller again, or another account); undefined when it was new. */
  previousUserId: string | undefined;
}

/** Rounds of "read the endpoint's row, then write it" before giving up: each needs another request to change the row in between. */
const UPSERT_ROUNDS = 5;

export function createPushRepository(db: Kysely<Database>) {
  return {
    byEndpointHash(hash: string): Promise<PushSubscriptionRow | undefined> {
      return db.selectFrom('push_subscriptions').selectAll().where('endpoint_hash', '=', hash).executeTakeFirst();
    },

    /** A user's subscriptions, oldest first. */
    ofUser(userId: string): Promise<PushSubscriptionRow[]> {
      return db.selectFrom('push_subscriptions').selectAll().where('user_id', '=', userId).orderBy('created_at', 'asc').orderBy('id', 'asc').execute();
    },

    /** The subscriptions of any of these users (one indexed read, whatever the group size). */
    ofUsers(userIds: readonly string[]): Promise<PushSubscriptionRow[]> {
      if (userIds.length === 0) return Promise.resolve([]);
      return db
        .selectFrom('push_subscriptions')
        .selectAll()
        .where('user_id', 'in', [...userIds])
        .execute();
    },

    /**
     * Stores a subscription, replacing any row for the same endpoint (the browser subscribed again,
     * perhaps under another account: the endpoint now belongs to the session that sent it). The
     * same user's row keeps its id and creation time, so a client's reference stays valid. Written as
     * an update of the row read, or an insert the endpoint's unique index guards: done as "delete
     * the endpoint's row, insert the new one", two subscriptions at once both deleted nothing and the
     * second insert failed on the index. A write that finds the row changed meanwhile reads it again.
     */
    async upsert(row: PushSubscriptionRow): Promise<StoredSubscription> {
      for (let round = 1; ; round++) {
        const existing = await this.byEndpointHash(row.endpoint_hash);
        try {
          if (!existing) {
            await db.insertInto('push_subscriptions').values(row).execute();
            return { row, previousUserId: undefined };
          }
          const stored = existing.user_id === row.user_id ? { ...row, id: existing.id, created_at: Number(existing.created_at) } : row;
          const result = await db.updateTable('push_subscriptions').set(stored).where('id', '=', existing.id).where('endpoint_hash', '=', row.endpoint_hash).executeTakeFirst();
          if (Number(result.numUpdatedRows) === 1) return { row: stored, previousUserId: existing.user_id };
        } catch (error) {
          // Another request inserted the endpoint between the read and the insert: update its row.
          if (!isUniqueViolation(error) || round >= UPSERT_ROUNDS) throw error;
          continue;
        }
        if (round >= UPSERT_ROUNDS) throw new Error('push subscription kept changing while it was being stored');
      }
    },

    async remove(id: string): Promise<void> {
      await db.deleteFrom('push_subscriptions').where('id', '=', id).execute();
    },

    async removeMany(ids: readonly string[]): Promise<void> {
      if (ids.length > 0)
        await db
          .deleteFrom('push_subscriptions')
          .where('id', 'in', [...ids])
          .execute();
    },

    /** Drops what these sessions subscribed (they ended); the number removed. */
    async removeBySessions(sessionIds: readonly string[]): Promise<number> {
      if (sessionIds.length === 0) return 0;
      const result = await db
        .deleteFrom('push_subscriptions')
        .where('session_id', 'in', [...sessionIds])
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type PushRepository = ReturnType<typeof createPushRepository>;
