import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import { startsWith } from '../../platform/db/dialect.js';
import type { Database, ProfilesTable, UsersTable } from '../../platform/db/schema.js';

export type UserRow = Selectable<UsersTable>;
export type ProfileRow = Selectable<ProfilesTable>;

export function createUsersRepository(db: Kysely<Database>) {
  return {
    async insertWithProfile(user: Insertable<UsersTable>, now: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values(user).execute();
        await trx.insertInto('profiles').values({ user_id: user.id, allow_messages_from: 'everyone', updated_at: now }).execute();
      });
    },

    findById(id: string): Promise<UserRow | undefined> {
      return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    },

    findByIds(ids: readonly string[]): Promise<UserRow[]> {
      if (ids.length === 0) return Promise.resolve([]);
      return db.selectFrom('users').selectAll().where('id', 'in', ids).execute();
    },

    findByUsernameLower(usernameLower: string): Promise<UserRow | undefined> {
      return db.selectFrom('users').selectAll().where('username_lower', '=', usernameLower).executeTakeFirst();
    },

    async isUsernameTaken(usernameLower: string, exceptUserId?: string): Promise<boolean> {
      let query = db.selectFrom('users').select('id').where('username_lower', '=', usernameLower);
      if (exceptUserId) query = query.where('id', '!=', exceptUserId);
      return (await query.executeTakeFirst()) !== undefined;
    },

    async isEmailTaken(emailLower: string, exceptUserId?: string): Promise<boolean> {
      let query = db.selectFrom('users').select('id').where('email_lower', '=', emailLower);
      if (exceptUserId) query = query.where('id', '!=', exceptUserId);
      return (await query.executeTakeFirst()) !== undefined;
    },

    findProfile(userId: string): Promise<ProfileRow | undefined> {
      return db.selectFrom('profiles').selectAll().where('user_id', '=', userId).executeTakeFirst();
    },

    async update(id: string, patch: Updateable<UsersTable>): Promise<void> {
      await db.updateTable('users').set(patch).where('id', '=', id).execute();
    },

    /**
     * Applies `patch` to a guest account only; false when the account is no longer a guest. The
     * condition is in the write: read first, two upgrades at once both saw a guest and both wrote.
     */
    async updateGuest(id: string, patch: Updateable<UsersTable>): Promise<boolean> {
      const result = await db.updateTable('users').set(patch).where('id', '=', id).where('is_guest', '=', 1).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async updateWithProfile(id: string, user: Updateable<UsersTable>, profile: Updateable<ProfilesTable>): Promise<void> {
      await db.transaction().execute(async (trx) => {
        if (Object.keys(user).length > 0) await trx.updateTable('users').set(user).where('id', '=', id).execute();
        if (Object.keys(profile).length > 0) await trx.updateTable('profiles').set(profile).where('user_id', '=', id).execute();
      });
    },

    /**
     * Users whose username or nickname starts with `prefixLower`, ordered by id; `afterId` pages.
     * Both columns are stored lower-cased, so the prefix match is case-insensitive in every script.
     */
    searchByPrefix(prefixLower: string, afterId: string | undefined, limit: number): Promise<UserRow[]> {
      let query = db
        .selectFrom('users')
        .selectAll()
        .where((eb) => eb.or([startsWith('username_lower', prefixLower), startsWith('nickname_lower', prefixLower)]));
      if (afterId) query = query.where('id', '>', afterId);
      return query.orderBy('id').limit(limit).execute();
    },

    /**
     * Guests with no activity since `cutoff`: not created or logged in since, and no session of
     * theirs used since (a refresh moves `sessions.last_used_at`, so a guest whose client keeps
     * refreshing its tokens stays).
     */
    idleGuestIds(cutoff: number): Promise<string[]> {
      return db
        .selectFrom('users')
        .select('id')
        .where('is_guest', '=', 1)
        .where('last_login_at', '<', cutoff)
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('sessions').select('sessions.id').whereRef('sessions.user_id', '=', 'users.id').where('sessions.last_used_at', '>=', cutoff))),
        )
        .execute()
        .then((rows) => rows.map((row) => row.id));
    },

    /** Deletes users; their sessions, logs, friendships and memberships go with them (FK cascade). */
    async deleteUsers(ids: readonly string[]): Promise<number> {
      if (ids.length === 0) return 0;
      const result = await db.deleteFrom('users').where('id', 'in', ids).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
