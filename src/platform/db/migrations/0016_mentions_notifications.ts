import type { Kysely } from 'kysely';
import { idReferenceType, withTableOptions } from '../dialect.js';

/**
 * Mentions and per-conversation notification settings.
 *
 * `message_mentions`: one row per member a message mentions by `@username`, and one row with
 * `user_id` '*' for `@all`. Apart from `messages` so that a send without mentions writes nothing
 * more; an edit rewrites a message's rows and a recall deletes them. `sender_id` is kept so the
 * unread-mentions count leaves out the reader's own `@all`. The index serves that count: one
 * conversation, the reader (or '*'), after the read position.
 *
 * `conversation_notifications`: only users who changed the default ('all') have a row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await withTableOptions(
    db,
    db.schema
      .createTable('message_mentions')
      .addColumn('message_id', idReferenceType(db), (c) => c.notNull())
      // A user id, or '*' for @all: no foreign key to users for that reason.
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('conversation_id', 'varchar(80)', (c) => c.notNull())
      .addColumn('sender_id', 'varchar(36)', (c) => c.notNull())
      .addPrimaryKeyConstraint('message_mentions_pk', ['message_id', 'user_id'])
      .addForeignKeyConstraint('message_mentions_message_id_fk', ['message_id'], 'messages', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('message_mentions_unread').on('message_mentions').columns(['conversation_id', 'user_id', 'message_id']).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('conversation_notifications')
      .addColumn('conversation_id', 'varchar(80)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
      // 'mentions' or 'none' ('all' is the absence of a row)
      .addColumn('level', 'varchar(16)', (c) => c.notNull())
      // epoch ms after which the setting no longer applies; null: until changed
      .addColumn('until', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('conversation_notifications_pk', ['conversation_id', 'user_id'])
      .addForeignKeyConstraint('conversation_notifications_user_id_fk', ['user_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('conversation_notifications').ifExists().execute();
  await db.schema.dropTable('message_mentions').ifExists().execute();
}
