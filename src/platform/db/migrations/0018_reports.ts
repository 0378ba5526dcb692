import type { Kysely } from 'kysely';
import { autoIncrementId, idReferenceType, withTableOptions } from '../dialect.js';

/**
 * Reports (moderation): a user reports a message or a user with a reason; admins work through the
 * open ones. No foreign keys on the target: a report outlives the message and the account it names
 * (the audit trail of what was done about them). The reporter's account going takes their reports.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const id = autoIncrementId(db);
  await withTableOptions(
    db,
    db.schema
      .createTable('reports')
      .addColumn('id', id.type, id.build)
      .addColumn('reporter_id', 'varchar(36)', (c) => c.notNull())
      // 'message' or 'user'; for a message, target_user_id is its sender.
      .addColumn('target_type', 'varchar(10)', (c) => c.notNull())
      .addColumn('target_user_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('message_id', idReferenceType(db))
      .addColumn('conversation_id', 'varchar(80)')
      // The message as it read when reported: what the admin judges, even once it is recalled.
      .addColumn('message_content', 'text')
      .addColumn('reason', 'varchar(16)', (c) => c.notNull())
      .addColumn('note', 'varchar(1000)', (c) => c.notNull())
      // open, resolved or dismissed
      .addColumn('status', 'varchar(12)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('closed_by', 'varchar(36)')
      .addColumn('closed_at', 'bigint')
      // none, delete_message or suspend_user (resolved reports)
      .addColumn('action', 'varchar(20)')
      .addColumn('resolution_note', 'varchar(1000)')
      .addForeignKeyConstraint('reports_reporter_id_fk', ['reporter_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  // The admin queue: one status, newest first.
  await db.schema.createIndex('reports_status').on('reports').columns(['status', 'id']).execute();
  // A reporter's open report of the same target (the duplicate check).
  await db.schema.createIndex('reports_reporter_target').on('reports').columns(['reporter_id', 'target_user_id', 'status']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('reports').ifExists().execute();
}
