import type { Kysely } from 'kysely';
import { UNREAD_COUNT_CAP } from '../../contract/conversations.js';
import type { Mentions } from '../../contract/messages.js';
import type { Database } from '../../platform/db/schema.js';

/** The `user_id` of the row that records `@all`. */
const ALL = '*';

/** Stored mentions (migration 0016): one row per mentioned member, '*' for `@all`. */
export function createMentionsRepository(db: Kysely<Database>) {
  return {
    /** Users by lowercased username, for resolving `@names`. */
    usersByName(namesLower: readonly string[]): Promise<Array<{ id: string; username_lower: string }>> {
      if (namesLower.length === 0) return Promise.resolve([]);
      return db.selectFrom('users').select(['id', 'username_lower']).where('username_lower', 'in', namesLower).execute();
    },

    /** Replaces a message's mentions with these (none: removes them). */
    async replace(message: { id: number; conversationId: string; senderId: string }, mentions: Mentions | undefined): Promise<void> {
      const rows = mentions ? [...mentions.userIds, ...(mentions.all ? [ALL] : [])] : [];
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('message_mentions').where('message_id', '=', message.id).execute();
        if (rows.length > 0)
          await trx
            .insertInto('message_mentions')
            .values(rows.map((userId) => ({ message_id: message.id, user_id: userId, conversation_id: message.conversationId, sender_id: message.senderId })))
            .execute();
      });
    },

    /** Stores the mentions of a new message (nothing to delete first). */
    async insert(message: { id: number; conversationId: string; senderId: string }, mentions: Mentions): Promise<void> {
      const rows = [...mentions.userIds, ...(mentions.all ? [ALL] : [])];
      if (rows.length === 0) return;
      await db
        .insertInto('message_mentions')
        .values(rows.map((userId) => ({ message_id: message.id, user_id: userId, conversation_id: message.conversationId, sender_id: message.senderId })))
        .execute();
    },

    async remove(messageId: number): Promise<void> {
      await db.deleteFrom('message_mentions').where('message_id', '=', messageId).execute();
    },

    /** The mentions of these messages (one indexed read for a page), user ids sorted. */
    async mentionsFor(messageIds: readonly number[]): Promise<Map<number, Mentions>> {
      const map = new Map<number, Mentions>();
      if (messageIds.length === 0) return map;
      const rows = await db.selectFrom('message_mentions').select(['message_id', 'user_id']).where('message_id', 'in', messageIds).orderBy('user_id').execute();
      for (const row of rows) {
        const id = Number(row.message_id);
        const mentions = map.get(id) ?? { userIds: [], all: false };
        if (row.user_id === ALL) mentions.all = true;
        else mentions.userIds.push(row.user_id);
        map.set(id, mentions);
      }
      return map;
    },

    /**
     * Messages after the read position that mention `userId` by name or `@all` (not their own),
     * counted up to UNREAD_COUNT_CAP like the unread count. Recalled messages have no rows left.
     */
    async unreadMentionCount(conversationId: string, userId: string, afterId: number): Promise<number> {
      const capped = db
        .selectFrom('message_mentions')
        .select('message_id')
        .distinct()
        .where('conversation_id', '=', conversationId)
        .where('user_id', 'in', [userId, ALL])
        .where('message_id', '>', afterId)
        .where('sender_id', '!=', userId)
        .limit(UNREAD_COUNT_CAP)
        .as('capped');
      const row = await db
        .selectFrom(capped)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}

export type MentionsRepository = ReturnType<typeof createMentionsRepository>;
