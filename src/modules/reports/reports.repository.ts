import { randomInt } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Insertable, Kysely, Selectable } from 'kysely';
import { dialectOf } from '../../platform/db/dialect.js';
import { isDeadlock, isUniqueViolation } from '../../platform/db/errors.js';
import { lockRowsById } from '../../platform/db/locks.js';
import type { Database, ReportsTable } from '../../platform/db/schema.js';

export type ReportRow = Selectable<ReportsTable>;
export type NewReport = Omit<Insertable<ReportsTable>, 'id' | 'open_target'>;

/** Tries of one insert that the database chose as a deadlock victim. */
const INSERT_ATTEMPTS = 5;

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
      for (let attempt = 1; ; attempt++) {
        try {
          const id = await db.transaction().execute(async (trx) => {
            // Identical reports share their reporter: holding the reporter's row queues them, so at
            // most one of them checks the unique index at a time. Without it InnoDB deadlocked them
            // (each took a shared lock on a closed report's delete-marked index entry, then waited to
            // insert), and under CI load 15 of 16 concurrent ones exhausted five immediate retries.
            await lockRowsById(trx, 'users', [row.reporter_id]);
            const insert = trx.insertInto('reports').values(row);
            // PostgreSQL reports no insert id: it returns the generated one instead.
            return returnsIds ? Number((await insert.returning('id').executeTakeFirstOrThrow()).id) : Number((await insert.executeTakeFirstOrThrow()).insertId);
          });
          return (await find(id)) as ReportRow;
        } catch (error) {
          if (isUniqueViolation(error)) return undefined;
          // Left for inserts of other reporters whose gap locks cross: rolled back, then sent again
          // after a random pause, so two victims do not meet again at once.
          if (isDeadlock(error) && attempt < INSERT_ATTEMPTS) {
            await delay(randomInt(5, 50));
            continue;
          }
          throw error;
        }
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
