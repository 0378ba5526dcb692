import type { Kysely } from 'kysely';
import { idReferenceType, withTableOptions } from '../dialect.js';

/**
 * Link previews: one row per fetched URL (keyed by its SHA-256, as a URL can be longer than an
 * index allows), refetched once `expires_at` passes, and one row per message pointing at the
 * preview of its first link. Failed fetches are kept too (`ok` 0), so a broken link is not
 * fetched again for every message that repeats it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await withTableOptions(
    db,
    db.schema
      .createTable('link_previews')
      .addColumn('url_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('url', 'varchar(2048)', (c) => c.notNull())
      .addColumn('ok', 'integer', (c) => c.notNull())
      .addColumn('title', 'varchar(300)')
      .addColumn('description', 'varchar(1000)')
      .addColumn('image', 'varchar(2048)')
      .addColumn('site_name', 'varchar(200)')
      .addColumn('fetched_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull()),
  ).execute();
  await withTableOptions(
    db,
    db.schema
      .createTable('message_previews')
      .addColumn('message_id', idReferenceType(db), (c) => c.primaryKey())
      .addColumn('url_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('message_previews_message_id_fk', ['message_id'], 'messages', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('message_previews_url_hash_fk', ['url_hash'], 'link_previews', ['url_hash'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('message_previews_url_hash').on('message_previews').column('url_hash').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('message_previews').execute();
  await db.schema.dropTable('link_previews').execute();
}
