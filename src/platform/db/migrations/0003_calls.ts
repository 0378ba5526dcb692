import type { Kysely } from 'kysely';
import { withTableOptions } from '../dialect.js';

/** One row per call: who called whom, with what media, how it ended, and the chat message it left. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await withTableOptions(
    db,
    db.schema
      .createTable('calls')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('caller_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('callee_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('media', 'varchar(8)', (c) => c.notNull())
      .addColumn('state', 'varchar(20)', (c) => c.notNull())
      .addColumn('end_reason', 'varchar(64)')
      .addColumn('ended_by', 'varchar(36)')
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('answered_at', 'bigint')
      .addColumn('ended_at', 'bigint')
      .addColumn('duration_sec', 'integer')
      .addColumn('message_id', 'bigint')
      .addForeignKeyConstraint('calls_caller_id_fk', ['caller_id'], 'users', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('calls_callee_id_fk', ['callee_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  // History pages per user, newest first, from either side of the call.
  await db.schema.createIndex('calls_caller_started').on('calls').columns(['caller_id', 'started_at']).execute();
  await db.schema.createIndex('calls_callee_started').on('calls').columns(['callee_id', 'started_at']).execute();
  await db.schema.createIndex('calls_state').on('calls').column('state').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('calls').ifExists().execute();
}
