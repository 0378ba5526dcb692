import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../../platform/db/errors.js';
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

    /**
     * Stores a setting; 'all' removes the row. An update of the row, else an insert the primary key
     * guards: done as "delete the row, insert the new one", two settings at once both deleted
     * nothing and the second insert failed on the key. An insert that meets the key found a setting
     * another request stored meanwhile, and overwrites it as the update would have.
     */
    async set(userId: string, conversationId: string, level: string, until: number | null, now: number): Promise<void> {
      if (level === 'all') {
        await db.deleteFrom('conversation_notifications').where('conversation_id', '=', conversationId).where('user_id', '=', userId).execute();
        return;
      }
      const update = () =>
        db
          .updateTable('conversation_notifications')
          .set({ level, until, updated_at: now })
          .where('conversation_id', '=', conversationId)
          .where('user_id', '=', userId)
          .executeTakeFirst();
      if (Number((await update()).numUpdatedRows) > 0) return;
      try {
        await db.insertInto('conversation_notifications').values({ conversation_id: conversationId, user_id: userId, level, until, updated_at: now }).execute();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // Another request inserted the row after this update found none: overwrite it, as a later request would.
        await update();
      }
    },
  };
}

export type NotificationsRepository = ReturnType<typeof createNotificationsRepository>;
