import type { Kysely, Selectable } from 'kysely';
import type { Database, GroupMembersTable, UserGroupsTable } from '../../platform/db/schema.js';
import type { TimeIdPosition } from '../../shared/pagination.js';

export type GroupRow = Selectable<UserGroupsTable>;
export type MemberRow = Selectable<GroupMembersTable>;

export const groupConversationId = (groupId: string) => `g.${groupId}`;

export function createGroupsRepository(db: Kysely<Database>) {
  return {
    /** Creates the group, its members and its conversation in one transaction. */
    async create(group: GroupRow, members: MemberRow[]): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('user_groups').values(group).execute();
        await trx.insertInto('group_members').values(members).execute();
        await trx
          .insertInto('conversations')
          .values({
            id: groupConversationId(group.id),
            type: 'group',
            group_id: group.id,
            user_low: null,
            user_high: null,
            last_message_id: null,
            created_at: group.created_at,
            updated_at: group.created_at,
          })
          .execute();
      });
    },

    find(id: string): Promise<GroupRow | undefined> {
      return db.selectFrom('user_groups').selectAll().where('id', '=', id).executeTakeFirst();
    },

    findMember(groupId: string, userId: string): Promise<MemberRow | undefined> {
      return db.selectFrom('group_members').selectAll().where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
    },

    listMembers(groupId: string): Promise<MemberRow[]> {
      return db.selectFrom('group_members').selectAll().where('group_id', '=', groupId).orderBy('joined_at').orderBy('user_id').execute();
    },

    /** A page of members in joining order, after `after` (the previous page's last member). */
    pageMembers(groupId: string, after: TimeIdPosition | undefined, limit: number): Promise<MemberRow[]> {
      let query = db.selectFrom('group_members').selectAll().where('group_id', '=', groupId);
      if (after) {
        query = query.where((eb) => eb.or([eb('joined_at', '>', after.at), eb.and([eb('joined_at', '=', after.at), eb('user_id', '>', after.id)])]));
      }
      return query.orderBy('joined_at').orderBy('user_id').limit(limit).execute();
    },

    memberIds(groupId: string): Promise<string[]> {
      return db
        .selectFrom('group_members')
        .select('user_id')
        .where('group_id', '=', groupId)
        .execute()
        .then((rows) => rows.map((row) => row.user_id));
    },

    async countMembers(groupIds: readonly string[]): Promise<Map<string, number>> {
      if (groupIds.length === 0) return new Map();
      const rows = await db
        .selectFrom('group_members')
        .select(['group_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where('group_id', 'in', groupIds)
        .groupBy('group_id')
        .execute();
      return new Map(rows.map((row) => [row.group_id, Number(row.n)]));
    },

    /** A page of the user's groups in creation order, after `after` (the previous page's last group). */
    listForUser(userId: string, after: TimeIdPosition | undefined, limit: number): Promise<GroupRow[]> {
      let query = db
        .selectFrom('user_groups')
        .innerJoin('group_members', 'group_members.group_id', 'user_groups.id')
        .selectAll('user_groups')
        .where('group_members.user_id', '=', userId);
      if (after) {
        query = query.where((eb) =>
          eb.or([eb('user_groups.created_at', '>', after.at), eb.and([eb('user_groups.created_at', '=', after.at), eb('user_groups.id', '>', after.id)])]),
        );
      }
      return query.orderBy('user_groups.created_at').orderBy('user_groups.id').limit(limit).execute();
    },

    groupIdsForUser(userId: string): Promise<string[]> {
      return db
        .selectFrom('group_members')
        .select('group_id')
        .where('user_id', '=', userId)
        .execute()
        .then((rows) => rows.map((row) => row.group_id));
    },

    /** Everyone who shares at least one group with the user. */
    async coMemberIds(userId: string): Promise<string[]> {
      const rows = await db
        .selectFrom('group_members as mine')
        .innerJoin('group_members as theirs', 'theirs.group_id', 'mine.group_id')
        .select('theirs.user_id')
        .distinct()
        .where('mine.user_id', '=', userId)
        .where('theirs.user_id', '!=', userId)
        .execute();
      return rows.map((row) => row.user_id);
    },

    async update(id: string, patch: { name?: string; description?: string; updated_at: number }): Promise<void> {
      await db.updateTable('user_groups').set(patch).where('id', '=', id).execute();
    },

    /** Adds the users not yet members; returns the ids actually added. */
    async addMembers(groupId: string, userIds: readonly string[], now: number): Promise<string[]> {
      // `IN ()` is a syntax error on MySQL: an empty list (everyone invited, nobody added) reads nothing.
      if (userIds.length === 0) return [];
      return db.transaction().execute(async (trx) => {
        const existing = await trx.selectFrom('group_members').select('user_id').where('group_id', '=', groupId).where('user_id', 'in', userIds).execute();
        const present = new Set(existing.map((row) => row.user_id));
        const added = [...new Set(userIds)].filter((id) => !present.has(id));
        if (added.length > 0) {
          await trx
            .insertInto('group_members')
            .values(added.map((user_id) => ({ group_id: groupId, user_id, role: 'member', muted_until: null, joined_at: now })))
            .execute();
        }
        return added;
      });
    },

    async removeMember(groupId: string, userId: string): Promise<boolean> {
      const result = await db.deleteFrom('group_members').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async updateMember(groupId: string, userId: string, patch: { role?: string; muted_until?: number | null }): Promise<void> {
      await db.updateTable('group_members').set(patch).where('group_id', '=', groupId).where('user_id', '=', userId).execute();
    },

    /** Hands ownership to another member (when the owner leaves). */
    async transferOwnership(groupId: string, fromUserId: string, toUserId: string, now: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('user_groups').set({ owner_id: toUserId, updated_at: now }).where('id', '=', groupId).execute();
        await trx.updateTable('group_members').set({ role: 'owner' }).where('group_id', '=', groupId).where('user_id', '=', toUserId).execute();
        await trx.deleteFrom('group_members').where('group_id', '=', groupId).where('user_id', '=', fromUserId).execute();
      });
    },

    /** Makes `toUserId` the owner and the previous owner an admin. */
    async handOver(groupId: string, fromUserId: string, toUserId: string, now: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('user_groups').set({ owner_id: toUserId, updated_at: now }).where('id', '=', groupId).execute();
        await trx.updateTable('group_members').set({ role: 'owner' }).where('group_id', '=', groupId).where('user_id', '=', toUserId).execute();
        await trx.updateTable('group_members').set({ role: 'admin' }).where('group_id', '=', groupId).where('user_id', '=', fromUserId).execute();
      });
    },

    /** Deletes the group; its members, conversation and messages go with it (FK cascade). */
    async dissolve(groupId: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const conversationId = groupConversationId(groupId);
        await trx
          .deleteFrom('message_reactions')
          .where('message_id', 'in', trx.selectFrom('messages').select('id').where('conversation_id', '=', conversationId))
          .execute();
        await trx.deleteFrom('messages').where('conversation_id', '=', conversationId).execute();
        await trx.deleteFrom('conversation_reads').where('conversation_id', '=', conversationId).execute();
        await trx.deleteFrom('conversations').where('id', '=', conversationId).execute();
        await trx.deleteFrom('group_members').where('group_id', '=', groupId).execute();
        await trx.deleteFrom('group_invitations').where('group_id', '=', groupId).execute();
        await trx.deleteFrom('user_groups').where('id', '=', groupId).execute();
      });
    },
  };
}

export type GroupsRepository = ReturnType<typeof createGroupsRepository>;
