import { type Kysely, sql } from 'kysely';
import { autoIncrementId, dialectOf, withTableOptions } from '../dialect.js';

/** AI conversations (one user talking to a model) and their messages, with status and token usage. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await withTableOptions(
    db,
    db.schema
      .createTable('ai_conversations')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('title', 'varchar(200)', (c) => c.notNull())
      .addColumn('model', 'varchar(200)')
      .addColumn('system_prompt', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('ai_conversations_user_id_fk', ['user_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('ai_conversations_user').on('ai_conversations').columns(['user_id', 'id']).execute();

  const id = autoIncrementId(db);
  const mysql = dialectOf(db) === 'mysql';
  await withTableOptions(
    db,
    db.schema
      .createTable('ai_messages')
      .addColumn('id', id.type, id.build)
      .addColumn('conversation_id', 'varchar(36)', (c) => c.notNull())
      // 'user' or 'assistant'
      .addColumn('role', 'varchar(16)', (c) => c.notNull())
      // MEDIUMTEXT on MySQL: a long reply in 4-byte characters can pass TEXT's 65,535 bytes (SQLite's and PostgreSQL's TEXT are unbounded).
      .addColumn('content', mysql ? sql`mediumtext` : 'text', (c) => c.notNull())
      // 'streaming', 'complete' or 'failed'
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('model', 'varchar(200)')
      .addColumn('error_code', 'varchar(40)')
      .addColumn('error_message', 'varchar(500)')
      .addColumn('input_tokens', 'integer')
      .addColumn('output_tokens', 'integer')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('completed_at', 'bigint')
      .addForeignKeyConstraint('ai_messages_conversation_id_fk', ['conversation_id'], 'ai_conversations', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('ai_messages_conversation').on('ai_messages').columns(['conversation_id', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ai_messages').execute();
  await db.schema.dropTable('ai_conversations').execute();
}
