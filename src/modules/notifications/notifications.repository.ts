import type { Kysely } from 'kysely';
import type { Database } from '../../platform/db/schema.js';

/** A stored setting other than the default 'all'. */
export interface NotificationRow {
  user_id: string;
  conversation_id: string;
  level: string;
  until: number | null;
}

/** Per-conversation notification settings (migration 0016): only users who changed the default have a row. */
export function createNotificationsRepository(db: Kysely<Database>) {
  return {
    /** Every non-default setting in a conversation (what a delivery needs). */
    async ofConversation(conversationId: string): Promise<NotificationRow[]> {
      const rows = await db
        .selectFrom('conversation_notifications')
        .select(['user_id', 'conversation_id', 'level', 'until'])
        .where('conversation_id', '=', conversationId)
        .execute();
      return rows.map((row) => ({ ...row, until: row.until === null ? null : Number(row.until) }));
    },

    /** One user's settings in these conversations (a page of the conversation list). */
    async ofUser(userId: string, conversationIds: readonly string[]): Promise<NotificationRow[]> {
      if (conversationIds.length === 0) return [];
      const rows = await db
        .selectFrom('conversation_notifications')
        .select(['user_id', 'conversation_id', 'level', 'until'])
        .where('user_id', '=', userId)
        .where('conversation_id', 'in', conversationIds)
        .execute();
      return rows.map((row) => ({ ...row, until: row.until === null ? null : Number(row.until) }));
    },

    /** Stores a setting; 'all' removes the row. */
    async set(userId: string, conversationId: string, level: string, until: number | null, now: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('conversation_notifications').where('conversation_id', '=', conversationId).where('user_id', '=', userId).execute();
        if (level !== 'all')
          await trx.insertInto('conversation_notifications').values({ conversation_id: conversationId, user_id: userId, level, until, updated_at: now }).execute();
      });
    },
  };
}

export type NotificationsRepository = ReturnType<typeof createNotificationsRepository>;
