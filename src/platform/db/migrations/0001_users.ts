import type { Kysely } from 'kysely';
import { autoIncrementId, withTableOptions } from '../dialect.js';

/** Users, profiles, sessions, login logs, friends and blocks. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await withTableOptions(
    db,
    db.schema
      .createTable('users')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('username', 'varchar(32)', (c) => c.notNull())
      .addColumn('username_lower', 'varchar(32)', (c) => c.notNull().unique())
      .addColumn('nickname', 'varchar(64)', (c) => c.notNull())
      .addColumn('nickname_lower', 'varchar(64)', (c) => c.notNull())
      .addColumn('email', 'varchar(254)')
      .addColumn('email_lower', 'varchar(254)', (c) => c.unique())
      .addColumn('password_hash', 'varchar(255)')
      .addColumn('is_guest', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('avatar_url', 'varchar(512)')
      .addColumn('bio', 'varchar(500)', (c) => c.notNull().defaultTo(''))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('last_login_at', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_at', 'bigint'),
  ).execute();
  await db.schema.createIndex('users_nickname_lower').on('users').column('nickname_lower').execute();
  await db.schema.createIndex('users_guest_last_login').on('users').columns(['is_guest', 'last_login_at']).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('profiles')
      .addColumn('user_id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('gender', 'varchar(16)')
      .addColumn('birthday', 'varchar(10)')
      .addColumn('location', 'varchar(100)')
      .addColumn('website', 'varchar(255)')
      .addColumn('status_text', 'varchar(140)')
      .addColumn('allow_messages_from', 'varchar(16)', (c) => c.notNull().defaultTo('everyone'))
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('profiles_user_id_fk', ['user_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('sessions')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('refresh_generation', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('ip', 'varchar(64)', (c) => c.notNull())
      .addColumn('user_agent', 'varchar(512)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .addColumn('revoked_reason', 'varchar(32)')
      .addForeignKeyConstraint('sessions_user_id_fk', ['user_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('sessions_user').on('sessions').columns(['user_id', 'revoked_at']).execute();

  const logId = autoIncrementId(db);
  await withTableOptions(
    db,
    db.schema
      .createTable('login_logs')
      .addColumn('id', logId.type, logId.build)
      .addColumn('user_id', 'varchar(36)')
      .addColumn('username', 'varchar(64)', (c) => c.notNull())
      .addColumn('success', 'integer', (c) => c.notNull())
      .addColumn('method', 'varchar(16)', (c) => c.notNull())
      .addColumn('reason', 'varchar(32)')
      .addColumn('ip', 'varchar(64)', (c) => c.notNull())
      .addColumn('user_agent', 'varchar(512)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('login_logs_user_id_fk', ['user_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('login_logs_user').on('login_logs').columns(['user_id', 'id']).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('friend_requests')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('from_user_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('to_user_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('message', 'varchar(200)', (c) => c.notNull().defaultTo(''))
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('responded_at', 'bigint')
      .addForeignKeyConstraint('friend_requests_from_user_id_fk', ['from_user_id'], 'users', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('friend_requests_to_user_id_fk', ['to_user_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('friend_requests_to').on('friend_requests').columns(['to_user_id', 'status']).execute();
  await db.schema.createIndex('friend_requests_from').on('friend_requests').columns(['from_user_id', 'status']).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('friendships')
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('friend_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('friendships_pk', ['user_id', 'friend_id'])
      .addForeignKeyConstraint('friendships_user_id_fk', ['user_id'], 'users', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('friendships_friend_id_fk', ['friend_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('friendships_friend').on('friendships').column('friend_id').execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('blocks')
      .addColumn('blocker_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('blocked_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('blocks_pk', ['blocker_id', 'blocked_id'])
      .addForeignKeyConstraint('blocks_blocker_id_fk', ['blocker_id'], 'users', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('blocks_blocked_id_fk', ['blocked_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('blocks_blocked').on('blocks').column('blocked_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['blocks', 'friendships', 'friend_requests', 'login_logs', 'sessions', 'profiles', 'users']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
