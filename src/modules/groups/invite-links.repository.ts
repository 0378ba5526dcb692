import type { Kysely, Selectable } from 'kysely';
import type { Database, GroupInviteLinksTable } from '../../platform/db/schema.js';
import type { TimeIdPosition } from '../../shared/pagination.js';
import { lockGroupForEntry } from './groups.repository.js';

export type InviteLinkRow = Selectable<GroupInviteLinksTable>;

/** What joining through a link did. */
export type JoinOutcome = 'joined' | 'already_member' | 'used_up' | 'revoked' | 'full';

export function createInviteLinksRepository(db: Kysely<Database>) {
  return {
    insert(row: InviteLinkRow): Promise<unknown> {
      return db.insertInto('group_invite_links').values(row).execute();
    },

    find(groupId: string, linkId: string): Promise<InviteLinkRow | undefined> {
      return db.selectFrom('group_invite_links').selectAll().where('id', '=', linkId).where('group_id', '=', groupId).executeTakeFirst();
    },

    byCode(code: string): Promise<InviteLinkRow | undefined> {
      return db.selectFrom('group_invite_links').selectAll().where('code', '=', code).executeTakeFirst();
    },

    /** A group's links, revoked ones too, newest first, after `before` (the previous page's last). */
    page(groupId: string, before: TimeIdPosition | undefined, limit: number): Promise<InviteLinkRow[]> {
      let query = db.selectFrom('group_invite_links').selectAll().where('group_id', '=', groupId);
      if (before) query = query.where((eb) => eb.or([eb('created_at', '<', before.at), eb.and([eb('created_at', '=', before.at), eb('id', '<', before.id)])]));
      return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    },

    /** Links of the group not revoked yet (expired and used-up ones included). */
    async countUnrevoked(groupId: string): Promise<number> {
      const row = await db
        .selectFrom('group_invite_links')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('group_id', '=', groupId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    async revoke(linkId: string, now: number): Promise<void> {
      await db.updateTable('group_invite_links').set({ revoked_at: now }).where('id', '=', linkId).where('revoked_at', 'is', null).execute();
    },

    /**
     * Joins `userId` through the link in one transaction: the use is counted only if the link is
     * still unrevoked and under its limit at that moment (two people racing for the last use cannot
     * both get in), and only for someone who was not a member already.
     */
    async join(link: InviteLinkRow, userId: string, now: number, maxMembers: number): Promise<JoinOutcome> {
      return db.transaction().execute(async (trx) => {
        // The group's row and member count, as every way into a group takes them: an invitation accepted
        // at the same moment would otherwise insert the same member (groups.repository lockGroupForEntry).
        const count = await lockGroupForEntry(trx, link.group_id);
        const member = await trx.selectFrom('group_members').select('user_id').where('group_id', '=', link.group_id).where('user_id', '=', userId).executeTakeFirst();
        if (member) return 'already_member';
        // Before the use is counted: a full group uses nothing of the link.
        if (count + 1 > maxMembers) return 'full';
        const counted = await trx
          .updateTable('group_invite_links')
          .set((eb) => ({ uses: eb('uses', '+', 1) }))
          .where('id', '=', link.id)
          .where('revoked_at', 'is', null)
          .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
          .executeTakeFirst();
        if (Number(counted.numUpdatedRows) !== 1) {
          const current = await trx.selectFrom('group_invite_links').select('revoked_at').where('id', '=', link.id).executeTakeFirst();
          return !current || current.revoked_at !== null ? 'revoked' : 'used_up';
        }
        await trx.insertInto('group_members').values({ group_id: link.group_id, user_id: userId, role: 'member', muted_until: null, joined_at: now }).execute();
        return 'joined';
      });
    },

    /** True when an owner or admin removed `userId` from the group and nobody has let them back in since. */
    async wasRemoved(groupId: string, userId: string): Promise<boolean> {
      return (await db.selectFrom('group_link_removals').select('user_id').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst()) !== undefined;
    },

    /** Remembers a removal (links no longer admit this user to this group). */
    async rememberRemoval(groupId: string, userId: string, now: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('group_link_removals').where('group_id', '=', groupId).where('user_id', '=', userId).execute();
        await trx.insertInto('group_link_removals').values({ group_id: groupId, user_id: userId, removed_at: now }).execute();
      });
    },

    /** Forgets a removal: the user left on their own after being let back in, so links work for them again. */
    async forgetRemoval(groupId: string, userId: string): Promise<void> {
      await db.deleteFrom('group_link_removals').where('group_id', '=', groupId).where('user_id', '=', userId).execute();
    },
  };
}

export type InviteLinksRepository = ReturnType<typeof createInviteLinksRepository>;
