import type { Kysely } from 'kysely';
import { withTableOptions } from '../dialect.js';

/**
 * Invitations to groups: someone who is not the adder's friend joins only by accepting. One row
 * per (group, invitee): a declined row stays as the record that stops re-inviting for a while.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await withTableOptions(
    db,
    db.schema
      .createTable('group_invitations')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('group_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('inviter_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('invitee_id', 'varchar(36)', (c) => c.notNull())
      // 'pending' or 'declined' (an accepted invitation is deleted: the membership is the record)
      .addColumn('state', 'varchar(16)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('answered_at', 'bigint')
      .addUniqueConstraint('group_invitations_group_invitee', ['group_id', 'invitee_id'])
      .addForeignKeyConstraint('group_invitations_group_id_fk', ['group_id'], 'user_groups', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('group_invitations_inviter_id_fk', ['inviter_id'], 'users', ['id'], (fk) => fk.onDelete('cascade'))
      .addForeignKeyConstraint('group_invitations_invitee_id_fk', ['invitee_id'], 'users', ['id'], (fk) => fk.onDelete('cascade')),
  ).execute();
  // The invitee's pending list, newest first.
  await db.schema.createIndex('group_invitations_invitee').on('group_invitations').columns(['invitee_id', 'state', 'created_at', 'id']).execute();
  await db.schema.createIndex('group_invitations_inviter').on('group_invitations').columns(['inviter_id', 'invitee_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('group_invitations').execute();
}
