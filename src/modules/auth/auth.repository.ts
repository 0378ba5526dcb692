import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Database, LoginLogsTable, SessionsTable } from '../../platform/db/schema.js';

export type SessionRow = Selectable<SessionsTable>;
export type LoginLogRow = Selectable<LoginLogsTable>;

export function createAuthRepository(db: Kysely<Database>) {
  return {
    async insertSession(session: Insertable<SessionsTable>): Promise<void> {
      await db.insertInto('sessions').values(session).execute();
    },

    findSession(id: string): Promise<SessionRow | undefined> {
      return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    },

    /**
     * Moves a session to the next refresh generation only if it is still at `expected`; false
     * means another refresh spent the token first.
     */
    async advanceGeneration(id: string, expected: number, fields: { last_used_at: number; expires_at: number; ip: string; user_agent: string }): Promise<boolean> {
      const result = await db
        .updateTable('sessions')
        .set({ ...fields, refresh_generation: expected + 1 })
        .where('id', '=', id)
        .where('refresh_generation', '=', expected)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    listActiveSessions(userId: string, now: number): Promise<SessionRow[]> {
      return db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .orderBy('last_used_at', 'desc')
        .execute();
    },

    /** Revokes the given sessions of a user that are still active; returns the ids revoked. */
    async revokeSessions(userId: string, ids: readonly string[] | 'all', reason: string, now: number, exceptId?: string): Promise<string[]> {
      return db.transaction().execute(async (trx) => {
        let select = trx.selectFrom('sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null);
        if (ids !== 'all') {
          if (ids.length === 0) return [];
          select = select.where('id', 'in', ids);
        }
        if (exceptId) select = select.where('id', '!=', exceptId);
        const found = (await select.execute()).map((row) => row.id);
        if (found.length > 0) {
          await trx.updateTable('sessions').set({ revoked_at: now, revoked_reason: reason }).where('id', 'in', found).where('revoked_at', 'is', null).execute();
        }
        return found;
      });
    },

    /** Sessions revoked since `since`, to re-seed a fresh in-memory revocation list after a restart. */
    async listRevokedSince(since: number): Promise<Array<{ id: string; revoked_at: number }>> {
      const rows = await db.selectFrom('sessions').select(['id', 'revoked_at']).where('revoked_at', '>', since).execute();
      return rows.map((row) => ({ id: row.id, revoked_at: Number(row.revoked_at) }));
    },

    async insertLoginLog(entry: Insertable<LoginLogsTable>): Promise<void> {
      await db.insertInto('login_logs').values(entry).execute();
    },

    listLoginLogs(userId: string, beforeId: number | undefined, limit: number): Promise<LoginLogRow[]> {
      let query = db.selectFrom('login_logs').selectAll().where('user_id', '=', userId);
      if (beforeId !== undefined) query = query.where('id', '<', beforeId);
      return query.orderBy('id', 'desc').limit(limit).execute();
    },
  };
}

export type AuthRepository = ReturnType<typeof createAuthRepository>;
