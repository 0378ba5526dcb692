import type { Insertable, Kysely, Selectable } from 'kysely';
import { dialectOf } from '../../platform/db/dialect.js';
import type { Database, ReportsTable } from '../../platform/db/schema.js';

export type ReportRow = Selectable<ReportsTable>;
export type NewReport = Omit<Insertable<ReportsTable>, 'id'>;

export function createReportsRepository(db: Kysely<Database>) {
  const returnsIds = dialectOf(db) === 'postgres';
  async function find(id: number): Promise<ReportRow | undefined> {
    return db.selectFrom('reports').selectAll().where('id', '=', id).executeTakeFirst();
  }

  return {
    find,

    /** The reporter's open report of this target (a message, or a user when `messageId` is null). */
    findOpen(reporterId: string, targetUserId: string, messageId: number | null): Promise<ReportRow | undefined> {
      let query = db.selectFrom('reports').selectAll().where('reporter_id', '=', reporterId).where('target_user_id', '=', targetUserId).where('status', '=', 'open');
      query = messageId === null ? query.where('target_type', '=', 'user') : query.where('target_type', '=', 'message').where('message_id', '=', messageId);
      return query.orderBy('id').executeTakeFirst();
    },

    async insert(row: NewReport): Promise<ReportRow> {
      const insert = db.insertInto('reports').values(row);
      // PostgreSQL reports no insert id: it returns the generated one instead.
      const id = returnsIds ? Number((await insert.returning('id').executeTakeFirstOrThrow()).id) : Number((await insert.executeTakeFirstOrThrow()).insertId);
      return (await find(id)) as ReportRow;
    },

    /** Reports of one status, newest first, below the id `beforeId`. */
    list(status: string, beforeId: number | undefined, limit: number): Promise<ReportRow[]> {
      let query = db.selectFrom('reports').selectAll().where('status', '=', status);
      if (beforeId !== undefined) query = query.where('id', '<', beforeId);
      return query.orderBy('id', 'desc').limit(limit).execute();
    },

    /** Closes an open report; false when it was no longer open (another admin closed it first). */
    async close(id: number, change: { status: string; closed_by: string; closed_at: number; action: string | null; resolution_note: string | null }): Promise<boolean> {
      const result = await db.updateTable('reports').set(change).where('id', '=', id).where('status', '=', 'open').executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}

export type ReportsRepository = ReturnType<typeof createReportsRepository>;
