import type { Kysely, Selectable } from 'kysely';
import { lockRowsById } from '../../platform/db/locks.js';
import type { Database, GroupInvitationsTable } from '../../platform/db/schema.js';
import type { TimeIdPosition } from '../../shared/pagination.js';
import { lockGroupForEntry } from './groups.repository.js';

export type InvitationRow = Selectable<GroupInvitationsTable>;

export function createInvitationsRepository(db: Kysely<Database>) {
  return {
    find(id: string): Promise<InvitationRow | undefined> {
      return db.selectFrom('group_invitations').selectAll().where('id', '=', id).executeTakeFirst();
    },

    /** The existing invitations of these users to this group, whatever their state. */
    forInvitees(groupId: string, inviteeIds: readonly string[]): Promise<InvitationRow[]> {
      if (inviteeIds.length === 0) return Promise.resolve([]);
      return db.selectFrom('group_invitations').selectAll().where('group_id', '=', groupId).where('invitee_id', 'in', inviteeIds).execute();
    },

    /**
     * Writes new invitations to one group and turns declined ones whose cool-down is over back to pending, in
     * one transaction. `renew` rows keep their id, so a client's old reference stays valid. Returns
     * the rows it wrote, and the invitations another request wrote first for invitees of `inserts`
     * (an admin's double tap: both planned an insert; the second finds the first's and keeps it).
     */
    async save(groupId: string, inserts: readonly InvitationRow[], renew: readonly InvitationRow[]): Promise<{ written: InvitationRow[]; found: InvitationRow[] }> {
      if (inserts.length === 0 && renew.length === 0) return { written: [], found: [] };
      return db.transaction().execute(async (trx) => {
        // The group's row, as every way into a group holds it (see groups.repository addMembers).
        await lockRowsById(trx, 'user_groups', [groupId]);
        const found =
          inserts.length === 0
            ? []
            : await trx
                .selectFrom('group_invitations')
                .selectAll()
                .where('group_id', '=', groupId)
                .where(
                  'invitee_id',
                  'in',
                  inserts.map((row) => row.invitee_id),
                )
                .execute();
        const taken = new Set(found.map((row) => row.invitee_id));
        const fresh = inserts.filter((row) => !taken.has(row.invitee_id));
        if (fresh.length > 0) await trx.insertInto('group_invitations').values(fresh).execute();
        for (const row of renew) {
          await trx
            .updateTable('group_invitations')
            .set({ state: 'pending', inviter_id: row.inviter_id, created_at: row.created_at, answered_at: null })
            .where('id', '=', row.id)
            .execute();
        }
        return { written: [...fresh, ...renew], found };
      });
    },

    /** The invitee's pending invitations, newest first, after `before` (the previous page's last). */
    pendingFor(inviteeId: string, before: TimeIdPosition | undefined, limit: number): Promise<InvitationRow[]> {
      let query = db.selectFrom('group_invitations').selectAll().where('invitee_id', '=', inviteeId).where('state', '=', 'pending');
      if (before) {
        query = query.where((eb) => eb.or([eb('created_at', '<', before.at), eb.and([eb('created_at', '=', before.at), eb('id', '<', before.id)])]));
      }
      return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    },

    /**
     * Accepts: deletes the pending invitation and adds the member in one transaction. 'answered'
     * when the invitation was no longer pending (answered on another device meanwhile), 'full' (the
     * invitation stays pending) when the group already holds `maxMembers`.
     */
    async accept(row: InvitationRow, now: number, maxMembers: number): Promise<'accepted' | 'answered' | 'full'> {
      return db.transaction().execute(async (trx) => {
        // The group's row and its member count, as every way into a group takes them (groups.repository).
        const count = await lockGroupForEntry(trx, row.group_id);
        const existing = await trx.selectFrom('group_members').select('user_id').where('group_id', '=', row.group_id).where('user_id', '=', row.invitee_id).executeTakeFirst();
        if (!existing && count + 1 > maxMembers) {
          const pending = await trx.selectFrom('group_invitations').select('id').where('id', '=', row.id).where('state', '=', 'pending').executeTakeFirst();
          return pending ? 'full' : 'answered';
        }
        const result = await trx.deleteFrom('group_invitations').where('id', '=', row.id).where('state', '=', 'pending').executeTakeFirst();
        if (Number(result.numDeletedRows) !== 1) return 'answered';
        if (!existing) {
          await trx.insertInto('group_members').values({ group_id: row.group_id, user_id: row.invitee_id, role: 'member', muted_until: null, joined_at: now }).execute();
        }
        return 'accepted';
      });
    },

    /** Declines; returns false when it was no longer pending. */
    async decline(id: string, now: number): Promise<boolean> {
      const result = await db.updateTable('group_invitations').set({ state: 'declined', answered_at: now }).where('id', '=', id).where('state', '=', 'pending').executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}

export type InvitationsRepository = ReturnType<typeof createInvitationsRepository>;
