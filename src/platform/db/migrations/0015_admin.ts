import type { Kysely } from 'kysely';
import { autoIncrementId, withTableOptions } from '../dialect.js';

/**
 * Instance administration: admins granted by other admins (those named in ADMIN_USERNAMES need no
 * row), suspended accounts, and the audit log. Suspensions are their own table so that `users`
 * and the hot paths reading it stay as they are.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await withTableOptions(
    db,
    db.schema
      .createTable('instance_admins')
      .addColumn('user_id', 'varchar(36)', (c) => c.primaryKey())
      // Kept as written (no foreign key): who granted the role outlives their account.
      .addColumn('granted_by', 'varchar(36)', (c) => c.notNull())
      .addColumn('granted_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('instance_admins_user_id_fk', ['user_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('user_suspensions')
      .addColumn('user_id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('suspended_by', 'varchar(36)', (c) => c.notNull())
      .addColumn('reason', 'varchar(500)', (c) => c.notNull())
      .addColumn('suspended_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('user_suspensions_user_id_fk', ['user_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();

  // Append-only: no foreign keys, so an entry outlives the accounts, messages and groups it names.
  const auditId = autoIncrementId(db);
  await withTableOptions(
    db,
    db.schema
      .createTable('audit_log')
      .addColumn('id', auditId.type, auditId.build)
      .addColumn('actor_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('action', 'varchar(40)', (c) => c.notNull())
      .addColumn('target_type', 'varchar(20)', (c) => c.notNull())
      .addColumn('target_id', 'varchar(80)', (c) => c.notNull())
      .addColumn('details', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull()),
  ).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_log').ifExists().execute();
  await db.schema.dropTable('user_suspensions').ifExists().execute();
  await db.schema.dropTable('instance_admins').ifExists().execute();
}
