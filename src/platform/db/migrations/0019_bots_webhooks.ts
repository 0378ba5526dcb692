import type { Kysely } from 'kysely';
import { withTableOptions } from '../dialect.js';

/**
 * Bots (accounts owned by a user, flagged `users.is_bot`), their long-lived API tokens (SHA-256
 * of the secret only), outgoing webhooks with their durable outbox (`webhook_deliveries`: one row
 * per event and subscription, claimed by one process at a time through `claimed_until`), and
 * incoming webhooks (a secret URL posting into one conversation as a bot).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('is_bot', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('bots')
      .addColumn('user_id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('owner_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('bots_user_id_fk', ['user_id'], 'users', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('bots_owner_id_fk', ['owner_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('bots_owner').on('bots').columns(['owner_id', 'created_at']).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('bot_tokens')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('bot_id', 'varchar(36)', (c) => c.notNull())
      // hex SHA-256 of the token: a leaked table gives no usable token
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
      // JSON arrays
      .addColumn('conversation_ids', 'text', (c) => c.notNull())
      .addColumn('actions', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .addForeignKeyConstraint('bot_tokens_bot_id_fk', ['bot_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('bot_tokens_bot').on('bot_tokens').columns(['bot_id', 'created_at']).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('webhooks')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('owner_id', 'varchar(36)', (c) => c.notNull())
      // set when the subscription is a bot's (its owner made it): bot.mentioned names this bot
      .addColumn('bot_id', 'varchar(36)')
      .addColumn('url', 'varchar(2048)', (c) => c.notNull())
      .addColumn('secret', 'varchar(100)', (c) => c.notNull())
      .addColumn('events', 'text', (c) => c.notNull())
      .addColumn('conversation_ids', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addForeignKeyConstraint('webhooks_owner_id_fk', ['owner_id'], 'users', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('webhooks_bot_id_fk', ['bot_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('webhooks_owner').on('webhooks').columns(['owner_id', 'created_at']).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('webhook_deliveries')
      // also the idempotency id a receiver sees (Parley-Webhook-Id)
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('webhook_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('event', 'varchar(40)', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      // pending | delivered | dead
      .addColumn('status', 'varchar(12)', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      // a process claims a row until this time; another takes it over only after it passed
      .addColumn('claimed_until', 'bigint')
      .addColumn('last_status', 'integer')
      .addColumn('last_error', 'varchar(300)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('delivered_at', 'bigint')
      .addForeignKeyConstraint('webhook_deliveries_webhook_id_fk', ['webhook_id'], 'webhooks', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  // The dispatcher's question: which pending rows are due.
  await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
  // A subscription's delivery log, newest first.
  await db.schema.createIndex('webhook_deliveries_log').on('webhook_deliveries').columns(['webhook_id', 'created_at', 'id']).execute();

  await withTableOptions(
    db,
    db.schema
      .createTable('incoming_webhooks')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('conversation_id', 'varchar(80)', (c) => c.notNull())
      .addColumn('creator_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('bot_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .addForeignKeyConstraint('incoming_webhooks_creator_id_fk', ['creator_id'], 'users', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('incoming_webhooks_bot_id_fk', ['bot_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  await db.schema.createIndex('incoming_webhooks_conversation').on('incoming_webhooks').columns(['conversation_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('incoming_webhooks').ifExists().execute();
  await db.schema.dropTable('webhook_deliveries').ifExists().execute();
  await db.schema.dropTable('webhooks').ifExists().execute();
  await db.schema.dropTable('bot_tokens').ifExists().execute();
  await db.schema.dropTable('bots').ifExists().execute();
  await db.schema.alterTable('users').dropColumn('is_bot').execute();
}
