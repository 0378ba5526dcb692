import { type Kysely, type Selectable, sql } from 'kysely';
import { startsWith } from '../../platform/db/dialect.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import type { AuditLogTable, Database, UserSuspensionsTable } from '../../platform/db/schema.js';

export type AuditRow = Selectable<AuditLogTable>;
export type SuspensionRow = Selectable<UserSuspensionsTable>;

/** The audit entry a service writes; id and time are the repository's and the clock's. */
export interface NewAuditEntry {
  actor_id: string;
  action: string;
  target_type: string;
  target_id: string;
  details: string | null;
  created_at: number;
}

const toNumber = (value: unknown): number => Number(value ?? 0);

/** Whether an insert keyed by the user stored its row: false when the key already held one. */
async function insertedOnce(insert: Promise<unknown>): Promise<boolean> {
  try {
    await insert;
    return true;
  } catch (error) {
    if (isUniqueViolation(error)) return false;
    throw error;
  }
}

export function createAdminRepository(db: Kysely<Database>) {
  return {
    async isGranted(userId: string): Promise<boolean> {
      return (await db.selectFrom('instance_admins').select('user_id').where('user_id', '=', userId).executeTakeFirst()) !== undefined;
    },

    /**
     * Grants the role; false when the user already had it. The primary key decides: a read first
     * let two grants at once both find no row, and the second insert failed on the key.
     */
    async grant(userId: string, grantedBy: string, now: number): Promise<boolean> {
      return insertedOnce(db.insertInto('instance_admins').values({ user_id: userId, granted_by: grantedBy, granted_at: now }).execute());
    },

    async revoke(userId: string): Promise<boolean> {
      const result = await db.deleteFrom('instance_admins').where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    grantedAmong(userIds: readonly string[]): Promise<string[]> {
      if (userIds.length === 0) return Promise.resolve([]);
      return db
        .selectFrom('instance_admins')
        .select('user_id')
        .where('user_id', 'in', userIds)
        .execute()
        .then((rows) => rows.map((row) => row.user_id));
    },

    findSuspension(userId: string): Promise<SuspensionRow | undefined> {
      return db.selectFrom('user_suspensions').selectAll().where('user_id', '=', userId).executeTakeFirst();
    },

    suspensionsOf(userIds: readonly string[]): Promise<SuspensionRow[]> {
      if (userIds.length === 0) return Promise.resolve([]);
      return db.selectFrom('user_suspensions').selectAll().where('user_id', 'in', userIds).execute();
    },

    /** Suspends; false when the account already was (the primary key decides, as for grant). */
    async suspend(row: SuspensionRow): Promise<boolean> {
      return insertedOnce(db.insertInto('user_suspensions').values(row).execute());
    },

    async unsuspend(userId: string): Promise<boolean> {
      const result = await db.deleteFrom('user_suspensions').where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /** Every account by id; with `prefixLower`, those whose username or nickname starts with it. */
    listUsers(prefixLower: string | undefined, afterId: string | undefined, limit: number) {
      let query = db.selectFrom('users').selectAll();
      if (prefixLower) query = query.where((eb) => eb.or([startsWith('username_lower', prefixLower), startsWith('nickname_lower', prefixLower)]));
      if (afterId) query = query.where('id', '>', afterId);
      return query.orderBy('id').limit(limit).execute();
    },

    ownedGroupIds(userId: string): Promise<string[]> {
      return db
        .selectFrom('user_groups')
        .select('id')
        .where('owner_id', '=', userId)
        .execute()
        .then((rows) => rows.map((row) => row.id));
    },

    /**
     * Empties every message the user sent, as recalled ones: rows stay (other messages reply to
     * them, conversations point at their last one), content and attachments go.
     */
    async blankMessagesOf(userId: string, now: number): Promise<number> {
      const result = await db
        .updateTable('messages')
        .set({ content: '', attachments: null, recalled_at: now })
        .where('sender_id', '=', userId)
        .where('recalled_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** The one write the audit log has: entries are appended, never changed or removed. */
    async appendAudit(entry: NewAuditEntry): Promise<void> {
      await db.insertInto('audit_log').values(entry).execute();
    },

    /** Entries newest first, before the id `beforeId`. */
    listAudit(beforeId: number | undefined, limit: number): Promise<AuditRow[]> {
      let query = db.selectFrom('audit_log').selectAll();
      if (beforeId !== undefined) query = query.where('id', '<', beforeId);
      return query.orderBy('id', 'desc').limit(limit).execute();
    },

    async stats(configuredAdmins: readonly string[]) {
      const count = async (table: 'users' | 'messages' | 'user_groups' | 'user_suspensions' | 'files') =>
        toNumber(
          (
            await db
              .selectFrom(table)
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirst()
          )?.n,
        );
      const guests = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('is_guest', '=', 1)
        .executeTakeFirst();
      const bytes = await db.selectFrom('files').select(sql<string | number>`coalesce(sum(size), 0)`.as('total')).executeTakeFirst();
      // Granted admins plus the configured names that have an account (a name can be both).
      const admins = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .where((eb) =>
          eb.or([eb('id', 'in', eb.selectFrom('instance_admins').select('user_id')), ...(configuredAdmins.length > 0 ? [eb('username_lower', 'in', [...configuredAdmins])] : [])]),
        )
        .executeTakeFirst();
      return {
        users: await count('users'),
        guests: toNumber(guests?.n),
        suspendedUsers: await count('user_suspensions'),
        admins: toNumber(admins?.n),
        messages: await count('messages'),
        groups: await count('user_groups'),
        files: await count('files'),
        fileBytes: toNumber(bytes?.total),
      };
    },
  };
}

export type AdminRepository = ReturnType<typeof createAdminRepository>;
