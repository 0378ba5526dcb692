import type { Insertable, Kysely, Selectable } from 'kysely';
import { dialectOf } from '../../platform/db/dialect.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import type { Database, ReportsTable } from '../../platform/db/schema.js';

export type ReportRow = Selectable<ReportsTable>;
export type NewReport = Omit<Insertable<ReportsTable>, 'id' | 'open_target'>;

export function createReportsRepository(db: Kysely<Database>) {
  const returnsIds = dialectOf(db) === 'postgres';
  async function find(id: number): Promise<ReportRow | undefined> {
    return db.selectFrom('reports').selectAll().where('id', '=', id).executeTakeFirst();
  }

  return {
    find,

    /** The reporter's open report of this target (a message, or a user when `messageId` is null): the unique index's key. */
    findOpen(reporterId: string, targetUserId: string, messageId: number | null): Promise<ReportRow | undefined> {
      return db
        .selectFrom('reports')
        .selectAll()
        .where('reporter_id', '=', reporterId)
        .where('target_user_id', '=', targetUserId)
        .where('open_target', '=', messageId ?? 0)
        .executeTakeFirst();
    },

    /**
     * Files a report; undefined when the reporter already has an open report of the same target
     * (a concurrent identical report won: the unique `reports_open_target` index refused this one).
     */
    async insert(row: NewReport): Promise<ReportRow | undefined> {
      const insert = db.insertInto('reports').values(row);
      // PostgreSQL reports no insert id: it returns the generated one instead.
      try {
        const id = returnsIds ? Number((await insert.returning('id').executeTakeFirstOrThrow()).id) : Number((await insert.executeTakeFirstOrThrow()).insertId);
        return (await find(id)) as ReportRow;
      } catch (error) {
        if (isUniqueViolation(error)) return undefined;
        throw error;
      }
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
