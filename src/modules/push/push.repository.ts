import type { Kysely, Selectable } from 'kysely';
import type { Database, PushSubscriptionsTable } from '../../platform/db/schema.js';

export type PushSubscriptionRow = Selectable<PushSubscriptionsTable>;

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
     * perhaps under another account: the endpoint now belongs to the session that sent it).
     */
    async upsert(row: PushSubscriptionRow): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('push_subscriptions').where('endpoint_hash', '=', row.endpoint_hash).execute();
        await trx.insertInto('push_subscriptions').values(row).execute();
      });
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
