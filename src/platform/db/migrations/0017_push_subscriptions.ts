import type { Kysely } from 'kysely';
import { withTableOptions } from '../dialect.js';

/**
 * Web Push subscriptions (RFC 8030): one row per browser push endpoint, owned by the session that
 * subscribed it, so ending that session (logout, revocation, suspension) stops its notifications.
 * The endpoint is unique through its SHA-256 (a URL can be longer than a MySQL index allows).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await withTableOptions(
    db,
    db.schema
      .createTable('push_subscriptions')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('session_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('endpoint', 'varchar(2048)', (c) => c.notNull())
      .addColumn('endpoint_hash', 'varchar(64)', (c) => c.notNull().unique())
      // The browser's P-256 public key (65 bytes) and auth secret (16 bytes), base64url
      .addColumn('p256dh', 'varchar(128)', (c) => c.notNull())
      .addColumn('auth', 'varchar(64)', (c) => c.notNull())
      .addColumn('previews', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('push_subscriptions_user_id_fk', ['user_id'], 'users', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('push_subscriptions_session_id_fk', ['session_id'], 'sessions', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('push_subscriptions_user').on('push_subscriptions').columns(['user_id', 'created_at']).execute();
  await db.schema.createIndex('push_subscriptions_session').on('push_subscriptions').columns(['session_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('push_subscriptions').execute();
}
