import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import { dialectOf } from '../../platform/db/dialect.js';
import type { AiConversationsTable, AiMessagesTable, Database } from '../../platform/db/schema.js';

export type AiConversationRow = Selectable<AiConversationsTable>;
export type AiMessageRow = Selectable<AiMessagesTable>;

export function createAiRepository(db: Kysely<Database>) {
  const returnsIds = dialectOf(db) === 'postgres';
  return {
    async insertConversation(row: Insertable<AiConversationsTable>): Promise<void> {
      await db.insertInto('ai_conversations').values(row).execute();
    },

    /** The conversation only when `userId` owns it. */
    findConversation(id: string): Promise<AiConversationRow | undefined> {
      return db.selectFrom('ai_conversations').selectAll().where('id', '=', id).executeTakeFirst();
    },

    /** The user's conversations, newest first (ids are UUIDv7: they sort by creation time). */
    listConversations(userId: string, limit: number, before?: string): Promise<AiConversationRow[]> {
      let query = db.selectFrom('ai_conversations').selectAll().where('user_id', '=', userId);
      if (before) query = query.where('id', '<', before);
      return query.orderBy('id', 'desc').limit(limit).execute();
    },

    async touchConversation(id: string, at: number): Promise<void> {
      await db.updateTable('ai_conversations').set({ updated_at: at }).where('id', '=', id).execute();
    },

    async deleteConversation(id: string, userId: string): Promise<boolean> {
      // Messages first: MySQL and SQLite both cascade, but SQLite only with foreign keys on.
      await db.deleteFrom('ai_messages').where('conversation_id', '=', id).execute();
      const result = await db.deleteFrom('ai_conversations').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async insertMessage(row: Insertable<AiMessagesTable>): Promise<AiMessageRow> {
      const insert = db.insertInto('ai_messages').values(row);
      // PostgreSQL reports no insert id: it returns the generated one instead.
      const id = returnsIds ? Number((await insert.returning('id').executeTakeFirstOrThrow()).id) : Number((await insert.executeTakeFirstOrThrow()).insertId);
      return (await db.selectFrom('ai_messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow()) as AiMessageRow;
    },

    findMessage(id: number): Promise<AiMessageRow | undefined> {
      return db.selectFrom('ai_messages').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async updateMessage(id: number, patch: Updateable<AiMessagesTable>): Promise<void> {
      await db.updateTable('ai_messages').set(patch).where('id', '=', id).execute();
    },

    /** Replies left `streaming` by a process that stopped mid-reply (started before `before`) become `failed`. */
    async failStaleStreaming(before: number, patch: Updateable<AiMessagesTable>): Promise<number> {
      const result = await db.updateTable('ai_messages').set(patch).where('status', '=', 'streaming').where('created_at', '<', before).executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** Every message of a conversation, oldest first. */
    listMessages(conversationId: string): Promise<AiMessageRow[]> {
      return db.selectFrom('ai_messages').selectAll().where('conversation_id', '=', conversationId).orderBy('id', 'asc').execute();
    },

    /** A page of a conversation's messages, newest first, below message `beforeId` when given. */
    pageMessages(conversationId: string, beforeId: number | undefined, limit: number): Promise<AiMessageRow[]> {
      let query = db.selectFrom('ai_messages').selectAll().where('conversation_id', '=', conversationId);
      if (beforeId !== undefined) query = query.where('id', '<', beforeId);
      return query.orderBy('id', 'desc').limit(limit).execute();
    },

    /** The newest `limit` messages before message `beforeId`, newest first (for context building). */
    recentMessages(conversationId: string, beforeId: number, limit: number): Promise<AiMessageRow[]> {
      return db.selectFrom('ai_messages').selectAll().where('conversation_id', '=', conversationId).where('id', '<', beforeId).orderBy('id', 'desc').limit(limit).execute();
    },
  };
}

export type AiRepository = ReturnType<typeof createAiRepository>;
