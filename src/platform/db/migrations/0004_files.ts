import type { Kysely } from 'kysely';
import { withTableOptions } from '../dialect.js';

/**
 * Files: tus uploads in progress (`uploads`, so ownership and quota survive a restart), finished
 * files (`files`) and the conversations each file was sent to (`file_links`, for download rights).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await withTableOptions(
    db,
    db.schema
      .createTable('uploads')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('uploader_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('purpose', 'varchar(16)', (c) => c.notNull())
      .addColumn('filename', 'varchar(255)', (c) => c.notNull())
      .addColumn('declared_type', 'varchar(127)', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('conversation_id', 'varchar(80)')
      // uploading | complete | failed
      .addColumn('state', 'varchar(12)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('uploads_uploader_id_fk', ['uploader_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('uploads_uploader_state').on('uploads').columns(['uploader_id', 'state']).execute();
  await db.schema.createIndex('uploads_state_created').on('uploads').columns(['state', 'created_at']).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('files')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('uploader_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('purpose', 'varchar(16)', (c) => c.notNull())
      .addColumn('filename', 'varchar(255)', (c) => c.notNull())
      .addColumn('content_type', 'varchar(127)', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('sha256', 'varchar(64)', (c) => c.notNull())
      .addColumn('storage_key', 'varchar(128)', (c) => c.notNull())
      .addColumn('width', 'integer')
      .addColumn('height', 'integer')
      .addColumn('thumbnail_key', 'varchar(128)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('files_uploader_id_fk', ['uploader_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('files_uploader').on('files').column('uploader_id').execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('file_links')
      .addColumn('file_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('conversation_id', 'varchar(80)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('file_links_pk', ['file_id', 'conversation_id'])
      .addForeignKeyConstraint('file_links_file_id_fk', ['file_id'], 'files', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('file_links_conversation_id_fk', ['conversation_id'], 'conversations', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('file_links_conversation').on('file_links').column('conversation_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['file_links', 'files', 'uploads']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
