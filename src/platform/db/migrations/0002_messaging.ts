import type { Kysely } from 'kysely';
import { autoIncrementId, dialectOf, withTableOptions } from '../dialect.js';

/** Groups, conversations, messages, reactions and read positions. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await withTableOptions(
    db,
    db.schema
      .createTable('user_groups')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(64)', (c) => c.notNull())
      .addColumn('description', 'varchar(500)', (c) => c.notNull().defaultTo(''))
      .addColumn('owner_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull()),
  ).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('group_members')
      .addColumn('group_id', 'varchar(36)', (c) => c.notNull().references('user_groups.id').onDelete('cascade'))
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('role', 'varchar(8)', (c) => c.notNull())
      .addColumn('muted_until', 'bigint')
      .addColumn('joined_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'user_id']),
  ).execute();
  await db.schema.createIndex('group_members_user').on('group_members').column('user_id').execute();

  // One row per conversation: a private pair (user_low < user_high) or a group.
  await withTableOptions(
    db,
    db.schema
      .createTable('conversations')
      .addColumn('id', 'varchar(80)', (c) => c.primaryKey())
      .addColumn('type', 'varchar(8)', (c) => c.notNull())
      .addColumn('group_id', 'varchar(36)', (c) => c.references('user_groups.id').onDelete('cascade'))
      .addColumn('user_low', 'varchar(36)', (c) => c.references('users.id').onDelete('cascade'))
      .addColumn('user_high', 'varchar(36)', (c) => c.references('users.id').onDelete('cascade'))
      .addColumn('last_message_id', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull()),
  ).execute();
  await db.schema.createIndex('conversations_user_low').on('conversations').column('user_low').execute();
  await db.schema.createIndex('conversations_user_high').on('conversations').column('user_high').execute();
  await db.schema.createIndex('conversations_group').on('conversations').column('group_id').execute();

  const messageId = autoIncrementId(db);
  const mysql = dialectOf(db) === 'mysql';
  await withTableOptions(
    db,
    db.schema
      .createTable('messages')
      .addColumn('id', messageId.type, messageId.build)
      .addColumn('conversation_id', 'varchar(80)', (c) => c.notNull().references('conversations.id').onDelete('cascade'))
      .addColumn('sender_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('type', 'varchar(16)', (c) => c.notNull())
      // TEXT holds 65,535 bytes on MySQL: 10,000 characters of 4-byte emoji fit.
      .addColumn('content', 'text', (c) => c.notNull())
      .addColumn('client_msg_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('reply_to_id', mysql ? 'bigint' : 'integer')
      .addColumn('attachments', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('edited_at', 'bigint')
      .addColumn('recalled_at', 'bigint'),
  ).execute();
  // The unique index is the dedupe check for retried sends.
  await db.schema.createIndex('messages_sender_client_id').on('messages').columns(['sender_id', 'client_msg_id']).unique().execute();
  await db.schema.createIndex('messages_conversation_id').on('messages').columns(['conversation_id', 'id']).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('message_reactions')
      .addColumn('message_id', mysql ? 'bigint' : 'integer', (c) => c.notNull().references('messages.id').onDelete('cascade'))
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('emoji', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('message_reactions_pk', ['message_id', 'user_id', 'emoji']),
  ).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('conversation_reads')
      .addColumn('conversation_id', 'varchar(80)', (c) => c.notNull().references('conversations.id').onDelete('cascade'))
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('last_read_message_id', mysql ? 'bigint' : 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('conversation_reads_pk', ['conversation_id', 'user_id']),
  ).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['conversation_reads', 'message_reactions', 'messages', 'conversations', 'group_members', 'user_groups']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
