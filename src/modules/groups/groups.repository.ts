import type { Kysely, Selectable, Transaction } from 'kysely';
import { lockRowsById } from '../../platform/db/locks.js';
import type { Database, GroupMembersTable, UserGroupsTable } from '../../platform/db/schema.js';
import type { TimeIdPosition } from '../../shared/pagination.js';

export type GroupRow = Selectable<UserGroupsTable>;
export type MemberRow = Selectable<GroupMembersTable>;

export const groupConversationId = (groupId: string) => `g.${groupId}`;

/**
 * The start of every way into a group (add, invitation accepted, invite link): holds the group's row
 * until the transaction ends (see lockRowsById) and returns its member count as of then. Counted
 * under the lock, so joins arriving together at 1,999 members cannot all pass a 2,000 cap: each
 * counts after the one before it committed.
 */
export async function lockGroupForEntry(trx: Transaction<Database>, groupId: string): Promise<number> {
  await lockRowsById(trx, 'user_groups', [groupId]);
  const row = await trx
    .selectFrom('group_members')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('group_id', '=', groupId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** What a change of owner did: done, or not, because the caller no longer owns the group or the heir left. */
export type OwnershipChange = 'changed' | 'not-owner' | 'heir-gone';

/** Thrown inside the transaction to roll it back; never leaves the repository. */
class OwnershipNotChanged extends Error {
  constructor(readonly outcome: Exclude<OwnershipChange, 'changed'>) {
    super(outcome);
  }
}

export function createGroupsRepository(db: Kysely<Database>) {
  /**
   * Moves the group to a new owner, then lets `previousOwner` step down or out. Each write is
   * conditional (the owner is still `fromUserId`, the heir still a member), and they read the
   * latest committed rows, so of two hand-overs at once, or a hand-over and the heir leaving, the
   * second finds the first's outcome; before, both applied (two owners, or a group owned by someone
   * who had left). A failed condition rolls the transaction back and is answered, not thrown.
   */
  async function changeOwner(
    groupId: string,
    fromUserId: string,
    toUserId: string,
    now: number,
    previousOwner: (trx: Transaction<Database>) => Promise<unknown>,
  ): Promise<OwnershipChange> {
    try {
      await db.transaction().execute(async (trx) => {
        const moved = await trx
          .updateTable('user_groups')
          .set({ owner_id: toUserId, updated_at: now })
          .where('id', '=', groupId)
          .where('owner_id', '=', fromUserId)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) throw new OwnershipNotChanged('not-owner');
        const promoted = await trx.updateTable('group_members').set({ role: 'owner' }).where('group_id', '=', groupId).where('user_id', '=', toUserId).executeTakeFirst();
        if (Number(promoted.numUpdatedRows) !== 1) throw new OwnershipNotChanged('heir-gone');
        await previousOwner(trx);
      });
      return 'changed';
    } catch (error) {
      if (error instanceof OwnershipNotChanged) return error.outcome;
      throw error;
    }
  }

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
    /** Everyone sharing a group with the user; with `groupsUpTo`, only groups of at most that many members. */
    async coMemberIds(userId: string, groupsUpTo?: number): Promise<string[]> {
      let query = db
        .selectFrom('group_members as mine')
        .innerJoin('group_members as theirs', 'theirs.group_id', 'mine.group_id')
        .select('theirs.user_id')
        .distinct()
        .where('mine.user_id', '=', userId)
        .where('theirs.user_id', '!=', userId);
      if (groupsUpTo !== undefined) {
        // Counted per group of the user on the primary key (group_id, user_id): one index range each.
        query = query.where((eb) =>
          eb(
            eb
              .selectFrom('group_members as counted')
              .select((c) => c.fn.countAll().as('n'))
              .whereRef('counted.group_id', '=', 'mine.group_id'),
            '<=',
            groupsUpTo,
          ),
        );
      }
      const rows = await query.execute();
      return rows.map((row) => row.user_id);
    },

    async update(id: string, patch: { name?: string; description?: string; updated_at: number }): Promise<void> {
      await db.updateTable('user_groups').set(patch).where('id', '=', id).execute();
    },

    /** Adds the users not yet members; returns the ids actually added, or 'full' (nobody added) when they would take the group past `maxMembers`. */
    async addMembers(groupId: string, userIds: readonly string[], now: number, maxMembers: number): Promise<string[] | 'full'> {
      // `IN ()` is a syntax error on MySQL: an empty list (everyone invited, nobody added) reads nothing.
      if (userIds.length === 0) return [];
      return db.transaction().execute(async (trx) => {
        // Every way into a group holds its row (lockGroupForEntry): two adds at once both read "not a
        // member" and the second insert failed on the primary key (a 500).
        const count = await lockGroupForEntry(trx, groupId);
        const existing = await trx.selectFrom('group_members').select('user_id').where('group_id', '=', groupId).where('user_id', 'in', userIds).execute();
        const present = new Set(existing.map((row) => row.user_id));
        const added = [...new Set(userIds)].filter((id) => !present.has(id));
        if (count + added.length > maxMembers) return 'full';
        if (added.length > 0) {
          await trx
            .insertInto('group_members')
            .values(added.map((user_id) => ({ group_id: groupId, user_id, role: 'member', muted_until: null, joined_at: now })))
            .execute();
        }
        return added;
      });
    },

    /**
     * Removes a member; false when they were not one, or (with `role`) no longer held that role: the
     * caller decided on the role it read, and a hand-over may have made them the owner since.
     */
    async removeMember(groupId: string, userId: string, role?: string): Promise<boolean> {
      let query = db.deleteFrom('group_members').where('group_id', '=', groupId).where('user_id', '=', userId);
      if (role !== undefined) query = query.where('role', '=', role);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async updateMember(groupId: string, userId: string, patch: { role?: string; muted_until?: number | null }): Promise<void> {
      await db.updateTable('group_members').set(patch).where('group_id', '=', groupId).where('user_id', '=', userId).execute();
    },

    /**
     * Hands ownership to another member as the owner leaves: the heir becomes the owner and the
     * leaver goes. Applied only while `fromUserId` is still the owner and the heir still a member.
     */
    transferOwnership(groupId: string, fromUserId: string, toUserId: string, now: number): Promise<OwnershipChange> {
      return changeOwner(groupId, fromUserId, toUserId, now, (trx) => trx.deleteFrom('group_members').where('group_id', '=', groupId).where('user_id', '=', fromUserId).execute());
    },

    /** Makes `toUserId` the owner and the previous owner an admin, under the same conditions as transferOwnership. */
    handOver(groupId: string, fromUserId: string, toUserId: string, now: number): Promise<OwnershipChange> {
      return changeOwner(groupId, fromUserId, toUserId, now, (trx) =>
        trx.updateTable('group_members').set({ role: 'admin' }).where('group_id', '=', groupId).where('user_id', '=', fromUserId).execute(),
      );
    },

    /** Deletes the group; its members, conversation and messages go with it (FK cascade). False when it was already gone. */
    async dissolve(groupId: string): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
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
        const deleted = await trx.deleteFrom('user_groups').where('id', '=', groupId).executeTakeFirst();
        return Number(deleted.numDeletedRows) > 0;
      });
    },
  };
}

export type GroupsRepository = ReturnType<typeof createGroupsRepository>;
