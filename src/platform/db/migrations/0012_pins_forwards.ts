import type { Kysely } from 'kysely';
import { dialectOf, withTableOptions } from '../dialect.js';

/**
 * Pinned messages (one row per pinned message, listed per conversation by pin time) and the origin
 * of forwarded messages. Apart from `messages` so that the send path's insert stays as it is: a
 * message is pinned or forwarded rarely, and history pages read both in one query each.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const mysql = dialectOf(db) === 'mysql';
  await withTableOptions(
    db,
    db.schema
      .createTable('message_pins')
      .addColumn('message_id', mysql ? 'bigint' : 'integer', (c) => c.primaryKey())
      .addColumn('conversation_id', 'varchar(80)', (c) => c.notNull())
      .addColumn('pinned_by', 'varchar(36)', (c) => c.notNull())
      .addColumn('pinned_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('message_pins_message_id_fk', ['message_id'], 'messages', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('message_pins_conversation_id_fk', ['conversation_id'], 'conversations', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('message_pins_pinned_by_fk', ['pinned_by'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  // The pinned list, most recently pinned first, and the per-conversation cap's count.
  await db.schema.createIndex('message_pins_conversation').on('message_pins').columns(['conversation_id', 'pinned_at', 'message_id']).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('message_forwards')
      .addColumn('message_id', mysql ? 'bigint' : 'integer', (c) => c.primaryKey())
      // The original sender, kept as written (no foreign key): the label outlives their account.
      .addColumn('origin_sender_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('origin_sender_name', 'varchar(255)', (c) => c.notNull())
      .addColumn('origin_sent_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('message_forwards_message_id_fk', ['message_id'], 'messages', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('message_forwards').ifExists().execute();
  await db.schema.dropTable('message_pins').ifExists().execute();
}
