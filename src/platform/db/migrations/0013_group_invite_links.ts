import type { Kysely } from 'kysely';
import { withTableOptions } from '../dialect.js';

/**
 * Invite links to groups: an owner or admin shares a code, whoever follows it joins (the click is
 * the consent). A revoked link keeps its row as the record of who made it and how often it was used.
 * `group_link_removals` remembers members an owner or admin removed, whom links do not let back in.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await withTableOptions(
    db,
    db.schema
      .createTable('group_invite_links')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('group_id', 'varchar(36)', (c) => c.notNull())
      // base64url of 24 random bytes (32 characters); unique, looked up on every preview and join
      .addColumn('code', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('creator_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('max_uses', 'integer')
      .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('expires_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .addForeignKeyConstraint('group_invite_links_group_id_fk', ['group_id'], 'user_groups', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('group_invite_links_creator_id_fk', ['creator_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  // A group's links, newest first.
  await db.schema.createIndex('group_invite_links_group').on('group_invite_links').columns(['group_id', 'created_at', 'id']).execute();
  await withTableOptions(
    db,
    db.schema
      .createTable('group_link_removals')
      .addColumn('group_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('removed_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('group_link_removals_pk', ['group_id', 'user_id'])
      .addForeignKeyConstraint('group_link_removals_group_id_fk', ['group_id'], 'user_groups', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('group_link_removals_user_id_fk', ['user_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('group_link_removals').execute();
  await db.schema.dropTable('group_invite_links').execute();
}
