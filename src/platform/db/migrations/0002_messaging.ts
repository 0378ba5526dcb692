import type { Kysely } from 'kysely';
import { autoIncrementId, idReferenceType, withTableOptions } from '../dialect.js';

/** Groups, conversations, messages, reactions and read positions. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await withTableOptions(
    db,
    db.schema
      .createTable('user_groups')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(64)', (c) => c.notNull())
      .addColumn('description', 'varchar(500)', (c) => c.notNull().defaultTo(''))
      .addColumn('owner_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('user_groups_owner_id_fk', ['owner_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('group_members')
      .addColumn('group_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('role', 'varchar(8)', (c) => c.notNull())
      .addColumn('muted_until', 'bigint')
      .addColumn('joined_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'user_id'])
      .addForeignKeyConstraint('group_members_group_id_fk', ['group_id'], 'user_groups', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('group_members_user_id_fk', ['user_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('group_members_user').on('group_members').column('user_id').execute();

  // One row per conversation: a private pair (user_low < user_high) or a group.
  await withTableOptions(
    db,
    db.schema
      .createTable('conversations')
      .addColumn('id', 'varchar(80)', (c) => c.primaryKey())
      .addColumn('type', 'varchar(8)', (c) => c.notNull())
      .addColumn('group_id', 'varchar(36)')
      .addColumn('user_low', 'varchar(36)')
      .addColumn('user_high', 'varchar(36)')
      .addColumn('last_message_id', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('conversations_group_id_fk', ['group_id'], 'user_groups', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('conversations_user_low_fk', ['user_low'], 'users', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('conversations_user_high_fk', ['user_high'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('conversations_user_low').on('conversations').column('user_low').execute();
  await db.schema.createIndex('conversations_user_high').on('conversations').column('user_high').execute();
  await db.schema.createIndex('conversations_group').on('conversations').column('group_id').execute();

  const messageId = autoIncrementId(db);
  const messageIdRef = idReferenceType(db);
  await withTableOptions(
    db,
    db.schema
      .createTable('messages')
      .addColumn('id', messageId.type, messageId.build)
      .addColumn('conversation_id', 'varchar(80)', (c) => c.notNull())
      .addColumn('sender_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('type', 'varchar(16)', (c) => c.notNull())
      // TEXT holds 65,535 bytes on MySQL: 10,000 characters of 4-byte emoji fit.
      .addColumn('content', 'text', (c) => c.notNull())
      .addColumn('client_msg_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('reply_to_id', messageIdRef)
      .addColumn('attachments', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('edited_at', 'bigint')
      .addColumn('recalled_at', 'bigint')
      .addForeignKeyConstraint('messages_conversation_id_fk', ['conversation_id'], 'conversations', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  // The unique index is the dedupe check for retried sends.
  await db.schema.createIndex('messages_sender_client_id').on('messages').columns(['sender_id', 'client_msg_id']).unique().execute();
  await db.schema.createIndex('messages_conversation_id').on('messages').columns(['conversation_id', 'id']).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('message_reactions')
      .addColumn('message_id', messageIdRef, (c) => c.notNull())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('emoji', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('message_reactions_pk', ['message_id', 'user_id', 'emoji'])
      .addForeignKeyConstraint('message_reactions_message_id_fk', ['message_id'], 'messages', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('conversation_reads')
      .addColumn('conversation_id', 'varchar(80)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('last_read_message_id', messageIdRef, (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('conversation_reads_pk', ['conversation_id', 'user_id'])
      .addForeignKeyConstraint('conversation_reads_conversation_id_fk', ['conversation_id'], 'conversations', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('conversation_reads_user_id_fk', ['user_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['conversation_reads', 'message_reactions', 'messages', 'conversations', 'group_members', 'user_groups']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
